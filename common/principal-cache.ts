import type { Knex } from 'knex';
import type { DbListener } from './listener.js';
import { loadPrincipal, type Principal, type PrincipalRefusal } from './principal.js';
import type { AccessClaims } from './tokens.js';

/**
 * The channel the triggers NOTIFY: `s:` a login session, `u:` an account, `h:` a hospital, `v:` a viewer session,
 * `k:` a share link, followed by its id.
 */
export const PRINCIPAL_CHANNEL = 'mediconnect_principal';

type Found = { ok: true; principal: Principal } | ({ ok: false } & PrincipalRefusal);

/** A resolved viewer token: its viewer session or share (`id`), its holder, the login session it follows (null for a share), its expiry. */
export interface CachedToken {
  id: string;
  principal: Principal;
  sessionId: string | null;
  expiresAt: Date;
}

/**
 * Principals by login session, for a few seconds, shared by the API and the DICOMweb proxy. A logout, a
 * password change, a deactivation or deletion of the account or its hospital, or any change to what a
 * principal carries is NOTIFYed by the database in the same commit and drops the entries it concerns at
 * once, in every process. While the listener is down nothing is cached (every request reads the database);
 * a lookup that raced a change is not cached. Refusals are never cached.
 */
export class PrincipalCache {
  private readonly entries = new Map<string, { at: number; value: Principal }>();
  /** Viewer-session and share-link tokens (by hash): what they resolve to, and what ends them. */
  private readonly tokens = new Map<string, { at: number; value: CachedToken }>();
  private generation = 0;

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
      this.tokens.clear();
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
    let refusal: Found | null = null;
    const principal = await this.remember(
      this.entries,
      claims.sessionId,
      (p) => p.userId === claims.userId,
      async () => {
        const found = await loadPrincipal(this.db, claims);
        if (found.ok) return found.principal;
        refusal = found;
        return null;
      },
    );
    return principal ? { ok: true, principal } : refusal!;
  }

  /**
   * What a viewer token resolves to (a viewer session or a share link, by the hash of the token), cached like
   * principals: dropped when the viewer session or share ends (`v:`/`k:`), when its login session, account or
   * hospital changes, and never kept past its own expiry. Null answers are not cached.
   */
  async loadToken<T extends CachedToken>(hash: string, resolve: () => Promise<T | null>): Promise<T | null> {
    return this.remember(this.tokens, hash, (t) => Date.now() < t.expiresAt.getTime(), resolve) as Promise<T | null>;
  }

  /**
   * One lookup in one of the maps: a fresh, still-`valid` entry answers; otherwise `resolve` does, and its answer
   * is kept only while listening and if no change arrived meanwhile (the generation). Nothing is kept for null.
   */
  private async remember<V>(
    map: Map<string, { at: number; value: V }>,
    key: string,
    valid: (value: V) => boolean,
    resolve: () => Promise<V | null>,
  ): Promise<V | null> {
    const hit = map.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs && valid(hit.value)) {
      this.onLookup?.('hit');
      return hit.value;
    }
    this.onLookup?.('miss');
    const generation = this.generation;
    const value = await resolve();
    if (value === null) map.delete(key);
    else if (this.caching && generation === this.generation) {
      if (map.size >= this.maxEntries) map.delete(map.keys().next().value!);
      map.set(key, { at: Date.now(), value });
    }
    return value;
  }

  /**
   * Returns once every process's cache has heard every change committed before the call ({@link DbListener.sync}).
   * A request that changed a session, an account or a hospital waits for it before answering, so its client's
   * next request, to this process or another, sees the change.
   */
  async sync(timeoutMs = 2000): Promise<void> {
    await this.listener.sync(timeoutMs);
  }

  /** Drops what a change concerns: one session, every session of an account, or of a hospital's accounts. */
  private drop(payload: string): void {
    const [kind, id] = [payload.slice(0, 1), payload.slice(2)];
    // A sync marker of a release that sent them on this channel: nothing changed.
    if (kind === 'x') return;
    this.generation++;
    const known = ['s', 'u', 'h', 'v', 'k'].includes(kind);
    const concerns = (principal: Principal, sessionId: string | null) =>
      // An unknown kind (a newer release's trigger) drops everything: never keep what might have changed.
      !known ||
      (kind === 's' && sessionId === id) ||
      (kind === 'u' && principal.userId === id) ||
      (kind === 'h' && principal.hospitalId === id);
    if (kind === 's') this.entries.delete(id);
    else for (const [sessionId, entry] of this.entries) if (concerns(entry.value, sessionId)) this.entries.delete(sessionId);
    for (const [hash, { value }] of this.tokens) {
      if (concerns(value.principal, value.sessionId) || ((kind === 'v' || kind === 'k') && value.id === id)) this.tokens.delete(hash);
    }
  }
}

/** How many writes to sessions, accounts, hospitals, viewer sessions or shares this process has started (see {@link principalBarrier}). */
let principalWrites = 0;

/** The tables a principal is read from: accounts, hospitals, login sessions, viewer sessions, share links. */
export type PrincipalTable = 'sessions' | 'users' | 'hospitals' | 'viewer_sessions' | 'study_shares';

/**
 * Starts an insert, update or delete on a table a principal is read from, marked for the barrier: the request that
 * sends it answers only once every process's cache has heard of the change ({@link principalBarrier}). Every write
 * of those tables goes through here — the lint rule `local/principal-writes` refuses them spelled otherwise — so no
 * write is recognised by its SQL text.
 */
export function principalWrite(db: Knex | Knex.Transaction, table: PrincipalTable): Knex.QueryBuilder {
  markPrincipalWrite();
  return db(table);
}

/** Marks a principal write sent without {@link principalWrite} (the hospitals' Objection model). */
export function markPrincipalWrite(): void {
  principalWrites++;
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
