import { z } from 'zod';
import { emailInput, phone, timestamp } from '../http/fields.js';
import { listQuerySchema } from '../http/pagination.js';
import { personRefSchema } from '../http/people.js';

export const SEXES = ['female', 'male', 'other', 'unknown'] as const;

const SEX_CODES: Record<string, (typeof SEXES)[number]> = { f: 'female', m: 'male', o: 'other', u: 'unknown' };

/** Sex as words, or as the DICOM codes F / M / O (and U), in any case. */
const sexInput = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum([...SEXES, 'f', 'm', 'o', 'u']))
  .transform((v) => SEX_CODES[v] ?? (v as (typeof SEXES)[number]))
  .describe('female, male, other, unknown (or F, M, O, U)');

const name = z.string().trim().min(1).max(100);
/** A calendar date (no time, no zone), not in the future. */
const birthDate = z.iso
  .date()
  .refine((d) => d <= new Date().toISOString().slice(0, 10), 'Must not be in the future')
  .refine((d) => d >= '1880-01-01', 'Must be after 1880');

export const patientCreateBody = z.object({
  email: emailInput.optional().describe('Optional: a patient without one is registered and cannot log in until one is added'),
  firstName: name,
  lastName: name,
  birthDate,
  sex: sexInput,
  phone: phone.optional(),
  doctorIds: z
    .array(z.uuid())
    .min(1, 'At least one doctor of your hospital is required')
    .max(20)
    .refine((ids) => new Set(ids).size === ids.length, 'Doctor ids must be unique'),
  confirmNotDuplicate: z
    .boolean()
    .optional()
    .describe(
      'Create it even though a patient of the same names and birth date is already followed in your hospital (else 409 `POSSIBLE_DUPLICATE`)',
    ),
});

const editable = {
  email: emailInput.nullable(),
  firstName: name,
  lastName: name,
  birthDate,
  sex: sexInput,
  phone: phone.nullable(),
  isActive: z.boolean(),
};

/** PUT replaces the demographics (phone defaults to none); the identifier never changes. */
export const patientPutBody = z.object({ ...editable, phone: editable.phone.default(null), isActive: editable.isActive.optional() });
export const patientPatchBody = z
  .object(editable)
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: 'At least one field is required' });
export type PatientPatch = z.output<typeof patientPatchBody>;

export const patientListQuery = listQuerySchema(['lastName', 'firstName', 'birthDate', 'identifier', 'createdAt'], 'lastName').extend({
  birthDate: z.iso.date().optional().describe('Exact birth date (YYYY-MM-DD)'),
  identifier: z.string().trim().toUpperCase().optional().describe('Exact patient identifier'),
  doctorId: z.uuid().optional().describe('Only patients linked to this doctor'),
  isActive: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
});
export type PatientListQuery = z.output<typeof patientListQuery>;

export const linkSchema = z.object({
  doctorId: z.uuid(),
  firstName: z.string(),
  lastName: z.string(),
  specialty: z.string(),
  hospitalId: z.uuid(),
  hospitalName: z.string(),
  source: z.enum(['patient_creation', 'appointment', 'secretary']),
  appointmentId: z.uuid().nullable().describe('The validated appointment that made the link (source `appointment`)'),
  createdBy: personRefSchema.nullable(),
  createdAt: timestamp,
  doctorStatus: z
    .enum(['active', 'inactive', 'deleted'])
    .describe('`inactive`: the doctor or its hospital is deactivated; `deleted`: either was deleted'),
});

export const patientSchema = z.object({
  id: z.uuid(),
  identifier: z.string().describe('Unique, immutable; the DICOM PatientID'),
  email: z.string().nullable().describe('Null: no e-mail yet, so no login'),
  firstName: z.string(),
  lastName: z.string(),
  birthDate: z.string(),
  sex: z.enum(SEXES),
  phone: z.string().nullable(),
  isActive: z.boolean(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const patientDetailSchema = patientSchema.extend({ doctors: z.array(linkSchema) });

export const addLinkBody = z.object({ doctorId: z.uuid() });
