import { z } from 'zod';
import { timestamp } from '../http/fields.js';

// DICOM AE titles: 1–16 characters of the default repertoire, no backslash, not only spaces (PS3.5 AE).
const aeTitle = z
  .string()
  .trim()
  .min(1)
  .max(16)
  .regex(/^[\x20-\x5b\x5d-\x7e]+$/, 'Printable ASCII without backslash')
  .describe('DICOM Application Entity title of the device (unique, compared without case)');
const host = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.:-]+$/, 'A host name or an IP address')
  .describe('Address the device connects from');

/** A registered DICOM device. */
export const modalitySchema = z.object({
  id: z.uuid(),
  hospitalId: z.uuid(),
  aeTitle: z.string(),
  host: z.string(),
  port: z.number().int(),
  description: z.string().nullable(),
  isActive: z.boolean(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const modalityCreateBody = z.object({
  aeTitle,
  host,
  port: z.number().int().min(1).max(65535),
  description: z.string().trim().max(500).nullable().optional(),
  isActive: z.boolean().optional(),
});

export const modalityPatchBody = modalityCreateBody.partial();
