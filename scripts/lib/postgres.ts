import { runsWith } from './processes.js';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';

/** The newest installed PostgreSQL server's bin directory, or null. */
export function findPostgresBin(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(path.join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(base, versions[0], 'bin') : null;
}

const isRoot = () => process.getuid?.() === 0;

function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

// PostgreSQL refuses to run as root: as root, its tools run as the `postgres` system user.
function run(bin: string, args: string[], options: { quiet?: boolean } = {}): { ok: boolean; output: string } {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', stdio: options.quiet ? 'pipe' : ['ignore', 'pipe', 'pipe'] });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

// The postgres user must be able to reach the data directory through every parent directory.
function grantTraversal(dir: string): void {
  if (!isRoot()) return;
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) chmodSync(d, mode | 0o001);
  }
}

/** A cluster description: where it lives, and how clients reach it. */
export interface ClusterOptions {
  dataDir: string;
  port: number;
  user: string;
  password: string;
  database: string;
  logFile: string;
}

/** Creates the cluster when its directory is empty (superuser = `user`, password auth on loopback). */
export function initCluster(o: ClusterOptions): boolean {
  if (existsSync(path.join(o.dataDir, 'PG_VERSION'))) return false;
  const bin = findPostgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed');
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const pwFile = path.join(path.dirname(o.dataDir), `.pgpass-init-${process.pid}`);
  writeFileSync(pwFile, `${o.password}\n`, { mode: 0o600 });
  if (isRoot()) {
    const { uid, gid } = postgresIds();
    chownSync(o.dataDir, uid, gid);
    chownSync(pwFile, uid, gid);
    grantTraversal(o.dataDir);
  }
  try {
    const r = run(path.join(bin, 'initdb'), [
      '-D',
      o.dataDir,
      '-U',
      o.user,
      `--pwfile=${pwFile}`,
      '--auth-host=scram-sha-256',
      '--auth-local=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C.UTF-8',
    ]);
    if (!r.ok) throw new Error(`initdb failed:\n${r.output}`);
  } finally {
    rmSync(pwFile, { force: true });
  }
  return true;
}

/** Whether a server is running on this data directory. */
export function clusterRunning(dataDir: string): boolean {
  const bin = findPostgresBin();
  return (
    bin !== null &&
    existsSync(path.join(dataDir, 'postmaster.pid')) &&
    run(path.join(bin, 'pg_ctl'), ['-D', dataDir, 'status'], { quiet: true }).ok
  );
}

/** Starts the server on 127.0.0.1:port (socket in the data directory) and waits until it accepts connections. */
export function startCluster(o: ClusterOptions): void {
  const bin = findPostgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed');
  if (isRoot()) {
    const { uid, gid } = postgresIds();
    writeFileSync(o.logFile, '', { flag: 'a' });
    chownSync(o.logFile, uid, gid);
  }
  // random_page_cost 1.1: the data sits in memory or on SSD, where an index lookup is barely dearer than a
  // sequential read (the default 4 prices spinning disks, and sends hospital-scoped lists to full scans).
  const opts = `-p ${o.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='${o.dataDir}' -c max_connections=200 -c fsync=on -c random_page_cost=1.1`;
  const r = run(path.join(bin, 'pg_ctl'), ['-D', o.dataDir, '-l', o.logFile, '-o', opts, '-w', '-t', '60', 'start']);
  if (!r.ok) throw new Error(`PostgreSQL did not start (log: ${o.logFile}):\n${r.output}`);
}

/**
 * Stops the server (fast mode: running transactions are rolled back, nothing committed is lost). A server
 * that does not stop within 30 s is stopped in immediate mode (crash recovery at the next start, still
 * nothing committed lost), then killed: a stop never leaves it running.
 */
export function stopCluster(dataDir: string): void {
  const bin = findPostgresBin();
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!bin || !existsSync(pidFile)) return;
  const pgCtl = path.join(bin, 'pg_ctl');
  if (run(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop'], { quiet: true }).ok) return;
  if (run(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', '-t', '10', 'stop'], { quiet: true }).ok) return;
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : NaN;
  // Only the postmaster of this directory: a stale file may name a number another process now has.
  if (runsWith(pid, dataDir)) process.kill(pid, 'SIGKILL');
}

/** Creates the database when missing. */
export async function ensureDatabase(o: ClusterOptions): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port: o.port, user: o.user, password: o.password, database: 'postgres' });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [o.database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${o.database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}
