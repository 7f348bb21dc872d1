import type { OrthancClient } from '../../common/orthanc.js';

const TTL_MS = 10_000;
const MAX_ENTRIES = 5_000;
// Which PatientIDs hold a StudyInstanceUID: a viewer asks about the same study for every frame, so the
// answer is kept a few seconds. New copies of a UID under another patient are refused at upload, so a
// short-lived entry cannot hide one for long.
const owners = new Map<string, { at: number; patientIds: string[] }>();

async function patientIdsOf(orthanc: OrthancClient, studyUid: string): Promise<string[]> {
  const hit = owners.get(studyUid);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.patientIds;
  const patientIds = (await orthanc.findStudiesByUid(studyUid)).map((s) => s.PatientMainDicomTags.PatientID ?? '');
  // An unknown UID is not remembered: the study may arrive any moment.
  if (patientIds.length === 0) return patientIds;
  if (owners.size >= MAX_ENTRIES) owners.delete(owners.keys().next().value!);
  owners.set(studyUid, { at: Date.now(), patientIds });
  return patientIds;
}

/**
 * Whether every Orthanc study carrying this StudyInstanceUID belongs to a patient the caller may see.
 * Orthanc's DICOMweb answers by UID across patients, so one foreign match is enough to refuse.
 */
export async function studyAllowed(orthanc: OrthancClient, studyUid: string, allowed: Set<string>): Promise<boolean> {
  if (allowed.size === 0) return false;
  const patientIds = await patientIdsOf(orthanc, studyUid);
  return patientIds.length > 0 && patientIds.every((id) => allowed.has(id));
}
