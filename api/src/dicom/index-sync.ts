import type { Knex } from 'knex';
import { ONE_OWNER_PER_UID, orthancIdOf, removeStudyByOrthancId, upsertStudyRow } from './repository.js';
import type { Logger } from '../../../common/logger.js';
import { retryOnConflict } from '../../../common/retry.js';
import { followedByHospital } from '../../../common/access.js';
import { OrthancError, type OrthancClient, type OrthancSeries } from '../../../common/orthanc.js';

type Db = Knex | Knex.Transaction;

/** DICOM dates are YYYYMMDD; anything else (empty, partial, garbage) is stored as unknown. */
function dicomDate(value: string | undefined): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value?.trim() ?? '');
  if (!m) return null;
  const iso = `${m[1]}-${m[2]}-${m[3]}`;
  return Number.isNaN(Date.parse(iso)) ? null : iso;
}

const clean = (value: string | undefined) => {
  const v = value?.trim();
  return v ? v : null;
};

const isGone = (err: unknown) => err instanceof OrthancError && err.status === 404;

/**
 * The registered device that pushed the study, from the first series that came from a device, or null
 * when every series was uploaded through the API. The device gate records each instance it stores
 * (`dicom_gate_receipts`, written before the store); instances Orthanc received by DICOM itself, before
 * the gate, carry their calling AE title in Orthanc's metadata.
 */
async function sourceDevice(
  db: Db,
  orthanc: OrthancClient,
  series: OrthancSeries[],
): Promise<{ aeTitle: string; hospitalId: string | null } | null> {
  const firsts = series.map((s) => s.Instances[0]).filter((id): id is string => id !== undefined);
  if (firsts.length === 0) return null;
  const receipts: { orthanc_instance_id: string; ae_title: string; hospital_id: string | null }[] = await db('dicom_gate_receipts')
    .whereIn('orthanc_instance_id', firsts)
    .select('orthanc_instance_id', 'ae_title', 'hospital_id');
  for (const instance of firsts) {
    const receipt = receipts.find((r) => r.orthanc_instance_id === instance);
    if (receipt) return { aeTitle: receipt.ae_title, hospitalId: receipt.hospital_id };
    if ((await orthanc.instanceMetadata(instance, 'Origin')) !== 'DicomProtocol') continue;
    const aeTitle = (await orthanc.instanceMetadata(instance, 'RemoteAET')) ?? '';
    const device = await db('modalities').whereRaw('upper(ae_title) = upper(?)', [aeTitle]).whereNull('deleted_at').first('hospital_id');
    return { aeTitle, hospitalId: device?.hospital_id ?? null };
  }
  return null;
}

/** The study's UID already belongs to another patient in the index (see `onOwnerConflict`). */
export class StudyOwnerConflict extends Error {
  constructor(readonly studyInstanceUid: string) {
    super('This Study Instance UID already belongs to another patient');
    this.name = 'StudyOwnerConflict';
  }
}

/**
 * Brings the index row of one Orthanc study (and its series) in line with Orthanc; removes it when the
 * study is gone. Idempotent: running it twice leaves the same rows. Returns the index id, or null.
 */
