import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { loadPrincipalByUser, type Principal } from './principal.js';

/** Viewer-session tokens start with this prefix, so the proxy tells them from access tokens at a glance. */
export const VIEWER_TOKEN_PREFIX = 'vs_';

/** A new random viewer token and the hash that is stored. */
export function newViewerToken(): { token: string; hash: string } {
  const token = `${VIEWER_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashViewerToken(token) };
}

/** Only a SHA-256 of a viewer token is ever stored. */
export const hashViewerToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * The principal and study behind a viewer token, if it is live (not expired, not ended) and its owner
 * may still log in; the caller must still check the owner's access to the study's patient.
 */
export async function resolveViewerToken(db: Knex, token: string): Promise<{ principal: Principal; studyInstanceUid: string } | null> {
  const session = await db('viewer_sessions')
    .where({ token_hash: hashViewerToken(token) })
    .whereNull('revoked_at')
    .where('expires_at', '>', db.fn.now())
    .first('user_id', 'study_instance_uid');
  if (!session) return null;
  const principal = await loadPrincipalByUser(db, session.user_id);
  return principal ? { principal, studyInstanceUid: session.study_instance_uid } : null;
}
