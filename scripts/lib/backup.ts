import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { objectStore, type StorageLocation } from './object-store.js';
import { findPostgresBin } from './postgres.js';

/** Where a MediConnect installation keeps its data: the clinical database, Orthanc's index, the images. */
export interface DataLocation {
  db: { host: string; port: number; user: string; password: string; database: string };
  /** Orthanc's index database (default `<database>_orthanc`, as everywhere else). */
  orthancIndexDatabase?: string;
  /** The images: an S3/MinIO bucket, or a local directory (Orthanc's storage plugin writes either). */
  storage: StorageLocation;
}

/** What a backup holds, written as `manifest.json` next to the dumps and the objects. */
export interface Manifest {
  createdAt: string;
  clinicalDump: string;
  orthancIndexDump: string;
  objects: number;
  bytes: number;
  /** Keys the database named but the store no longer held (deleted while the backup ran). */
  missing: string[];
}

const bin = (name: string) => {
  const dir = findPostgresBin();
  return dir && existsSync(path.join(dir, name)) ? path.join(dir, name) : name;
};

function run(command: string, args: string[], env: Record<string, string>): void {
  const result = spawnSync(command, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${path.basename(command)} failed: ${result.stderr || result.error?.message}`);
}

const pgEnv = (l: DataLocation) => ({ PGHOST: l.db.host, PGPORT: String(l.db.port), PGUSER: l.db.user, PGPASSWORD: l.db.password });
/** Orthanc's index database of an installation. */
export const indexDb = (l: DataLocation) => l.orthancIndexDatabase ?? `${l.db.database}_orthanc`;

/**
 * Backs up an installation into `dir`: Orthanc's index first, then the clinical database (so every attachment
 * the index names has its storage key), then every object those keys name. Objects are immutable once written,
 * so the copy is consistent with the dumps; one deleted meanwhile is listed as missing.
 */
export async function backup(from: DataLocation, dir: string): Promise<Manifest> {
  // A backup holds patient names and every image: readable by its owner only (pg_dump inherits the umask).
  const umask = process.umask(0o077);
  try {
    return await backupPrivately(from, dir);
  } finally {
    process.umask(umask);
  }
}

async function backupPrivately(from: DataLocation, dir: string): Promise<Manifest> {
  mkdirSync(path.join(dir, 'objects'), { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const env = pgEnv(from);
  run(bin('pg_dump'), ['-Fc', '-f', path.join(dir, 'orthanc-index.dump'), indexDb(from)], env);
  run(bin('pg_dump'), ['-Fc', '-f', path.join(dir, 'clinical.dump'), from.db.database], env);
  // The keys as the dump has them: read from the dump itself would need a restore, so read them now; keys
  // written after the dump are harmless extras.
  const client = new pg.Client({ ...from.db });
  await client.connect();
  let keys: string[];
  try {
    keys = (await client.query<{ object_key: string }>('select distinct object_key from orthanc_storage_keys where object_key is not null order by 1')).rows.map((r) => r.object_key);
  } finally {
    await client.end();
  }
  const store = objectStore(from.storage);
  const manifest: Manifest = { createdAt: new Date().toISOString(), clinicalDump: 'clinical.dump', orthancIndexDump: 'orthanc-index.dump', objects: 0, bytes: 0, missing: [] };
  for (const key of keys) {
    // Keys are written by our storage plugin from sanitised segments: they never leave the objects folder.
    const body = await store.get(key);
    if (!body) {
      manifest.missing.push(key);
      continue;
    }
    const file = path.join(dir, 'objects', key);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, body, { mode: 0o600 });
    manifest.objects++;
    manifest.bytes += body.length;
  }
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2), { mode: 0o600 });
  return manifest;
}

/** Every file below a folder, as paths relative to it. */
function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

/**
 * Restores a backup into an installation whose databases do not exist yet (or are empty) and whose bucket
 * or directory may be new: creates both databases, restores the dumps, puts back every object.
 */
export async function restore(dir: string, to: DataLocation): Promise<Manifest> {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const admin = new pg.Client({ ...to.db, database: 'postgres' });
  await admin.connect();
  try {
    for (const database of [to.db.database, indexDb(to)]) {
      const exists = (await admin.query('select 1 from pg_database where datname = $1', [database])).rowCount;
      if (!exists) await admin.query(`create database "${database.replace(/"/g, '""')}"`);
    }
  } finally {
    await admin.end();
  }
  const env = pgEnv(to);
  run(bin('pg_restore'), ['--no-owner', '--exit-on-error', '-d', indexDb(to), path.join(dir, manifest.orthancIndexDump)], env);
  run(bin('pg_restore'), ['--no-owner', '--exit-on-error', '-d', to.db.database, path.join(dir, manifest.clinicalDump)], env);
  const store = objectStore(to.storage);
  await store.createBucket();
  const objects = path.join(dir, 'objects');
  for (const key of filesUnder(objects)) await store.put(key.split(path.sep).join('/'), readFileSync(path.join(objects, key)));
  return manifest;
}

/** An installation as the environment describes it (the variables of `.env` / docker-compose.yml). */
export function locationFromEnv(env: Record<string, string | undefined>, storageDir?: string): DataLocation {
  const need = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`${name} is required`);
    return value;
  };
  const db = { host: env.DB_HOST || '127.0.0.1', port: Number(env.DB_PORT || 5432), user: need('DB_USER'), password: env.DB_PASSWORD ?? '', database: need('DB_NAME') };
  const storage = env.MINIO_ENDPOINT
    ? { s3: { endpoint: env.MINIO_ENDPOINT, accessKey: need('MINIO_ACCESS_KEY'), secretKey: need('MINIO_SECRET_KEY'), bucket: env.MINIO_BUCKET_NAME || 'medical-images', secure: /^true$/i.test(env.MINIO_SECURE ?? '') } }
    : { directory: storageDir ?? need('MEDICONNECT_STORAGE_DIR') };
  return { db, storage, ...(env.ORTHANC_INDEX_DATABASE ? { orthancIndexDatabase: env.ORTHANC_INDEX_DATABASE } : {}) };
}
