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

  async function stateOf(kind: Kind, key: string, limit: number): Promise<ThrottleState> {
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
    /** The stricter of the account and address limits. */
    async check(email: string, ip: string): Promise<ThrottleState> {
      const [account, address] = await Promise.all([
        stateOf('account', email, config.maxFailuresPerAccount),
        stateOf('ip', ip, config.maxFailuresPerIp),
      ]);
      return account.blocked || address.blocked
        ? { blocked: true, retryAfterSeconds: Math.max(account.retryAfterSeconds, address.retryAfterSeconds) }
        : account;
    },
    /** Records one failed attempt for the e-mail and the address. */
    async recordFailure(email: string, ip: string): Promise<void> {
      await db('login_failures').insert([
        { kind: 'account', key: email },
        { kind: 'ip', key: ip },
      ]);
      // Old rows are useless once outside the window; prune opportunistically to keep the table small.
      if (Math.random() < 0.05) {
        await db('login_failures').where('occurred_at', '<', db.raw(`now() - make_interval(secs => ?)`, [windowSeconds * 2])).delete();
      }
    },
    /** A successful login clears the account's failures (not the address's). */
    async clearAccount(email: string): Promise<void> {
      await db('login_failures').where({ kind: 'account', key: email }).delete();
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
