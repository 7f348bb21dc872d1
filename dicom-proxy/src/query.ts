/**
 * QIDO-RS query parameters, parsed once into one canonical form: every attribute by its tag, whatever
 * spelling the client used (keyword in any case, `00100020`, `0010,0020`). The proxy decides and Orthanc
 * searches on that one form, so the two can never read a different value for the same attribute. Pure:
 * no I/O, table-tested.
 */

/** Keywords QIDO clients use, by tag. An attribute outside this dictionary may still be given by tag. */
const KEYWORDS: Record<string, string> = {
  // Patient
  PatientName: '00100010',
  PatientID: '00100020',
  IssuerOfPatientID: '00100021',
  TypeOfPatientID: '00100022',
  IssuerOfPatientIDQualifiersSequence: '00100024',
  PatientBirthDate: '00100030',
  PatientBirthTime: '00100032',
  PatientSex: '00100040',
  OtherPatientIDs: '00101000',
  OtherPatientNames: '00101001',
  OtherPatientIDsSequence: '00101002',
  PatientAge: '00101010',
  // Study
  StudyInstanceUID: '0020000D',
  StudyDate: '00080020',
  StudyTime: '00080030',
  AccessionNumber: '00080050',
  ModalitiesInStudy: '00080061',
  ReferringPhysicianName: '00080090',
  StudyDescription: '00081030',
  StudyID: '00200010',
  NumberOfStudyRelatedSeries: '00201206',
  NumberOfStudyRelatedInstances: '00201208',
  InstanceAvailability: '00080056',
  TimezoneOffsetFromUTC: '00080201',
  RetrieveURL: '00081190',
  // Series
  SeriesInstanceUID: '0020000E',
  Modality: '00080060',
  SeriesNumber: '00200011',
  SeriesDescription: '0008103E',
  SeriesDate: '00080021',
  SeriesTime: '00080031',
  BodyPartExamined: '00180015',
  PerformedProcedureStepStartDate: '00400244',
  PerformedProcedureStepStartTime: '00400245',
  RequestAttributesSequence: '00400275',
  NumberOfSeriesRelatedInstances: '00201209',
  // Instance
  SOPInstanceUID: '00080018',
  SOPClassUID: '00080016',
  InstanceNumber: '00200013',
  Rows: '00280010',
  Columns: '00280011',
  BitsAllocated: '00280100',
  NumberOfFrames: '00280008',
  ContentDate: '00080023',
  ContentTime: '00080033',
};

const BY_KEYWORD = new Map(Object.entries(KEYWORDS).map(([k, tag]) => [k.toLowerCase(), tag]));
const KEYWORD_OF = new Map(Object.entries(KEYWORDS).map(([k, tag]) => [tag, k]));

/** Tags the server sets itself: a caller's value for any of them is dropped, never forwarded. */
export const PATIENT_IDENTIFYING_TAGS: ReadonlySet<string> = new Set([
  '00100020',
  '00100021',
  '00100022',
  '00100024',
  '00101000',
  '00101002',
]);

export const TAG = {
  PatientID: '00100020',
  PatientName: '00100010',
  StudyInstanceUID: '0020000D',
  StudyDate: '00080020',
  AccessionNumber: '00080050',
  ModalitiesInStudy: '00080061',
  StudyDescription: '00081030',
  SeriesInstanceUID: '0020000E',
  SOPInstanceUID: '00080018',
} as const;

/** The largest page the proxy asks for in one QIDO answer. */
export const MAX_LIMIT = 1000;

/** A QIDO query in canonical form. */
export interface QidoQuery {
  /** Attribute filters by tag (8 upper-case hex digits); an empty value means "return it" (universal match). */
  filters: Map<string, string>;
  /** Extra attributes to return, by tag, or every attribute. */
  includeFields: Set<string> | 'all';
  limit: number | null;
  offset: number;
  fuzzyMatching: boolean;
}

/** Why a query was refused; `field` names the parameter. */
export interface QueryProblem {
  field: string;
  message: string;
  [key: string]: unknown;
}

/** The tag named by a parameter key (keyword in any case, `ggggeeee` or `gggg,eeee`), or null. */
export function tagOf(key: string): string | null {
  const trimmed = key.trim();
  const hex = /^([0-9a-f]{4}),?([0-9a-f]{4})$/i.exec(trimmed);
  if (hex) return `${hex[1]}${hex[2]}`.toUpperCase();
  return BY_KEYWORD.get(trimmed.toLowerCase()) ?? null;
}

/** The keyword of a tag when the dictionary knows it (for messages), else the tag. */
export const nameOf = (tag: string) => KEYWORD_OF.get(tag) ?? tag;

const CONTROL = new Set(['limit', 'offset', 'fuzzymatching', 'includefield']);

function nonNegativeInt(value: string): number | null {
  return /^\d{1,9}$/.test(value) ? Number(value) : null;
}

/**
 * Parses QIDO parameters. Refused (the list of problems): a key given twice under any spelling, an
 * attribute path or name the proxy cannot read, malformed paging. `token` must already be removed.
 */
