// The encryption keys a database's clinical text was sealed with, recorded by fingerprint: every process that
// opens that text checks its keys against the record before it serves, so a lost or replaced key is named at
// start, never discovered as a decryption failure on the first record read (issue 22).
import { createHmac } from 'node:crypto';
import type { Knex } from 'knex';

/** A one-way fingerprint of a key (HMAC of a fixed label): tells keys apart without revealing them. */
export const keyFingerprint = (key: Buffer): string =>
  createHmac('sha256', key).update('mediconnect:encryption-key-fingerprint').digest('hex').slice(0, 16);

/** A key the database records that the configuration lacks or holds with other bytes. */
export interface KeyProblem {
  keyId: string;
  recorded: string;
  /** The configured key's fingerprint, or null when `ENCRYPTION_KEYS` has no key of this id. */
  configured: string | null;
}

/** The fingerprints of a set of keys, by id. */
export const fingerprints = (keys: ReadonlyMap<string, Buffer>): Record<string, string> =>
  Object.fromEntries([...keys].map(([id, key]) => [id, keyFingerprint(key)]));

/** Compares recorded fingerprints with configured keys: every recorded key must be configured, with the same bytes. */
export function compareKeys(recorded: Record<string, string>, keys: ReadonlyMap<string, Buffer>): KeyProblem[] {
  const configured = fingerprints(keys);
  return Object.entries(recorded)
    .filter(([id, fingerprint]) => configured[id] !== fingerprint)
    .map(([keyId, fingerprint]) => ({ keyId, recorded: fingerprint, configured: configured[keyId] ?? null }));
}

/** What the operator reads when the keys do not match: which key, and what to do. */
export function describeKeyProblems(problems: KeyProblem[], where = 'this database'): string {
  const lines = problems.map((p) =>
    p.configured === null
      ? `  - key "${p.keyId}" (fingerprint ${p.recorded}) sealed data in ${where}, but ENCRYPTION_KEYS has no key "${p.keyId}"`
      : `  - key "${p.keyId}" in ENCRYPTION_KEYS has fingerprint ${p.configured}, but the data in ${where} was sealed with fingerprint ${p.recorded}`,
  );
  return [
    `ENCRYPTION_KEY_MISMATCH: the configured encryption keys cannot open the clinical data of ${where}:`,
    ...lines,
    'Put back the keys this data was written with (npm start: the .data/secrets.json saved with the data or its backup;',
    'elsewhere: the ENCRYPTION_KEYS of the deployment). See docs/troubleshooting.md, "Encryption key mismatch".',
  ].join('\n');
}

/** The fingerprints the database records, by key id. */
export async function recordedKeys(db: Knex): Promise<Record<string, string>> {
  const rows: { key_id: string; fingerprint: string }[] = await db('encryption_keys').select('key_id', 'fingerprint');
  return Object.fromEntries(rows.map((r) => [r.key_id, r.fingerprint]));
}

/** Thrown when a process's keys do not match the database's record. */
export class KeyMismatchError extends Error {
  constructor(readonly problems: KeyProblem[]) {
    super(describeKeyProblems(problems));
    this.name = 'KeyMismatchError';
  }
}

/**
 * Checks the configured keys against the database's record, then records the configured keys it does not know
 * yet (the active one is the only one new text is sealed with, so every key that ever sealed is recorded). Throws
 * {@link KeyMismatchError} naming each key that would fail to open data.
 */
export async function checkAndRecordKeys(db: Knex, keys: ReadonlyMap<string, Buffer>): Promise<void> {
  const problems = compareKeys(await recordedKeys(db), keys);
  if (problems.length > 0) throw new KeyMismatchError(problems);
  const rows = Object.entries(fingerprints(keys)).map(([key_id, fingerprint]) => ({ key_id, fingerprint }));
  if (rows.length > 0) await db('encryption_keys').insert(rows).onConflict('key_id').ignore();
  // Two processes starting at once with different keys: the second insert was ignored, so check again.
  const after = compareKeys(await recordedKeys(db), keys);
  if (after.length > 0) throw new KeyMismatchError(after);
}

/** Where a running process's key check stands: `/readyz` is not ready until the keys are verified. */
export interface KeyWatch {
  verified: boolean;
  /** The mismatch found after start (the database was unreachable at start), or null. */
  problem: string | null;
  stop: () => void;
}

/**
 * Checks the keys at start: a mismatch refuses the start ({@link KeyMismatchError}); a database that does not answer
 * yet does not (an outage at start heals like any other), and the check is retried every `retryMs` until it answers.
 */
export async function guardKeys(
  db: Knex,
  keys: ReadonlyMap<string, Buffer>,
  logger: { warn: (o: object, m: string) => void; error: (o: object, m: string) => void },
  retryMs = 2_000,
): Promise<KeyWatch> {
  let timer: NodeJS.Timeout | undefined;
  const watch: KeyWatch = { verified: false, problem: null, stop: () => clearTimeout(timer) };
  const attempt = async (first: boolean): Promise<void> => {
    try {
      await checkAndRecordKeys(db, keys);
      watch.verified = true;
    } catch (err) {
      if (err instanceof KeyMismatchError) {
        if (first) throw err;
        watch.problem = err.message;
        logger.error({ keys: err.problems.map((p) => p.keyId) }, err.message);
        return;
      }
      if (first) logger.warn({ err: (err as Error).message }, 'encryption keys not verified yet (database unreachable); retrying');
      timer = setTimeout(() => void attempt(false), retryMs);
      timer.unref();
    }
  };
  await attempt(true);
  return watch;
}
