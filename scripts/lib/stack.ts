import { processesOf, terminate } from './processes.js';
import path from 'node:path';
import { clusterRunning, ensureDatabase, initCluster, startCluster, stopCluster } from './postgres.js';
import { loadDatabaseConfig } from '../../common/config.js';
import { migrateAndSeed } from './migrate.js';
import { POSTGRESQL, type SystemRequirement } from './system-packages.js';

/** A started service: the environment it adds for the next services and the app, and how to stop it. */
export interface StartedService {
  name: string;
  env: Record<string, string>;
  stop: () => Promise<void> | void;
}

/** A service of the stack. Adding one (Orthanc, an S3 server, a browser) is one more of these. */
export interface ServiceDefinition {
  name: string;
  requirements: SystemRequirement[];
  /** Receives the environment of the services started before it. */
  start: (env: Record<string, string>) => Promise<StartedService>;
}

/** Everything started, in order; `stop` stops them in reverse order. */
export interface Stack {
  env: Record<string, string>;
  stop: () => Promise<void>;
}

/** Starts services in order, merging their environments; stops what started if one fails. */
export async function startStack(services: ServiceDefinition[]): Promise<Stack> {
  const started: StartedService[] = [];
  const env: Record<string, string> = {};
  const stop = async () => {
    for (const s of started.reverse()) {
      try {
        await s.stop();
      } catch (err) {
        console.error(`stopping ${s.name} failed:`, err);
      }
    }
    started.length = 0;
  };
  try {
    for (const service of services) {
      const s = await service.start({ ...env });
      started.push(s);
      Object.assign(env, s.env);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { env, stop };
}

/** PostgreSQL in a data directory of our own, on 127.0.0.1:port; reused when already running there. */
export function postgresService(o: { dataDir: string; port: number; user: string; password: string; database: string }): ServiceDefinition {
  return {
    name: 'postgresql',
    requirements: [POSTGRESQL],
    async start() {
      const cluster = { ...o, logFile: path.join(path.dirname(o.dataDir), 'postgresql.log') };
      initCluster(cluster);
      // A server still running on this data directory was left by an earlier run that died: it is ours,
      // but may listen elsewhere. Stop it cleanly and start with this run's settings.
      if (clusterRunning(o.dataDir)) {
        console.log('Stopping the PostgreSQL left running by an earlier start…');
        stopCluster(o.dataDir);
      }
      startCluster(cluster);
      try {
        await ensureDatabase(cluster);
      } catch (err) {
        // E.g. a password that is not the cluster's: the start fails, and leaves no server running behind it.
        stopCluster(o.dataDir);
        throw err;
      }
      return {
        name: 'postgresql',
        env: { DB_HOST: '127.0.0.1', DB_PORT: String(o.port), DB_USER: o.user, DB_PASSWORD: o.password, DB_NAME: o.database },
        stop: () => stopCluster(o.dataDir),
      };
    },
  };
}

/**
 * Stops what a stack left in `dir` once its own supervisor is gone: the PostgreSQL cluster of `dir/postgres`
 * (fast shutdown; pg_ctl detaches it from every process group), then anything still working in `dir`, naming
 * it, or carrying `marker` in its environment (an Orthanc orphaned by a killed supervisor), SIGKILL after `graceMs`.
 */
export async function stopLeftovers(dir: string, options: { marker?: string; graceMs?: number } = {}): Promise<void> {
  const cluster = path.join(dir, 'postgres');
  if (clusterRunning(cluster)) stopCluster(cluster);
  const left = processesOf(dir, options.marker);
  if (left.length > 0) await terminate(left, options.graceMs ?? 10_000);
}

/** Applies migrations and the seed once PostgreSQL is up, before the services that need the schema. */
export function migrationsService(baseEnv: Record<string, string | undefined>): ServiceDefinition {
  return {
    name: 'migrations',
    requirements: [],
    async start(env) {
      const { applied, superAdminCreated } = await migrateAndSeed(loadDatabaseConfig({ ...baseEnv, ...env }), { seed: true });
      return {
        name: 'migrations',
        env: { MEDICONNECT_MIGRATIONS_APPLIED: String(applied.length), MEDICONNECT_SUPERADMIN_CREATED: String(superAdminCreated) },
        stop: () => undefined,
      };
    },
  };
}
