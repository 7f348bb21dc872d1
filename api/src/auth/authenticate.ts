import type { Context } from 'koa';
import type { Knex } from 'knex';
import { verifyAccessToken } from '../../../common/tokens.js';
import { loadPrincipal } from '../../../common/principal.js';
import { unauthorized } from '../../../common/http/errors.js';
import type { Auth } from './types.js';

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
    const found = await loadPrincipal(db, verified.claims);
    if (!found.ok) throw unauthorized(found.code, found.message);
    return found.principal;
  };
}
