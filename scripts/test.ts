// `npm test`: starts a throwaway stack (its own PostgreSQL on a free port, never .data/), migrates,
// runs the whole mocha suite against it, and tears everything down. Extra arguments go to mocha.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { orthancService } from './lib/orthanc.js';
import { freePort } from './lib/ports.js';
import { s3Service } from './lib/s3.js';
import { migrationsService, postgresService, startStack, type ServiceDefinition } from './lib/stack.js';
import { ensureSystemPackages, TEST_TOOLS } from './lib/system-packages.js';

async function main(): Promise<number> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'mediconnect-test-'));
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
  };
  // Adding a service the tests need is one more entry here; each receives the environment of those before it.
  const services: ServiceDefinition[] = [
    postgresService({ dataDir: path.join(tmp, 'postgres'), port: await freePort(), user: 'mediconnect', password: randomBytes(16).toString('hex'), database: 'mediconnect_test' }),
    migrationsService(baseEnv),
    s3Service({ directory: path.join(tmp, 's3'), port: await freePort(), bucket: 'medical-images' }),
    orthancService({ dataDir: path.join(tmp, 'orthanc'), httpPort: await freePort(), dicomPort: await freePort(), stableAge: 1, storage: 's3', storageDir: path.join(tmp, 'dicom') }),
  ];
  ensureSystemPackages([...services.flatMap((s) => s.requirements), TEST_TOOLS]);
  const stack = await startStack(services);
  const cleanup = async () => {
    await stack.stop();
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const env: Record<string, string> = { ...baseEnv, ...stack.env };
    const mocha = spawn(process.execPath, ['--import', 'tsx', path.resolve('node_modules/mocha/bin/mocha.js'), ...process.argv.slice(2)], { stdio: 'inherit', env });
    const stopMocha = () => mocha.kill('SIGINT');
    process.on('SIGINT', stopMocha);
    process.on('SIGTERM', stopMocha);
    return await new Promise<number>((resolve) => mocha.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
