import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { randomUUID } from 'node:crypto';
import { ROLES, type Role } from './roles.js';

const ISSUER = 'mediconnect';
const AUDIENCE = 'mediconnect';

/** Claims carried by an access token; the database stays the source of truth for account state. */
export interface AccessClaims {
  userId: string;
  sessionId: string;
  role: Role;
  hospitalId: string | null;
}

function keyOf(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** Signs a short-lived HS256 access token bound to a login session. */
export async function signAccessToken(secret: string, claims: AccessClaims, ttlSeconds: number): Promise<string> {
  return new SignJWT({ sid: claims.sessionId, role: claims.role, hid: claims.hospitalId, typ: 'access' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(keyOf(secret));
}

/** Why a token was rejected, so callers can answer with a precise error code. */
export type TokenFailure = 'expired' | 'invalid';

/** Verifies an access token; returns its claims or the reason it is not acceptable. */
export async function verifyAccessToken(
  secret: string,
  token: string,
): Promise<{ ok: true; claims: AccessClaims } | { ok: false; reason: TokenFailure }> {
  try {
    const { payload } = await jwtVerify(token, keyOf(secret), { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
    const { sub, sid, role, hid, typ } = payload as Record<string, unknown>;
    if (
      typ !== 'access' ||
      typeof sub !== 'string' ||
      typeof sid !== 'string' ||
      !ROLES.includes(role as Role) ||
      !(hid === null || typeof hid === 'string')
    ) {
      return { ok: false, reason: 'invalid' };
    }
    return { ok: true, claims: { userId: sub, sessionId: sid, role: role as Role, hospitalId: hid } };
  } catch (err) {
    return { ok: false, reason: err instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
  }
}
