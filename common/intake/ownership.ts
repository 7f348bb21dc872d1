// Who holds a UID: the storage plugin files every instance under `patients/{PatientID}/studies/{Study}/
// series/{Series}/{SOP}.dcm` (orthanc/storage_plugin.py) and records the key in PostgreSQL, indexed by
// segment. A Study, Series or SOP Instance UID held under another PatientID must not be stored again:
// DICOMweb retrieves by UID, so a second holder would take, hide or shadow the first one's images.
import type { Knex } from 'knex';
import { preparedQuery } from '../db.js';

/** A path segment as the storage plugin writes it (its `segment`): UIDs and our identifiers pass unchanged. */
export function storageSegment(value: string | null | undefined, fallback: string): string {
  const text = (value ?? '').trim().replace(/[^A-Za-z0-9._-]/g, '_');
  return text === '' || text === '.' || text === '..' ? fallback : text.slice(0, 128);
}

// Literal segment positions, so that each query uses its expression index (migrations 20261205180000 and
// `index_storage_keys_by_sop`). Prepared: asked for every stored file.
const HOLDERS_SQL = {
  study: `select distinct split_part(object_key, '/', 2) as patient from orthanc_storage_keys where split_part(object_key, '/', 4) = $1 and object_key is not null`,
  series: `select distinct split_part(object_key, '/', 2) as patient from orthanc_storage_keys where split_part(object_key, '/', 6) = $1 and object_key is not null`,
  sop: `select distinct split_part(object_key, '/', 2) as patient from orthanc_storage_keys where split_part(object_key, '/', 7) = $1 and object_key is not null`,
} as const;

/** The PatientIDs (storage segments) under which a study, series or SOP instance UID is stored. */
export async function holdersOf(db: Knex, level: keyof typeof HOLDERS_SQL, uid: string): Promise<string[]> {
  const key = level === 'sop' ? `${storageSegment(uid, '_unknown')}.dcm` : storageSegment(uid, '_unknown');
  return (await preparedQuery<{ patient: string }>(db, HOLDERS_SQL[level], [key])).map((r) => r.patient);
}

/** The identifying UIDs of a file. */
export interface FileUids {
  studyInstanceUid: string | null;
  seriesInstanceUid: string | null;
  sopInstanceUid: string | null;
}

/**
 * Which identifying UID of a file is already stored under a PatientID other than `patientId`, or null.
 * `memo` keeps study and series answers across the files of one upload or association (they share them).
 */
export async function uidHeldElsewhere(
  db: Knex,
  file: FileUids,
  patientId: string,
  memo?: Map<string, Promise<string[]>>,
): Promise<'Study Instance UID' | 'Series Instance UID' | 'SOP Instance UID' | null> {
  const mine = storageSegment(patientId, '_unknown');
  const held = (level: 'study' | 'series' | 'sop', uid: string) => {
    if (level === 'sop' || !memo) return holdersOf(db, level, uid);
    let known = memo.get(`${level}:${uid}`);
    if (!known) memo.set(`${level}:${uid}`, (known = holdersOf(db, level, uid)));
    return known;
  };
  const checks = [
    ['study', file.studyInstanceUid, 'Study Instance UID'],
    ['series', file.seriesInstanceUid, 'Series Instance UID'],
    ['sop', file.sopInstanceUid, 'SOP Instance UID'],
  ] as const;
  for (const [level, uid, name] of checks) if (uid && (await held(level, uid)).some((p) => p !== mine)) return name;
  return null;
}
