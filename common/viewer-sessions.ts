import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { loadPrincipal, type Principal } from './principal.js';

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
  const session = await db('viewer_sessions')
    .where({ token_hash: hashViewerToken(token) })
    .whereNull('revoked_at')
    .whereNotNull('session_id')
    .where('expires_at', '>', db.fn.now())
    .first('id', 'user_id', 'session_id', 'study_instance_uid');
  if (!session) return null;
  const login = await loadPrincipal(db, { userId: session.user_id, sessionId: session.session_id });
  return login.ok ? { id: session.id, principal: login.principal, studyInstanceUid: session.study_instance_uid } : null;
}
