import { newViewerToken } from '../../../common/viewer-sessions.js';
import { recordAudit } from '../../../common/audit.js';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';
import { conflict, notFound } from '../../../common/http/errors.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import { findStudy } from '../dicom/repository.js';

interface SessionRow {
  id: string;
  study_id: string | null;
  study_instance_uid: string;
  created_at: Date;
  expires_at: Date;
}

const toDto = (r: SessionRow) => ({
  id: r.id,
  studyId: r.study_id,
  studyInstanceUid: r.study_instance_uid,
  createdAt: r.created_at.toISOString(),
  expiresAt: r.expires_at.toISOString(),
});

/** Viewer sessions: a short-lived token opening one study through the DICOMweb proxy, a few per user at once. */
export function createViewerSessionService({ db, config }: Deps) {
  const live = (userId: string) => db('viewer_sessions').where({ user_id: userId }).whereNull('revoked_at').where('expires_at', '>', db.fn.now());

  return {
    /** Opens a session on a study in scope; reopening the same study replaces the previous session. */
    async open(auth: Auth, studyId: string, meta: RequestMeta) {
      const study = await findStudy(db, auth, studyId);
      if (!study) throw notFound('Study');
      const { token, hash } = newViewerToken();
      const row: SessionRow = await db.transaction(async (trx) => {
        // One creation at a time per user, so the limit holds under concurrent requests.
        await trx('users').where({ id: auth.userId }).forUpdate().first('id');
        await trx('viewer_sessions')
          .where({ user_id: auth.userId, study_instance_uid: study.study_instance_uid })
          .whereNull('revoked_at')
          .update({ revoked_at: trx.fn.now() });
        const [{ n }] = (await live(auth.userId).transacting(trx).count({ n: '*' })) as [{ n: number }];
        if (Number(n) >= config.viewer.maxSessions) {
          throw conflict('TOO_MANY_VIEWER_SESSIONS', `At most ${config.viewer.maxSessions} viewer sessions at once; close one first`, [
            { field: 'sessions', message: 'Limit reached', max: config.viewer.maxSessions, active: Number(n) },
          ]);
        }
        const [created] = await trx('viewer_sessions')
          .insert({
            user_id: auth.userId,
            session_id: auth.sessionId,
            study_id: study.id,
            study_instance_uid: study.study_instance_uid,
            token_hash: hash,
            expires_at: new Date(Date.now() + config.viewer.ttlSeconds * 1000),
          })
          .returning(['id', 'study_id', 'study_instance_uid', 'created_at', 'expires_at']);
        await recordAudit(trx, meta, { actor: auth, action: 'dicom.viewer_opened', targetType: 'viewer_session', targetId: created.id, patientId: study.patient_id, details: { studyId } });
        return created;
      });
      const query = new URLSearchParams({ StudyInstanceUIDs: row.study_instance_uid, token });
      return { ...toDto(row), token, dicomWebUrl: config.proxy.publicUrl, viewerUrl: `${config.viewer.url}?${query}` };
    },

    async list(auth: Auth) {
      const rows: SessionRow[] = await live(auth.userId).orderBy('created_at').select('id', 'study_id', 'study_instance_uid', 'created_at', 'expires_at');
      return rows.map(toDto);
    },

    async close(auth: Auth, id: string, meta: RequestMeta): Promise<void> {
      const updated = await live(auth.userId).where({ id }).update({ revoked_at: db.fn.now() }).returning('id');
      if (updated.length === 0) throw notFound('Viewer session');
      await recordAudit(db, meta, { actor: auth, action: 'dicom.viewer_closed', targetType: 'viewer_session', targetId: id });
    },
  };
}
