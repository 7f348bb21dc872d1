import { principalWrite } from '../../../common/principal-cache.js';
import type { Knex } from 'knex';
import { recordAudit } from '../../../common/audit.js';
import { conflict, forbidden, notFound } from '../../../common/http/errors.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import { newViewerToken, SHARE_TOKEN_PREFIX } from '../../../common/viewer-sessions.js';
import type { Auth } from '../auth/types.js';
import { findStudy, scopedStudies } from '../dicom/repository.js';
import type { Deps } from '../deps.js';

/** Live share links per sharer and study, at most (one reader cannot use up everyone's). */
export const MAX_LIVE_SHARES = 20;

interface ShareRow {
  id: string;
  study_id: string;
  study_instance_uid: string;
  recipient_email: string | null;
  note: string | null;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  created_by: string;
  first_name: string;
  last_name: string;
  role: string;
}

const COLUMNS = [
  'sh.id',
  'sh.study_id',
  'sh.study_instance_uid',
  'sh.recipient_email',
  'sh.note',
  'sh.created_at',
  'sh.expires_at',
  'sh.revoked_at',
  'sh.created_by',
  'u.first_name',
  'u.last_name',
  'u.role',
];

const toDto = (r: ShareRow) => ({
  id: r.id,
  studyId: r.study_id,
  studyInstanceUid: r.study_instance_uid,
  recipientEmail: r.recipient_email,
  note: r.note,
  createdAt: r.created_at.toISOString(),
  expiresAt: r.expires_at.toISOString(),
  revokedAt: r.revoked_at?.toISOString() ?? null,
  active: !r.revoked_at && r.expires_at.getTime() > Date.now(),
  createdBy: { id: r.created_by, firstName: r.first_name, lastName: r.last_name, role: r.role },
});

/** Share links: one study, read-only in OHIF, no account; created by a linked doctor or the patient. */
export function createShareService({ db, config }: Deps) {
  const shares = (trx: Knex | Knex.Transaction) => trx('study_shares as sh').join('users as u', 'u.id', 'sh.created_by');
  const liveCount = async (trx: Knex.Transaction, studyId: string, sharer: string) =>
    Number(
      (
        (await trx('study_shares')
          .where({ study_id: studyId, created_by: sharer })
          .whereNull('revoked_at')
          .where('expires_at', '>', trx.fn.now())
          .count({ n: '*' })) as [{ n: string }]
      )[0].n,
    );

  return {
    async create(
      auth: Auth,
      studyId: string,
      input: { expiresInHours: number; recipientEmail?: string; note?: string },
      meta: RequestMeta,
    ) {
      const { token, hash } = newViewerToken(config.secretKey, SHARE_TOKEN_PREFIX);
      const result = await db.transaction(async (trx) => {
        // The study row is locked: two concurrent shares cannot both be the 20th.
        const study = await findStudy(trx, auth, studyId, true);
        if (!study) throw notFound('Study');
        if ((await liveCount(trx, study.id, auth.userId)) >= MAX_LIVE_SHARES) {
          throw conflict('TOO_MANY_SHARES', `At most ${MAX_LIVE_SHARES} live share links of yours per study; revoke one first`, [
            { field: 'shares', message: 'Limit reached', max: MAX_LIVE_SHARES },
          ]);
        }
        const [row] = await principalWrite(trx, 'study_shares')
          .insert({
            study_id: study.id,
            study_instance_uid: study.study_instance_uid,
            patient_id: study.patient_id,
            created_by: auth.userId,
            token_hash: hash,
            recipient_email: input.recipientEmail ?? null,
            note: input.note ?? null,
            expires_at: new Date(Date.now() + input.expiresInHours * 3_600_000),
          })
          .returning('id');
        const url = `${config.viewer.url}?${new URLSearchParams({ StudyInstanceUIDs: study.study_instance_uid, token })}`;
        let emailed = false;
        if (input.recipientEmail && config.smtp) {
          const sharer = await trx('users').where({ id: auth.userId }).first('first_name', 'last_name');
          const expires = new Date(Date.now() + input.expiresInHours * 3_600_000).toUTCString();
          await trx('email_outbox').insert({
            to_address: input.recipientEmail,
            subject: 'MediConnect: medical images shared with you',
            body:
              `${sharer.first_name} ${sharer.last_name} shared medical images with you through MediConnect.\n\n` +
              (input.note ? `Message: ${input.note}\n\n` : '') +
              `Open them in your browser (no account needed), until ${expires}:\n${url}\n\n` +
              'The link opens these images only, read-only. Do not forward it: anyone holding it can see them.',
          });
          emailed = true;
        }
        await recordAudit(trx, meta, {
          actor: auth,
          action: 'dicom.shared',
          targetType: 'dicom_study',
          targetId: study.id,
          patientId: study.patient_id,
          details: { shareId: row.id, expiresInHours: input.expiresInHours, emailed },
        });
        return { id: row.id as string, url, emailed };
      });
      const created: ShareRow = await shares(db).where('sh.id', result.id).first(COLUMNS);
      return { ...toDto(created), url: result.url, token, emailed: result.emailed };
    },

    /** Every share of a study (live first), for whoever may read it. */
    async list(auth: Auth, studyId: string) {
      if (!(await findStudy(db, auth, studyId))) throw notFound('Study');
      const rows: ShareRow[] = await shares(db).where('sh.study_id', studyId).orderBy('sh.created_at', 'desc').select(COLUMNS);
      return rows.map(toDto).sort((a, b) => Number(b.active) - Number(a.active));
    },

    /** The caller's own live links, newest first. */
    async listMine(auth: Auth) {
      const rows: ShareRow[] = await shares(db)
        .where('sh.created_by', auth.userId)
        .whereNull('sh.revoked_at')
        .where('sh.expires_at', '>', db.fn.now())
        .orderBy('sh.created_at', 'desc')
        .select(COLUMNS);
      return rows.map(toDto);
    },

    /**
     * Revokes a link: its sharer, or the patient for a link to its own study (the proxy refuses it from the
     * next request). Others who may read the study see the link (403); anyone else, nothing (404).
     */
    async revoke(auth: Auth, id: string, meta: RequestMeta): Promise<void> {
      await db.transaction(async (trx) => {
        const share = await trx('study_shares as sh')
          .whereIn('sh.study_id', scopedStudies(trx, auth).select('s.id'))
          .where('sh.id', id)
          .forUpdate()
          .first('sh.id', 'sh.study_id', 'sh.patient_id', 'sh.revoked_at', 'sh.created_by');
        if (!share) throw notFound('Share');
        const owns = share.created_by === auth.userId || (auth.role === 'patient' && share.patient_id === auth.userId);
        if (!owns) throw forbidden('Only the person who shared this link, or the patient, may revoke it', 'NOT_YOUR_SHARE');
        if (share.revoked_at) return;
        await principalWrite(trx, 'study_shares').where({ id }).update({ revoked_at: trx.fn.now(), revoked_by: auth.userId });
        await recordAudit(trx, meta, {
          actor: auth,
          action: 'dicom.share_revoked',
          targetType: 'dicom_study',
          targetId: share.study_id,
          patientId: share.patient_id,
          details: { shareId: id },
        });
      });
    },
  };
}
