// `npm start`: the embedded local stack. Installs missing system packages, runs PostgreSQL under .data/
// (unless DB_HOST points to a server of your own), migrates, seeds, and serves the API. Ctrl-C stops it all.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../common/config.js';
import { createKnex } from '../common/db.js';
import { checkAndRecordKeys, KeyMismatchError } from '../common/key-registry.js';
import { spawn } from 'node:child_process';
import { ensureOhifDist } from './lib/ohif.js';
import { ensureWebDist } from './lib/web.js';
import { waitForTcp } from './lib/gate.js';
import { orthancService } from './lib/orthanc.js';
import { migrationsService, postgresService, startStack, type ServiceDefinition } from './lib/stack.js';
import { ensureSystemPackages } from './lib/system-packages.js';
import { supervise, type Supervised } from './lib/supervisor.js';
import { SERVICE_NODE_FLAGS } from './lib/service-flags.js';
import { embeddedStack, loadDotEnv, localDataDir, localS3File, savedSecrets, secretsFile, type LocalSecrets } from './lib/local-stack.js';

const root = process.cwd();
// MEDICONNECT_DATA_DIR lets the test suite run this script without touching the developer's .data/.
const dataDir = localDataDir(root);

loadDotEnv(root);

// Secrets the local stack needs are generated once and kept in .data/, never in the repository.
function localSecrets(): LocalSecrets {
  const saved = savedSecrets(dataDir);
  const secrets = {
    SECRET_KEY: saved.SECRET_KEY ?? randomBytes(48).toString('base64url'),
    EMBEDDED_DB_PASSWORD: saved.EMBEDDED_DB_PASSWORD ?? randomBytes(24).toString('base64url'),
    // Losing this key loses the clinical text encrypted with it: it stays in .data/ with the database.
    ENCRYPTION_KEYS: saved.ENCRYPTION_KEYS ?? `local1:${randomBytes(32).toString('base64')}`,
    ORTHANC_PASSWORD: saved.ORTHANC_PASSWORD ?? randomBytes(18).toString('base64url'),
  };
  writeFileSync(secretsFile(dataDir), JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

async function main(): Promise<void> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secrets = localSecrets();
  const embedded = !process.env.DB_HOST;
  const embeddedOrthanc = !process.env.ORTHANC_URL;
  const embeddedSettings = embeddedStack(process.env, dataDir);
  // `npm run start:s3` (`npm start -- --local-s3`): images in an S3 bucket served locally by s3rver, to try the S3
  // mode without MinIO. Operator commands find it through .data/local-s3.json.
  const localS3 = process.argv.includes('--local-s3');
  if (localS3 && process.env.MINIO_ENDPOINT) throw new ConfigError(['--local-s3: MINIO_ENDPOINT is set too; use one or the other']);
  const s3 = localS3 ? await localS3Service(dataDir) : null;
  if (!localS3) rmSync(localS3File(dataDir), { force: true });
  const baseEnv = {
    ...process.env,
    SECRET_KEY: process.env.SECRET_KEY || secrets.SECRET_KEY,
    ENCRYPTION_KEYS: process.env.ENCRYPTION_KEYS || secrets.ENCRYPTION_KEYS,
  };
  const services: ServiceDefinition[] = [
    ...(s3 ? [s3] : []),
    ...(embedded
      ? [
          postgresService({
            dataDir: path.join(dataDir, 'postgres'),
            port: embeddedSettings.db.port,
            user: embeddedSettings.db.user,
            password: secrets.EMBEDDED_DB_PASSWORD,
            database: embeddedSettings.db.database,
          }),
        ]
      : []),
    migrationsService(baseEnv),
    ...(embeddedOrthanc
      ? [
          orthancService({
            dataDir: path.join(dataDir, 'orthanc'),
            httpPort: embeddedSettings.orthanc.httpPort,
            stableAge: 10,
            // S3/MinIO when MINIO_ENDPOINT is set, otherwise the local directory .data/dicom.
            storage: process.env.MINIO_ENDPOINT || s3 ? 's3' : 'local',
            storageDir: embeddedSettings.storageDir,
            username: embeddedSettings.orthanc.username,
            password: secrets.ORTHANC_PASSWORD,
            supervise: true,
          }),
        ]
      : []),
  ];
  ensureSystemPackages(services.flatMap((s) => s.requirements));
  const stack = await startStack(services);
  let config;
  try {
    config = loadConfig({ ...baseEnv, ...stack.env });
    // Keys that cannot open the data: said once, here, rather than by an API restarting in a loop.
    const db = createKnex(config);
    await checkAndRecordKeys(db, config.encryption.keys).finally(() => db.destroy());
  } catch (err) {
    await stack.stop();
    throw err;
  }
  const applied = Number(stack.env.MEDICONNECT_MIGRATIONS_APPLIED ?? 0);
  const superAdminCreated = stack.env.MEDICONNECT_SUPERADMIN_CREATED === 'true';
  // The API, the DICOMweb proxy and the viewer run as separate, supervised processes: a crash of one
  // is logged and restarted with backoff, and never takes the others down.
  const childEnv: Record<string, string> = Object.fromEntries(
    Object.entries({ ...baseEnv, ...stack.env }).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  const viewerPort = Number(process.env.VIEWER_PORT || 3000);
  const local = (host: string) => (['0.0.0.0', '::'].includes(host) ? '127.0.0.1' : host);
  const api = { url: `http://${local(config.api.host)}:${config.api.port}` };
  const proxy = { url: config.proxy.internalUrl };
  const viewer = { url: `http://127.0.0.1:${viewerPort}` };
  const gate = { host: local(config.gate.host), port: config.gate.port };
  const node = (name: string, script: string, extraEnv: Record<string, string>, ready: () => Promise<void>): Supervised =>
    supervise({
      name,
      spawn: () =>
        spawn(
          process.execPath,
          [
            ...SERVICE_NODE_FLAGS,
            '--import',
            'tsx',
            '--import',
            path.join(root, 'scripts/lib/exit-with-parent.mjs'),
            path.join(root, script),
          ],
          {
            cwd: root,
            env: { ...childEnv, ...extraEnv },
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          },
        ),
      ready,
    });
  const children = [
    node('api', 'api/src/server.ts', { WEB_DIST_DIR: process.env.WEB_DIST_DIR || ensureWebDist() }, () =>
      waitForHttp(`${api.url}/healthz`, 60_000),
    ),
    node('dicom-proxy', 'dicom-proxy/src/server.ts', {}, () => waitForHttp(`${proxy.url}/healthz`, 60_000)),
    node('viewer', 'dicom-proxy/src/viewer.ts', { OHIF_DIST_DIR: ensureOhifDist(), VIEWER_PORT: String(viewerPort) }, () =>
      waitForHttp(`${viewer.url}/app-config.js`, 60_000),
    ),
    // Devices push here; Orthanc's own DICOM server is off.
    node('dicom-gate', 'dicom-gate/src/server.ts', {}, () => waitForTcp(gate.host, gate.port, 60_000)),
  ];
  try {
    await Promise.all([
      waitForHttp(`${api.url}/healthz`, 90_000),
      waitForHttp(`${proxy.url}/healthz`, 90_000),
      waitForHttp(`${viewer.url}/app-config.js`, 90_000),
      waitForTcp(gate.host, gate.port, 90_000),
    ]);
  } catch (err) {
    await Promise.all(children.map((c) => c.stop()));
    await stack.stop();
    throw err;
  }
  console.log(`
MediConnect is running.
  Web console    ${api.url}/  (log in as the super admin below)
  API            ${api.url}/api
  OpenAPI        ${api.url}/api/openapi.json
  Swagger UI     ${api.url}/api/docs
  Health         ${api.url}/healthz   ${api.url}/readyz
  DICOMweb       ${proxy.url}/dicom-web (authorizing proxy; public base ${config.proxy.publicUrl})
  OHIF Viewer    ${viewer.url}/viewer?StudyInstanceUIDs=…&token=… (open one via POST /api/dicom/studies/{id}/viewer-sessions)
  PostgreSQL     ${config.db.host}:${config.db.port}/${config.db.name}${embedded ? ` (embedded, data in ${path.join(dataDir, 'postgres')})` : ''}
  DICOM devices  C-STORE to ${config.gate.host}:${config.gate.port}, AET ${config.gate.aeTitle} (the device gate; register each device: POST /api/modalities)
  Orthanc        ${config.orthanc.url} (answers loopback clients only, user ${config.orthanc.username}; no DICOM port of its own)
  Images         ${config.s3 ? `S3 bucket ${config.s3.bucket} at ${config.s3.endpoint}` : embeddedOrthanc ? `directory ${path.join(dataDir, 'dicom')}` : 'as configured in your Orthanc'}
  Migrations     ${applied ? `applied ${applied}` : 'up to date'}
  Super admin    ${config.superAdminEmail} / mediconnect${superAdminCreated ? ' (just created)' : ''} — change the password at first login
Press Ctrl-C to stop.`);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, async () => {
      if (stopping) return;
      stopping = true;
      console.log('\nStopping…');
      await Promise.all(children.map((c) => c.stop()));
      await stack.stop();
      process.exit(0);
    });
  }
}

/** The local S3 server of `--local-s3` (s3rver, a development dependency: imported only when asked for). */
async function localS3Service(data: string): Promise<ServiceDefinition> {
  const { s3Service } = await import('./lib/s3.js');
  const settings = { port: Number(process.env.LOCAL_S3_PORT || 9000), bucket: 'medical-images' };
  writeFileSync(localS3File(data), JSON.stringify(settings, null, 2), { mode: 0o600 });
  return s3Service({ directory: path.join(data, 's3'), ...settings });
}

/** Resolves once `url` answers 2xx; rejects after `timeoutMs`. */
async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

main().catch((err) => {
  console.error(err instanceof ConfigError || err instanceof KeyMismatchError ? err.message : err);
  process.exit(1);
});
