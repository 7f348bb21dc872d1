import type { Context } from 'koa';
import type { Knex } from 'knex';
import { verifyAccessToken } from '../../../common/tokens.js';
import type { Role } from '../../../common/roles.js';
import { unauthorized } from '../http/errors.js';
import type { Auth } from './types.js';

interface PrincipalRow {
  id: string;
  email: string;
  role: Role;
  hospital_id: string | null;
  is_active: boolean;
  must_change_password: boolean;
  deleted_at: Date | null;
  session_revoked_at: Date | null;
  hospital_active: boolean | null;
  hospital_deleted_at: Date | null;
}

/**
 * The one authentication step: verifies the bearer token, then checks the account, its hospital and
 * the login session in the database, so deactivation, deletion and logout take effect at once.
 */
export function createAuthenticator(db: Knex, secret: string) {
  return async function authenticate(ctx: Context): Promise<Auth> {
    const header = ctx.get('Authorization');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw unauthorized('AUTHENTICATION_REQUIRED', 'A bearer access token is required');
    const verified = await verifyAccessToken(secret, match[1]);
    if (!verified.ok) {
      throw verified.reason === 'expired'
        ? unauthorized('TOKEN_EXPIRED', 'The access token has expired; refresh it')
        : unauthorized('INVALID_TOKEN', 'The access token is invalid');
    }
    const { claims } = verified;
    const row: PrincipalRow | undefined = await db('sessions as s')
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
    if (!row || row.deleted_at) throw unauthorized('INVALID_TOKEN', 'The access token is invalid');
    if (row.session_revoked_at) throw unauthorized('SESSION_REVOKED', 'This session has ended; log in again');
    if (!row.is_active) throw unauthorized('ACCOUNT_INACTIVE', 'This account is deactivated');
    if (row.hospital_id && (!row.hospital_active || row.hospital_deleted_at)) {
      throw unauthorized('ACCOUNT_INACTIVE', 'This account’s hospital is deactivated');
    }
    return {
      userId: row.id,
      sessionId: claims.sessionId,
      role: row.role,
      hospitalId: row.hospital_id,
      email: row.email,
      mustChangePassword: row.must_change_password,
    };
  };
}
