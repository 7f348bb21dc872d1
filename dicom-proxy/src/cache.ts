import pg from 'pg';
import type { Knex } from 'knex';
import { readableStudyOwner } from '../../common/access.js';
import type { Config } from '../../common/config.js';
import type { Logger } from '../../common/logger.js';
import type { Principal } from '../../common/principal.js';

export const ACCESS_CHANNEL = 'mediconnect_access';

/** What the proxy knows about a study a caller may read. */
export interface ReadableStudy {
  studyId: string;
  /** The patient's user id (audit) and DICOM PatientID (answers are checked against it). */
  patientId: string;
  identifier: string;
}

/**
 * Read decisions ("may this user read this StudyInstanceUID?"), from the study index and the link table,
 * cached briefly per user and study: a viewer fires hundreds of requests per series. Any change to a
 * link or to a study's owner, in any process, is NOTIFYed by a trigger and empties the cache, and so
 * does a lost listener: while it is not listening, nothing is cached.
 */
export class AccessCache {
  private readonly entries = new Map<string, { at: number; study: ReadableStudy | null }>();
  private listener: pg.Client | null = null;
  private stopped = false;

  constructor(
    private readonly db: Knex,
    private readonly ttlMs = 10_000,
    private readonly maxEntries = 20_000,
  ) {}

  /** Told of every lookup (hit or miss), for the cache's hit ratio. */
  onLookup: ((result: 'hit' | 'miss') => void) | null = null;

  /** The study if the caller may read it, else null (unknown, foreign, or held for two patients). */
  async readable(who: Pick<Principal, 'userId' | 'role' | 'hospitalId'>, studyUid: string): Promise<ReadableStudy | null> {
    const key = `${who.userId}|${studyUid}`;
    const hit = this.entries.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs) {
      this.onLookup?.('hit');
      return hit.study;
    }
    this.onLookup?.('miss');
    const owner = await readableStudyOwner(this.db, who, studyUid);
    const study = owner ? { studyId: owner.studyId, patientId: owner.patientId, identifier: owner.identifier } : null;
    if (this.listener) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { at: Date.now(), study });
    }
    return study;
  }

  clear(): void {
    this.entries.clear();
  }

  /** LISTENs for access changes on a dedicated connection, reconnecting after failures. */
  async listen(config: Pick<Config, 'db'>, logger: Logger): Promise<void> {
    const connect = async (): Promise<void> => {
      if (this.stopped) return;
      const client = new pg.Client({ host: config.db.host, port: config.db.port, user: config.db.user, password: config.db.password, database: config.db.name, application_name: 'dicom-proxy-listener' });
      const lost = (err: Error) => {
        if (this.listener !== client && this.listener !== null) return;
        logger.warn({ err: err.message }, 'access listener lost; caching off until it reconnects');
        this.listener = null;
        this.clear();
        client.end().catch(() => undefined);
        if (!this.stopped) setTimeout(() => void connect().catch((e: Error) => lost(e)), 1000).unref();
      };
      client.on('notification', () => this.clear());
      client.on('error', lost);
      client.on('end', () => {
        if (this.listener === client) lost(new Error('listener connection ended'));
      });
      await client.connect();
      await client.query(`LISTEN ${ACCESS_CHANNEL}`);
      // Changes made while we were not listening are unknown: start clean.
      this.clear();
      this.listener = client;
    };
    await connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.listener;
    this.listener = null;
    await client?.end().catch(() => undefined);
  }
}
