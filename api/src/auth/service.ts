import { principalWrite } from '../../../common/principal-cache.js';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { signAccessToken, tokenDigest } from '../../../common/tokens.js';
import type { Role } from '../../../common/roles.js';
import { recordAudit } from '../../../common/audit.js';
import type { Deps } from '../deps.js';
import { AppError, badRequest, tooManyRequests, unauthorized } from '../../../common/http/errors.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import { createSealer, sealedText } from '../../../common/sealer.js';
import { assertAcceptablePassword } from '../../../common/passwords.js';
import type { LoginThrottle } from './throttle.js';
import type { Auth } from './types.js';

interface UserRow {
  id: string;
  email: string;
  role: Role;
  hospital_id: string | null;
  first_name: string;
  last_name: string;
  password_hash: string;
  is_active: boolean;
  must_change_password: boolean;
  locale: 'en' | 'fr' | null;
  hospital_active: boolean | null;
  hospital_deleted_at: Date | null;
}

/** The account as returned to its owner. */
export interface UserDto {
  id: string;
  email: string;
  role: Role;
  hospitalId: string | null;
  firstName: string;
  lastName: string;
  mustChangePassword: boolean;
  locale: 'en' | 'fr' | null;
}

export interface TokensDto {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user: UserDto;
}

function toUserDto(row: UserRow): UserDto {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    hospitalId: row.hospital_id,
    firstName: row.first_name,
    lastName: row.last_name,
    mustChangePassword: row.must_change_password,
    locale: row.locale,
  };
}

function liveUsers(db: Knex | Knex.Transaction) {
  return db('users as u')
    .leftJoin('hospitals as h', 'h.id', 'u.hospital_id')
    .whereNull('u.deleted_at')
    .select('u.*', 'h.is_active as hospital_active', 'h.deleted_at as hospital_deleted_at');
}

function canLogIn(row: UserRow): boolean {
  return row.is_active && (row.hospital_id === null || (row.hospital_active === true && row.hospital_deleted_at === null));
}

/** How long after its rotation a refresh token, presented again, answers the pair it was rotated to. */
export const REFRESH_GRACE_SECONDS = 20;

