import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { createHmac, randomUUID } from 'node:crypto';
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

const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC key of a secret, imported into WebCrypto once (jose would import raw bytes on every call). */
function keyOf(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    if (keys.size > 8) keys.clear();
    keys.set(secret, key);
  }
  return key;
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
    .sign(await keyOf(secret));
}

/** Why a token was rejected, so callers can answer with a precise error code. */
export type TokenFailure = 'expired' | 'invalid';

/**
 * Tokens already verified, with their claims, until they expire: a viewer sends the same token with
 * every frame. Only the signature check is saved; the session and account are checked on every request (PrincipalCache).
 * Keyed by secret and token, bounded in size.
 */
const verifiedBySecret = new Map<string, Map<string, { claims: AccessClaims; expiresAt: number }>>();
const MAX_VERIFIED = 10_000;

/** Verifies an access token; returns its claims or the reason it is not acceptable. */
export async function verifyAccessToken(
  secret: string,
  token: string,
): Promise<{ ok: true; claims: AccessClaims } | { ok: false; reason: TokenFailure }> {
  let verified = verifiedBySecret.get(secret);
  if (!verified) verifiedBySecret.set(secret, (verified = new Map()));
  const hit = verified.get(token);
  if (hit) {
    if (Date.now() < hit.expiresAt) return { ok: true, claims: hit.claims };
    verified.delete(token);
  }
  try {
    const { payload } = await jwtVerify(token, await keyOf(secret), { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
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
    const claims: AccessClaims = { userId: sub, sessionId: sid, role: role as Role, hospitalId: hid };
    if (typeof payload.exp === 'number') {
      if (verified.size >= MAX_VERIFIED) verified.delete(verified.keys().next().value!);
      verified.set(token, { claims, expiresAt: payload.exp * 1000 });
    }
    return { ok: true, claims };
  } catch (err) {
    return { ok: false, reason: err instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
  }
}

/**
 * What is stored of an opaque token (refresh token, viewer session, share link): an HMAC keyed with `SECRET_KEY`,
 * never the token. A new `SECRET_KEY` matches none of them, so rotating it ends every session derived from the old
 * key — refresh tokens, viewer sessions, share links — as it ends the access tokens it signed.
 */
export const tokenDigest = (secret: string, token: string): string =>
  createHmac('sha256', secret).update(`mediconnect:token:${token}`).digest('hex');
