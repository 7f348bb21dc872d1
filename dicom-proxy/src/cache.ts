import type { Knex } from 'knex';
import { scopeFor } from '../../common/scope.js';
import type { DbListener } from '../../common/listener.js';
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
  /** Bumped by every change and every reset: a lookup that raced one is not cached. */
  private generation = 0;

  constructor(
    private readonly db: Knex,
    private readonly listener: DbListener,
    private readonly ttlMs = 10_000,
    private readonly maxEntries = 20_000,
  ) {
    const clear = () => {
      this.generation++;
      this.entries.clear();
    };
    listener.on(ACCESS_CHANNEL, clear);
    listener.onReset(clear);
  }

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
    const generation = this.generation;
    const owner = await scopeFor(this.db, who).dicomWebStudy(studyUid);
    const study = owner ? { studyId: owner.studyId, patientId: owner.patientId, identifier: owner.identifier } : null;
    if (this.listener.listening && generation === this.generation) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { at: Date.now(), study });
    }
    return study;
  }
}
