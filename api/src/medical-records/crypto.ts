import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Config } from '../../../common/config.js';

/** An encrypted value and the id of the key that sealed it. */
export interface Sealed {
  keyId: string;
  payload: string;
}

/**
 * AES-256-GCM for clinical text at rest. Each value gets a fresh 96-bit nonce; the row id is bound as
 * additional data, so a ciphertext copied onto another row fails to open. Payload: base64(iv|tag|data).
 */
export function createSealer(encryption: Config['encryption']) {
  return {
    seal(plain: unknown, boundTo: string): Sealed {
      const key = encryption.keys.get(encryption.activeKeyId)!;
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(boundTo));
      const data = Buffer.concat([cipher.update(JSON.stringify(plain), 'utf8'), cipher.final()]);
      return { keyId: encryption.activeKeyId, payload: Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64') };
    },

    open<T>(sealed: Sealed, boundTo: string): T {
      const key = encryption.keys.get(sealed.keyId);
      if (!key) throw new Error(`encryption key ${sealed.keyId} is not configured (ENCRYPTION_KEYS)`);
      const raw = Buffer.from(sealed.payload, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(boundTo));
      decipher.setAuthTag(raw.subarray(12, 28));
      return JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')) as T;
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
