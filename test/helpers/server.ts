import { loadConfig, type Config } from '../../common/config.js';
import { createLogger } from '../../common/logger.js';
import { startApi, type RunningApi } from '../../api/src/server.js';

/** The configuration the harness (`npm test`) put in the environment. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, ...overrides });
}

let shared: Promise<RunningApi> | null = null;

/** The API server shared by the whole suite, started on a free port on first use. */
export function sharedApi(): Promise<RunningApi> {
  shared ??= startApi(testConfig(), { port: 0, logger: createLogger(process.env.LOG_LEVEL ?? 'silent', 'api-test') });
  return shared;
}

/** A separate API server with its own configuration (e.g. tighter login limits); stop it after use. */
export function startTestApi(overrides: Record<string, string>): Promise<RunningApi> {
  return startApi(testConfig(overrides), { port: 0, logger: createLogger(process.env.LOG_LEVEL ?? 'silent', 'api-test') });
}

/** Stops the shared server at the end of the run. */
export async function stopSharedApi(): Promise<void> {
  if (shared) await (await shared).stop();
  shared = null;
}
