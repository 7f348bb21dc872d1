import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createKnex } from '../common/db.js';
import { seedSuperAdmin } from '../db/seeds/super-admin.js';
import { freePort } from '../scripts/lib/ports.js';
import { testDb } from './helpers/db.js';
import { testConfig } from './helpers/server.js';

/** Spawns a TypeScript entry point and collects its output. */
function spawnTs(script: string, env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out };
}

async function waitFor(check: () => Promise<boolean> | boolean, what: string, output: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; output:\n${output().slice(-2000)}`);
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

describe('processes', () => {
  it('the API process drains and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const { child, output } = spawnTs('api/src/server.ts', { API_PORT: String(port), LOG_LEVEL: 'info' });
    await waitFor(() => output().includes('api listening'), 'the API to listen', output);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).to.equal(200);
    const done = exited(child);
    child.kill('SIGTERM');
    expect(await done).to.equal(0);
    expect(output()).to.include('api stopped');
    let refused = false;
    await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => (refused = true));
    expect(refused).to.equal(true);
  });

  it('npm start brings up PostgreSQL, migrates, seeds and serves; Ctrl-C stops it; a second run reuses the data', async function () {
    this.timeout(180_000);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mediconnect-start-'));
    const [dbPort, apiPort, orthancPort, dicomPort, proxyPort, viewerPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    const env: Record<string, string> = {
      MEDICONNECT_DATA_DIR: dataDir,
      DB_PORT: String(dbPort),
      API_PORT: String(apiPort),
      DB_HOST: '',
      ORTHANC_URL: '',
      ORTHANC_PASSWORD: '',
      ORTHANC_HTTP_PORT: String(orthancPort),
      ORTHANC_DICOM_PORT: String(dicomPort),
      DICOM_PROXY_PORT: String(proxyPort),
      VIEWER_PORT: String(viewerPort),
      OHIF_VIEWER_URL: `http://127.0.0.1:${viewerPort}/viewer`,
      DICOM_WEB_URL: `http://127.0.0.1:${proxyPort}/dicom-web`,
      MINIO_ENDPOINT: '',
      MINIO_ACCESS_KEY: '',
      MINIO_SECRET_KEY: '',
      DB_PASSWORD: '',
      DB_NAME: '',
      DB_USER: '',
      SECRET_KEY: '',
      ENCRYPTION_KEYS: '',
      SUPERADMIN_EMAIL: 'chief@start.test',
      BCRYPT_ROUNDS: '4',
      LOG_LEVEL: 'warn',
    };
    const base = `http://127.0.0.1:${apiPort}`;
    try {
      let run = spawnTs('scripts/start.ts', env);
      await waitFor(() => run.output().includes('Press Ctrl-C to stop.'), 'npm start', run.output);
      expect(run.output()).to.include('chief@start.test / mediconnect (just created)');
      expect((await fetch(`${base}/readyz`)).status).to.equal(200);
      expect(run.output()).to.include(`Orthanc        http://127.0.0.1:${orthancPort}`);
      expect((await fetch(`http://127.0.0.1:${orthancPort}/system`)).status).to.equal(401);
      expect((await fetch(`http://127.0.0.1:${proxyPort}/dicom-web/studies`)).status).to.equal(401);
      const page = await fetch(`http://127.0.0.1:${viewerPort}/viewer`);
      expect(page.status).to.equal(200);
      expect(await page.text()).to.include('app-config.js');
      expect(await (await fetch(`http://127.0.0.1:${viewerPort}/app-config.js`)).text()).to.include(`http://127.0.0.1:${proxyPort}/dicom-web`);
      const login = await fetch(`${base}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'chief@start.test', password: 'mediconnect' }),
      });
      expect(login.status).to.equal(200);
      let done = exited(run.child);
      run.child.kill('SIGINT');
      expect(await done).to.equal(0);
      expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).to.equal(false);
      let orthancDown = false;
      await fetch(`http://127.0.0.1:${orthancPort}/system`).catch(() => (orthancDown = true));
      expect(orthancDown).to.equal(true);

      run = spawnTs('scripts/start.ts', env);
      await waitFor(() => run.output().includes('Press Ctrl-C to stop.'), 'the second npm start', run.output);
      expect(run.output()).to.include('Migrations     up to date');
      expect(run.output()).to.not.include('just created');
      done = exited(run.child);
      run.child.kill('SIGINT');
      expect(await done).to.equal(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('the seed creates the super admin once, even when run concurrently', async () => {
    const config = testConfig();
    const email = `seed-${Date.now()}@mediconnect.test`;
    const pools = [createKnex(config), createKnex(config), createKnex(config)];
    try {
      const created = await Promise.all(pools.map((k) => seedSuperAdmin(k, email, 4)));
      expect(created.filter(Boolean)).to.have.length(1);
      expect(await seedSuperAdmin(pools[0]!, email.toUpperCase(), 4)).to.equal(false);
      const rows = await testDb()('users').whereRaw('lower(email) = ?', [email]);
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ role: 'super_admin', must_change_password: true });
    } finally {
      await Promise.all(pools.map((k) => k.destroy()));
    }
  });
});
