// Optional encryption of a backup with a passphrase the operator gives (BACKUP_PASSPHRASE): a backup holds patient
// names and every image, and is kept on media the installation does not control. Node's OpenSSL does the work:
// scrypt derives one key per backup (its salt and costs in the manifest, in clear), and every file is sealed with
// AES-256-GCM under its own random nonce, so a changed or truncated file is refused, never restored.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync, timingSafeEqual, type DecipherGCM } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A sealed file: this magic, a 12-byte nonce, the ciphertext, then the 16-byte GCM tag. */
const MAGIC = Buffer.from('MCBK1\n');
const NONCE = 12;
const TAG = 16;

/** How a backup's key is derived, as written in its manifest. */
export interface BackupEncryption {
  cipher: 'aes-256-gcm';
  kdf: 'scrypt';
  salt: string;
  N: number;
  r: number;
  p: number;
  /** A known text sealed with the key: a wrong passphrase is told at once, before anything is restored. */
  check: string;
}

/** The passphrase was wrong, or a sealed file was changed or cut. */
export class BackupDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupDecryptionError';
  }
}

const CHECK = Buffer.from('mediconnect-backup');
/** scrypt at 2^17 × 8: about 128 MB and a few hundred milliseconds, once per backup. */
const COST = { N: 2 ** 17, r: 8, p: 1 };

/** The passphrase from the environment: required, and long enough to resist guessing. */
export function passphraseFromEnv(env: Record<string, string | undefined> = process.env): string {
  const passphrase = env.BACKUP_PASSPHRASE ?? '';
  if (passphrase.length < 12) throw new Error('BACKUP_PASSPHRASE must be set to a passphrase of at least 12 characters');
  return passphrase;
}

const derive = (passphrase: string, salt: Buffer, cost: { N: number; r: number; p: number }) =>
  scryptSync(passphrase, salt, 32, { ...cost, maxmem: 256 * cost.N * cost.r + 1024 * 1024 });

/** A new key for a backup, and the parameters its manifest records. */
export function newBackupKey(passphrase: string): { key: Buffer; params: BackupEncryption } {
  const salt = randomBytes(16);
  const key = derive(passphrase, salt, COST);
  return {
    key,
    params: { cipher: 'aes-256-gcm', kdf: 'scrypt', salt: salt.toString('base64'), ...COST, check: seal(key, CHECK).toString('base64') },
  };
}

/** The key of an encrypted backup; throws {@link BackupDecryptionError} when the passphrase is not the one it was made with. */
export function backupKey(passphrase: string, params: BackupEncryption): Buffer {
  const key = derive(passphrase, Buffer.from(params.salt, 'base64'), params);
  let check: Buffer;
  try {
    check = open(key, Buffer.from(params.check, 'base64'));
  } catch {
    throw new BackupDecryptionError('The passphrase (BACKUP_PASSPHRASE) is not the one this backup was encrypted with');
  }
  if (!timingSafeEqual(check, CHECK))
    throw new BackupDecryptionError('The passphrase (BACKUP_PASSPHRASE) is not the one this backup was encrypted with');
  return key;
}

/** Seals a small buffer (an image object, the object index). */
export function seal(key: Buffer, plain: Buffer): Buffer {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  return Buffer.concat([MAGIC, nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** Opens a buffer sealed by {@link seal}; throws {@link BackupDecryptionError} when it was changed. */
export function open(key: Buffer, sealed: Buffer): Buffer {
  if (sealed.length < MAGIC.length + NONCE + TAG || !sealed.subarray(0, MAGIC.length).equals(MAGIC))
    throw new BackupDecryptionError('Not a sealed backup file');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(MAGIC.length, MAGIC.length + NONCE));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(MAGIC.length + NONCE, sealed.length - TAG)), decipher.final()]);
  } catch {
    throw new BackupDecryptionError('A backup file was changed or cut (its authentication tag does not match)');
  }
}

/** Seals a stream (a database dump as pg_dump writes it) into `file`, never holding it whole. */
export async function sealStreamTo(key: Buffer, source: Readable, file: string): Promise<void> {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  let started = false;
  const sealer = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (!started) {
        started = true;
        this.push(Buffer.concat([MAGIC, nonce]));
      }
      done(null, cipher.update(chunk));
    },
    flush(done) {
      if (!started) this.push(Buffer.concat([MAGIC, nonce]));
      this.push(cipher.final());
      done(null, cipher.getAuthTag());
    },
  });
  await pipeline(source, sealer, createWriteStream(file, { mode: 0o600 }));
}

/**
 * Opens a sealed file into `target` (a private temporary file), streaming; the tag is checked at the end, so the
 * caller uses `target` only once this resolves.
 */
export async function openFileTo(key: Buffer, file: string, target: string): Promise<void> {
  let header = Buffer.alloc(0);
  let tail = Buffer.alloc(0);
  let decipher: DecipherGCM | null = null;
  const opener = new Transform({
    transform(chunk: Buffer, _enc, done) {
      let data = chunk;
      if (!decipher) {
        header = Buffer.concat([header, data]);
        if (header.length < MAGIC.length + NONCE) return done();
        if (!header.subarray(0, MAGIC.length).equals(MAGIC)) return done(new BackupDecryptionError('Not a sealed backup file'));
        decipher = createDecipheriv('aes-256-gcm', key, header.subarray(MAGIC.length, MAGIC.length + NONCE));
        data = header.subarray(MAGIC.length + NONCE);
      }
      // The last 16 bytes seen may be the tag: held back until more comes.
      const all = Buffer.concat([tail, data]);
      tail = all.subarray(Math.max(0, all.length - TAG));
      done(null, decipher.update(all.subarray(0, all.length - tail.length)));
    },
    flush(done) {
      if (!decipher || tail.length < TAG) return done(new BackupDecryptionError('A backup file was cut'));
      decipher.setAuthTag(tail);
      try {
        done(null, decipher.final());
      } catch {
        done(new BackupDecryptionError('A backup file was changed or cut (its authentication tag does not match)'));
      }
    },
  });
  await pipeline(createReadStream(file), opener, createWriteStream(target, { mode: 0o600 }));
}
