import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { preparedQuery } from './db.js';
import { tokenDigest } from './tokens.js';
import { PRINCIPAL_COLUMNS, principalFromRow, type Principal, type PrincipalRow } from './principal.js';

/** Viewer-session tokens start with this prefix, so the proxy tells them from access tokens at a glance. */
export const VIEWER_TOKEN_PREFIX = 'vs_';
/** A viewer session without a study: it opens the holder's study list (the viewer shows its list for it). */
export const VIEWER_LIST_TOKEN_PREFIX = 'vl_';
/** A share link: one study, read-only, no account. */
export const SHARE_TOKEN_PREFIX = 'sh_';

/** Whether a token is one of the viewer's (session, study-list session or share link), not an access token. */
export const isViewerToken = (token: string) =>
  [VIEWER_TOKEN_PREFIX, VIEWER_LIST_TOKEN_PREFIX, SHARE_TOKEN_PREFIX].some((p) => token.startsWith(p));

/** A new random token with the given prefix, and the digest that is stored ({@link tokenDigest}, bound to `secret`). */
export function newViewerToken(secret: string, prefix: string = VIEWER_TOKEN_PREFIX): { token: string; hash: string } {
  const token = `${prefix}${randomBytes(32).toString('base64url')}`;
  return { token, hash: tokenDigest(secret, token) };
}

/** A live viewer session: who holds it, the login session it belongs to, and the one study it opens (null: its study list). */
export interface ResolvedViewerSession {
  id: string;
  principal: Principal;
  /** The login session it follows: its end ends the viewer session. */
  sessionId: string;
  studyInstanceUid: string | null;
  expiresAt: Date;
}

/**
 * The principal and study behind a viewer token (by its {@link tokenDigest}), if the viewer session is live (not expired, not ended)
 * and so is the login session that opened it (not logged out, account and hospital active). The caller
 * must still check the owner's access to the study.
 */
export async function resolveViewerToken(db: Knex, tokenHash: string): Promise<ResolvedViewerSession | null> {
  const [row] = await preparedQuery<
    PrincipalRow & { viewer_session_id: string; session_id: string; study_instance_uid: string | null; expires_at: Date }
  >(db, VIEWER_SQL, [tokenHash]);
  if (!row) return null;
  const login = principalFromRow(row, row.session_id);
  return login.ok
    ? {
        id: row.viewer_session_id,
        principal: login.principal,
        sessionId: row.session_id,
        studyInstanceUid: row.study_instance_uid,
        expiresAt: row.expires_at,
      }
    : null;
}

// The viewer session, its login session, account and hospital in one statement: it runs on every frame.
const VIEWER_SQL = `SELECT v.id AS viewer_session_id, v.session_id, v.study_instance_uid, v.expires_at, ${PRINCIPAL_COLUMNS}
  FROM viewer_sessions v
  JOIN sessions s ON s.id = v.session_id AND s.user_id = v.user_id
  JOIN users u ON u.id = v.user_id
  LEFT JOIN hospitals h ON h.id = u.hospital_id
  WHERE v.token_hash = $1 AND v.revoked_at IS NULL AND v.expires_at > now()`;

/** A live share link: the account that shared it (whose access still decides) and its one study. */
export interface ResolvedShare {
  id: string;
  /** The sharer: the proxy checks that it may still read the study. */
  principal: Principal;
  /** A share outlives its creator's login session. */
  sessionId: null;
  studyInstanceUid: string;
  expiresAt: Date;
}

/**
 * The share behind a share token (by its {@link tokenDigest}), if it is live (not expired, not revoked) and its creator's account and
 * hospital are active. Logging out does not end a share; losing access to the study does (checked by the caller).
 */
export async function resolveShareToken(db: Knex, tokenHash: string): Promise<ResolvedShare | null> {
  const [row] = await preparedQuery<PrincipalRow & { share_id: string; study_instance_uid: string; expires_at: Date }>(db, SHARE_SQL, [
    tokenHash,
  ]);
  if (!row) return null;
  const owner = principalFromRow(row, row.share_id);
  return owner.ok
    ? { id: row.share_id, principal: owner.principal, sessionId: null, studyInstanceUid: row.study_instance_uid, expiresAt: row.expires_at }
    : null;
}

const SHARE_SQL = `SELECT sh.id AS share_id, sh.study_instance_uid, sh.expires_at, ${PRINCIPAL_COLUMNS.replace('s.revoked_at AS session_revoked_at', 'NULL::timestamptz AS session_revoked_at')}
  FROM study_shares sh
  JOIN users u ON u.id = sh.created_by
  LEFT JOIN hospitals h ON h.id = u.hospital_id
  WHERE sh.token_hash = $1 AND sh.revoked_at IS NULL AND sh.expires_at > now()`;
