import { z } from 'zod';
import { emailInput, userSchema } from '../accounts/schemas.js';

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
