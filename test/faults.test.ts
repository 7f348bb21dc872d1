import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import type { RunningApi } from '../api/src/server.js';
import { freePort } from '../scripts/lib/ports.js';
import { migrationsService, postgresService, startStack, type Stack } from '../scripts/lib/stack.js';
import { startTestApi } from './helpers/server.js';

describe('faults: PostgreSQL restarted under traffic (issue 11)', function () {
  this.timeout(180_000);
  let stack: Stack;
  let pgService: ReturnType<typeof postgresService>;
  let api: RunningApi;
  let dbEnv: Record<string, string>;

  before(async () => {
    // A cluster of its own: the suite's shared one must not go down under the other tests.
    const dir = mkdtempSync(path.join(process.env.MEDICONNECT_TEST_TMP!, 'pg-fault-'));
    pgService = postgresService({
      dataDir: path.join(dir, 'data'),
      port: await freePort(),
      user: 'fault',
      password: 'fault-password',
      database: 'fault',
    });
    stack = await startStack([pgService, migrationsService({ ...process.env, SUPERADMIN_EMAIL: 'chief@fault.test' })]);
    dbEnv = {
      DB_HOST: stack.env.DB_HOST!,
      DB_PORT: stack.env.DB_PORT!,
      DB_USER: stack.env.DB_USER!,
      DB_PASSWORD: stack.env.DB_PASSWORD!,
      DB_NAME: stack.env.DB_NAME!,
    };
    api = await startTestApi({ ...dbEnv, SUPERADMIN_EMAIL: 'chief@fault.test', SCHEDULER_ENABLED: 'false' });
  });
  after(async () => {
    await api?.stop();
    await stack?.stop();
  });

  const login = () =>
    fetch(`${api.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'chief@fault.test', password: 'mediconnect' }),
    });

  it('requests fail cleanly (503, the error envelope) while it is down, and succeed again once it is back — without restarting the API', async () => {
    expect((await login()).status).to.equal(200);
    expect((await fetch(`${api.url}/readyz`)).status).to.equal(200);

    // Down: traffic keeps coming.
    await stack.stop();
    const during = await Promise.all(Array.from({ length: 10 }, () => login()));
    for (const res of during) {
      expect(res.status).to.equal(503);
      const body = await res.json();
      expect(body.error.code).to.equal('SERVICE_UNAVAILABLE');
    }
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).to.equal(503);
    expect((await fetch(`${api.url}/healthz`)).status, 'the process itself is alive').to.equal(200);

    // Back on the same data directory and port: the same API process recovers.
    stack = await startStack([pgService]);
    let recovered = 0;
    for (let i = 0; i < 50 && recovered === 0; i++) {
      if ((await login()).status === 200) recovered++;
      else await new Promise((r) => setTimeout(r, 200));
    }
    expect(recovered, 'a login succeeds after the restart').to.equal(1);
    expect((await fetch(`${api.url}/readyz`)).status).to.equal(200);
  });
});
