import { loadConfig, type Config } from '../../common/config.js';
import { createLogger } from '../../common/logger.js';
import { startApi, type RunningApi } from '../../api/src/server.js';
import { startProxy, type RunningProxy } from '../../dicom-proxy/src/server.js';
import { freePort } from '../../scripts/lib/ports.js';

/** The configuration the harness (`npm test`) put in the environment. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, ...overrides });
}

let shared: Promise<RunningApi> | null = null;
let sharedProxy: Promise<RunningProxy> | null = null;

/** The DICOMweb proxy behind the shared API's `/api/dicom/qido|wado`, started on first use. */
export function sharedDicomProxy(): Promise<RunningProxy> {
  sharedProxy ??= freePort().then((port) =>
    startProxy(testConfig({ DICOM_WEB_URL: `http://127.0.0.1:${port}/dicom-web` }), {
      port,
      logger: createLogger(process.env.LOG_LEVEL ?? 'silent', 'proxy-test'),
    }),
  );
  return sharedProxy;
}

/** The API server shared by the whole suite, started on a free port on first use (with its proxy). */
export function sharedApi(): Promise<RunningApi> {
  shared ??= sharedDicomProxy().then(async (proxy) => {
    // Its port is known before it starts: the URLs it writes come from its configuration.
    const port = await freePort();
    return startApi(testConfig({ DICOM_PROXY_INTERNAL_URL: proxy.url, API_PORT: String(port) }), {
      port,
      logger: createLogger(process.env.LOG_LEVEL ?? 'silent', 'api-test'),
    });
  });
  return shared;
}

/** A separate API server with its own configuration (e.g. tighter login limits); stop it after use. */
/** A proxy of its own on a free port, silent, its public root (`base`, ending in /dicom-web) on that port; stop it in `after`. */
export async function startTestProxy(overrides: Record<string, string> = {}): Promise<{ proxy: RunningProxy; base: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}/dicom-web`;
  const proxy = await startProxy(testConfig({ DICOM_WEB_URL: base, ...overrides }), { port, logger: createLogger('silent', 'proxy-test') });
  return { proxy, base };
}

export async function startTestApi(overrides: Record<string, string>): Promise<RunningApi> {
  const port = overrides.API_PORT ? Number(overrides.API_PORT) : await freePort();
  return startApi(testConfig({ API_PORT: String(port), ...overrides }), {
    port,
    logger: createLogger(process.env.LOG_LEVEL ?? 'silent', 'api-test'),
  });
}

/** Stops the shared servers at the end of the run. */
export async function stopSharedApi(): Promise<void> {
  if (shared) await (await shared).stop();
  if (sharedProxy) await (await sharedProxy).stop();
  shared = null;
  sharedProxy = null;
}
