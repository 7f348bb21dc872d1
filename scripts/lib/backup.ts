import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backupKey, newBackupKey, open, openFileTo, seal, sealStreamTo, type BackupEncryption } from './backup-crypto.js';
import pg from 'pg';
import { objectStore, type StorageLocation } from './object-store.js';
import { findPostgresBin } from './postgres.js';
import { compareKeys, describeKeyProblems } from '../../common/key-registry.js';

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
  /**
   * Fingerprints of the encryption keys the backed-up data was sealed with (never the keys: those are kept apart,
   * e.g. `.data/secrets.json`). Absent from backups taken before keys were recorded.
   */
  keys?: Record<string, string>;
  /**
   * Present when the backup is encrypted (`--encrypt`): how its key is derived from the passphrase. Its dumps are
   * `*.dump.enc`, its objects are named by the SHA-256 of their key (keys name patients and UIDs) and listed in the
   * sealed `objects.index.enc`; `missing` then holds those hashes.
   */
  encryption?: BackupEncryption;
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
export async function backup(from: DataLocation, dir: string, options: { passphrase?: string } = {}): Promise<Manifest> {
  // A backup holds patient names and every image: readable by its owner only (pg_dump inherits the umask).
  const umask = process.umask(0o077);
  try {
    return await backupPrivately(from, dir, options.passphrase ? newBackupKey(options.passphrase) : null);
  } finally {
    process.umask(umask);
  }
}

