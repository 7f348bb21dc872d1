import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

/** The channel of {@link DbListener.sync}: `m:` a marker, `a:` a listener's acknowledgement of it. */
export const SYNC_CHANNEL = 'mediconnect_sync';
/** Every listener connects under this application name (+ its own name), so that a sync knows how many to wait for. */
const APPLICATION = 'mediconnect-listener:';

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
  /** Markers this process sent and waits for: heard back itself, and acknowledged by how many other listeners. */
  private readonly syncs = new Map<string, { heard: boolean; acks: number; peers: number; check: () => void }>();

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

  private tail: Promise<unknown> = Promise.resolve();

  /** One query at a time on the listening connection: concurrent syncs and acknowledgements queue here, not in pg. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
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
      const client = new pg.Client({
        host: db.host,
        port: db.port,
        user: db.user,
        password: db.password,
        database: db.name,
        application_name: `${APPLICATION}${this.name}`,
      });
      let gone = false;
      const lost = (err: Error) => {
        if (gone) return;
        gone = true;
        if (this.client === client) this.client = null;
        this.reset();
        if (!this.stopped)
          this.logger.warn({ err: err.message, listener: this.name }, 'database listener lost; caches off until it reconnects');
        client.end().catch(() => undefined);
        if (!this.stopped) setTimeout(() => void connect().catch(() => undefined), this.retryMs).unref();
      };
      client.on('notification', (n) => {
        if (n.channel === SYNC_CHANNEL) this.onSync(client, n.payload ?? '');
        else for (const handler of this.channels.get(n.channel) ?? []) handler(n.payload ?? '');
      });
      client.on('error', lost);
      client.on('end', () => lost(new Error('listener connection ended')));
      try {
        await client.connect();
        for (const channel of [...this.channels.keys(), SYNC_CHANNEL]) await client.query(`LISTEN ${channel}`);
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

  /**
   * Resolves once every listener connected to this database — in every process, this one included — has handled
   * every notification committed before the call: each hears a marker after them (one queue, commit order) and
   * acknowledges it. A write that ends a session or changes an account waits for this before answering, so no
   * process serves the client's next request from a cache that still holds the old principal. Gives up after
   * `timeoutMs` (a listener that stopped answering), and at once when this one is not listening.
   */
  async sync(timeoutMs = 2000): Promise<void> {
    const client = this.client;
    if (!client) return;
    const marker = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const settled = new Promise<void>((resolve) => {
      const state = {
        heard: false,
        acks: 0,
        peers: Number.POSITIVE_INFINITY,
        check: () => state.heard && state.acks >= state.peers && resolve(),
      };
      this.syncs.set(marker, state);
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      const { rows } = await this.serial(() =>
        client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE '${APPLICATION}%' AND pid <> pg_backend_pid()`,
        ),
      );
      const state = this.syncs.get(marker)!;
      state.peers = rows[0]!.n;
      state.check();
      await this.serial(() => client.query('SELECT pg_notify($1, $2)', [SYNC_CHANNEL, `m:${marker}`]));
      await settled;
    } catch {
      // The change is committed: a database that fails now must not turn its answer into an error. The
      // listener shares its fate and its caches go off with it.
    } finally {
      clearTimeout(timer);
      this.syncs.delete(marker);
    }
  }

  /** A marker: ours heard back, or another listener's, acknowledged (every earlier notification is handled). */
  private onSync(client: pg.Client, payload: string): void {
    const [kind, marker] = [payload.slice(0, 1), payload.slice(2)];
    const mine = this.syncs.get(marker);
    if (kind === 'm' && mine) mine.heard = true;
    else if (kind === 'm')
      void this.serial(() => client.query('SELECT pg_notify($1, $2)', [SYNC_CHANNEL, `a:${marker}`])).catch(() => undefined);
    else if (kind === 'a' && mine) mine.acks++;
    mine?.check();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = null;
    this.reset();
    await client?.end().catch(() => undefined);
  }
}
