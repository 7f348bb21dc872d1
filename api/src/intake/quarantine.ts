import { imagingUnavailable } from '../../../common/orthanc.js';
import { retryOnConflict } from '../../../common/retry.js';
import { Readable } from 'node:stream';
import { recordAudit } from '../../../common/audit.js';
import { AppError, conflict, notFound } from '../../../common/http/errors.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';
import { quarantinedStudies } from '../../../common/access.js';
import { removeStudy, studyIdOfOrthanc, uidOwnedByOther } from '../dicom/repository.js';
import { findPatientInMedicalScope } from '../medical-records/repository.js';
import { refreshStudy, StudyOwnerConflict } from '../dicom/index-sync.js';
import { DicomRejected, patientIdentity, rewritePatient } from '../../../common/dicom/rewrite.js';
import { forgetEarlierPush } from '../../../common/intake/receipts.js';

interface QuarantinedRow {
  id: string;
  orthanc_id: string;
  study_instance_uid: string;
  source_hospital_id: string | null;
}

/**
 * The quarantine's actions: a doctor of the hospital whose device pushed a study that could not be filed
 * assigns it to one of its patients (each instance rewritten to that patient's identity as on upload,
 * stored again, the quarantined copy removed) or discards it. Another hospital's quarantine answers 404.
 */
export function createQuarantineService({ db, orthanc, logger }: Deps) {
  async function find(auth: Auth, id: string): Promise<QuarantinedRow> {
    const row = await quarantinedStudies(db, auth, false)
      .where({ id })
      .first('id', 'orthanc_id', 'study_instance_uid', 'source_hospital_id');
    if (!row) throw notFound('Unmatched study');
    return row;
  }

  /** The quarantined copy goes (from Orthanc, then the index), and why is audited: filed under a patient, or discarded. */
  async function remove(
    auth: Auth,
    row: QuarantinedRow,
    meta: RequestMeta,
    action: 'dicom.reconciled' | 'dicom.discarded',
    concerns: { patientId?: string; hospitalId?: string | null },
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await orthanc.delete('studies', row.orthanc_id);
    await removeStudy(db, row.id);
    await recordAudit(db, meta, {
      actor: auth,
      action,
      targetType: 'dicom_study',
      targetId: row.id,
      ...concerns,
      details: { studyInstanceUid: row.study_instance_uid, ...details },
    });
  }

  return {
    /** Files a quarantined study under a patient of the caller, all or nothing. */
    async assign(auth: Auth, id: string, patientId: string, meta: RequestMeta) {
      const row = await find(auth, id);
      const patient = await findPatientInMedicalScope(db, auth, patientId);
      if (!patient) throw notFound('Patient');
      if (await uidOwnedByOther(db, row.study_instance_uid, patient.id))
        throw conflict('UID_CONFLICT', 'This Study Instance UID already belongs to another patient’s images');
      const identity = patientIdentity(patient);
      const instances = (await orthanc
        .fetch(`/studies/${encodeURIComponent(row.orthanc_id)}/instances`)
        .then((r) => (r.ok ? r.json() : []))) as { ID: string }[];
      // All or nothing: the copies made by this attempt are removed again if any instance fails.
      const copied: string[] = [];
      let newStudy: string | null = null;
      try {
        for (const instance of instances) {
          const file = await orthanc.stream(`/instances/${encodeURIComponent(instance.ID)}/file`);
          if ((file.statusCode ?? 500) >= 400) {
            file.resume();
            throw imagingUnavailable();
          }
          let rewritten;
          try {
            rewritten = await rewritePatient(file, identity);
          } catch (err) {
            if (err instanceof DicomRejected)
              throw new AppError(422, 'UNASSIGNABLE', `An instance of this study cannot be filed: ${err.message}`);
            throw err;
          }
          const stored = await orthanc.storeInstance(Readable.from(rewritten.output));
          await forgetEarlierPush(db, stored);
          if (stored.Status !== 'AlreadyStored') copied.push(stored.ID);
          newStudy = stored.ParentStudy;
        }
        const filed = newStudy;
        if (filed)
          await retryOnConflict(
            () => db.transaction((trx) => refreshStudy(trx, orthanc, filed, auth.userId, { sizes: false, onOwnerConflict: 'throw' })),
            'index an assigned study',
            logger,
          );
      } catch (err) {
        for (const id of copied) await orthanc.delete('instances', id).catch(() => undefined);
        if (err instanceof StudyOwnerConflict)
          throw conflict('UID_CONFLICT', 'This Study Instance UID already belongs to another patient’s images');
        throw err;
      }
      await remove(auth, row, meta, 'dicom.reconciled', { patientId: patient.id }, { instances: instances.length });
      const filed = newStudy ? await studyIdOfOrthanc(db, newStudy) : null;
      return { studyId: filed, instances: instances.length };
    },

    /** Removes a quarantined study for good. */
    async discard(auth: Auth, id: string, meta: RequestMeta): Promise<void> {
      const row = await find(auth, id);
      await remove(auth, row, meta, 'dicom.discarded', { hospitalId: auth.hospitalId });
    },
  };
}
