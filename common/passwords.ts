import bcrypt from 'bcryptjs';
import { DEFAULT_PASSWORD } from '../db/seeds/super-admin.js';
import { badRequest, type ErrorDetail } from './http/errors.js';

export { DEFAULT_PASSWORD };

/** Password hashing with the configured cost, plus a dummy hash so unknown e-mails take as long as known ones. */
export interface Passwords {
  hash(plain: string): Promise<string>;
  verify(plain: string, hash: string | null): Promise<boolean>;
}

/** Builds the password service; the dummy hash is computed once here, not per login. */
export function createPasswords(rounds: number): Passwords {
  const dummy = bcrypt.hashSync('not-a-real-password-' + Math.random(), rounds);
  return {
    hash: (plain) => bcrypt.hash(plain, rounds),
    async verify(plain, hash) {
      const ok = await bcrypt.compare(plain, hash ?? dummy);
      return ok && hash !== null;
    },
  };
}

// bcrypt ignores everything past 72 bytes; longer passwords would silently share a hash.
const MAX_PASSWORD_BYTES = 72;

/** Checks a new password against the rules; throws 400 WEAK_PASSWORD listing every broken rule. */
export function assertAcceptablePassword(candidate: string, email: string, current: string): void {
  const problems: ErrorDetail[] = [];
  const lower = candidate.toLowerCase();
  if (candidate.length < 10) problems.push({ field: 'newPassword', message: 'Must be at least 10 characters long' });
  if (Buffer.byteLength(candidate, 'utf8') > MAX_PASSWORD_BYTES) {
    problems.push({ field: 'newPassword', message: `Must be at most ${MAX_PASSWORD_BYTES} bytes long` });
  }
  if (lower === DEFAULT_PASSWORD) problems.push({ field: 'newPassword', message: 'Must not be the default password' });
  if (lower === email.toLowerCase()) problems.push({ field: 'newPassword', message: 'Must not be the account’s e-mail' });
  if (candidate === current) problems.push({ field: 'newPassword', message: 'Must differ from the current password' });
  if (problems.length > 0) throw badRequest('The new password does not meet the password rules', problems, 'WEAK_PASSWORD');
}
