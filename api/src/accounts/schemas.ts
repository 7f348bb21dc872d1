import { z } from 'zod';
import { emailInput, phone, timestamp } from '../http/fields.js';

const name = z.string().trim().min(1).max(100);

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
