import { z } from 'zod';
import { timestamp } from '../http/fields.js';
import { decryptedSearch, listQuerySchema } from '../http/pagination.js';
import { personRefSchema } from '../http/people.js';

export const ENTRY_TYPES = ['consultation', 'antecedent', 'treatment', 'prescription', 'allergy', 'note'] as const;
export type EntryType = (typeof ENTRY_TYPES)[number];

const text = (max: number) => z.string().trim().min(1).max(max);

/** When the care happened: not before 1900, and not more than a day ahead (time zones). */
const recordedAt = z.iso
  .datetime({ offset: true })
  .refine((v) => Date.parse(v) >= Date.UTC(1900, 0, 1), 'Not before 1900')
  .refine((v) => Date.parse(v) <= Date.now() + 86_400_000, 'Not in the future');

export const prescriptionFields = z.object({
  medication: text(200),
  dosage: text(100),
  route: text(100).describe('e.g. oral, IV'),
  frequency: text(100),
  duration: text(100),
});
export type Prescription = z.output<typeof prescriptionFields>;

/** The clinical content of an entry: what is encrypted at rest. */
export interface EntryContent {
  title: string;
  content: string;
  prescription: Prescription | null;
}

export const PRESCRIPTION_KEYS = ['medication', 'dosage', 'route', 'frequency', 'duration'] as const;

/** The prescription details may also come flat, next to title and content. */
const flatPrescription = {
  medication: text(200).nullable().optional(),
  dosage: text(100).nullable().optional(),
  route: text(100).nullable().optional(),
  frequency: text(100).nullable().optional(),
  duration: text(100).nullable().optional(),
};

/** Folds flat prescription fields into `prescription`; all five are needed when any is sent, unless `partial` (PATCH merges). */
function foldPrescription<
  T extends Partial<Record<(typeof PRESCRIPTION_KEYS)[number], string | null>> & { prescription?: Partial<Prescription> | null },
>(body: T, ctx: z.RefinementCtx, partial = false): Omit<T, (typeof PRESCRIPTION_KEYS)[number]> {
  // null flat fields say "none" (as an entry read back shows them); flat copies of the nested details are fine.
  const flat = PRESCRIPTION_KEYS.filter((k) => body[k] !== undefined && body[k] !== null);
  const rest = Object.fromEntries(Object.entries(body).filter(([k]) => !(PRESCRIPTION_KEYS as readonly string[]).includes(k))) as Omit<
    T,
    (typeof PRESCRIPTION_KEYS)[number]
  >;
  if (flat.length === 0) return rest;
  if (body.prescription && flat.every((k) => body.prescription![k] === body[k])) return rest;
  if (body.prescription !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['prescription'],
      message: 'Send the prescription details either nested in `prescription` or flat, not both',
    });
    return rest;
  }
  if (!partial)
    for (const k of PRESCRIPTION_KEYS.filter((k) => body[k] === undefined))
      ctx.addIssue({ code: 'custom', path: [k], message: 'Required with the other prescription details' });
  return { ...rest, prescription: Object.fromEntries(flat.map((k) => [k, body[k]!])) as Prescription };
}

export const entryCreateBody = z
  .object({
    patientId: z.uuid(),
    type: z.enum(ENTRY_TYPES),
    title: text(200),
    content: text(20_000),
    recordedAt: recordedAt.optional().describe('When the care happened (default: now; 1900 to now)'),
    prescription: prescriptionFields.optional().describe('Required for, and only for, type `prescription` (or send its five fields flat)'),
    ...flatPrescription,
  })
  .transform((raw, ctx) => {
    const b = foldPrescription(raw, ctx);
    if (b.type === 'prescription' && !b.prescription)
      ctx.addIssue({ code: 'custom', path: ['prescription'], message: 'Required for a prescription' });
    if (b.type !== 'prescription' && b.prescription)
      ctx.addIssue({ code: 'custom', path: ['prescription'], message: 'Only prescriptions carry prescription details' });
    return b;
  });

const editable = {
  type: z.enum(ENTRY_TYPES),
  title: text(200),
  content: text(20_000),
  recordedAt,
  prescription: prescriptionFields.nullable(),
};

export const entryPutBody = z
  .object({
    ...editable,
    type: editable.type.optional(),
    recordedAt: editable.recordedAt.optional(),
    prescription: editable.prescription.optional(),
    ...flatPrescription,
  })
  .transform((raw, ctx) => foldPrescription(raw, ctx));
export const entryPatchBody = z
  .object({
    ...editable,
    prescription: prescriptionFields.partial().nullable().describe('Only the details sent change; null removes them'),
    ...flatPrescription,
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: 'At least one field is required' })
  .transform((raw, ctx) => foldPrescription(raw, ctx, true));
/** A PATCH: prescription details are merged into the stored ones. */
export type EntryPatch = z.output<typeof entryPatchBody>;

export const entryListQuery = listQuerySchema(['recordedAt', 'createdAt', 'updatedAt'], '-recordedAt').extend({
  patientId: z.uuid().optional(),
  type: z.enum(ENTRY_TYPES).optional(),
  q: decryptedSearch('the decrypted title, content and prescription'),
});
export type EntryListQuery = z.output<typeof entryListQuery>;

export const entrySchema = z.object({
  id: z.uuid(),
  patientId: z.uuid(),
  type: z.enum(ENTRY_TYPES),
  title: z.string(),
  content: z.string(),
  prescription: prescriptionFields.nullable(),
  medication: z.string().nullable().describe('Prescriptions: the same details as `prescription`, flat'),
  dosage: z.string().nullable(),
  route: z.string().nullable(),
  frequency: z.string().nullable(),
  duration: z.string().nullable(),
  recordedAt: timestamp,
  version: z.number().int(),
  author: personRefSchema,
  updatedBy: personRefSchema.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const historySchema = z.object({
  entryId: z.uuid(),
  deleted: z.boolean(),
  items: z.array(
    z.object({
      version: z.number().int(),
      change: z.enum(['created', 'updated', 'deleted']),
      changedFields: z.array(z.string()),
      changedAt: timestamp,
      changedBy: personRefSchema,
      entry: z.object({
        type: z.enum(ENTRY_TYPES),
        title: z.string(),
        content: z.string(),
        prescription: prescriptionFields.nullable(),
        recordedAt: timestamp,
      }),
    }),
  ),
});

export const recordSchema = z.object({
  patient: z.object({
    id: z.uuid(),
    identifier: z.string(),
    firstName: z.string(),
    lastName: z.string(),
    birthDate: z.string(),
    sex: z.string(),
  }),
  total: z.number().int(),
  entries: z.object(
    Object.fromEntries(ENTRY_TYPES.map((t) => [t, z.array(entrySchema)])) as Record<EntryType, z.ZodArray<typeof entrySchema>>,
  ),
});

export const accessLogSchema = z.object({
  items: z.array(z.object({ at: timestamp, action: z.string(), entryId: z.string().nullable(), actor: personRefSchema.nullable() })),
  total: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
});
