import { processInfo, runsWith, terminate } from './processes.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { ServiceDefinition } from './stack.js';
import { stopProcess, supervise, type Supervised } from './supervisor.js';
import type { SystemRequirement } from './system-packages.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PLUGIN_DIRS = ['/usr/share/orthanc/plugins', '/usr/lib/orthanc'];

function pluginPath(name: string): string | null {
  for (const dir of PLUGIN_DIRS) {
    if (!existsSync(dir)) continue;
    const file = readdirSync(dir).find((f) => f === name || f.startsWith(`${name}.`));
    if (file) return path.join(dir, file);
  }
  return null;
}

const pythonHas = (module: string) => spawnSync('/usr/bin/python3', ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;

/** Orthanc with the DICOMweb, PostgreSQL index and Python plugins, and the Python modules our storage plugin uses. */
export const ORTHANC: SystemRequirement = {
  name: 'Orthanc with its DICOMweb, PostgreSQL and Python plugins',
  debPackages: [
    'orthanc',
    'orthanc-dicomweb',
    'orthanc-postgresql',
    'orthanc-python',
    'python3-pydicom',
    'python3-psycopg2',
    'python3-boto3',
  ],
  present: () =>
    existsSync('/usr/sbin/Orthanc') &&
    ['libOrthancDicomWeb.so', 'libOrthancPostgreSQLIndex.so', 'libOrthancPython.so'].every((p) => pluginPath(p) !== null) &&
    ['pydicom', 'psycopg2', 'boto3'].every(pythonHas),
};

/** What Orthanc is started with. */
export interface OrthancOptions {
  dataDir: string;
  httpPort: number;
  /** Seconds without new instances before a series/study is "stable" (indexing trigger). */
  stableAge: number;
  /** `s3`: the bucket named by MINIO_* in the environment; `local`: `storageDir`. */
  storage: 's3' | 'local';
  storageDir: string;
  username?: string;
  password?: string;
  /** Database of Orthanc's index (default `<DB_NAME>_orthanc`). */
  indexDatabase?: string;
  /**
   * Benchmarks only: Orthanc's own DICOM server on this port, accepting any caller, as the reference the
   * device gate is measured against (`bench:upload`). Never set by `npm start` or the tests.
   */
  referenceDicomPort?: number;
  /** Restart Orthanc with backoff when it exits unexpectedly (`npm start`). */
  supervise?: boolean;
}

/**
 * Stops an Orthanc left running by an earlier run that died (same data directory, hence same config
 * file): it would hold the ports and the next start would fail.
 */
async function stopLeftover(pidFile: string, configFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const orphan = runsWith(pid, configFile) ? processInfo(pid) : null;
  if (!orphan) return;
  console.log(`Stopping the Orthanc left running by an earlier start (pid ${pid})…`);
  await terminate([orphan], 15_000);
}

async function ensureDatabase(env: Record<string, string>, database: string): Promise<void> {
  const client = new pg.Client({
    host: env.DB_HOST,
    port: Number(env.DB_PORT),
    user: env.DB_USER,
    password: env.DB_PASSWORD,
    database: 'postgres',
  });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

async function waitUntilReady(url: string, auth: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Orthanc exited with code ${child.exitCode}; see ${logFile}`);
    try {
      const res = await fetch(`${url}/system`, { headers: { authorization: auth } });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Orthanc did not become ready; see ${logFile}`);
}

/**
 * Orthanc as a service of the stack: its index in PostgreSQL (database `<DB_NAME>_orthanc`), every
 * instance stored once by orthanc/storage_plugin.py, HTTP on loopback only with credentials.
 * Needs the PostgreSQL service's environment (DB_*), and reads MINIO_* from it when S3 is used.
 */
export function orthancService(o: OrthancOptions): ServiceDefinition {
  return {
    name: 'orthanc',
    requirements: [ORTHANC],
    async start(env) {
      const username = o.username ?? 'mediconnect';
      const password = o.password ?? randomBytes(18).toString('base64url');
      const indexDb = o.indexDatabase ?? `${env.DB_NAME}_orthanc`;
      await ensureDatabase(env, indexDb);
      mkdirSync(o.dataDir, { recursive: true });
      const configFile = path.join(o.dataDir, 'orthanc.json');
      const logFile = path.join(o.dataDir, 'orthanc.log');
      const config = {
        Name: 'MediConnect',
        HttpPort: o.httpPort,
        // Devices push to the device gate (dicom-gate/), which checks every byte before Orthanc parses it
        // (a hostile file pushed straight to Orthanc 1.10 crashed it): Orthanc's own DICOM server is off.
        DicomServerEnabled: o.referenceDicomPort !== undefined,
        ...(o.referenceDicomPort !== undefined
          ? { DicomPort: o.referenceDicomPort, DicomAlwaysAllowStore: true, DicomCheckModalityHost: false }
          : {}),
        DicomAet: 'MEDICONNECT',
        // Orthanc 1.10 cannot bind to one address: it refuses every non-loopback client instead.
        RemoteAccessAllowed: false,
        AuthenticationEnabled: true,
        RegisteredUsers: { [username]: password },
        StorageDirectory: path.join(o.dataDir, 'unused-storage'),
        IndexDirectory: path.join(o.dataDir, 'unused-index'),
        Plugins: ['libOrthancDicomWeb.so', 'libOrthancPostgreSQLIndex.so', 'libOrthancPython.so'].map((p) => pluginPath(p)),
        PythonScript: path.join(repoRoot, 'orthanc', 'storage_plugin.py'),
        PythonVerbose: false,
        PostgreSQL: {
          EnableIndex: true,
          EnableStorage: false,
          Host: env.DB_HOST,
          Port: Number(env.DB_PORT),
          Database: indexDb,
          Username: env.DB_USER,
          Password: env.DB_PASSWORD,
          // Several Orthanc processes may share the index (scaling path).
          Lock: false,
          EnableSsl: false,
        },
        DicomWeb: {
          Enable: true,
          Root: '/dicom-web/',
          EnableWado: true,
          WadoRoot: '/wado',
          StudiesMetadata: 'Full',
          SeriesMetadata: 'Full',
        },
        StableAge: o.stableAge,
        OverwriteInstances: false,
        SaveJobs: false,
        StorageCompression: false,
        KeepAlive: true,
        HttpThreadsCount: 50,
        ConcurrentJobs: 2,
      };
      writeFileSync(configFile, JSON.stringify(config, null, 2), { mode: 0o600 });
      const log = createWriteStream(logFile, { flags: 'a' });
      const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
      // The plugin picks S3 whenever MINIO_ENDPOINT is set: make the choice explicit.
      if (o.storage === 'local') {
        for (const k of Object.keys(childEnv)) if (k.startsWith('MINIO_')) delete childEnv[k];
      } else if (!childEnv.MINIO_ENDPOINT) {
        throw new Error('S3 storage needs MINIO_ENDPOINT');
      }
      const pidFile = path.join(o.dataDir, 'orthanc.pid');
      await stopLeftover(pidFile, configFile);
      const spawnOrthanc = () => {
        const child = spawn('/usr/sbin/Orthanc', [configFile], {
          env: {
            ...childEnv,
            MEDICONNECT_STORAGE_DIR: o.storageDir,
            MEDICONNECT_STORAGE_DB_HOST: env.DB_HOST,
            MEDICONNECT_STORAGE_DB_PORT: env.DB_PORT,
            MEDICONNECT_STORAGE_DB_USER: env.DB_USER,
            MEDICONNECT_STORAGE_DB_PASSWORD: env.DB_PASSWORD,
            MEDICONNECT_STORAGE_DB_NAME: env.DB_NAME,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout!.pipe(log, { end: false });
        child.stderr!.pipe(log, { end: false });
        if (child.pid) writeFileSync(pidFile, String(child.pid));
        return child;
      };
      const child = spawnOrthanc();
      const url = `http://127.0.0.1:${o.httpPort}`;
      const auth = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
      try {
        await waitUntilReady(url, auth, child, logFile);
      } catch (err) {
        child.kill('SIGKILL');
        throw err;
      }
      let supervised: Supervised | null = null;
      if (o.supervise) {
        let first: ChildProcess | null = child;
        supervised = supervise({
          name: 'orthanc',
          spawn: () => {
            const next = first ?? spawnOrthanc();
            first = null;
            return next;
          },
        });
      }
      return {
        name: 'orthanc',
        env: { ORTHANC_URL: url, ORTHANC_USERNAME: username, ORTHANC_PASSWORD: password },
        stop: async () => {
          await (supervised ? supervised.stop() : stopProcess(child));
          rmSync(pidFile, { force: true });
          log.end();
        },
      };
    },
  };
}
