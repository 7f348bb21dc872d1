import pg from 'pg';
import type { Knex } from 'knex';
import { visiblePatientIdentifiers } from '../../common/access.js';
import type { Config } from '../../common/config.js';
import type { Logger } from '../../common/logger.js';
import type { Principal } from '../../common/principal.js';

export const ACCESS_CHANNEL = 'mediconnect_access';

/**
 * Who may see which patients, cached briefly per user: a viewer fires hundreds of requests per series.
 * Any change to the link table, in any process, is NOTIFYed by a trigger and empties the cache. A stale
 * entry can only lack a new link for the moment the notification takes: links are never removed.
 */
export class AccessCache {
  private readonly entries = new Map<string, { at: number; ids: Set<string> }>();
  private listener: pg.Client | null = null;
  private stopped = false;

  constructor(
    private readonly db: Knex,
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 10_000,
  ) {}

  /** The caller's visible patient identifiers, from the cache when fresh. */
  async identifiers(who: Pick<Principal, 'userId' | 'role'>): Promise<Set<string>> {
    const hit = this.entries.get(who.userId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.ids;
    const ids = await visiblePatientIdentifiers(this.db, who);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(who.userId, { at: Date.now(), ids });
    return ids;
  }

  clear(): void {
    this.entries.clear();
  }

  /** LISTENs for link changes on a dedicated connection, reconnecting after failures. */
  async listen(config: Pick<Config, 'db'>, logger: Logger): Promise<void> {
    const connect = async (): Promise<void> => {
      if (this.stopped) return;
      const client = new pg.Client({ host: config.db.host, port: config.db.port, user: config.db.user, password: config.db.password, database: config.db.name, application_name: 'dicom-proxy-listener' });
      client.on('notification', () => this.clear());
      client.on('error', (err) => {
        logger.warn({ err: err.message }, 'access listener lost; reconnecting');
        this.clear();
        this.listener = null;
        client.end().catch(() => undefined);
        setTimeout(() => void connect().catch(() => undefined), 1000).unref();
      });
      await client.connect();
      await client.query(`LISTEN ${ACCESS_CHANNEL}`);
      this.listener = client;
      // Changes made while we were not listening are unknown: start clean.
      this.clear();
    };
    await connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.listener?.end().catch(() => undefined);
  }
}
