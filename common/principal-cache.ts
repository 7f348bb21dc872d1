import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { DbListener } from './listener.js';
import { loadPrincipal, type Principal, type PrincipalRefusal } from './principal.js';
import type { AccessClaims } from './tokens.js';

/** The channel the triggers of sessions, users and hospitals NOTIFY (payload `s:`, `u:` or `h:` and an id). */
export const PRINCIPAL_CHANNEL = 'mediconnect_principal';

type Found = { ok: true; principal: Principal } | ({ ok: false } & PrincipalRefusal);

/**
 * Principals by login session, for a few seconds, shared by the API and the DICOMweb proxy. A logout, a
 * password change, a deactivation or deletion of the account or its hospital, or any change to what a
 * principal carries is NOTIFYed by the database in the same commit and drops the entries it concerns at
 * once, in every process. While the listener is down nothing is cached (every request reads the database);
 * a lookup that raced a change is not cached. Refusals are never cached.
 */
export class PrincipalCache {
  private readonly entries = new Map<string, { at: number; principal: Principal }>();
  private generation = 0;
  private readonly waiters = new Map<string, () => void>();

  constructor(
    private readonly db: Knex,
    private readonly listener: DbListener,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {
    listener.on(PRINCIPAL_CHANNEL, (payload) => this.drop(payload));
    listener.onReset(() => {
      this.generation++;
      this.entries.clear();
    });
  }

  /** True while principals are being kept (a TTL above 0 and a live listener). */
  get caching(): boolean {
    return this.ttlMs > 0 && this.listener.listening;
  }

  /** Told of every lookup (hit or miss), for the cache's hit ratio. */
  onLookup: ((result: 'hit' | 'miss') => void) | null = null;

  /** The principal of verified claims: from the cache when fresh, else from the database. */
  async load(claims: Pick<AccessClaims, 'userId' | 'sessionId'>): Promise<Found> {
    const hit = this.entries.get(claims.sessionId);
    if (hit && hit.principal.userId === claims.userId && Date.now() - hit.at < this.ttlMs) {
      this.onLookup?.('hit');
      return { ok: true, principal: hit.principal };
    }
    this.onLookup?.('miss');
    const generation = this.generation;
    const found = await loadPrincipal(this.db, claims);
    if (found.ok && this.ttlMs > 0 && this.listener.listening && generation === this.generation) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(claims.sessionId, { at: Date.now(), principal: found.principal });
    }
    return found;
  }

  /**
   * Returns once this process has heard every change committed before the call: NOTIFYs arrive in commit
   * order, so hearing a marker sent now means the earlier ones were handled. A request that changed a session,
   * an account or a hospital waits for it before answering, so its client's next request sees the change.
   */
  async sync(timeoutMs = 2000): Promise<void> {
    if (!this.caching) return;
    const marker = randomUUID();
    const heard = new Promise<void>((resolve) => this.waiters.set(marker, resolve));
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.db.raw('select pg_notify(?, ?)', [PRINCIPAL_CHANNEL, `x:${marker}`]);
      await Promise.race([heard, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    } catch {
      // The change is committed: a database that fails now must not turn its answer into an error. The
      // listener shares its fate and drops the cache when it goes.
    } finally {
      clearTimeout(timer);
      this.waiters.delete(marker);
    }
  }

  /** Drops what a change concerns: one session, every session of an account, or of a hospital's accounts. */
  private drop(payload: string): void {
    const [kind, id] = [payload.slice(0, 1), payload.slice(2)];
    if (kind === 'x') {
      this.waiters.get(id)?.();
      return;
    }
    this.generation++;
    if (kind === 's') {
      this.entries.delete(id);
      return;
    }
    for (const [sessionId, entry] of this.entries) {
      // An unknown kind (a newer release's trigger) drops everything: never keep what might have changed.
      if ((kind === 'u' && entry.principal.userId === id) || (kind === 'h' && entry.principal.hospitalId === id) || (kind !== 'u' && kind !== 'h')) {
        this.entries.delete(sessionId);
      }
    }
  }
}

const WRITES_PRINCIPALS = /^\s*(update|delete from|insert into)\s+"(sessions|users|hospitals)"/i;
/** How many writes to sessions, accounts or hospitals this process has sent (see {@link principalBarrier}). */
let principalWrites = 0;

/** Counts every query that writes sessions, accounts or hospitals (see {@link principalBarrier}). */
export function watchPrincipalWrites(db: Knex): void {
  db.on('query', (q: { sql?: string }) => {
    if (q.sql && WRITES_PRINCIPALS.test(q.sql)) principalWrites++;
  });
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Koa middleware: a request that may have written sessions, accounts or hospitals (any write of this process
 * while it ran) answers only once this process's principal cache has heard of the changes
 * ({@link PrincipalCache.sync}); the NOTIFY reaches the other processes at the same time. Reads pass straight on.
 */
export function principalBarrier(cache: PrincipalCache) {
  return async (ctx: { method: string }, next: () => Promise<unknown>): Promise<void> => {
    if (READS.has(ctx.method)) {
      await next();
      return;
    }
    const before = principalWrites;
    try {
      await next();
    } finally {
      if (principalWrites !== before) await cache.sync();
    }
  };
}
