import pg from 'pg';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

/**
 * One dedicated PostgreSQL connection LISTENing for the channels the process's caches follow (the triggers of
 * the migrations NOTIFY them). Caches built on it must stay off while it is not listening: a change made then
 * would go unseen. Every loss and every (re)start calls the reset handlers, so caches start clean.
 */
export class DbListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private readonly channels = new Map<string, Set<(payload: string) => void>>();
  private readonly resets = new Set<() => void>();

  constructor(
    private readonly config: Pick<Config, 'db'>,
    private readonly logger: Logger,
    private readonly name: string,
    private readonly retryMs = 1000,
  ) {}

  /** True while notifications are being received. */
  get listening(): boolean {
    return this.client !== null;
  }

  /** Calls `handler` with every notification's payload on `channel`; register before {@link start}. */
  on(channel: string, handler: (payload: string) => void): void {
    if (!/^[a-z_]+$/.test(channel)) throw new Error(`Unsafe channel name ${channel}`);
    const handlers = this.channels.get(channel) ?? new Set();
    handlers.add(handler);
    this.channels.set(channel, handlers);
  }

  /** Calls `handler` whenever listening starts or stops: what a cache holds is then unknown. */
  onReset(handler: () => void): void {
    this.resets.add(handler);
  }

  private reset(): void {
    for (const handler of this.resets) handler();
  }

  /** Connects and LISTENs; after a failure it retries in the background and caches stay off meanwhile. */
  async start(): Promise<void> {
    const connect = async (): Promise<void> => {
      if (this.stopped) return;
      const { db } = this.config;
      const client = new pg.Client({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.name, application_name: this.name });
      let gone = false;
      const lost = (err: Error) => {
        if (gone) return;
        gone = true;
        if (this.client === client) this.client = null;
        this.reset();
        if (!this.stopped) this.logger.warn({ err: err.message, listener: this.name }, 'database listener lost; caches off until it reconnects');
        client.end().catch(() => undefined);
        if (!this.stopped) setTimeout(() => void connect().catch(() => undefined), this.retryMs).unref();
      };
      client.on('notification', (n) => {
        for (const handler of this.channels.get(n.channel) ?? []) handler(n.payload ?? '');
      });
      client.on('error', lost);
      client.on('end', () => lost(new Error('listener connection ended')));
      try {
        await client.connect();
        for (const channel of this.channels.keys()) await client.query(`LISTEN ${channel}`);
      } catch (err) {
        lost(err as Error);
        return;
      }
      if (gone || this.stopped) return;
      // Changes made while nobody listened are unknown: caches start clean.
      this.reset();
      this.client = client;
    };
    await connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = null;
    this.reset();
    await client?.end().catch(() => undefined);
  }
}
