import { principalWrite } from '../../../common/principal-cache.js';
import { actorOf, auditTrailPage } from '../db/audit-trail.js';
import { newViewerToken, VIEWER_LIST_TOKEN_PREFIX } from '../../../common/viewer-sessions.js';
import { recordAudit } from '../../../common/audit.js';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';
import { conflict, notFound } from '../../../common/http/errors.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import { findStudy, scopedStudies } from '../dicom/repository.js';

interface SessionRow {
  id: string;
  study_id: string | null;
  study_instance_uid: string | null;
  created_at: Date;
  expires_at: Date;
}

const toDto = (r: SessionRow) => ({
  id: r.id,
  kind: (r.study_instance_uid ? 'study' : 'list') as 'study' | 'list',
  studyId: r.study_id,
  studyInstanceUid: r.study_instance_uid,
  createdAt: r.created_at.toISOString(),
  expiresAt: r.expires_at.toISOString(),
});

/** Viewer sessions: a short-lived token opening one study, or the caller's study list, through the DICOMweb proxy; a few per user at once. */
export function createViewerSessionService({ db, config }: Deps) {
  const live = (userId: string) =>
    db('viewer_sessions').where({ user_id: userId }).whereNull('revoked_at').where('expires_at', '>', db.fn.now());

  return {
    /**
     * Opens a session on a study in scope, or (no study) on the caller's study list; reopening the same
     * study, or the list, replaces the previous session.
     */
    async open(auth: Auth, studyId: string | null, meta: RequestMeta) {
      const study = studyId ? await findStudy(db, auth, studyId) : null;
      if (studyId && !study) throw notFound('Study');
      const { token, hash } = newViewerToken(config.secretKey, study ? undefined : VIEWER_LIST_TOKEN_PREFIX);
      const row: SessionRow = await db.transaction(async (trx) => {
        // One creation at a time per user, so the limit holds under concurrent requests.
        await trx('users').where({ id: auth.userId }).forUpdate().first('id');
        const same = principalWrite(trx, 'viewer_sessions').where({ user_id: auth.userId }).whereNull('revoked_at');
        if (study) same.where({ study_instance_uid: study.study_instance_uid });
        else same.whereNull('study_instance_uid');
        await same.update({ revoked_at: trx.fn.now() });
        const [{ n }] = (await live(auth.userId).transacting(trx).count({ n: '*' })) as [{ n: number }];
        if (Number(n) >= config.viewer.maxSessions) {
          throw conflict('TOO_MANY_VIEWER_SESSIONS', `At most ${config.viewer.maxSessions} viewer sessions at once; close one first`, [
            { field: 'sessions', message: 'Limit reached', max: config.viewer.maxSessions, active: Number(n) },
          ]);
        }
        const [created] = await principalWrite(trx, 'viewer_sessions')
          .insert({
            user_id: auth.userId,
            session_id: auth.sessionId,
            study_id: study?.id ?? null,
            study_instance_uid: study?.study_instance_uid ?? null,
            token_hash: hash,
            expires_at: new Date(Date.now() + config.viewer.ttlSeconds * 1000),
          })
          .returning(['id', 'study_id', 'study_instance_uid', 'created_at', 'expires_at']);
        await recordAudit(trx, meta, {
          actor: auth,
          action: 'dicom.viewer_opened',
          targetType: 'viewer_session',
          targetId: created.id,
          patientId: study?.patient_id ?? null,
          details: study ? { studyId } : { studyList: true },
        });
        return created;
      });
      // The study list is OHIF's home page; a study opens in its viewer route.
      const viewerUrl = study
        ? `${config.viewer.url}?${new URLSearchParams({ StudyInstanceUIDs: study.study_instance_uid, token })}`
        : `${new URL('/', config.viewer.url)}?${new URLSearchParams({ token })}`;
      return { ...toDto(row), token, dicomWebUrl: config.proxy.publicUrl, viewerUrl };
    },

    /** The studies the caller opened (images read), most recent first, one entry per study still in its scope. */
    async history(auth: Auth, page: { page: number; pageSize: number }) {
      const opened = db('audit_log as a')
        .where({ 'a.actor_id': auth.userId, 'a.action': 'dicom.images_viewed', 'a.target_type': 'dicom_study' })
        .groupBy('a.target_id')
        .select('a.target_id as study_id')
        .max({ last_opened_at: 'a.occurred_at' })
        .count({ openings: '*' });
      const query = scopedStudies(db, auth).join(opened.as('o'), 'o.study_id', db.raw('s.id::text'));
      const [{ total }] = (await query.clone().count({ total: '*' })) as [{ total: string | number }];
      const rows: {
        id: string;
        study_instance_uid: string;
        patient_id: string;
        study_date: string | null;
        dicom_description: string | null;
        custom_description: string | null;
        modalities: string[];
        last_opened_at: Date;
        openings: string | number;
      }[] = await query
        .orderBy('o.last_opened_at', 'desc')
        .orderBy('s.id')
        .limit(page.pageSize)
        .offset((page.page - 1) * page.pageSize)
        .select(
          's.id',
          's.study_instance_uid',
          's.patient_id',
          's.study_date',
          's.dicom_description',
          's.custom_description',
          's.modalities',
          'o.last_opened_at',
          'o.openings',
        );
      return {
        items: rows.map((r) => ({
          studyId: r.id,
          studyInstanceUid: r.study_instance_uid,
          patientId: r.patient_id,
          description: r.custom_description ?? r.dicom_description,
          studyDate: r.study_date,
          modalities: r.modalities,
          lastOpenedAt: r.last_opened_at.toISOString(),
          openings: Number(r.openings),
        })),
        total: Number(total),
        page: page.page,
        pageSize: page.pageSize,
      };
    },

    /** Who opened a study's images, when and how (session, share link, DICOMweb): for those who may read it. */
    async views(auth: Auth, studyId: string, page: { page: number; pageSize: number }) {
      if (!(await findStudy(db, auth, studyId))) throw notFound('Study');
      const query = db('audit_log as a').where({
        'a.target_type': 'dicom_study',
        'a.target_id': studyId,
        'a.action': 'dicom.images_viewed',
      });
      return auditTrailPage(query, page, (r) => ({
        at: r.occurred_at.toISOString(),
        via: (r.details.via ?? 'dicomweb') as 'viewer_session' | 'share_link' | 'dicomweb',
        actor: actorOf(r),
        viewerSessionId: r.details.viewerSessionId ?? null,
        shareId: r.details.shareId ?? null,
      }));
    },

    async list(auth: Auth) {
      const rows: SessionRow[] = await live(auth.userId)
        .orderBy('created_at')
        .select('id', 'study_id', 'study_instance_uid', 'created_at', 'expires_at');
      return rows.map(toDto);
    },

    async close(auth: Auth, id: string, meta: RequestMeta): Promise<void> {
      const updated = await live(auth.userId).where({ id }).update({ revoked_at: db.fn.now() }).returning('id');
      if (updated.length === 0) throw notFound('Viewer session');
      await recordAudit(db, meta, { actor: auth, action: 'dicom.viewer_closed', targetType: 'viewer_session', targetId: id });
    },
  };
}
