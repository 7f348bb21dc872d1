import type { OrthancClient } from '../../common/orthanc.js';

/**
 * Whether every Orthanc study carrying this StudyInstanceUID belongs to a patient the caller may see.
 * Orthanc's DICOMweb answers by UID across patients, so one foreign match is enough to refuse.
 */
export async function studyAllowed(orthanc: OrthancClient, studyUid: string, allowed: Set<string>): Promise<boolean> {
  if (allowed.size === 0) return false;
  const res = await orthanc.fetch('/tools/find', {
    method: 'POST',
    body: JSON.stringify({ Level: 'Study', Query: { StudyInstanceUID: studyUid }, Expand: true, Limit: 100 }),
  });
  if (!res.ok) throw new Error(`Orthanc /tools/find answered ${res.status}`);
  const studies = (await res.json()) as { PatientMainDicomTags?: { PatientID?: string } }[];
  return studies.length > 0 && studies.every((s) => allowed.has(s.PatientMainDicomTags?.PatientID ?? ''));
}
