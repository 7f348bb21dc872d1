import { retryOnConflict } from '../../../common/retry.js';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { withOrthanc } from '../../../common/orthanc.js';
import { recordAudit, recordListRead, type AuditAction } from '../../../common/audit.js';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';
import { notFound } from '../../../common/http/errors.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import { refreshStudy } from './index-sync.js';
import * as repo from './repository.js';
import type { Knex } from 'knex';
import type { GuardedWrite } from '../http/representation.js';
import { toStudyDto } from './presenter.js';

/** Studies and series: search, organise, delete, download (arrival: api/src/intake; reports: api/src/reports). */
export function createDicomService(deps: Deps) {
  const { db, orthanc } = deps;

  async function mustFind(auth: Auth, id: string, trx = db, forUpdate = false) {
    const study = await repo.findStudy(trx, auth, id, forUpdate);
    if (!study) throw notFound('Study');
    return study;
  }

  const audit = (
    trx: Knex | Knex.Transaction,
    auth: Auth,
    meta: RequestMeta,
    action: AuditAction,
    patientId: string,
    targetType: 'dicom_study' | 'dicom_series',
    targetId: string,
    details: Record<string, unknown> = {},
  ) => recordAudit(trx, meta, { actor: auth, action, targetType, targetId, patientId, details });

  return {
    async list(auth: Auth, q: repo.StudyListQuery, meta: RequestMeta) {
      const page = await repo.listStudies(db, auth, q);
      await recordListRead(db, meta, auth, 'dicom.studies_listed', page.items, 'studies');
      return page;
    },

    async get(auth: Auth, id: string, meta: RequestMeta) {
      const study = await mustFind(auth, id);
      await audit(db, auth, meta, 'dicom.study_read', study.patient_id, 'dicom_study', id);
      return study;
    },

    async series(auth: Auth, id: string) {
      await mustFind(auth, id);
      return repo.seriesOfStudy(db, id);
    },

    async update(auth: Auth, id: string, write: GuardedWrite<{ description?: string | null; labels?: string[] }>, meta: RequestMeta) {
      return db.transaction(async (trx) => {
        const found = await mustFind(auth, id, trx, true);
        const checked = write.against(toStudyDto(found));
        // Sent back as it was read: the answer is a read of the study.
        if (checked.unchanged) {
          await audit(trx, auth, meta, 'dicom.study_read', found.patient_id, 'dicom_study', id);
          return found;
        }
        await repo.updateStudyRow(trx, id, checked.body);
        await audit(trx, auth, meta, 'dicom.study_updated', found.patient_id, 'dicom_study', id, { fields: Object.keys(checked.body) });
        return mustFind(auth, id, trx);
      });
    },

    /** Deletes from Orthanc (which removes the objects), then from the index. */
    async removeStudy(auth: Auth, id: string, meta: RequestMeta): Promise<void> {
      const study = await mustFind(auth, id);
      await withOrthanc(() => orthanc.delete('studies', study.orthanc_id));
      await repo.removeStudy(db, id);
      await db('dicom_series_metadata').where({ study_instance_uid: study.study_instance_uid }).delete();
      await audit(db, auth, meta, 'dicom.study_deleted', study.patient_id, 'dicom_study', id, {
        studyInstanceUid: study.study_instance_uid,
        instances: study.number_of_instances,
      });
    },

    async removeSeries(auth: Auth, id: string, meta: RequestMeta): Promise<void> {
      const series = await repo.findSeries(db, auth, id);
      if (!series) throw notFound('Series');
      await withOrthanc(async () => {
        await orthanc.delete('series', series.orthanc_id);
        await db('dicom_series_metadata').where({ orthanc_series_id: series.orthanc_id }).delete();
        // Orthanc drops a study whose last series goes; refreshing mirrors that in the index.
        await retryOnConflict(
          () => db.transaction((trx) => refreshStudy(trx, orthanc, series.study_orthanc_id, null)),
          'index a study after a series deletion',
          deps.logger,
        );
      });
      await audit(db, auth, meta, 'dicom.series_deleted', series.patient_id, 'dicom_series', id, {
        seriesInstanceUid: series.series_instance_uid,
        studyId: series.study_id,
      });
    },

    /** The study as a ZIP, streamed from Orthanc to the client. */
    async download(auth: Auth, id: string, meta: RequestMeta): Promise<{ body: Readable; filename: string }> {
      const study = await mustFind(auth, id);
      const res = await withOrthanc(() => orthanc.archive(study.orthanc_id));
      await audit(db, auth, meta, 'dicom.downloaded', study.patient_id, 'dicom_study', id);
      return { body: Readable.fromWeb(res.body as WebReadableStream), filename: `study-${study.study_instance_uid}.zip` };
    },
  };
}
