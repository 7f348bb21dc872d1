import { imagingUnavailable } from '../../common/orthanc.js';
import type { Context } from 'koa';
import type { Knex } from 'knex';
import { scopeFor } from '../../common/scope.js';
import { badRequest, notFound } from '../../common/http/errors.js';
import type { Caller, ProxyDeps } from './context.js';
import {
  dateRange,
  likeFromWildcard,
  MAX_LIMIT,
  nameOf,
  orthancQuery,
  PATIENT_IDENTIFYING_TAGS,
  TAG,
  toSearchParams,
  uidList,
  type QidoQuery,
} from './query.js';
import { sendDicomJson } from './respond.js';

type DicomJson = Record<string, { vr?: string; Value?: unknown[] } | undefined>;
type Qido = { level: 'studies' | 'series' | 'instances'; study?: string; series?: string };

/** How many study UIDs one Orthanc query carries (its URL stays short). */
const UIDS_PER_QUERY = 40;
/** Root-level series/instance searches span at most this many studies; narrow with StudyInstanceUID. */
const MAX_STUDIES_PER_SEARCH = 200;

/** Filters the study index answers itself at the root `/studies`; any other attribute is refused there. */
const INDEX_FILTERS = new Set<string>([
  TAG.StudyInstanceUID,
  TAG.PatientID,
  TAG.PatientName,
  TAG.StudyDate,
  TAG.AccessionNumber,
  TAG.ModalitiesInStudy,
  TAG.StudyDescription,
]);

const first = (item: DicomJson, tag: string) => {
  const v = item[tag]?.Value?.[0];
  return v === undefined || v === null ? null : String(v);
};

/** Drops every patient-identifying filter: the server sets the patient, never the caller. */
function withoutPatientFilters(q: QidoQuery): QidoQuery {
  const filters = new Map([...q.filters].filter(([tag]) => !PATIENT_IDENTIFYING_TAGS.has(tag)));
  return { ...q, filters };
}

/** Asks Orthanc's QIDO and parses the answer, URLs rewritten to the caller's public root. */
async function orthancQido(deps: ProxyDeps, caller: Caller, path: string, params: URLSearchParams): Promise<DicomJson[]> {
  const upstream = await deps.orthanc.fetch(`/dicom-web${path}?${orthancQuery(params)}`, {
    headers: { accept: 'application/dicom+json', 'accept-encoding': 'identity' },
  });
  if (upstream.status === 400) throw badRequest('The imaging store refused the query', null, 'INVALID_QUERY');
  if (!upstream.ok) throw imagingUnavailable('retry once it is back');
  const text = (await upstream.text()).split(caller.rewrite.from).join(caller.rewrite.to);
  return text ? (JSON.parse(text) as DicomJson[]) : [];
}

/** Applies the root-level `/studies` filters to the study index, in SQL. */
function applyIndexFilters(query: Knex.QueryBuilder, q: QidoQuery): void {
  for (const [tag, raw] of q.filters) {
    const value = raw.trim();
    // The server sets the patient: identifying attributes other than PatientID (which only narrows) are dropped.
    if (value === '' || value === '*' || (PATIENT_IDENTIFYING_TAGS.has(tag) && tag !== TAG.PatientID)) continue;
    if (!INDEX_FILTERS.has(tag)) {
      throw badRequest(
        `${nameOf(tag)} is not searchable at /studies`,
        [{ field: nameOf(tag), message: `Searchable: ${[...INDEX_FILTERS].map(nameOf).join(', ')}` }],
        'INVALID_QUERY',
      );
    }
    switch (tag) {
      case TAG.StudyInstanceUID:
        query.whereIn('s.study_instance_uid', uidList(value) ?? []);
        break;
      case TAG.PatientID:
        // Narrows the caller's own patients; it can never widen them.
        query.whereRaw("p.identifier LIKE ? ESCAPE '\\'", [likeFromWildcard(value)]);
        break;
      case TAG.PatientName:
        query.whereRaw("(pu.last_name || '^' || pu.first_name) ILIKE ? ESCAPE '\\'", [
          likeFromWildcard(value.includes('*') ? value : `${value}*`),
        ]);
        break;
      case TAG.StudyDate: {
        const range = dateRange(value);
        if (!range)
          throw badRequest(
            'StudyDate must be YYYYMMDD or a range YYYYMMDD-YYYYMMDD',
            [{ field: 'StudyDate', message: 'Invalid date' }],
            'INVALID_QUERY',
          );
        if (range.from) query.where('s.study_date', '>=', range.from);
        if (range.to) query.where('s.study_date', '<=', range.to);
        break;
      }
      case TAG.AccessionNumber:
        query.whereRaw("s.accession_number LIKE ? ESCAPE '\\'", [likeFromWildcard(value)]);
        break;
      case TAG.ModalitiesInStudy:
        query.whereRaw('s.modalities && ?::text[]', [uidList(value)!.map((m) => m.toUpperCase())]);
        break;
      case TAG.StudyDescription:
        query.whereRaw("coalesce(s.dicom_description, '') ILIKE ? ESCAPE '\\'", [likeFromWildcard(value)]);
        break;
    }
  }
}

