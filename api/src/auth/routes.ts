import { z } from 'zod';
import type { Deps } from '../deps.js';
import { route, type AnyRoute } from '../http/route.js';
import { errorSchema } from '../http/error-schema.js';
import { changePasswordBody, loginBody, meSchema, refreshBody, tokensSchema } from './schemas.js';
import { createAuthService } from './service.js';
import { createLoginThrottle } from './throttle.js';

const tag = 'Authentication';

/** Login, token refresh, logout, the caller's own account and password change. */
export function authRoutes(deps: Deps): AnyRoute[] {
  const service = createAuthService(deps, createLoginThrottle(deps.db, deps.config.auth));
  return [
    route({
      method: 'post',
      path: '/api/auth/login',
      operationId: 'login',
      summary: 'Log in with e-mail and password',
      description:
        'Repeated failures for one e-mail or one address answer 429 for a while. The answer never tells whether the e-mail exists.',
      tag,
      auth: 'public',
      acceptsPasswords: true,
      body: loginBody,
      responses: {
        200: { description: 'Logged in', schema: tokensSchema },
        401: { description: 'Invalid credentials, or the account or its hospital is deactivated', schema: errorSchema },
        429: { description: 'Too many failed attempts', schema: errorSchema },
      },
      handler: async ({ body, meta }) => ({ body: await service.login(body.email, body.password, meta) }),
    }),
    route({
      method: 'post',
      path: '/api/auth/refresh',
      operationId: 'refreshTokens',
      summary: 'Exchange a refresh token for new tokens (rotation)',
      description: 'Each refresh token works once. Presenting a used one revokes the whole session.',
      tag,
      auth: 'public',
      body: refreshBody,
      responses: {
        200: { description: 'New tokens', schema: tokensSchema },
        401: { description: 'Invalid, expired or reused refresh token', schema: errorSchema },
      },
      handler: async ({ body, meta }) => ({ body: await service.refresh(body.refreshToken, meta) }),
    }),
    route({
      method: 'post',
      path: '/api/auth/logout',
      operationId: 'logout',
      summary: 'End the current session',
      tag,
      auth: 'pending-password-ok',
      responses: { 204: { description: 'Logged out' } },
      handler: async ({ auth, meta }) => {
        await service.logout(auth, meta);
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: '/api/auth/me',
      operationId: 'me',
      summary: 'The caller’s own account',
      tag,
      auth: 'pending-password-ok',
      responses: { 200: { description: 'The account', schema: meSchema } },
      handler: async ({ auth }) => ({ body: { user: service.me(auth) } }),
    }),
    route({
      method: 'patch',
      path: '/api/auth/me',
      operationId: 'updateMe',
      summary: 'Set the caller’s own preferences: `locale` (`en`, `fr`, or null for the request’s Accept-Language)',
      description: 'Error messages, notifications and e-mails follow it; error codes never change.',
      tag,
      auth: 'pending-password-ok',
      forbiddenFields: ['role', 'hospitalId', 'email', 'isActive'],
      body: z.object({ locale: z.enum(['en', 'fr']).nullable() }),
      responses: { 200: { description: 'The account', schema: meSchema } },
      handler: async ({ auth, body }) => ({ body: { user: await service.updateMe(auth, body) } }),
    }),
    route({
      method: 'post',
      path: '/api/auth/change-password',
      operationId: 'changePassword',
      summary: 'Change the caller’s own password',
      description:
        'New password: at least 10 characters, not `mediconnect`, not the e-mail. Other sessions of the account are ended. ' +
        'There is no way to set another account’s password.',
      tag,
      auth: 'pending-password-ok',
      acceptsPasswords: true,
      // Always the caller's own password: naming another account is refused, not ignored.
      forbiddenFields: ['userId', 'accountId', 'id', 'email'],
      body: changePasswordBody,
      responses: {
        200: { description: 'Password changed', schema: z.object({ user: meSchema.shape.user }) },
        429: { description: 'Too many wrong current passwords', schema: errorSchema },
      },
      handler: async ({ auth, body, meta }) => ({
        body: { user: await service.changePassword(auth, body.currentPassword, body.newPassword, meta) },
      }),
    }),
  ];
}