/** Authentication use cases: login, refresh rotation, logout, password change. */
export function createAuthService(deps: Deps, throttle: LoginThrottle) {
  const { db, config, passwords } = deps;
  const sealed = sealedText(createSealer(config.encryption));

  async function issueTokens(trx: Knex.Transaction, user: UserRow, sessionId: string): Promise<TokensDto> {
    const refreshToken = randomBytes(32).toString('base64url');
    await trx('refresh_tokens').insert({
      session_id: sessionId,
      token_hash: tokenDigest(config.secretKey, refreshToken),
      expires_at: new Date(Date.now() + config.auth.refreshTokenTtlSeconds * 1000),
    });
    return pairWith(user, sessionId, refreshToken);
  }

  /** A new access token for the session, with this refresh token. */
  async function pairWith(user: UserRow, sessionId: string, refreshToken: string): Promise<TokensDto> {
    const accessToken = await signAccessToken(
      config.secretKey,
      { userId: user.id, sessionId, role: user.role, hospitalId: user.hospital_id },
      config.auth.accessTokenTtlSeconds,
    );
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: config.auth.accessTokenTtlSeconds, user: toUserDto(user) };
  }

  return {
    /** Checks the credentials; never reveals whether the e-mail exists. */
    async login(email: string, password: string, meta: RequestMeta): Promise<TokensDto> {
      const attempt = await throttle.reserve(email, meta.ip);
      if (attempt.blocked) {
        await recordAudit(db, meta, { actor: null, action: 'auth.login.throttled', details: { email } });
        throw tooManyRequests('Too many failed login attempts; try again later', attempt.retryAfterSeconds);
      }
      const user: UserRow | undefined = await liveUsers(db).whereRaw('lower(u.email) = ?', [email]).first();
      const valid = await passwords.verify(password, user?.password_hash ?? null);
      if (!user || !valid) {
        // The reserved attempt stays counted as a failure.
        await recordAudit(db, meta, {
          actor: null,
          action: 'auth.login.failed',
          targetType: user ? 'user' : undefined,
          targetId: user?.id ?? null,
          details: { email },
        });
        throw unauthorized('INVALID_CREDENTIALS', 'Invalid e-mail or password');
      }
      await attempt.succeeded();
      if (!canLogIn(user)) {
        await recordAudit(db, meta, {
          actor: null,
          action: 'auth.login.refused',
          targetType: 'user',
          targetId: user.id,
          details: { reason: 'inactive' },
        });
        throw unauthorized('ACCOUNT_INACTIVE', 'This account or its hospital is deactivated');
      }
      await throttle.clearAccount(email);
      return db.transaction(async (trx) => {
        const [session] = await principalWrite(trx, 'sessions')
          .insert({ user_id: user.id, ip: meta.ip, user_agent: meta.userAgent?.slice(0, 500) ?? null })
          .returning('id');
        await principalWrite(trx, 'users').where({ id: user.id }).update({ last_login_at: trx.fn.now() });
        await recordAudit(trx, meta, {
          actor: { userId: user.id, role: user.role },
          action: 'auth.login.succeeded',
          targetType: 'session',
          targetId: session.id,
          hospitalId: user.hospital_id,
        });
        return issueTokens(trx, user, session.id);
      });
    },

    /**
     * Rotates a refresh token; presenting an already-used one revokes its whole session — except within
     * REFRESH_GRACE_SECONDS of its rotation, while the token it was rotated to is unused: two tabs refreshing at
     * once both get that same pair, and nobody is logged out.
     */
    async refresh(refreshToken: string, meta: RequestMeta): Promise<TokensDto> {
      const outcome = await db.transaction(async (trx) => {
        const token = await trx('refresh_tokens as rt')
          .join('sessions as s', 's.id', 'rt.session_id')
          .where('rt.token_hash', tokenDigest(config.secretKey, refreshToken))
          .forUpdate()
          .first(
            'rt.id',
            'rt.used_at',
            'rt.expires_at',
            'rt.session_id',
            'rt.successor_sealed',
            's.user_id',
            's.revoked_at',
            trx.raw(`rt.used_at > now() - make_interval(secs => ?) as in_grace`, [REFRESH_GRACE_SECONDS]),
          );
        if (!token) return { error: unauthorized('INVALID_REFRESH_TOKEN', 'The refresh token is invalid') };
        // The account, read once: whether it may still log in decides several answers below.
        const user: UserRow | undefined = await liveUsers(trx).where('u.id', token.user_id).first();
        const live = user && canLogIn(user) ? user : null;
        if (token.revoked_at) {
          if (user && !live) return { error: unauthorized('ACCOUNT_INACTIVE', 'This account or its hospital is deactivated') };
          return { error: unauthorized('SESSION_REVOKED', 'This session has ended; log in again') };
        }
        if (token.used_at && token.in_grace && token.successor_sealed && live) {
          const successor = sealed.open(token.successor_sealed, token.id, 'successor')!;
          const unused = await trx('refresh_tokens')
            .where({ token_hash: tokenDigest(config.secretKey, successor) })
            .whereNull('used_at')
            .first('id');
          if (unused) return { tokens: await pairWith(live, token.session_id, successor) };
        }
        if (token.used_at) {
          // A used token coming back means it was copied: end the whole family, legitimate holder included.
          await principalWrite(trx, 'sessions')
            .where({ id: token.session_id })
            .update({ revoked_at: trx.fn.now(), revoked_reason: 'refresh_token_reuse' });
          await recordAudit(trx, meta, {
            actor: null,
            action: 'auth.refresh.reused',
            targetType: 'session',
            targetId: token.session_id,
            details: { userId: token.user_id },
          });
          return { error: unauthorized('REFRESH_TOKEN_REUSED', 'This refresh token was already used; the session is revoked') };
        }
        if (token.expires_at.getTime() <= Date.now()) {
          return { error: unauthorized('REFRESH_TOKEN_EXPIRED', 'The refresh token has expired; log in again') };
        }
        if (!live) return { error: unauthorized('ACCOUNT_INACTIVE', 'This account or its hospital is deactivated') };
        const tokens = await issueTokens(trx, live, token.session_id);
        await trx('refresh_tokens')
          .where({ id: token.id })
          .update({ used_at: trx.fn.now(), successor_sealed: sealed.seal(tokens.refreshToken, token.id, 'successor') });
        return { tokens };
      });
      if ('error' in outcome) throw outcome.error;
      return outcome.tokens;
    },

    /** Ends the caller's session: its refresh tokens and access tokens stop working at once. */
    async logout(auth: Auth, meta: RequestMeta): Promise<void> {
      await db.transaction(async (trx) => {
        await principalWrite(trx, 'sessions')
          .where({ id: auth.sessionId })
          .whereNull('revoked_at')
          .update({ revoked_at: trx.fn.now(), revoked_reason: 'logout' });
        await recordAudit(trx, meta, { actor: auth, action: 'auth.logout', targetType: 'session', targetId: auth.sessionId });
      });
    },

    /** The caller's own account. */
    me(auth: Auth): UserDto {
      // The principal was read (or kept exact by NOTIFY) for this very request: no second read.
      return {
        id: auth.userId,
        email: auth.email,
        role: auth.role,
        hospitalId: auth.hospitalId,
        firstName: auth.firstName,
        lastName: auth.lastName,
        mustChangePassword: auth.mustChangePassword,
        locale: auth.locale,
      };
    },

    /** Sets the caller's own preferences (today: its language). */
    async updateMe(auth: Auth, patch: { locale?: 'en' | 'fr' | null }): Promise<UserDto> {
      if (patch.locale !== undefined)
        await principalWrite(db, 'users').where({ id: auth.userId }).update({ locale: patch.locale, updated_at: db.fn.now() });
      const user: UserRow | undefined = await liveUsers(db).where('u.id', auth.userId).first();
      if (!user) throw unauthorized('INVALID_TOKEN', 'The access token is invalid');
      return toUserDto(user);
    },

    /** Changes the caller's own password (never anyone else's) and ends its other sessions. */
    async changePassword(auth: Auth, currentPassword: string, newPassword: string, meta: RequestMeta): Promise<UserDto> {
      const attempt = await throttle.reserve(auth.email, meta.ip);
      if (attempt.blocked) throw tooManyRequests('Too many failed password attempts; try again later', attempt.retryAfterSeconds);
      const user: UserRow | undefined = await liveUsers(db).where('u.id', auth.userId).first();
      if (!user) throw unauthorized('INVALID_TOKEN', 'The access token is invalid');
      if (!(await passwords.verify(currentPassword, user.password_hash))) {
        await recordAudit(db, meta, { actor: auth, action: 'auth.password.change_failed', targetType: 'user', targetId: auth.userId });
        throw badRequest(
          'The current password is wrong',
          [{ field: 'currentPassword', message: 'Wrong password' }],
          'INVALID_CURRENT_PASSWORD',
        );
      }
      await attempt.succeeded();
      assertAcceptablePassword(newPassword, user.email, currentPassword);
      const hash = await passwords.hash(newPassword);
      return db.transaction(async (trx) => {
        const [updated] = await principalWrite(trx, 'users')
          .where({ id: auth.userId })
          .update({ password_hash: hash, must_change_password: false, password_changed_at: trx.fn.now(), updated_at: trx.fn.now() })
          .returning('*');
        await principalWrite(trx, 'sessions')
          .where({ user_id: auth.userId })
          .whereNot({ id: auth.sessionId })
          .whereNull('revoked_at')
          .update({ revoked_at: trx.fn.now(), revoked_reason: 'password_changed' });
        await recordAudit(trx, meta, {
          actor: auth,
          action: 'auth.password.changed',
          targetType: 'user',
          targetId: auth.userId,
          hospitalId: auth.hospitalId,
        });
        if (!updated) throw new AppError(409, 'CONFLICT', 'The account changed during the request');
        return toUserDto(updated as UserRow);
      });
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