/**
 * What Orthanc returns of the study and the patient at the root `/series` and `/instances` when the client names no
 * study (with a StudyInstanceUID filter, it returns none of them). The proxy always names the caller's studies, so it
 * asks for these by name when the client did not.
 */
const STUDY_ATTRIBUTES_AT_ROOT = [
  '00080020',
  '00080030',
  '00080050',
  '00080090',
  '00100010',
  TAG.PatientID,
  '00100030',
  '00100040',
  TAG.StudyInstanceUID,
  '00200010',
];

/** Study attributes the index answers itself; an includefield beyond them (or `all`) asks Orthanc. */
const INDEX_ATTRIBUTES = new Set([
  '00080005',
  '00080020',
  '00080030',
  '00080050',
  '00080061',
  '00080090',
  '00081030',
  '00081190',
  '00100010',
  '00100020',
  '00100030',
  '00100040',
  '0020000D',
  '00200010',
  '00201206',
  '00201208',
]);

/** Attributes clients ask for at study level that a study does not have (OHIF asks for Modality). */
const NOT_STUDY_LEVEL = new Set(['00080060']);

interface IndexedStudy {
  uid: string;
  identifier: string;
  study_date: string | null;
  study_time: string | null;
  accession_number: string | null;
  modalities: string[];
  referring_physician_name: string | null;
  dicom_description: string | null;
  dicom_study_id: string | null;
  number_of_series: number;
  number_of_instances: number;
  first_name: string;
  last_name: string;
  birth_date: string;
  sex: string;
}

const SEX_CODE: Record<string, string> = { female: 'F', male: 'M', other: 'O', unknown: '' };
const attr = (vr: string, value: string | number | null | undefined) =>
  value === null || value === undefined || value === '' ? { vr } : { vr, Value: [value] };

/** One study as DICOM JSON, from the index: the attributes Orthanc's QIDO returns by default, and those asked for. */
function studyFromIndex(r: IndexedStudy, root: string, includeFields: ReadonlySet<string>): DicomJson {
  const study: DicomJson = {
    '00080005': { vr: 'CS', Value: ['ISO_IR 192'] },
    '00080020': attr('DA', r.study_date?.replaceAll('-', '')),
    '00080030': attr('TM', r.study_time),
    '00080050': attr('SH', r.accession_number),
    '00080061': r.modalities.length ? { vr: 'CS', Value: r.modalities } : { vr: 'CS' },
    '00080090': r.referring_physician_name ? { vr: 'PN', Value: [{ Alphabetic: r.referring_physician_name }] } : { vr: 'PN' },
    '00081030': attr('LO', r.dicom_description),
    '00081190': { vr: 'UR', Value: [`${root}/studies/${r.uid}`] },
    '00100010': { vr: 'PN', Value: [{ Alphabetic: `${r.last_name}^${r.first_name}` }] },
    '00100020': { vr: 'LO', Value: [r.identifier] },
    '00100030': attr('DA', r.birth_date.replaceAll('-', '')),
    '00100040': attr('CS', SEX_CODE[r.sex] ?? ''),
    '0020000D': { vr: 'UI', Value: [r.uid] },
    '00200010': attr('SH', r.dicom_study_id),
    '00201206': { vr: 'IS', Value: [r.number_of_series] },
    '00201208': { vr: 'IS', Value: [r.number_of_instances] },
  };
  // Orthanc returns the description only when asked for (OHIF's study list does).
  if (!includeFields.has('00081030')) delete study['00081030'];
  return study;
}

/**
 * Root `/studies`: searched and paged in the study index. The answer is built from the index when the
 * requested attributes are ones it holds (OHIF's study list); otherwise Orthanc describes the page and
 * every row is checked again against the index before it leaves.
 */
