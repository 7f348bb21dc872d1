import { expect } from 'chai';
import type { RunningApi } from '../api/src/server.js';
import type { RunningProxy } from '../dicom-proxy/src/server.js';
import { ApiClient } from './helpers/client.js';
import { testDb } from './helpers/db.js';
import { newUid, synthDicom, upload } from './helpers/dicom.js';
import { fixtures, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { sharedApi, sharedDicomProxy, startTestApi } from './helpers/server.js';

/** How many principal-cache hits a process has counted. */
async function principalHits(api: RunningApi): Promise<number> {
  const { values } = await api.deps.metrics.cacheLookups.get();
  return values.filter((v) => v.labels.cache === 'principal' && v.labels.result === 'hit').reduce((n, v) => n + v.value, 0);
}

const until = async (what: string, check: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

/**
 * Issue 13: principals are cached for a few seconds in the API and the proxy, so these tests warm the cache
 * first (and check that it answered), then change the account through a second API and expect the very next
 * request through the first API and through the proxy to be refused.
 */
describe('API fast path: the principal cache keeps revocation instant (issue 13)', function () {
  this.timeout(60_000);
  let f: Fixtures;
  let api1: RunningApi;
  let api2: RunningApi;
  let client1: ApiClient;
  let client2: ApiClient;
  let proxy: RunningProxy;

  before(async () => {
    f = await fixtures();
    api1 = await sharedApi();
    proxy = await sharedDicomProxy();
    api2 = await startTestApi({ SCHEDULER_ENABLED: 'false' });
    client1 = new ApiClient(api1.url);
    client2 = new ApiClient(api2.url);
    await until('both listeners', () => api1.deps.principals.caching && api2.deps.principals.caching && proxy.principals.caching);
  });
  after(() => api2?.stop());

  const viaProxy = (token: string) =>
    fetch(`${proxy.url}/dicom-web/studies`, { headers: { authorization: `Bearer ${token}`, accept: 'application/dicom+json' } });

  /** Uses the token until API 1 answers from its cache, and the proxy accepts it. */
  async function warm(actor: Actor) {
    const before = await principalHits(api1);
    for (let i = 0; i < 3; i++) expect((await client1.get('/api/auth/me', { token: actor.token })).status).to.equal(200);
    expect(await principalHits(api1), 'API 1 answered from its principal cache').to.be.at.least(before + 2);
    for (let i = 0; i < 2; i++) expect((await viaProxy(actor.token)).status).to.equal(200);
  }

  async function expectRefusedEverywhere(token: string, code: string) {
    const me = await client1.get('/api/auth/me', { token });
    expect(me.status, 'API 1, the very next request').to.equal(401);
    expect(me.body.error.code).to.equal(code);
    const proxied = await viaProxy(token);
    expect(proxied.status, 'the proxy').to.equal(401);
  }

  it('logout through a second API: the first API and the proxy refuse the token on the very next request', async () => {
    const h = await f.hospitalWithStaff();
    await warm(h.doctor);
    expect(
      (await client2.post('/api/auth/logout', { token: h.doctor.token, body: { refreshToken: h.doctor.refreshToken } })).status,
    ).to.be.oneOf([200, 204]);
    await expectRefusedEverywhere(h.doctor.token, 'SESSION_REVOKED');
  });

  it('password change through a second API ends the other sessions at once', async () => {
    const h = await f.hospitalWithStaff();
    const other = await f.login(h.doctor.email, h.doctor.password);
    await warm(other);
    const changed = await client2.post('/api/auth/change-password', {
      token: h.doctor.token,
      body: { currentPassword: h.doctor.password, newPassword: 'Another-Horse-43' },
    });
    expect(changed.status).to.equal(200);
    await expectRefusedEverywhere(other.token, 'SESSION_REVOKED');
  });

  it('account deactivation through a second API: refused at once', async () => {
    const h = await f.hospitalWithStaff();
    await warm(h.doctor);
    expect((await client2.patch(`/api/doctors/${h.doctor.id}`, { token: h.admin.token, body: { isActive: false } })).status).to.equal(200);
    const me = await client1.get('/api/auth/me', { token: h.doctor.token });
    expect(me.status).to.equal(401);
    expect((await viaProxy(h.doctor.token)).status).to.equal(401);
  });

  it('hospital deactivation through a second API: its staff are refused at once', async () => {
    const h = await f.hospitalWithStaff();
    await warm(h.doctor);
    await warm(h.secretary);
    const sa = await f.superAdmin();
    expect((await client2.patch(`/api/hospitals/${h.hospital.id}`, { token: sa.token, body: { isActive: false } })).status).to.equal(200);
    await expectRefusedEverywhere(h.doctor.token, 'ACCOUNT_INACTIVE');
    expect((await client1.get('/api/auth/me', { token: h.secretary.token })).status).to.equal(401);
  });

  it('/me answers what changed at once (a name edited through a second API), without a second read', async () => {
    const h = await f.hospitalWithStaff();
    await warm(h.doctor);
    expect((await client2.patch(`/api/doctors/${h.doctor.id}`, { token: h.admin.token, body: { lastName: 'Renamed' } })).status).to.equal(
      200,
    );
    const me = await client1.get('/api/auth/me', { token: h.doctor.token });
    expect(me.body.user).to.include({ id: h.doctor.id, lastName: 'Renamed', role: 'doctor', hospitalId: h.hospital.id });
    // Warm again: /me then sends no query at all.
    let queries = 0;
    const count = () => queries++;
    api1.deps.db.on('query', count);
    try {
      const again = await client1.get('/api/auth/me', { token: h.doctor.token });
      expect(again.body.user.lastName).to.equal('Renamed');
    } finally {
      api1.deps.db.off('query', count);
    }
    expect(queries, 'queries sent for a /me answered from the principal').to.equal(0);
  });

  it('falls back to the database while its listener is cut, and caches again once it is back', async () => {
    const h = await f.hospitalWithStaff();
    const second = await f.login(h.doctor.email, h.doctor.password);
    await warm(h.doctor);
    // Cut every listener of the API and the proxy (a network drop or a restarted PostgreSQL would do the same).
    await testDb().raw(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name in ('mediconnect-listener:api', 'mediconnect-listener:dicom-proxy')`,
    );
    await until('the API to notice', () => !api1.deps.principals.caching, 5000);
    await until('the proxy to notice', () => !proxy.principals.caching, 5000);
    // Nothing is cached meanwhile: every request reads the database...
    const hits = await principalHits(api1);
    for (let i = 0; i < 3; i++) expect((await client1.get('/api/auth/me', { token: second.token })).status).to.equal(200);
    // (unless the listener came back in between, which the 1 s retry makes unlikely)
    if (!api1.deps.principals.caching) expect(await principalHits(api1)).to.equal(hits);
    // ...so a change nobody hears of is still seen at once.
    await testDb()('sessions').where({ user_id: h.doctor.id }).update({ revoked_at: testDb().fn.now(), revoked_reason: 'logout' });
    await expectRefusedEverywhere(second.token, 'SESSION_REVOKED');
    // It reconnects by itself and caches again; revocation stays instant.
    await until('the API to listen again', () => api1.deps.principals.caching);
    await until('the proxy to listen again', () => proxy.principals.caching);
    const again = await f.login(h.doctor.email, h.doctor.password);
    await warm(again);
    expect((await client2.post('/api/auth/logout', { token: again.token, body: { refreshToken: again.refreshToken } })).status).to.be.oneOf(
      [200, 204],
    );
    await expectRefusedEverywhere(again.token, 'SESSION_REVOKED');
  });

  it('viewer sessions and share links: cached by the proxy, and refused on the very next request once ended through a second API', async () => {
    const h = await f.hospitalWithStaff();
    const patient = await f.patient(h.secretary, [h.doctor.id]);
    const study = { uid: newUid(), series: newUid() };
    const up = await upload(api1.url, h.doctor.token, patient.id, [
      { name: 'a.dcm', data: synthDicom({ patientId: 'F', studyUid: study.uid, seriesUid: study.series, rows: 16, columns: 16 }) },
    ]);
    expect(up.status).to.equal(201);
    const studyId = up.body.studies[0].id as string;
    let hits = 0;
    const metrics = proxy.principals.onLookup;
    proxy.principals.onLookup = (result) => {
      if (result === 'hit') hits++;
      metrics?.(result);
    };
    try {
      const series = (token: string) =>
        fetch(`${proxy.url}/dicom-web/studies/${study.uid}/series`, {
          headers: { authorization: `Bearer ${token}`, accept: 'application/dicom+json' },
        });
      const session = await client1.post(`/api/dicom/studies/${studyId}/viewer-sessions`, { token: h.doctor.token });
      const share = await client1.post(`/api/dicom/studies/${studyId}/shares`, { token: h.doctor.token, body: {} });
      for (const token of [session.body.token, share.body.token] as string[]) {
        const before = hits;
        for (let i = 0; i < 3; i++) expect((await series(token)).status).to.equal(200);
        expect(hits, 'the proxy answered from its cache').to.be.at.least(before + 2);
      }
      expect((await client2.delete(`/api/viewer-sessions/${session.body.id}`, { token: h.doctor.token })).status).to.equal(204);
      expect((await series(session.body.token)).status, 'ended viewer session').to.equal(401);
      expect((await client2.delete(`/api/shares/${share.body.id}`, { token: h.doctor.token })).status).to.equal(204);
      expect((await series(share.body.token)).status, 'revoked share link').to.equal(401);
      // A viewer session follows its login session: logging out ends it, at once.
      const again = await client1.post(`/api/dicom/studies/${studyId}/viewer-sessions`, { token: h.doctor.token });
      for (let i = 0; i < 2; i++) expect((await series(again.body.token)).status).to.equal(200);
      expect(
        (await client2.post('/api/auth/logout', { token: h.doctor.token, body: { refreshToken: h.doctor.refreshToken } })).status,
      ).to.equal(204);
      expect((await series(again.body.token)).status, 'viewer session of a logged-out login').to.equal(401);
    } finally {
      proxy.principals.onLookup = metrics;
    }
  });

  it('requests in flight during a revocation leave nothing stale behind', async () => {
    const h: HospitalWithStaff = await f.hospitalWithStaff();
    // Many requests in flight while the session is revoked: whatever they answer, the next one is refused.
    const inFlight = Array.from({ length: 20 }, () => client1.get('/api/auth/me', { token: h.doctor.token }));
    await testDb()('sessions').where({ user_id: h.doctor.id }).update({ revoked_at: testDb().fn.now(), revoked_reason: 'logout' });
    await Promise.all(inFlight);
    // The NOTIFY is delivered after the commit: once every listener has handled it, every request is refused.
    await api1.deps.principals.sync(10_000);
    for (let i = 0; i < 5; i++) expect((await client1.get('/api/auth/me', { token: h.doctor.token })).status).to.equal(401);
  });
});
