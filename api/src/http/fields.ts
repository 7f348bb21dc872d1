// Request and response fields every resource shares (path ids, timestamps, e-mails, phone numbers).
import { z } from 'zod';

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

/** A phone number: one optional leading +, then 6 to 20 digits with spaces ( ) . - between them. */
export const phone = z
  .string()
  .trim()
  .max(40)
  .regex(/^\+?[0-9().\s-]+$/, 'Digits, spaces and ( ) . -, with one optional leading +')
  .refine((v) => /^\d{6,20}$/.test(v.replace(/\D/g, '')), 'A phone number has 6 to 20 digits');
