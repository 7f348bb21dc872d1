import { z } from 'zod';
import { ROLES } from '../../../common/roles.js';

/** Path parameter `{id}`: anything that is not a UUID names no resource. */
export const idParams = z.object({ id: z.uuid().describe('Resource id (UUID)') });

export const timestamp = z.iso.datetime({ offset: true });

/** E-mails are compared case-insensitively and stored lower-case. */
export const emailInput = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email())
  .transform((e) => e.toLowerCase());

const name = z.string().trim().min(1).max(100);
/** A phone number: one optional leading +, then 6 to 20 digits with spaces ( ) . - between them. */
export const phone = z
  .string()
  .trim()
  .max(40)
  .regex(/^\+?[0-9().\s-]+$/, 'Digits, spaces and ( ) . -, with one optional leading +')
  .refine((v) => /^\d{6,20}$/.test(v.replace(/\D/g, '')), 'A phone number has 6 to 20 digits');

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

/** A staff account (hospital admin, doctor, secretary) as its managers see it. */
export const staffAccountSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  role: z.enum(['hospital_admin', 'doctor', 'secretary']),
  hospitalId: z.uuid(),
  hospitalName: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  phone: z.string().nullable(),
  isActive: z.boolean(),
  mustChangePassword: z.boolean(),
  lastLoginAt: timestamp.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

/** Fields every staff account is created with; the password is never among them. */
export const staffCreateFields = {
  email: emailInput,
  firstName: name,
  lastName: name,
  phone: phone.optional(),
};

/** Fields a manager may change; `isActive` deactivates or reactivates. */
export const staffUpdateFields = {
  email: emailInput,
  firstName: name,
  lastName: name,
  phone: phone.nullable(),
  isActive: z.boolean(),
};

export const doctorProfileCreateFields = {
  specialty: z.string().trim().min(1).max(100),
  licenseNumber: z.string().trim().min(1).max(50).optional(),
};

export const doctorProfileUpdateFields = {
  specialty: z.string().trim().min(1).max(100),
  licenseNumber: z.string().trim().min(1).max(50).nullable(),
};

/** A doctor's public directory entry, readable by every logged-in user. */
export const doctorDirectoryFields = {
  id: z.uuid(),
  role: z.literal('doctor'),
  firstName: z.string(),
  lastName: z.string(),
  specialty: z.string(),
  hospitalId: z.uuid(),
  hospitalName: z.string(),
};

/** A doctor as listed: management fields appear only for the admins of its hospital. */
export const doctorSchema = z.object({
  ...doctorDirectoryFields,
  licenseNumber: z.string().nullable().optional(),
  email: z.string().optional(),
  phone: z.string().nullable().optional(),
  isActive: z.boolean().optional(),
  mustChangePassword: z.boolean().optional(),
  lastLoginAt: timestamp.nullable().optional(),
  createdAt: timestamp.optional(),
  updatedAt: timestamp.optional(),
});
