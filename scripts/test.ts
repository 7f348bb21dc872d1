// `npm test`: starts a throwaway stack (its own PostgreSQL on a free port, never .data/), migrates,
// runs the whole mocha suite against it, and tears everything down. Extra arguments go to mocha.
// Everything the tests start lives in the run's temporary folder (TMPDIR points inside it) and inherits a
// marker in its environment: once the stack is down, any process still carrying either fails the run, by name.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { orthancService } from './lib/orthanc.js';
import { gateService } from './lib/gate.js';
import { freePort } from './lib/ports.js';
import { describeProcesses, processInfo, processesOf, terminate } from './lib/processes.js';
import { s3Service } from './lib/s3.js';
import { migrationsService, postgresService, startStack, stopLeftovers, type ServiceDefinition } from './lib/stack.js';
import { ensureSystemPackages, TEST_TOOLS } from './lib/system-packages.js';
import { ensureWebDist } from './lib/web.js';

const TMP_PREFIX = 'mediconnect-test-';
const RUNNER_PID_FILE = 'runner.pid';

/** Whether `pid` is a live `npm test` runner (this script). */
const runnerAlive = (pid: number): boolean => processInfo(pid)?.command.includes('scripts/test.ts') ?? false;

/**
 * Stops and removes what earlier runs left when their runner died before its cleanup (killed, or its
 * terminal closed): their PostgreSQL, Orthanc and any process of their folder. Runs of other clones still
 * going (their runner alive) are left alone.
 */
async function sweepDeadRuns(): Promise<void> {
  for (const name of readdirSync(os.tmpdir())) {
    if (!name.startsWith(TMP_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    const pidFile = path.join(dir, RUNNER_PID_FILE);
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : NaN;
    if (Number.isInteger(pid) && runnerAlive(pid)) continue;
    // A run starting this very moment may not have written its pid yet.
    if (!existsSync(pidFile) && Date.now() - statSync(dir).mtimeMs < 60_000) continue;
    const left = processesOf(dir, `MEDICONNECT_TEST_TMP=${dir}`);
    if (left.length > 0) console.log(`Stopping ${left.length} process(es) left by an earlier test run in ${dir}…`);
    await stopLeftovers(dir, { marker: `MEDICONNECT_TEST_TMP=${dir}`, graceMs: 5_000 });
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  // A closed output (`npm test | head`) must not kill the runner before it stops what it started.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  await sweepDeadRuns();
  const tmp = mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX));
  writeFileSync(path.join(tmp, RUNNER_PID_FILE), String(process.pid));
  // The tests' own temporary folders (npm start's data, nginx, Chromium's profiles) sit inside the run's.
  const testsTmp = path.join(tmp, 'tmp');
  mkdirSync(testsTmp);
  const baseEnv: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'test',
    SECRET_KEY: randomBytes(48).toString('base64url'),
    ENCRYPTION_KEYS: `test1:${randomBytes(32).toString('base64')}`,
    BCRYPT_ROUNDS: '4',
    // Tests drive the scheduler's ticks themselves.
    SCHEDULER_ENABLED: 'false',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    MEDICONNECT_TEST_TMP: tmp,
    TMPDIR: testsTmp,
    // The API the tests start serves the web console, built now if its sources changed.
    WEB_DIST_DIR: ensureWebDist(),
  };
  // Adding a service the tests need is one more entry here; each receives the environment of those before it.
  const services: ServiceDefinition[] = [
    postgresService({
      dataDir: path.join(tmp, 'postgres'),
      port: await freePort(),
      user: 'mediconnect',
      password: randomBytes(16).toString('hex'),
      database: 'mediconnect_test',
    }),
    migrationsService(baseEnv),
    s3Service({ directory: path.join(tmp, 's3'), port: await freePort(), bucket: 'medical-images' }),
    orthancService({
      dataDir: path.join(tmp, 'orthanc'),
      httpPort: await freePort(),
      stableAge: 1,
      storage: 's3',
      storageDir: path.join(tmp, 'dicom'),
    }),
    gateService({ port: await freePort(), baseEnv, logFile: path.join(tmp, 'dicom-gate.log') }),
  ];
  ensureSystemPackages([...services.flatMap((s) => s.requirements), TEST_TOOLS]);
  const stack = await startStack(services);
  const cleanup = async (): Promise<boolean> => {
    await stack.stop();
    const clean = await reportLeftovers(tmp);
    rmSync(tmp, { recursive: true, force: true });
    return clean;
  };
  let code = 1;
  try {
    const env: Record<string, string> = { ...baseEnv, ...stack.env };
    const mocha = spawn(process.execPath, ['--import', 'tsx', path.resolve('node_modules/mocha/bin/mocha.js'), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env,
    });
    const stopMocha = () => mocha.kill('SIGINT');
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stopMocha);
    code = await new Promise<number>((resolve) => mocha.on('exit', (exitCode) => resolve(exitCode ?? 1)));
  } finally {
    const clean = await cleanup();
    if (!clean && code === 0) code = 1;
  }
  return code;
}

/**
 * Whether the run left nothing behind. A process of the run's folder or carrying its marker, still alive
 * once the stack is down, was started by a test that did not stop it: it is named, then stopped, and the
 * run fails — on a developer's machine or CI's, such leftovers hold ports and slow every later run.
 */
async function reportLeftovers(tmp: string): Promise<boolean> {
  // A process a test stopped just before the end may still be on its way out.
  let left = processesOf(tmp, `MEDICONNECT_TEST_TMP=${tmp}`);
  for (let i = 0; i < 50 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = processesOf(tmp, `MEDICONNECT_TEST_TMP=${tmp}`);
  }
  if (left.length === 0) return true;
  console.error(`\nThe tests left ${left.length} process(es) running; each test must stop what it starts:\n${describeProcesses(left)}`);
  await terminate(left, 5_000);
  return false;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