/** Runs pg_dump into a sealed file: the clear dump never touches the disk. */
async function sealedDump(database: string, env: Record<string, string>, key: Buffer, file: string): Promise<void> {
  const child = spawn(bin('pg_dump'), ['-Fc', database], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  await sealStreamTo(key, child.stdout, file);
  if ((await exited) !== 0) throw new Error(`pg_dump failed: ${stderr}`);
}

const hashOf = (key: string) => createHash('sha256').update(key).digest('hex');

async function backupPrivately(
  from: DataLocation,
  dir: string,
  sealing: { key: Buffer; params: BackupEncryption } | null,
): Promise<Manifest> {
  mkdirSync(path.join(dir, 'objects'), { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const env = pgEnv(from);
  const dumps = sealing
    ? { orthancIndexDump: 'orthanc-index.dump.enc', clinicalDump: 'clinical.dump.enc' }
    : { orthancIndexDump: 'orthanc-index.dump', clinicalDump: 'clinical.dump' };
  if (sealing) {
    await sealedDump(indexDb(from), env, sealing.key, path.join(dir, dumps.orthancIndexDump));
    await sealedDump(from.db.database, env, sealing.key, path.join(dir, dumps.clinicalDump));
  } else {
    run(bin('pg_dump'), ['-Fc', '-f', path.join(dir, dumps.orthancIndexDump), indexDb(from)], env);
    run(bin('pg_dump'), ['-Fc', '-f', path.join(dir, dumps.clinicalDump), from.db.database], env);
  }
  // The keys as the dump has them: read from the dump itself would need a restore, so read them now; keys
  // written after the dump are harmless extras.
  const client = new pg.Client({ ...from.db });
  await client.connect();
  let keys: string[];
  let sealedWith: Record<string, string>;
  try {
    keys = (
      await client.query<{ object_key: string }>(
        'select distinct object_key from orthanc_storage_keys where object_key is not null order by 1',
      )
    ).rows.map((r) => r.object_key);
    sealedWith = Object.fromEntries(
      (await client.query<{ key_id: string; fingerprint: string }>('select key_id, fingerprint from encryption_keys order by 1')).rows.map(
        (r) => [r.key_id, r.fingerprint],
      ),
    );
  } finally {
    await client.end();
  }
  const store = objectStore(from.storage);
  const manifest: Manifest = {
    createdAt: new Date().toISOString(),
    ...dumps,
    objects: 0,
    bytes: 0,
    missing: [],
    keys: sealedWith,
    ...(sealing ? { encryption: sealing.params } : {}),
  };
  const index: Record<string, string> = {};
  for (const key of keys) {
    // Keys are written by our storage plugin from sanitised segments: they never leave the objects folder.
    const body = await store.get(key);
    if (!body) {
      manifest.missing.push(sealing ? hashOf(key) : key);
      continue;
    }
    if (sealing) {
      index[hashOf(key)] = key;
      writeFileSync(path.join(dir, 'objects', hashOf(key)), seal(sealing.key, body), { mode: 0o600 });
    } else {
      const file = path.join(dir, 'objects', key);
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, body, { mode: 0o600 });
    }
    manifest.objects++;
    manifest.bytes += body.length;
  }
  if (sealing) writeFileSync(path.join(dir, 'objects.index.enc'), seal(sealing.key, Buffer.from(JSON.stringify(index))), { mode: 0o600 });
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

/** The manifest of a backup folder. */
export const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;

/** Why a restore did not start: a database in the way, or keys that would not open the restored data. */
export class RestoreRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreRefused';
  }
}

/** What a restore may replace, and the keys the restored data must open with. */
export interface RestoreOptions {
  /**
   * Replace the databases a first start created (migrated schema, the seeded super admin): dropped and created
   * again. A database holding clinical data (hospitals, patients, records, studies, Orthanc resources) is still
   * refused unless `force`.
   */
  intoFresh?: boolean;
  /** Replace even databases holding clinical data, and restore even when the keys do not match. */
  force?: boolean;
  /** The configured encryption keys: the backup's recorded fingerprints must match them. */
  keys?: ReadonlyMap<string, Buffer>;
  /** The passphrase of an encrypted backup (`BACKUP_PASSPHRASE`). */
  passphrase?: string;
}

/** What the first start of an installation writes; anything beyond it is clinical data a restore must not drop. */
const CLINICAL_CONTENT = `select
    (select count(*) from hospitals) as hospitals,
    (select count(*) from users where role <> 'super_admin') as accounts,
    (select count(*) from patients) as patients,
    (select count(*) from medical_record_entries) as records,
    (select count(*) from dicom_studies) as studies`;

/** What a database holds that a restore would lose: an empty list for an empty or freshly migrated one. */
async function clinicalContent(client: pg.Client, orthancIndex: boolean, tables: number): Promise<string[]> {
  if (tables === 0) return [];
  let counts: Record<string, string>;
  if (!orthancIndex)
    counts = await client.query(CLINICAL_CONTENT).then(
      (r) => r.rows[0],
      () => ({ 'tables of another application': String(tables) }),
    );
  else if ((await client.query("select 1 from pg_tables where schemaname = 'public' and tablename = 'resources'")).rowCount)
    counts = (await client.query('select count(*) as "Orthanc resources" from resources')).rows[0];
  else counts = { 'tables of another application': String(tables) };
  return Object.entries(counts)
    .filter(([, n]) => Number(n) > 0)
    .map(([what, n]) => `${n} ${what}`);
}

/**
 * Restores a backup into an installation: creates both databases, restores the dumps, puts back every object.
 * A database that exists must be empty, or (with `intoFresh`) hold nothing but what a first start wrote; no other
 * session may be connected to it (the services are stopped first). With `keys`, the backup's recorded key
 * fingerprints are checked first: restoring data the configured keys cannot open is refused before anything changes.
 */
export async function restore(dir: string, to: DataLocation, options: RestoreOptions = {}): Promise<Manifest> {
  const manifest = readManifest(dir);
  if (options.keys && manifest.keys) {
    const problems = compareKeys(manifest.keys, options.keys);
    if (problems.length > 0 && !options.force) throw new RestoreRefused(describeKeyProblems(problems, 'this backup'));
  }
  if (!manifest.encryption)
    return restorePlain(
      dir,
      manifest,
      to,
      options,
      { orthancIndex: path.join(dir, manifest.orthancIndexDump), clinical: path.join(dir, manifest.clinicalDump) },
      null,
    );
  if (!options.passphrase) throw new RestoreRefused('This backup is encrypted: set BACKUP_PASSPHRASE to the passphrase it was made with');
  let key: Buffer;
  try {
    key = backupKey(options.passphrase, manifest.encryption);
  } catch (err) {
    throw new RestoreRefused((err as Error).message);
  }
  // The dumps are opened (and authenticated) into a private folder before any database is touched.
  const clear = mkdtempSync(path.join(os.tmpdir(), 'mediconnect-restore-'));
  try {
    const dumps = { orthancIndex: path.join(clear, 'orthanc-index.dump'), clinical: path.join(clear, 'clinical.dump') };
    try {
      await openFileTo(key, path.join(dir, manifest.orthancIndexDump), dumps.orthancIndex);
      await openFileTo(key, path.join(dir, manifest.clinicalDump), dumps.clinical);
    } catch (err) {
      throw new RestoreRefused((err as Error).message);
    }
    return await restorePlain(dir, manifest, to, options, dumps, key);
  } finally {
    rmSync(clear, { recursive: true, force: true });
  }
}

async function restorePlain(
  dir: string,
  manifest: Manifest,
  to: DataLocation,
  options: RestoreOptions,
  dumps: { orthancIndex: string; clinical: string },
  key: Buffer | null,
): Promise<Manifest> {
  const admin = new pg.Client({ ...to.db, database: 'postgres' });
  await admin.connect();
  try {
    for (const [database, orthancIndex] of [
      [to.db.database, false],
      [indexDb(to), true],
    ] as const) {
      const exists = (await admin.query('select 1 from pg_database where datname = $1', [database])).rowCount;
      if (exists) await clearForRestore(admin, to, database, orthancIndex, options);
      await admin.query(`create database "${database.replace(/"/g, '""')}"`);
    }
  } finally {
    await admin.end();
  }
  const env = pgEnv(to);
  run(bin('pg_restore'), ['--no-owner', '--exit-on-error', '-d', indexDb(to), dumps.orthancIndex], env);
  run(bin('pg_restore'), ['--no-owner', '--exit-on-error', '-d', to.db.database, dumps.clinical], env);
  const store = objectStore(to.storage);
  await store.createBucket();
  const objects = path.join(dir, 'objects');
  if (key) {
    const index = JSON.parse(open(key, readFileSync(path.join(dir, 'objects.index.enc'))).toString('utf8')) as Record<string, string>;
    for (const [name, objectKey] of Object.entries(index)) await store.put(objectKey, open(key, readFileSync(path.join(objects, name))));
  } else {
    for (const objectKey of filesUnder(objects))
      await store.put(objectKey.split(path.sep).join('/'), readFileSync(path.join(objects, objectKey)));
  }
  return manifest;
}

/** Drops an existing database a restore replaces, after checking that nothing would be lost and nobody uses it. */
async function clearForRestore(
  admin: pg.Client,
  to: DataLocation,
  database: string,
  orthancIndex: boolean,
  options: RestoreOptions,
): Promise<void> {
  const client = new pg.Client({ ...to.db, database });
  await client.connect();
  let content: string[];
  try {
    const tables = Number(
      (await client.query<{ n: string }>("select count(*) as n from pg_tables where schemaname = 'public'")).rows[0]!.n,
    );
    content = await clinicalContent(client, orthancIndex, tables);
    if (tables > 0 && !options.intoFresh) {
      throw new RestoreRefused(
        `database "${database}" already exists and is not empty (a first start migrated it): restore with --into-fresh to replace it`,
      );
    }
  } finally {
    await client.end();
  }
  if (content.length > 0 && !options.force) {
    throw new RestoreRefused(
      `database "${database}" holds data a restore would lose (${content.join(', ')}): refused; --force replaces it anyway`,
    );
  }
  const others = Number(
    (
      await admin.query<{ n: string }>('select count(*) as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [
        database,
      ])
    ).rows[0]!.n,
  );
  if (others > 0) {
    throw new RestoreRefused(
      `database "${database}" has ${others} open connection(s): stop npm start (or the API, proxy, gate and Orthanc) before restoring`,
    );
  }
  await admin.query(`drop database "${database.replace(/"/g, '""')}"`);
}

/** An installation as the environment describes it (the variables of `.env` / docker-compose.yml). */
export function locationFromEnv(env: Record<string, string | undefined>, storageDir?: string): DataLocation {
  const need = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`${name} is required`);
    return value;
  };
  const db = {
    host: env.DB_HOST || '127.0.0.1',
    port: Number(env.DB_PORT || 5432),
    user: need('DB_USER'),
    password: env.DB_PASSWORD ?? '',
    database: need('DB_NAME'),
  };
  const storage = env.MINIO_ENDPOINT
    ? {
        s3: {
          endpoint: env.MINIO_ENDPOINT,
          accessKey: need('MINIO_ACCESS_KEY'),
          secretKey: need('MINIO_SECRET_KEY'),
          bucket: env.MINIO_BUCKET_NAME || 'medical-images',
          secure: /^true$/i.test(env.MINIO_SECURE ?? ''),
        },
      }
    : { directory: storageDir ?? need('MEDICONNECT_STORAGE_DIR') };
  return { db, storage, ...(env.ORTHANC_INDEX_DATABASE ? { orthancIndexDatabase: env.ORTHANC_INDEX_DATABASE } : {}) };
}
