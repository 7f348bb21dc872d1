import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { describeProcesses, groupMembers, stopGroup } from '../../scripts/lib/processes.js';
import { freePort } from '../../scripts/lib/ports.js';

const started = new Set<ChildProcess>();

/**
 * Spawns a process as the leader of its own process group, so that it and everything it starts can be
 * stopped together ({@link stopStarted}); the suite's root hook stops whatever a test left running.
 */
export function spawnGroup(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  // Kept even once the leader exits: what it started may still run in its group.
  started.add(child);
  return child;
}

/** Stops `child`'s whole process group: SIGTERM, SIGKILL after `graceMs`; resolves once none is left. */
export async function stopStarted(child: ChildProcess | undefined, graceMs = 10_000): Promise<void> {
  if (!child) return;
  started.delete(child);
  if (child.pid !== undefined) await stopGroup(child.pid, graceMs);
}

/**
 * Stops every group spawned with {@link spawnGroup} that a test left running (root `afterAll` hook), and
 * fails naming them: each test stops what it starts.
 */
export async function stopAllStarted(): Promise<void> {
  const left = [...started].flatMap((child) => (child.pid === undefined ? [] : groupMembers(child.pid)));
  await Promise.all([...started].map((child) => stopStarted(child)));
  if (left.length > 0) throw new Error(`tests left these processes running:\n${describeProcesses(left)}`);
}

const afterTest: (() => Promise<void> | void)[] = [];

/**
 * Registers a stop to run once the current test ends — passed, failed or timed out, which a `finally`
 * inside the test does not cover (mocha moves on when a test times out). Run by the root `afterEach`
 * hook, last registered first. Only for what a test (`it`) starts; suites use their own `after` hooks.
 */
export function stopAfterTest(stop: () => Promise<void> | void): void {
  afterTest.push(stop);
}

/** Runs the stops registered by the test that just ended (root `afterEach` hook). */
export async function runAfterTest(): Promise<void> {
  const errors: unknown[] = [];
  for (let stop = afterTest.pop(); stop; stop = afterTest.pop()) {
    try {
      await stop();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw errors[0];
}

/**
 * Spawns a TypeScript entry point in its own process group, collects its output, and stops the group
 * (and all it started) when the test ends, whatever its outcome.
 */
export function spawnTs(script: string, env: Record<string, string>, args: string[] = []): { child: ChildProcess; output: () => string } {
  let out = '';
  const child = spawnGroup(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stopAfterTest(() => stopStarted(child));
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out };
}

/** Polls `check` every 200 ms until it holds; fails after `timeoutMs` with the end of `output`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string,
  output: () => string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; output:\n${output().slice(-2000)}`);
}

/** Resolves with the exit code of `child` once it exits. */
export const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

/**
 * The environment of an `npm start` (or operator command) of its own: data in `dataDir`, free ports, and every
 * variable of the test stack blanked so that the embedded stack and its generated secrets are used.
 */
export async function npmStartEnv(dataDir: string, superAdminEmail: string) {
  const [db, api, orthanc, dicom, proxy, viewer] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const env: Record<string, string> = {
    MEDICONNECT_DATA_DIR: dataDir,
    DB_PORT: String(db),
    API_PORT: String(api),
    DB_HOST: '',
    ORTHANC_URL: '',
    ORTHANC_PASSWORD: '',
    ORTHANC_HTTP_PORT: String(orthanc),
    DICOM_PORT: String(dicom),
    DICOM_HOST: '127.0.0.1',
    DICOM_PROXY_PORT: String(proxy),
    VIEWER_PORT: String(viewer),
    OHIF_VIEWER_URL: `http://127.0.0.1:${viewer}/viewer`,
    DICOM_WEB_URL: `http://127.0.0.1:${proxy}/dicom-web`,
    MINIO_ENDPOINT: '',
    MINIO_ACCESS_KEY: '',
    MINIO_SECRET_KEY: '',
    DB_PASSWORD: '',
    DB_NAME: '',
    DB_USER: '',
    SECRET_KEY: '',
    ENCRYPTION_KEYS: '',
    MEDICONNECT_STORAGE_DIR: '',
    SUPERADMIN_EMAIL: superAdminEmail,
    BCRYPT_ROUNDS: '4',
    LOG_LEVEL: 'warn',
  };
  return { env, ports: { db, api, orthanc, dicom, proxy, viewer } };
}
