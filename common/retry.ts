import type { Logger } from './logger.js';

/** PostgreSQL's serialization failure and deadlock: the work did not happen, and may simply be run again. */
const RETRYABLE = new Set(['40001', '40P01']);

/** Whether `err` is a conflict between our own concurrent transactions (serialization failure, deadlock). */
export function isConcurrencyConflict(err: unknown): boolean {
  return RETRYABLE.has((err as { code?: string } | null)?.code ?? '');
}

/**
 * Runs `work` again when it lost to another of our own transactions (a deadlock between an upload and the
 * indexer, a serialization failure), up to `attempts` times with a short random pause: such a conflict is
 * ours to resolve, never the client's. `work` must be a whole transaction (or idempotent). Other errors,
 * and the last conflict, are thrown.
 */
export async function retryOnConflict<T>(work: () => Promise<T>, what: string, logger?: Logger, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!isConcurrencyConflict(err) || attempt >= attempts) throw err;
      logger?.warn({ code: (err as { code: string }).code, attempt, what }, 'concurrent transaction conflict: retrying');
      await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 40 * attempt));
    }
  }
}
