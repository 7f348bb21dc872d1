import { z } from 'zod';
import { isValidZone } from './intervals.js';

const hhmm = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'Expected HH:MM (00:00–24:00)');
const instant = z.iso.datetime({ offset: true });

const weeklyEntry = z
  .object({ weekday: z.number().int().min(1).max(7).describe('1 = Monday … 7 = Sunday'), start: hhmm, end: hhmm })
  .refine((w) => w.start < w.end, { message: 'start must be before end', path: ['end'] });

const exception = z
  .object({ from: instant, to: instant, reason: z.string().trim().max(200).nullable().optional() })
  .refine((e) => Date.parse(e.from) < Date.parse(e.to), { message: 'from must be before to', path: ['to'] });

function overlapsWithinDay(weekly: { weekday: number; start: string; end: string }[]): boolean {
  const sorted = [...weekly].sort((a, b) => a.weekday - b.weekday || a.start.localeCompare(b.start));
  return sorted.some((w, i) => i > 0 && sorted[i - 1]!.weekday === w.weekday && sorted[i - 1]!.end > w.start);
}

export const availabilityBody = z
  .object({
    timezone: z.string().refine(isValidZone, 'Unknown IANA time zone (e.g. Europe/Paris)'),
    weekly: z.array(weeklyEntry).max(100),
    exceptions: z.array(exception).max(500).default([]),
  })
  .refine((b) => !overlapsWithinDay(b.weekly), { message: 'Weekly hours of one weekday must not overlap', path: ['weekly'] });

export const availabilityQuery = z
  .object({
    from: instant.optional().describe('Start of the slot window (default: now); slots before now are never offered'),
    to: instant.optional().describe('End of the slot window (default: from + 14 days); at most 62 days after `from` (or now), else 400'),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), { message: 'from must be before to', path: ['to'] });

const slot = z.object({ startsAt: z.string(), endsAt: z.string() });

export const availabilitySchema = z.object({
  doctorId: z.uuid(),
  configured: z.boolean().describe('False until the doctor or a secretary sets availability'),
  timezone: z.string(),
  weekly: z.array(z.object({ weekday: z.number().int(), start: z.string(), end: z.string() })),
  exceptions: z.array(z.object({ from: z.string(), to: z.string(), reason: z.string().nullable() })),
  from: z.string(),
  to: z.string(),
  slots: z.array(slot).describe('Free periods: opening hours minus exceptions and validated appointments'),
});
