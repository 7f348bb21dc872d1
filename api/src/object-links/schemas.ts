import { z } from 'zod';
import { timestamp } from '../http/fields.js';

export const presignedSchema = z.object({
  expiresAt: timestamp,
  items: z.array(z.object({ key: z.string(), size: z.number().int(), url: z.string() })),
});
