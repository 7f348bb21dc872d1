import type { OrthancClient } from '../../common/orthanc.js';

/**
 * Whether every Orthanc study carrying this StudyInstanceUID belongs to a patient the caller may see.
 * Orthanc's DICOMweb answers by UID across patients, so one foreign match is enough to refuse.
 */
export async function studyAllowed(orthanc: OrthancClient, studyUid: string, allowed: Set<string>): Promise<boolean> {
  if (allowed.size === 0) return false;
  const studies = await orthanc.findStudiesByUid(studyUid);
  return studies.length > 0 && studies.every((s) => allowed.has(s.PatientMainDicomTags.PatientID ?? ''));
}
