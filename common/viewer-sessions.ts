import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { preparedQuery } from './db.js';
import { PRINCIPAL_COLUMNS, principalFromRow, type Principal, type PrincipalRow } from './principal.js';

/** Viewer-session tokens start with this prefix, so the proxy tells them from access tokens at a glance. */
export const VIEWER_TOKEN_PREFIX = 'vs_';

/** A new random viewer token and the hash that is stored. */
export function newViewerToken(): { token: string; hash: string } {
  const token = `${VIEWER_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashViewerToken(token) };
}

/** Only a SHA-256 of a viewer token is ever stored. */
export const hashViewerToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** A live viewer session: who holds it, the login session it belongs to, and the one study it opens. */
export interface ResolvedViewerSession {
  id: string;
  principal: Principal;
  studyInstanceUid: string;
}

/**
 * The principal and study behind a viewer token, if the viewer session is live (not expired, not ended)
 * and so is the login session that opened it (not logged out, account and hospital active). The caller
 * must still check the owner's access to the study.
 */
export async function resolveViewerToken(db: Knex, token: string): Promise<ResolvedViewerSession | null> {
  const [row] = await preparedQuery<PrincipalRow & { viewer_session_id: string; session_id: string; study_instance_uid: string }>(db, VIEWER_SQL, [hashViewerToken(token)]);
  if (!row) return null;
  const login = principalFromRow(row, row.session_id);
  return login.ok ? { id: row.viewer_session_id, principal: login.principal, studyInstanceUid: row.study_instance_uid } : null;
}

// The viewer session, its login session, account and hospital in one statement: it runs on every frame.
const VIEWER_SQL = `SELECT v.id AS viewer_session_id, v.session_id, v.study_instance_uid, ${PRINCIPAL_COLUMNS}
  FROM viewer_sessions v
  JOIN sessions s ON s.id = v.session_id AND s.user_id = v.user_id
  JOIN users u ON u.id = v.user_id
  LEFT JOIN hospitals h ON h.id = u.hospital_id
  WHERE v.token_hash = $1 AND v.revoked_at IS NULL AND v.expires_at > now()`;
