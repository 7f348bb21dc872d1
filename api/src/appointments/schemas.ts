import { z } from 'zod';
import { timestamp } from '../http/fields.js';
import { personRefSchema } from '../http/people.js';
import { decryptedSearch, listQuerySchema } from '../http/pagination.js';

export const STATUSES = ['requested', 'validated', 'cancelled', 'completed', 'no_show'] as const;
export type AppointmentStatus = (typeof STATUSES)[number];

const instant = z.iso.datetime({ offset: true }).describe('ISO-8601 instant with offset, e.g. 2026-12-01T09:00:00+01:00');
const duration = z.number().int().min(5).max(480).describe('Minutes (5–480)');
const reason = z.string().trim().min(1).max(500);

export const appointmentCreateBody = z.object({
  doctorId: z.uuid(),
  startsAt: instant,
  durationMinutes: duration.default(30),
  reason,
});

export const rescheduleBody = z.object({ startsAt: instant, durationMinutes: duration.optional() });
export const appointmentPutBody = z.object({ startsAt: instant, durationMinutes: duration, reason });
export const cancelBody = z.object({ reason: z.string().trim().min(1).max(500).optional().describe('Why; kept with the appointment') });

export const appointmentListQuery = listQuerySchema(['startsAt', 'createdAt'], 'startsAt').extend({
  status: z.enum(STATUSES).optional(),
  doctorId: z.uuid().optional(),
  patientId: z.uuid().optional(),
  from: z.iso.datetime({ offset: true }).optional().describe('Appointments starting at or after'),
  to: z.iso.datetime({ offset: true }).optional().describe('Appointments starting before'),
  q: decryptedSearch('the decrypted reason and the patient’s and doctor’s names'),
});
export type AppointmentListQuery = z.output<typeof appointmentListQuery>;

export const appointmentSchema = z.object({
  id: z.uuid(),
  status: z.enum(STATUSES),
  startsAt: z.string().describe('In the doctor’s time zone, with offset'),
  endsAt: z.string(),
  durationMinutes: z.number().int(),
  reason: z.string(),
  statusReason: z.string().nullable(),
  patient: z.object({ id: z.uuid(), firstName: z.string(), lastName: z.string(), identifier: z.string() }),
  doctor: z.object({
    id: z.uuid(),
    firstName: z.string(),
    lastName: z.string(),
    specialty: z.string(),
    hospitalId: z.uuid(),
    hospitalName: z.string(),
  }),
  requestedBy: personRefSchema.nullable(),
  statusChangedBy: personRefSchema.nullable(),
  statusChangedAt: timestamp.nullable(),
  reminderSentAt: timestamp.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