export function parseQidoQuery(params: URLSearchParams): { ok: true; query: QidoQuery } | { ok: false; problems: QueryProblem[] } {
  const problems: QueryProblem[] = [];
  const filters = new Map<string, string>();
  const seenControl = new Set<string>();
  let includeFields: Set<string> | 'all' = new Set();
  let limit: number | null = null;
  let offset = 0;
  let fuzzyMatching = false;
  for (const [rawKey, value] of params) {
    const key = rawKey.trim();
    const control = key.toLowerCase();
    if (CONTROL.has(control)) {
      if (control !== 'includefield' && seenControl.has(control)) {
        problems.push({ field: key, message: `${control} is given more than once` });
        continue;
      }
      seenControl.add(control);
      if (control === 'limit') {
        const n = nonNegativeInt(value);
        if (n === null) problems.push({ field: key, message: 'limit must be a non-negative integer' });
        else limit = Math.min(n, MAX_LIMIT);
      } else if (control === 'offset') {
        const n = nonNegativeInt(value);
        if (n === null) problems.push({ field: key, message: 'offset must be a non-negative integer' });
        else offset = n;
      } else if (control === 'fuzzymatching') {
        if (!/^(true|false)$/i.test(value)) problems.push({ field: key, message: 'fuzzymatching must be true or false' });
        else fuzzyMatching = value.toLowerCase() === 'true';
      } else {
        for (const item of value
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean)) {
          if (item.toLowerCase() === 'all') includeFields = 'all';
          else {
            const tag = tagOf(item);
            if (!tag) problems.push({ field: key, message: `Unknown attribute ${JSON.stringify(item)} in includefield` });
            else if (includeFields !== 'all') includeFields.add(tag);
          }
        }
      }
      continue;
    }
    const tag = tagOf(key);
    if (!tag) {
      problems.push({
        field: key,
        message: key.includes('.') ? 'Attribute paths into sequences are not searchable' : 'Unknown query parameter',
      });
      continue;
    }
    if (filters.has(tag)) {
      problems.push({ field: key, message: `${nameOf(tag)} is given more than once (under any spelling)` });
      continue;
    }
    filters.set(tag, value);
  }
  if (problems.length) return { ok: false, problems };
  return { ok: true, query: { filters, includeFields, limit, offset, fuzzyMatching } };
}

/** The query as Orthanc receives it: tags only, one value each. */
export function toSearchParams(q: QidoQuery, extraIncludes: string[] = []): URLSearchParams {
  const out = new URLSearchParams();
  for (const [tag, value] of q.filters) out.append(tag, value);
  if (q.includeFields === 'all') out.append('includefield', 'all');
  else for (const tag of new Set([...q.includeFields, ...extraIncludes])) out.append('includefield', tag);
  if (q.limit !== null) out.set('limit', String(q.limit));
  if (q.offset) out.set('offset', String(q.offset));
  if (q.fuzzyMatching) out.set('fuzzymatching', 'true');
  return out;
}

/** A UID-valued filter split into its UIDs (DICOM `\` and DICOMweb `,` separators); empty or `*` = no filter. */
export function uidList(value: string | undefined): string[] | null {
  if (value === undefined || value.trim() === '' || value.trim() === '*') return null;
  return value
    .split(/[\\,]/)
    .map((v) => v.trim())
    .filter(Boolean);
}

/** A DICOM wildcard value (`*`, `?`) as a SQL LIKE pattern, with LIKE's own characters escaped. */
export function likeFromWildcard(value: string): string {
  return value
    .replace(/[\\%_]/g, (c) => `\\${c}`)
    .replace(/\*/g, '%')
    .replace(/\?/g, '_');
}

/** A DICOM date or date range (`YYYYMMDD`, `A-`, `-B`, `A-B`) as ISO bounds, or null when malformed. */
export function dateRange(value: string): { from: string | null; to: string | null } | null {
  const iso = (d: string) => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
  const m = /^(\d{8})?(-)?(\d{8})?$/.exec(value.trim());
  if (!m || (!m[1] && !m[3])) return null;
  if (!m[2]) return m[1] && !m[3] ? { from: iso(m[1]), to: iso(m[1]) } : null;
  return { from: m[1] ? iso(m[1]) : null, to: m[3] ? iso(m[3]) : null };
}

/**
 * A query as Orthanc reads it, for every request the proxy forwards (QIDO, WADO-RS, WADO-URI): each key and value
 * percent-encoded, except `,` and `/`. DICOMweb lists values with commas (`viewport=vw,vh`, `window=c,w,linear`,
 * UID lists) and WADO-URI names media types (`contentType=application/dicom`); Orthanc's rendering and WADO-URI
 * read those values without percent-decoding them (`%2C` answers 400), and both characters are legal as they are.
 */
export function orthancQuery(params: Iterable<[string, string]>): string {
  const encode = (v: string) => encodeURIComponent(v).replace(/%2C/gi, ',').replace(/%2F/gi, '/');
  return [...params].map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
}
