// What `npm start`'s embedded stack is: where its data lives, its generated secrets, its default ports and
// names. Written once for `npm start` (scripts/start.ts) and the operator commands (operator-env.ts).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The secrets `npm start` generates once and keeps in `<data dir>/secrets.json`. */
export interface LocalSecrets {
  SECRET_KEY: string;
  EMBEDDED_DB_PASSWORD: string;
  ENCRYPTION_KEYS: string;
  ORTHANC_PASSWORD: string;
}

/** Where the embedded stack keeps its data: `MEDICONNECT_DATA_DIR`, else `<root>/.data`. */
export const localDataDir = (root: string): string => path.resolve(process.env.MEDICONNECT_DATA_DIR || path.join(root, '.data'));

/** The secrets file of a data directory. */
export const secretsFile = (dataDir: string): string => path.join(dataDir, 'secrets.json');

/** Where `npm start -- --local-s3` writes its S3 server's port and bucket, for the operator commands. */
export const localS3File = (dataDir: string): string => path.join(dataDir, 'local-s3.json');

/** The local S3 server `npm start -- --local-s3` runs (s3rver: fixed credentials, no signature checks), if any. */
export function localS3(dataDir: string): { port: number; bucket: string } | null {
  const file = localS3File(dataDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { port: number; bucket: string }) : null;
}

/** The secrets saved in a data directory (none when it has none yet). */
export function savedSecrets(dataDir: string): Partial<LocalSecrets> {
  const file = secretsFile(dataDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalSecrets>) : {};
}

/** The embedded PostgreSQL and Orthanc, as the environment sets them or with their defaults. */
export function embeddedStack(env: Record<string, string | undefined>, dataDir: string) {
  return {
    db: {
      host: '127.0.0.1',
      port: Number(env.DB_PORT || 54329),
      user: env.DB_USER || 'mediconnect',
      database: env.DB_NAME || 'mediconnect',
    },
    orthanc: { httpPort: Number(env.ORTHANC_HTTP_PORT || 8042), username: 'mediconnect' },
    /** Images, when not in S3/MinIO. */
    storageDir: path.join(dataDir, 'dicom'),
  };
}

/** Reads `<root>/.env` into the environment (values already set win); returns its path, or null. */
export function loadDotEnv(root: string): string | null {
  const file = path.join(root, '.env');
  if (!existsSync(file)) return null;
  process.loadEnvFile(file);
  return file;
}
