import type { Knex } from 'knex';
import type { Role } from './roles.js';
import type { AccessClaims } from './tokens.js';

/** The caller behind a valid token, as the database sees it now. */
export interface Principal {
  userId: string;
  sessionId: string;
  role: Role;
  hospitalId: string | null;
  email: string;
  mustChangePassword: boolean;
}

/** Why a verified token is still refused. */
export interface PrincipalRefusal {
  code: 'INVALID_TOKEN' | 'SESSION_REVOKED' | 'ACCOUNT_INACTIVE';
  message: string;
}

/**
 * Checks the account, its hospital and its login session for a verified token, in one query, so that
 * deactivation, deletion and logout take effect at once in the API and the DICOMweb proxy alike.
 */
export async function loadPrincipal(db: Knex, claims: Pick<AccessClaims, 'userId' | 'sessionId'>): Promise<{ ok: true; principal: Principal } | ({ ok: false } & PrincipalRefusal)> {
  const row = await db('sessions as s')
    .join('users as u', 'u.id', 's.user_id')
    .leftJoin('hospitals as h', 'h.id', 'u.hospital_id')
    .where('s.id', claims.sessionId)
    .andWhere('u.id', claims.userId)
    .first(
      'u.id',
      'u.email',
      'u.role',
      'u.hospital_id',
      'u.is_active',
      'u.must_change_password',
      'u.deleted_at',
      's.revoked_at as session_revoked_at',
      'h.is_active as hospital_active',
      'h.deleted_at as hospital_deleted_at',
    );
  if (!row || row.deleted_at) return { ok: false, code: 'INVALID_TOKEN', message: 'The access token is invalid' };
  if (row.session_revoked_at) return { ok: false, code: 'SESSION_REVOKED', message: 'This session has ended; log in again' };
  if (!row.is_active) return { ok: false, code: 'ACCOUNT_INACTIVE', message: 'This account is deactivated' };
  if (row.hospital_id && (!row.hospital_active || row.hospital_deleted_at)) {
    return { ok: false, code: 'ACCOUNT_INACTIVE', message: 'This account’s hospital is deactivated' };
  }
  return {
    ok: true,
    principal: {
      userId: row.id,
      sessionId: claims.sessionId,
      role: row.role,
      hospitalId: row.hospital_id,
      email: row.email,
      mustChangePassword: row.must_change_password,
    },
  };
}
