import { z } from 'zod';
import { ROLES } from '../../../common/roles.js';
import { emailInput } from '../http/fields.js';

/** The account as its owner sees it (login, refresh, /auth/me). */
export const userSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  role: z.enum(ROLES),
  hospitalId: z.uuid().nullable(),
  firstName: z.string(),
  lastName: z.string(),
  mustChangePassword: z.boolean(),
  locale: z
    .enum(['en', 'fr'])
    .nullable()
    .describe('The language chosen for messages, notifications and e-mails (null: the request’s Accept-Language)'),
});

export const loginBody = z.object({
  email: emailInput,
  password: z.string().min(1).max(1024),
});

export const refreshBody = z.object({
  refreshToken: z.string().min(1).max(512),
});

export const changePasswordBody = z.object({
  currentPassword: z.string().min(1).max(1024),
  newPassword: z.string().max(1024),
});

export const tokensSchema = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int().describe('Access token lifetime in seconds'),
  user: userSchema,
});

export const meSchema = z.object({ user: userSchema });
