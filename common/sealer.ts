import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Config } from './config.js';

/** An encrypted value and the id of the key that sealed it. */
export interface Sealed {
  keyId: string;
  payload: string;
}

/** Plaintext kept per process for ciphertexts opened recently (characters of keys and values). */
export const OPENED_CACHE_CHARS = 2_000_000;

/**
 * Recently opened plaintexts, least recently used first out, within a budget of characters. Keyed by key id and
 * binding (short), holding the payload they were opened from: a lookup is a hit only for that exact payload (a
 * string comparison, where hashing a payload of kilobytes on every lookup cost more than the cache saved).
 */
class OpenedCache {
  private readonly entries = new Map<string, { payload: string; text: string }>();
  private chars = 0;

  constructor(readonly budget: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(id: string, payload: string): string | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined || entry.payload !== payload) return undefined;
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry.text;
  }

  set(id: string, payload: string, text: string): void {
    const size = id.length + payload.length + text.length;
    if (size > this.budget / 8) return;
    const previous = this.entries.get(id);
    if (previous) {
      this.entries.delete(id);
      this.chars -= id.length + previous.payload.length + previous.text.length;
    }
    this.entries.set(id, { payload, text });
    this.chars += size;
    for (const [oldest, entry] of this.entries) {
      if (this.chars <= this.budget) break;
      this.entries.delete(oldest);
      this.chars -= oldest.length + entry.payload.length + entry.text.length;
    }
  }
}

// One cache per set of keys (one per process in service: every sealer is built from the same configuration), so
// that the services' sealers share one budget; a value is only ever found with the keys that opened it.
const sharedCaches = new WeakMap<ReadonlyMap<string, Buffer>, OpenedCache>();

/**
 * AES-256-GCM for clinical text at rest. Each value gets a fresh 96-bit nonce; the row id is bound as
 * additional data, so a ciphertext copied onto another row fails to open. Payload: base64(iv|tag|data).
 *
 * Opening is a key schedule and a decipher per value (a list page opens 20 to 40 of them), so the plaintext of
 * recently opened values is kept ({@link OPENED_CACHE_CHARS} per process unless `cacheChars` gives a sealer its
 * own). A ciphertext never changes (a new value is a new nonce), and the cache is keyed by key id, binding and
 * payload together: a payload copied onto another row is a miss and fails to open as before. The process that
 * keeps the plaintext holds the keys anyway.
 */
export function createSealer(encryption: Config['encryption'], options: { cacheChars?: number } = {}) {
  let opened: OpenedCache;
  if (options.cacheChars !== undefined) opened = new OpenedCache(options.cacheChars);
  else {
    opened = sharedCaches.get(encryption.keys) ?? new OpenedCache(OPENED_CACHE_CHARS);
    sharedCaches.set(encryption.keys, opened);
  }

  function decipher(sealed: Sealed, boundTo: string): string {
    const key = encryption.keys.get(sealed.keyId);
    if (!key) throw new Error(`encryption key ${sealed.keyId} is not configured (ENCRYPTION_KEYS)`);
    const raw = Buffer.from(sealed.payload, 'base64');
    const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    d.setAAD(Buffer.from(boundTo));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
  }

  function openText(sealed: Sealed, boundTo: string): string {
    if (opened.budget <= 0) return decipher(sealed, boundTo);
    const id = `${sealed.keyId}\u0000${boundTo}`;
    const hit = opened.get(id, sealed.payload);
    if (hit !== undefined) return hit;
    const text = decipher(sealed, boundTo);
    opened.set(id, sealed.payload, text);
    return text;
  }

  return {
    seal(plain: unknown, boundTo: string): Sealed {
      const key = encryption.keys.get(encryption.activeKeyId)!;
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(boundTo));
      const data = Buffer.concat([cipher.update(JSON.stringify(plain), 'utf8'), cipher.final()]);
      return { keyId: encryption.activeKeyId, payload: Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64') };
    },

    /** Opens a sealed value bound to `boundTo`; throws when it was sealed for another binding or tampered with. */
    open<T>(sealed: Sealed, boundTo: string): T {
      return JSON.parse(openText(sealed, boundTo)) as T;
    },

    /** How many opened values are kept (for tests). */
    get cached(): number {
      return opened.size;
    },
  };
}

export type Sealer = ReturnType<typeof createSealer>;

/**
 * A text column sealed in place (`enc1:<keyId>:<payload>`, e.g. appointment reasons), bound to its row and
 * field; values written before encryption open as they are.
 */
export const sealedText = (sealer: Sealer) => ({
  seal: (value: string, rowId: string, field: string) => {
    const sealed = sealer.seal(value, `${rowId}:${field}`);
    return `enc1:${sealed.keyId}:${sealed.payload}`;
  },
  open: (stored: string | null, rowId: string, field: string): string | null => {
    const m = stored ? /^enc1:([^:]+):(.+)$/.exec(stored) : null;
    return m ? sealer.open<string>({ keyId: m[1]!, payload: m[2]! }, `${rowId}:${field}`) : stored;
  },
});
