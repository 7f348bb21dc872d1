// The operator commands (backup, restore, repair, erase-patient, db:migrate, db:seed) read the configuration
// `npm start` runs with: `.env`, then — for the embedded stack — the database, Orthanc and keys it generated in
// `.data/secrets.json`. Values already in the environment win. Without this, each command failed until the
// operator exported variables the docs did not list (issue 22).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { embeddedStack, loadDotEnv, localDataDir, localS3, savedSecrets, secretsFile } from './local-stack.js';
import { clusterRunning, initCluster, startCluster, stopCluster, type ClusterOptions } from './postgres.js';
import { ensureSystemPackages, POSTGRESQL } from './system-packages.js';

/** Fills `process.env` as `npm start` would (see scripts/start.ts); returns where each part came from. */
export function loadOperatorEnv(root = process.cwd()): { envFile: string | null; secretsFile: string | null; embeddedDb: boolean } {
  const envFile = loadDotEnv(root);
  const dataDir = localDataDir(root);
  if (!existsSync(secretsFile(dataDir))) return { envFile, secretsFile: null, embeddedDb: false };
  const secrets = savedSecrets(dataDir);
  const set = (name: string, value: string | number | undefined) => {
    if (!process.env[name] && value !== undefined && value !== '') process.env[name] = String(value);
  };
  set('SECRET_KEY', secrets.SECRET_KEY);
  set('ENCRYPTION_KEYS', secrets.ENCRYPTION_KEYS);
  // The embedded PostgreSQL and Orthanc, as npm start runs them.
  const embedded = embeddedStack(process.env, dataDir);
  const embeddedDb = !process.env.DB_HOST;
  if (embeddedDb) {
    set('DB_HOST', embedded.db.host);
    set('DB_PORT', embedded.db.port);
    set('DB_USER', embedded.db.user);
    set('DB_NAME', embedded.db.database);
    set('DB_PASSWORD', secrets.EMBEDDED_DB_PASSWORD);
  }
  const s3 = localS3(dataDir);
  if (s3 && !process.env.MINIO_ENDPOINT) {
    set('MINIO_ENDPOINT', `127.0.0.1:${s3.port}`);
    set('MINIO_ACCESS_KEY', 'S3RVER');
    set('MINIO_SECRET_KEY', 'S3RVER');
    set('MINIO_BUCKET_NAME', s3.bucket);
  }
  if (!process.env.ORTHANC_URL) {
    set('ORTHANC_URL', `http://127.0.0.1:${embedded.orthanc.httpPort}`);
    set('ORTHANC_USERNAME', embedded.orthanc.username);
    set('ORTHANC_PASSWORD', secrets.ORTHANC_PASSWORD);
    if (!process.env.MINIO_ENDPOINT) set('MEDICONNECT_STORAGE_DIR', embedded.storageDir);
  }
  return { envFile, secretsFile: secretsFile(dataDir), embeddedDb };
}

/** What every operator command reads, for its `--help`. */
const READS = `Configuration (the environment, then .env, then .data/secrets.json for the embedded stack; docs/operations.md):
  DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME        the clinical database (embedded: 127.0.0.1:54329, mediconnect)
  ORTHANC_INDEX_DATABASE                                  Orthanc's index database (default <DB_NAME>_orthanc)
  ORTHANC_URL, ORTHANC_USERNAME, ORTHANC_PASSWORD         Orthanc's REST API (embedded: 127.0.0.1:8042)
  MINIO_ENDPOINT, MINIO_ACCESS_KEY, MINIO_SECRET_KEY,
  MINIO_BUCKET_NAME, MINIO_SECURE                         the image bucket (else MEDICONNECT_STORAGE_DIR / --storage-dir)
  SECRET_KEY, ENCRYPTION_KEYS                             keys (embedded: .data/secrets.json)
  MEDICONNECT_DATA_DIR                                    where the embedded stack's data lives (default .data)
  BACKUP_PASSPHRASE                                       backup --encrypt / restore of an encrypted backup (≥ 12 characters)`;

/** Prints the usage and what the command reads, and exits, when `--help` (or `-h`) was asked. */
export function helpIfAsked(usage: string): void {
  if (!process.argv.slice(2).some((a) => a === '--help' || a === '-h')) return;
  console.log(`usage: ${usage}\n\n${READS}`);
  process.exit(0);
}

/** The embedded PostgreSQL cluster of `npm start`, as {@link loadOperatorEnv} configured it (password included). */
export function embeddedCluster(root = process.cwd()): ClusterOptions {
  const dataDir = localDataDir(root);
  const embedded = embeddedStack(process.env, dataDir);
  return {
    dataDir: path.join(dataDir, 'postgres'),
    port: embedded.db.port,
    user: embedded.db.user,
    password: process.env.DB_PASSWORD ?? '',
    database: embedded.db.database,
    logFile: path.join(dataDir, 'postgresql.log'),
  };
}

/**
 * Runs `work` with the embedded PostgreSQL of `npm start` serving: started for the command when it is not running
 * (created first when `.data/postgres` does not exist yet, e.g. restoring onto a machine that lost `.data`), and
 * stopped again after. A database of one's own (`DB_HOST` in the environment or `.env`) is used as it is.
 */
export async function withEmbeddedDatabase<T>(loaded: { embeddedDb: boolean }, work: () => Promise<T>, root = process.cwd()): Promise<T> {
  if (!loaded.embeddedDb) return work();
  const cluster = embeddedCluster(root);
  if (clusterRunning(cluster.dataDir)) return work();
  ensureSystemPackages([POSTGRESQL]);
  if (initCluster(cluster)) console.log(`Created the embedded PostgreSQL in ${cluster.dataDir}.`);
  console.log('Starting the embedded PostgreSQL for this command (npm start is not running)…');
  startCluster(cluster);
  try {
    return await work();
  } finally {
    stopCluster(cluster.dataDir);
  }
}
