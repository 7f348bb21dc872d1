import { z } from 'zod';
import { emailInput, timestamp } from '../http/fields.js';
import { listQuerySchema } from '../http/pagination.js';

const text = (max: number) => z.string().trim().min(1).max(max);

const editable = {
  name: text(200),
  address: text(500).nullable(),
  city: text(100).nullable(),
  phone: z
    .string()
    .trim()
    .min(3)
    .max(40)
    .regex(/^[0-9+().\s-]+$/, 'Only digits, spaces and + ( ) . - are allowed')
    .nullable(),
  email: emailInput.nullable(),
};

export const hospitalCreateBody = z.object({
  name: editable.name,
  address: editable.address.optional(),
  city: editable.city.optional(),
  phone: editable.phone.optional(),
  email: editable.email.optional(),
});

/** PUT replaces every editable field (nullable ones may be null); PATCH changes any subset. */
export const hospitalPutBody = z.object({ ...editable, isActive: z.boolean().optional() });
export const hospitalPatchBody = z
  .object({ ...editable, isActive: z.boolean() })
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: 'At least one field is required' });

export type HospitalPatch = z.output<typeof hospitalPatchBody>;

export const hospitalListQuery = listQuerySchema(['name', 'city', 'createdAt'], 'name').extend({
  isActive: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .describe('Filter on active state'),
});

export const hospitalSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  address: z.string().nullable(),
  city: z.string().nullable(),
  phone: z.string().nullable(),
  email: z.string().nullable(),
  isActive: z.boolean(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export type HospitalDto = z.output<typeof hospitalSchema>;
