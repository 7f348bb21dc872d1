import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../common/config.js';
import { createLogger } from '../common/logger.js';
import { startApi, type RunningApi } from '../api/src/server.js';
import { startProxy, type RunningProxy } from '../dicom-proxy/src/server.js';
import { orthancService } from '../scripts/lib/orthanc.js';
import { freePort } from '../scripts/lib/ports.js';
import { migrationsService, postgresService, startStack, type Stack } from '../scripts/lib/stack.js';
import { SERVICE_NODE_FLAGS } from '../scripts/lib/service-flags.js';

/**
 * Compiles the services as production runs them (JavaScript, no TypeScript loader) and returns the path of the
 * API's entry point. Inside the repository, so that the build resolves node_modules.
 */
export function buildApiForBench(): string {
  const dist = path.resolve('.data', 'bench-dist');
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', dist], { stdio: 'inherit' });
  return path.join(dist, 'api', 'src', 'server.js');
}

/** The compiled device gate's entry point (built by {@link buildApiForBench}). */
export const benchGateEntry = () => path.resolve('.data', 'bench-dist', 'dicom-gate', 'src', 'server.js');

/** A throwaway stack for one benchmark: PostgreSQL, migrations, Orthanc on local storage. */
export interface BenchStack {
  /** Environment for the API/proxy: the generated secrets plus the services' settings. */
  env: Record<string, string>;
  stack: Stack;
  /** Stops the services and removes their data. */
  stop: () => Promise<void>;
}

/** Starts the stack; the generated secrets also go to process.env, where the test fixtures read them. */
export async function startBenchStack(stableAge: number, options: { referenceDicomPort?: number } = {}): Promise<BenchStack> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'mediconnect-bench-'));
  process.env.SECRET_KEY = randomBytes(48).toString('base64url');
  process.env.ENCRYPTION_KEYS = `bench:${randomBytes(32).toString('base64')}`;
  const base: Record<string, string> = {
    ...(process.env as Record<string, string>),
    BCRYPT_ROUNDS: '4',
    SCHEDULER_ENABLED: 'false',
    LOG_LEVEL: 'warn',
  };
  const stack = await startStack([
    postgresService({ dataDir: path.join(tmp, 'pg'), port: await freePort(), user: 'mediconnect', password: 'bench', database: 'bench' }),
    migrationsService(base),
    orthancService({
      dataDir: path.join(tmp, 'orthanc'),
      httpPort: await freePort(),
      stableAge,
      storage: 'local',
      storageDir: path.join(tmp, 'dicom'),
      ...options,
    }),
  ]);
  Object.assign(process.env, stack.env);
  return {
    env: { ...base, ...stack.env },
    stack,
    stop: async () => {
      await stack.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** The proxy as a child process (`node dicom-proxy/src/server.ts`), once it answers /healthz. */
async function spawnProxy(env: Record<string, string>, port: number): Promise<Pick<RunningProxy, 'url' | 'stop'>> {
  const child = spawn(
    process.execPath,
    [
      ...SERVICE_NODE_FLAGS,
      ...(process.env.BENCH_PROXY_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROXY_PROF] : []),
      '--import',
      'tsx',
      'dicom-proxy/src/server.ts',
    ],
    { env, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The stack with an API and a DICOMweb proxy on it, and their configuration. */
export interface BenchServers {
  config: Config;
  api: RunningApi;
  proxy: Pick<RunningProxy, 'url' | 'stop'> & { /** Where the proxy's `/metrics` is served. */ metricsUrl: string };
  /** Stops the servers, then the stack. */
  stop: () => Promise<void>;
}

/**
 * Starts the stack, then an API and a DICOMweb proxy (its public URL on its own port). With
 * `proxyProcess`, the proxy runs in its own process, as in production, so the load the benchmark
 * generates does not share its event loop.
 */
export async function startBenchServers(stableAge: number, options: { proxyProcess?: boolean } = {}): Promise<BenchServers> {
  const bench = await startBenchStack(stableAge);
  const [proxyPort, metricsPort] = [await freePort(), await freePort()];
  const env = {
    ...bench.env,
    DICOM_WEB_URL: `http://127.0.0.1:${proxyPort}/dicom-web`,
    DICOM_PROXY_PORT: String(proxyPort),
    DICOM_PROXY_METRICS_PORT: String(metricsPort),
  };
  const config = loadConfig(env);
  const logger = createLogger('warn', 'bench');
  const api = await startApi(config, { port: 0, logger });
  const proxy = {
    ...(options.proxyProcess ? await spawnProxy(env, proxyPort) : await startProxy(config, { port: proxyPort, logger })),
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
  };
  return {
    config,
    api,
    proxy,
    stop: async () => {
      await proxy.stop();
      await api.stop();
      await bench.stop();
    },
  };
}

/** Waits until a service answers `/healthz` (30 s at most). */
export async function waitForHealth(url: string): Promise<void> {
  for (let i = 0; ; i++) {
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    if (i > 300) throw new Error(`${url} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs a benchmark's main and exits with its outcome. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
