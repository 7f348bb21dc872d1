import type { Knex } from 'knex';
import type { Config } from '../../../common/config.js';

type Kind = 'account' | 'ip';

/** Whether more login attempts are allowed, and for how long they are refused otherwise. */
export interface ThrottleState {
  blocked: boolean;
  retryAfterSeconds: number;
}

/**
 * Counts failed logins per e-mail (whether or not an account has it, so a 429 reveals nothing) and per
 * client address, over a sliding window, in PostgreSQL so every API replica shares the counts.
 */
export function createLoginThrottle(db: Knex, config: Config['auth']) {
  const windowSeconds = config.throttleWindowSeconds;

  async function stateOf(db: Knex | Knex.Transaction, kind: Kind, key: string, limit: number): Promise<ThrottleState> {
    const rows: { n: number; oldest: Date | null }[] = await db('login_failures')
      .where({ kind, key })
      .andWhere('occurred_at', '>', db.raw(`now() - make_interval(secs => ?)`, [windowSeconds]))
      .select(db.raw('count(*)::int as n'), db.raw('min(occurred_at) as oldest'));
    const { n, oldest } = rows[0] ?? { n: 0, oldest: null };
    if (n < limit || !oldest) return { blocked: false, retryAfterSeconds: 0 };
    const retryAt = oldest.getTime() + windowSeconds * 1000;
    return { blocked: true, retryAfterSeconds: Math.max(1, Math.ceil((retryAt - Date.now()) / 1000)) };
  }

  return {
    /**
     * Reserves one attempt for the e-mail and the address before the password is checked: under a lock
     * per key, the attempt is counted as a failure at once, so parallel attempts cannot all pass the
     * check before any failure is recorded. Blocked: the stricter of the two limits. Not blocked: call
     * `succeeded()` when the password was right (the reservation is withdrawn); a wrong one stays counted.
     */
    async reserve(
      email: string,
      ip: string,
    ): Promise<(ThrottleState & { blocked: true }) | { blocked: false; succeeded: () => Promise<void> }> {
      const reserved = await db.transaction(async (trx) => {
        // Always account first, then address: one lock order, no deadlock between attempts.
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`login:account:${email}`]);
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`login:ip:${ip}`]);
        const [account, address] = [
          await stateOf(trx, 'account', email, config.maxFailuresPerAccount),
          await stateOf(trx, 'ip', ip, config.maxFailuresPerIp),
        ];
        if (account.blocked || address.blocked) {
          return { blocked: true as const, retryAfterSeconds: Math.max(account.retryAfterSeconds, address.retryAfterSeconds) };
        }
        const rows: { id: number }[] = await trx('login_failures')
          .insert([
            { kind: 'account', key: email },
            { kind: 'ip', key: ip },
          ])
          .returning('id');
        return { blocked: false as const, ids: rows.map((r) => r.id) };
      });
      // Old rows are useless once outside the window; prune opportunistically to keep the table small.
      if (Math.random() < 0.05) {
        await db('login_failures')
          .where('occurred_at', '<', db.raw(`now() - make_interval(secs => ?)`, [windowSeconds * 2]))
          .delete();
      }
      if (reserved.blocked) return reserved;
      return {
        blocked: false,
        succeeded: async () => {
          await db('login_failures').whereIn('id', reserved.ids).delete();
        },
      };
    },
    /** A successful login clears the account's failures (not the address's). */
    async clearAccount(email: string): Promise<void> {
      await db('login_failures').where({ kind: 'account', key: email }).delete();
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
