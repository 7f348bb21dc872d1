import { scopeFor } from '../../../common/scope.js';
import { conflict, notFound } from '../../../common/http/errors.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';
import { findStudy } from '../dicom/repository.js';
import { presignGet } from './presign.js';

/** Links straight to the stored objects of a study (S3/MinIO only): short-lived, presigned, audited. */
export function createObjectLinkService({ db, config }: Deps) {
  return {
    /** One presigned URL per original object of a study the caller may read. */
    async studyLinks(auth: Auth, id: string, meta: RequestMeta) {
      const study = await findStudy(db, auth, id);
      if (!study) throw notFound('Study');
      if (!config.s3) throw conflict('S3_NOT_CONFIGURED', 'Images are stored in a local directory: use the ZIP download');
      const patient = await db('patients').where({ user_id: study.patient_id }).first('identifier');
      const rows: { object_key: string; size: number }[] = await db('orthanc_storage_keys')
        .where('content_type', 1)
        .where(
          'object_key',
          'like',
          `patients/${patient.identifier}/studies/${study.study_instance_uid.replace(/[%_\\]/g, '\\$&')}/series/%`,
        )
        .orderBy('object_key')
        .select('object_key', 'size');
      const ttl = config.s3.presignTtlSeconds;
      await scopeFor(db, auth).audit(meta, {
        action: 'dicom.presigned',
        targetType: 'dicom_study',
        targetId: id,
        patientId: study.patient_id,
        details: { objects: rows.length },
      });
      return {
        expiresAt: new Date(Date.now() + ttl * 1000).toISOString(),
        items: await Promise.all(
          rows.map(async (r) => ({ key: r.object_key, size: Number(r.size), url: await presignGet(config.s3!, r.object_key, ttl) })),
        ),
      };
    },
  };
}