async function rootStudies(ctx: Context, deps: ProxyDeps, caller: Caller, q: QidoQuery): Promise<void> {
  const query = scopeFor(deps.db, caller.principal).dicomWebStudies().join('users as pu', 'pu.id', 's.patient_id');
  if (caller.onlyStudy) query.where('s.study_instance_uid', caller.onlyStudy);
  applyIndexFilters(query, q);
  query
    .orderByRaw('s.study_date DESC NULLS LAST, s.study_time DESC NULLS LAST, s.id')
    .offset(q.offset)
    .limit(q.limit ?? MAX_LIMIT);
  const page: IndexedStudy[] = await query.select(
    's.study_instance_uid as uid',
    'p.identifier',
    's.study_date',
    's.study_time',
    's.accession_number',
    's.modalities',
    's.referring_physician_name',
    's.dicom_description',
    's.dicom_study_id',
    's.number_of_series',
    's.number_of_instances',
    'pu.first_name',
    'pu.last_name',
    'p.birth_date',
    'p.sex',
  );
  const includeFields = q.includeFields;
  if (includeFields !== 'all' && [...includeFields].every((tag) => INDEX_ATTRIBUTES.has(tag) || NOT_STUDY_LEVEL.has(tag))) {
    return sendDicomJson(
      ctx,
      page.map((r) => studyFromIndex(r, caller.rewrite.to, includeFields)),
    );
  }
  const owner = new Map(page.map((r) => [r.uid, r.identifier]));
  const described = new Map<string, DicomJson>();
  const uids = [...owner.keys()];
  for (let i = 0; i < uids.length; i += UIDS_PER_QUERY) {
    const chunk = uids.slice(i, i + UIDS_PER_QUERY);
    const params = toSearchParams(
      { ...q, filters: new Map([[TAG.StudyInstanceUID, chunk.join(',')]]), limit: null, offset: 0, fuzzyMatching: false },
      [TAG.PatientID, TAG.StudyInstanceUID],
    );
    for (const row of await orthancQido(deps, caller, '/studies', params)) {
      const uid = first(row, TAG.StudyInstanceUID);
      // Defence in depth: a row leaves only for a study of this page, under the patient the index names.
      if (uid && owner.has(uid) && first(row, TAG.PatientID) === owner.get(uid) && !described.has(uid)) described.set(uid, row);
    }
  }
  sendDicomJson(
    ctx,
    uids.flatMap((uid) => (described.has(uid) ? [described.get(uid)!] : [])),
  );
}

/**
 * QIDO-RS: answers never go beyond the caller's studies, whatever the filters. Under a study path the
 * study is authorized first; at the root, studies come from the study index and series or instances
 * are searched only within the caller's studies. Every row Orthanc returns is checked again.
 */
export async function handleQido(
  ctx: Context,
  deps: ProxyDeps,
  caller: Caller,
  target: Qido,
  subPath: string,
  parsed: QidoQuery,
): Promise<void> {
  if (target.level === 'studies' && !target.study) return rootStudies(ctx, deps, caller, parsed);
  const q = withoutPatientFilters(parsed);
  const askedStudies = uidList(q.filters.get(TAG.StudyInstanceUID));
  // The attributes the proxy needs to check each row, and those Orthanc would have returned to the client's own query.
  let asked: string[] = [TAG.PatientID, TAG.StudyInstanceUID];
  let notForClient: string[] = [];
  let studies: Map<string, string>;
  if (target.study) {
    if (caller.onlyStudy && target.study !== caller.onlyStudy) throw notFound('Study');
    const study = await deps.access.readable(caller.principal, target.study);
    if (!study) throw notFound('Study');
    // The path names the study: a different StudyInstanceUID filter can only match nothing.
    if (askedStudies && !askedStudies.includes(target.study)) return sendDicomJson(ctx, []);
    q.filters.delete(TAG.StudyInstanceUID);
    studies = new Map([[target.study, study.identifier]]);
  } else {
    const query = scopeFor(deps.db, caller.principal).dicomWebStudies();
    if (caller.onlyStudy) query.where('s.study_instance_uid', caller.onlyStudy);
    if (askedStudies) query.whereIn('s.study_instance_uid', askedStudies);
    const rows: { uid: string; identifier: string }[] = await query
      .limit(MAX_STUDIES_PER_SEARCH + 1)
      .select('s.study_instance_uid as uid', 'p.identifier');
    if (rows.length > MAX_STUDIES_PER_SEARCH) {
      throw badRequest(
        `Narrow the search to at most ${MAX_STUDIES_PER_SEARCH} studies with StudyInstanceUID`,
        [{ field: 'StudyInstanceUID', message: 'Too many studies' }],
        'INVALID_QUERY',
      );
    }
    if (rows.length === 0) return sendDicomJson(ctx, []);
    studies = new Map(rows.map((r) => [r.uid, r.identifier]));
    q.filters.set(TAG.StudyInstanceUID, [...studies.keys()].join(','));
    if (!askedStudies) asked = STUDY_ATTRIBUTES_AT_ROOT;
    else if (q.includeFields !== 'all' && !q.includeFields.has(TAG.PatientID) && !parsed.filters.has(TAG.PatientID))
      notForClient = [TAG.PatientID];
  }
  if (target.series) {
    const askedSeries = uidList(q.filters.get(TAG.SeriesInstanceUID));
    if (askedSeries && !askedSeries.includes(target.series)) return sendDicomJson(ctx, []);
    q.filters.delete(TAG.SeriesInstanceUID);
  }
  const rows = await orthancQido(deps, caller, subPath, toSearchParams(q, asked));
  const single = target.study ?? null;
  sendDicomJson(
    ctx,
    rows
      .filter((row) => {
        const uid = first(row, TAG.StudyInstanceUID) ?? single;
        // Orthanc omits patient attributes below the study level; where it gives one, it must be the owner.
        const patientId = first(row, TAG.PatientID);
        return uid !== null && studies.has(uid) && (patientId === null || patientId === studies.get(uid));
      })
      .map((row) => {
        for (const tag of notForClient) delete row[tag];
        return row;
      }),
  );
}
