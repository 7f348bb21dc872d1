import type { DbListener } from '../../common/listener.js';

/** Where the database names a study whose content or owner changed (payload: its StudyInstanceUID). */
export const STUDY_CONTENT_CHANNEL = 'mediconnect_study_content';

/** An answer of Orthanc's as it came (before any URL was rewritten for a caller). */
export interface CachedAnswer {
  type: string;
  /** Orthanc's validators (ETag, Last-Modified), passed on as they were. */
  headers: Record<string, string>;
  body: Buffer;
  /** Whether the body names Orthanc's DICOMweb root (a multipart part's Content-Location): rewritten per caller. */
  namesOrthanc: boolean;
}

interface Entry {
  study: string;
  at: number;
  answer: CachedAnswer;
}

/** What a cache miss hands back to the cache once Orthanc's answer is whole. */
export interface Fill {
  /** The largest answer kept; a larger one is streamed on and forgotten. */
  maxBytes: number;
  store: (answer: CachedAnswer) => void;
}

/** Counts for `/metrics`. */
export interface FrameCacheStats {
  bytes: number;
  entries: number;
}

/**
 * Frames, rendered images and thumbnails of recently read instances, kept in memory within a budget of bytes,
 * least recently used out first. Consulted only after the request was authorized exactly as without it: the
 * cache decides nothing about access. An entry is Orthanc's answer to one request (study, path, query and Accept —
 * so instance, frame and transfer syntax), kept at most `ttlMs`. A study is dropped as soon as the database says
 * its content or owner changed ({@link STUDY_CONTENT_CHANNEL}); everything is dropped when the listener is lost,
 * and nothing is kept while it is not listening. An answer fetched while a change was announced is not kept.
 */
export class FrameCache {
  private readonly entries = new Map<string, Entry>();
  private readonly byStudy = new Map<string, Set<string>>();
  private bytes = 0;
  /** Bumped by every change and reset: a fill that raced one is not kept. */
  private generation = 0;
  /** Told of every lookup, for the hit ratio. */
  onLookup: ((result: 'hit' | 'miss') => void) | null = null;

  constructor(
    private readonly maxBytes: number,
    private readonly ttlMs: number,
    private readonly listener: Pick<DbListener, 'on' | 'onReset' | 'listening'>,
  ) {
    listener.on(STUDY_CONTENT_CHANNEL, (study) => this.dropStudy(study));
    listener.onReset(() => this.clear());
  }

  /** Whether anything is cached at all (a budget of 0 turns the cache off). */
  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  /** Bytes and entries held now. */
  get stats(): FrameCacheStats {
    return { bytes: this.bytes, entries: this.entries.size };
  }

  /** The key of one answer: the study it belongs to, the resource, its canonical query and the media types accepted. */
  static key(study: string, path: string, query: string, accept: string): string {
    return `${study}\n${path}\n${query}\n${accept}`;
  }

  /** The cached answer, or null (then `fill` keeps Orthanc's once it has been streamed whole). */
  lookup(key: string, study: string): { hit: CachedAnswer; fill?: undefined } | { hit: null; fill: Fill | undefined } {
    const entry = this.entries.get(key);
    if (entry && Date.now() - entry.at < this.ttlMs) {
      // Most recently used last: the Map's order is the eviction order.
      this.entries.delete(key);
      this.entries.set(key, entry);
      this.onLookup?.('hit');
      return { hit: entry.answer };
    }
    if (entry) this.remove(key);
    if (!this.enabled) return { hit: null, fill: undefined };
    this.onLookup?.('miss');
    const generation = this.generation;
    return {
      hit: null,
      fill: {
        maxBytes: Math.min(Math.floor(this.maxBytes / 8), 64 * 1024 * 1024),
        store: (answer) => {
          if (generation === this.generation && this.listener.listening) this.put(key, study, answer);
        },
      },
    };
  }

  /** Forgets every answer of a study. */
  dropStudy(study: string): void {
    this.generation++;
    for (const key of this.byStudy.get(study) ?? []) this.remove(key);
  }

  /** Forgets everything. */
  clear(): void {
    this.generation++;
    this.entries.clear();
    this.byStudy.clear();
    this.bytes = 0;
  }

  private put(key: string, study: string, answer: CachedAnswer): void {
    const size = answer.body.length;
    if (size > this.maxBytes / 8) return;
    this.remove(key);
    this.entries.set(key, { study, at: Date.now(), answer });
    let keys = this.byStudy.get(study);
    if (!keys) this.byStudy.set(study, (keys = new Set()));
    keys.add(key);
    this.bytes += size;
    for (const oldest of this.entries.keys()) {
      if (this.bytes <= this.maxBytes) break;
      this.remove(oldest);
    }
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.answer.body.length;
    const keys = this.byStudy.get(entry.study);
    keys?.delete(key);
    if (keys?.size === 0) this.byStudy.delete(entry.study);
  }
}
