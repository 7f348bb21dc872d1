import type { Context } from 'koa';
import { verifyAccessToken } from '../../../common/tokens.js';
import type { PrincipalCache } from '../../../common/principal-cache.js';
import { unauthorized } from '../../../common/http/errors.js';
import type { Auth } from './types.js';

/**
 * The one authentication step: verifies the bearer token, then checks the account, its hospital and
 * the login session (in the database, or the principal cache that NOTIFY keeps exact), so deactivation,
 * deletion and logout take effect at once.
 */
export function createAuthenticator(principals: PrincipalCache, secret: string) {
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
    const found = await principals.load(verified.claims);
    if (!found.ok) throw unauthorized(found.code, found.message);
    return found.principal;
  };
}