export async function refreshStudy(
  db: Db,
  orthanc: OrthancClient,
  orthancStudyId: string,
  uploaderId: string | null,
  options: { sizes?: boolean; onOwnerConflict?: 'quarantine' | 'throw' } = {},
): Promise<string | null> {
  // Sizes cost Orthanc a pass over every instance: the upload path skips them, the indexer fills them in.
  const withSizes = options.sizes ?? true;
  let study;
  let series: OrthancSeries[];
  let stats;
  let seriesStats;
  try {
    study = await orthanc.study(orthancStudyId);
    [series, stats, seriesStats] = await Promise.all([
      Promise.all(study.Series.map((id) => orthanc.series(id))),
      withSizes ? orthanc.statistics('studies', orthancStudyId) : null,
      withSizes ? Promise.all(study.Series.map((id) => orthanc.statistics('series', id))) : null,
    ]);
  } catch (err) {
    if (!isGone(err)) throw err;
    await removeStudyByOrthancId(db, orthancStudyId);
    return null;
  }
  const dicomPatientId = clean(study.PatientMainDicomTags.PatientID);
  const patient = dicomPatientId ? await db('patients').where({ identifier: dicomPatientId }).first('user_id') : undefined;
  let patientId: string | null = patient?.user_id ?? null;
  const device = await sourceDevice(db, orthanc, series);
  // A device may only file images under its own hospital's patients; anything else waits in the quarantine.
  if (patientId && device && !(await followedByHospital(db, device.hospitalId, patientId))) patientId = null;
  const tags = study.MainDicomTags;
  const row = {
    orthanc_id: orthancStudyId,
    study_instance_uid: clean(tags.StudyInstanceUID) ?? orthancStudyId,
    patient_id: patientId,
    ...(device ? { source_ae_title: device.aeTitle, source_hospital_id: device.hospitalId } : {}),
    dicom_patient_id: dicomPatientId,
    doctor_id: uploaderId,
    study_date: dicomDate(tags.StudyDate),
    study_time: clean(tags.StudyTime),
    modalities: [...new Set(series.map((s) => clean(s.MainDicomTags.Modality)).filter((m): m is string => m !== null))].sort(),
    dicom_description: clean(tags.StudyDescription),
    accession_number: clean(tags.AccessionNumber),
    referring_physician_name: clean(tags.ReferringPhysicianName),
    dicom_study_id: clean(tags.StudyID),
    body_parts: [...new Set(series.map((s) => clean(s.MainDicomTags.BodyPartExamined)).filter((b): b is string => b !== null))].sort(),
    number_of_series: study.Series.length,
    number_of_instances: series.reduce((n, s) => n + s.Instances.length, 0),
    ...(stats ? { size_bytes: Number(stats.DiskSize) || 0 } : {}),
    updated_at: db.fn.now(),
  };
  let saved: { id: string };
  try {
    // A savepoint: the unique owner index may refuse the row without aborting the caller's transaction.
    saved = await db.transaction((sp) => upsertStudyRow(sp, row));
  } catch (err) {
    if ((err as { constraint?: string }).constraint !== ONE_OWNER_PER_UID) throw err;
    if (options.onOwnerConflict === 'throw') throw new StudyOwnerConflict(row.study_instance_uid);
    // The UID already belongs to another patient: this copy is indexed without a patient (quarantine).
    saved = await upsertStudyRow(db, { ...row, patient_id: null });
  }
  const studyId = saved.id as string;
  for (const [i, s] of series.entries()) {
    const t = s.MainDicomTags;
    const seriesRow = {
      orthanc_id: s.ID,
      study_id: studyId,
      series_instance_uid: clean(t.SeriesInstanceUID) ?? s.ID,
      modality: clean(t.Modality),
      description: clean(t.SeriesDescription),
      body_part: clean(t.BodyPartExamined),
      series_number: Number.parseInt(t.SeriesNumber ?? '', 10) || null,
      number_of_instances: s.Instances.length,
      ...(seriesStats ? { size_bytes: Number(seriesStats[i]?.DiskSize) || 0 } : {}),
      updated_at: db.fn.now(),
    };
    await db('dicom_series').insert(seriesRow).onConflict('orthanc_id').merge(seriesRow);
  }
  await db('dicom_series').where({ study_id: studyId }).whereNotIn('orthanc_id', study.Series).delete();
  return studyId;
}

/**
 * Follows Orthanc's /changes feed from the cursor stored in PostgreSQL. Each batch runs in one
 * transaction holding the cursor row (SKIP LOCKED: another process already indexing makes this one
 * return), so a restart resumes where the last committed batch ended and nothing is indexed twice.
 */
export async function runIndexerTick(db: Knex, orthanc: OrthancClient, logger?: Logger, maxBatches = 20): Promise<number> {
  let processed = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    // A batch that deadlocked with an upload's indexing is run again whole (its cursor moved with it).
    const batchResult = await retryOnConflict(
      () =>
        db.transaction(async (trx) => {
          const cursor = await trx('dicom_index_cursor').where({ id: 1 }).forUpdate().skipLocked().first('last_seq');
          if (!cursor) return { done: true, count: 0 };
          const page = await orthanc.changes(Number(cursor.last_seq), 200);
          const studies = new Set<string>();
          for (const change of page.Changes) {
            if (change.ChangeType === 'Deleted') {
              if (change.ResourceType === 'Study') await removeStudyByOrthancId(trx, change.ID);
              if (change.ResourceType === 'Series') {
                const gone = await trx('dicom_series').where({ orthanc_id: change.ID }).first('study_id');
                if (gone) {
                  const parent = await orthancIdOf(trx, gone.study_id);
                  if (parent) studies.add(parent);
                }
              }
            } else if (change.ResourceType === 'Study' && ['NewStudy', 'StableStudy'].includes(change.ChangeType)) {
              studies.add(change.ID);
            } else if (change.ResourceType === 'Series' && ['NewSeries', 'StableSeries'].includes(change.ChangeType)) {
              try {
                studies.add((await orthanc.series(change.ID)).ParentStudy);
              } catch (err) {
                if (!isGone(err)) throw err;
              }
            }
          }
          for (const id of studies) await refreshStudy(trx, orthanc, id, null);
          await trx('dicom_index_cursor').where({ id: 1 }).update({ last_seq: page.Last, updated_at: trx.fn.now() });
          if (studies.size > 0) logger?.debug({ studies: studies.size, last: page.Last }, 'indexed changes');
          return { done: page.Done, count: page.Changes.length };
        }),
      'index a batch of changes',
      logger,
    );
    processed += batchResult.count;
    if (batchResult.done) break;
  }
  return processed;
}

/** How many changes of Orthanc's feed the index has not processed yet (Orthanc's last change minus the cursor). */
export async function indexerLag(db: Knex, orthanc: OrthancClient): Promise<number> {
  const cursor = await db('dicom_index_cursor').where({ id: 1 }).first('last_seq');
  const res = await orthanc.fetch('/changes?last');
  if (!res.ok) throw new Error(`Orthanc /changes?last answered ${res.status}`);
  const { Last } = (await res.json()) as { Last: number };
  return Math.max(0, Last - Number(cursor?.last_seq ?? 0));
}
