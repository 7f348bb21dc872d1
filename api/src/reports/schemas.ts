import { z } from 'zod';
import { timestamp } from '../http/fields.js';

export const reportBody = z.object({
  title: z.string().trim().min(1).max(200),
  findings: z.string().trim().min(1).max(20_000),
  conclusion: z.string().trim().min(1).max(5_000),
});

export const reportSchema = z.object({
  id: z.uuid(),
  studyId: z.uuid(),
  title: z.string(),
  findings: z.string(),
  conclusion: z.string(),
  author: z.object({ id: z.uuid(), firstName: z.string(), lastName: z.string() }),
  createdAt: timestamp,
});
