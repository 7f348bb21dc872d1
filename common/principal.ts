import type { Knex } from 'knex';
import { preparedQuery } from './db.js';
import type { Role } from './roles.js';
import type { AccessClaims } from './tokens.js';

/** The caller behind a valid token, as the database sees it now. */
export interface Principal {
  userId: string;
  sessionId: string;
  role: Role;
  hospitalId: string | null;
  email: string;
  firstName: string;
  lastName: string;
  mustChangePassword: boolean;
  /** The account's language, if it chose one. */
  locale: 'en' | 'fr' | null;
}

/** Why a verified token is still refused. */
export interface PrincipalRefusal {
  code: 'INVALID_TOKEN' | 'SESSION_REVOKED' | 'ACCOUNT_INACTIVE';
  message: string;
}

/**
 * Checks the account, its hospital and its login session for a verified token, in one query, so that
 * deactivation, deletion and logout take effect at once in the API and the DICOMweb proxy alike
 * (through the PrincipalCache of principal-cache.ts, which NOTIFY keeps exact).
 */
export async function loadPrincipal(
  db: Knex,
  claims: Pick<AccessClaims, 'userId' | 'sessionId'>,
): Promise<{ ok: true; principal: Principal } | ({ ok: false } & PrincipalRefusal)> {
  const [row] = await preparedQuery<PrincipalRow>(db, PRINCIPAL_SQL, [claims.sessionId, claims.userId]);
  return principalFromRow(row, claims.sessionId);
}

/** The columns {@link principalFromRow} needs: the account, its hospital, its login session. */
export interface PrincipalRow {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  role: Role;
  hospital_id: string | null;
  is_active: boolean;
  must_change_password: boolean;
  deleted_at: Date | null;
  session_revoked_at: Date | null;
  hospital_active: boolean | null;
  hospital_deleted_at: Date | null;
  locale: 'en' | 'fr' | null;
}

/** The columns of a {@link PrincipalRow}, for queries joining sessions `s`, users `u` and hospitals `h`. */
export const PRINCIPAL_COLUMNS = `u.id, u.email, u.first_name, u.last_name, u.role, u.hospital_id, u.is_active, u.must_change_password, u.deleted_at, u.locale,
  s.revoked_at AS session_revoked_at, h.is_active AS hospital_active, h.deleted_at AS hospital_deleted_at`;

const PRINCIPAL_SQL = `SELECT ${PRINCIPAL_COLUMNS}
  FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN hospitals h ON h.id = u.hospital_id
  WHERE s.id = $1 AND u.id = $2`;

/** Decides whether a login session's account may act now, and builds its principal. */
export function principalFromRow(
  row: PrincipalRow | undefined,
  sessionId: string,
): { ok: true; principal: Principal } | ({ ok: false } & PrincipalRefusal) {
  if (!row || row.deleted_at) return { ok: false, code: 'INVALID_TOKEN', message: 'The access token is invalid' };
  // A deactivated account (its sessions ended with it) is told so, not only that its session ended.
  if (!row.is_active) return { ok: false, code: 'ACCOUNT_INACTIVE', message: 'This account is deactivated' };
  if (row.hospital_id && (!row.hospital_active || row.hospital_deleted_at)) {
    return { ok: false, code: 'ACCOUNT_INACTIVE', message: 'This account’s hospital is deactivated' };
  }
  if (row.session_revoked_at) return { ok: false, code: 'SESSION_REVOKED', message: 'This session has ended; log in again' };
  return {
    ok: true,
    principal: {
      userId: row.id,
      sessionId,
      role: row.role,
      hospitalId: row.hospital_id,
      email: row.email,
      firstName: row.first_name,
      lastName: row.last_name,
      mustChangePassword: row.must_change_password,
      locale: row.locale,
    },
  };
}
