import { AppError } from './errors.js';

interface PgError {
  code?: string;
  constraint?: string;
  column?: string;
}

// Constraint names carry meaning the client can act on; anything else gets a generic message.
const CONSTRAINT_ERRORS: Record<string, { status: number; code: string; message: string; field?: string }> = {
  users_email_live_unique: {
    status: 409,
    code: 'EMAIL_ALREADY_EXISTS',
    message: 'An account with this e-mail already exists',
    field: 'email',
  },
  appointments_no_double_booking: {
    status: 409,
    code: 'SLOT_TAKEN',
    message: 'The doctor already has a validated appointment at that time',
  },
  appointments_one_live_per_slot: {
    status: 409,
    code: 'DUPLICATE_REQUEST',
    message: 'You already have an appointment request with this doctor at this time',
    field: 'startsAt',
  },
  users_hospital_id_foreign: { status: 400, code: 'VALIDATION_ERROR', message: 'Unknown hospital', field: 'hospitalId' },
};

function isPgError(err: unknown): err is PgError & Error {
  return err instanceof Error && typeof (err as PgError).code === 'string' && /^[0-9A-Z]{5}$/.test((err as PgError).code ?? '');
}

/** Maps a PostgreSQL error to an AppError without leaking SQL; returns null for anything unexpected. */
export function mapDatabaseError(err: unknown): AppError | null {
  if (!isPgError(err)) return null;
  const known = err.constraint ? CONSTRAINT_ERRORS[err.constraint] : undefined;
  if (known) {
    return new AppError(known.status, known.code, known.message, known.field ? [{ field: known.field, message: known.message }] : null);
  }
  switch (err.code) {
    case '23505':
      return new AppError(409, 'CONFLICT', 'A resource with the same unique value already exists');
    case '23503':
      return new AppError(409, 'CONFLICT', 'The resource is referenced by, or references, another resource');
    case '23502':
    case '23514':
    case '22P02':
    case '22001':
    case '22007':
    case '22008':
      return new AppError(400, 'VALIDATION_ERROR', 'The request contains a value the database cannot accept');
    case '40001':
    case '40P01':
      return new AppError(409, 'CONCURRENT_UPDATE', 'The resource was changed concurrently; retry the request');
    case '57P01':
    case '57P03':
    case '08000':
    case '08003':
    case '08006':
      return new AppError(503, 'SERVICE_UNAVAILABLE', 'The database is unavailable');
    default:
      return null;
  }
}
