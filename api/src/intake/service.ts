import type { Context } from 'koa';
import { quarantinedStudies } from '../../../common/access.js';
import { recordAudit } from '../../../common/audit.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import { withOrthanc } from '../../../common/orthanc.js';
import { retryOnConflict } from '../../../common/retry.js';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';
import { refreshStudy, StudyOwnerConflict } from '../dicom/index-sync.js';
import * as repo from '../dicom/repository.js';
import { receiveUpload } from './upload.js';

/** Studies arriving through the API: the upload (indexed right away) and the quarantine's list. */
export function createIntakeService(deps: Deps) {
  const { db, orthanc } = deps;
  return {
    /** Stores the uploaded files, then indexes the studies they touched right away. */
    async upload(auth: Auth, ctx: Context, meta: RequestMeta) {
      const outcome = await receiveUpload(deps, auth, ctx);
      const studyIds = new Map<string, string | null>();
      await withOrthanc(async () => {
        for (const orthancStudyId of new Set(outcome.stored.map((s) => s.orthancStudyId))) {
          try {
            // Indexed in one transaction, run again if it deadlocked with the indexer or another upload.
            const studyId = await retryOnConflict(
              () =>
                db.transaction((trx) =>
                  refreshStudy(trx, orthanc, orthancStudyId, auth.userId, { sizes: false, onOwnerConflict: 'throw' }),
                ),
              'index an uploaded study',
              deps.logger,
            );
            studyIds.set(orthancStudyId, studyId);
          } catch (err) {
            if (!(err instanceof StudyOwnerConflict)) throw err;
            // Another upload won this UID for another patient meanwhile: our copy goes, its files are refused.
            await orthanc.delete('studies', orthancStudyId);
            for (const lost of outcome.stored.filter((s) => s.orthancStudyId === orthancStudyId)) {
              outcome.refused.push({
                file: lost.file,
                code: 'UID_CONFLICT',
                reason: 'This Study Instance UID already belongs to another patient’s images',
              });
            }
            outcome.stored = outcome.stored.filter((s) => s.orthancStudyId !== orthancStudyId);
          }
        }
      });
      await recordAudit(db, meta, {
        actor: auth,
        action: 'dicom.uploaded',
        targetType: 'patient',
        targetId: outcome.patientId,
        patientId: outcome.patientId,
        details: { stored: outcome.stored.length, refused: outcome.refused.length, studies: [...studyIds.values()] },
      });
      const studies = await repo.studiesById(
        db,
        [...studyIds.values()].filter((v): v is string => v !== null),
      );
      return {
        patientId: outcome.patientId,
        stored: outcome.stored.map((s) => ({
          file: s.file,
          instanceId: s.instanceId,
          studyId: studyIds.get(s.orthancStudyId) ?? null,
          alreadyStored: s.alreadyStored,
        })),
        refused: outcome.refused,
        studies: studies as repo.StudyRow[],
      };
    },

    /** The quarantine: everything for the super admin (counts and UIDs), a doctor its hospital's devices' pushes. */
    async unmatched(auth: Auth, q: { page: number; pageSize: number }) {
      const base = quarantinedStudies(db, auth, true);
      const [{ count }] = (await base.clone().count({ count: '*' })) as [{ count: number }];
      const [{ instances }] = (await base.clone().sum({ instances: 'number_of_instances' })) as [{ instances: number | null }];
      const rows: repo.StudyRow[] = await base
        .orderBy('created_at', 'desc')
        .limit(q.pageSize)
        .offset((q.page - 1) * q.pageSize)
        .select('*');
      return {
        total: Number(count),
        totalInstances: Number(instances ?? 0),
        page: q.page,
        pageSize: q.pageSize,
        items: rows.map((r) => ({
          id: r.id,
          studyInstanceUid: r.study_instance_uid,
          dicomPatientId: r.dicom_patient_id,
          sourceAeTitle: (r as repo.StudyRow & { source_ae_title: string | null }).source_ae_title,
          numberOfSeries: r.number_of_series,
          numberOfInstances: r.number_of_instances,
          receivedAt: r.created_at.toISOString(),
        })),
      };
    },
  };
}
