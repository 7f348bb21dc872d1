import { expect } from 'chai';
import { createLogger } from '../common/logger.js';
import { startProxy, type RunningProxy } from '../dicom-proxy/src/server.js';
import { freePort } from '../scripts/lib/ports.js';
import { testDb } from './helpers/db.js';
import { newUid, synthDicom, upload } from './helpers/dicom.js';
import { fixtures, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { startTestApi, startTestProxy, testConfig } from './helpers/server.js';
import { ApiClient } from './helpers/client.js';
import { stopAfterTest } from './helpers/processes.js';
import { randomBytes } from 'node:crypto';

describe('viewer sessions', () => {
  let f: Fixtures;
  let api: ApiClient;
  let proxy: RunningProxy;
  let base: string;
  let h: HospitalWithStaff;
  let other: HospitalWithStaff;
  let patient: Actor & { identifier: string };
  const studies: { id: string; uid: string }[] = [];

  before(async () => {
    f = await fixtures();
    api = f.api;
    ({ proxy, base } = await startTestProxy());
    [h, other] = [await f.hospitalWithStaff(), await f.hospitalWithStaff()];
    patient = await f.patient(h.secretary, [h.doctor.id]);
    for (let i = 0; i < 5; i++) {
      const uid = newUid();
      const res = await upload(api.baseUrl, h.doctor.token, patient.id, [
        { name: `${i}.dcm`, data: synthDicom({ patientId: 'V', studyUid: uid, seriesUid: newUid() }) },
      ]);
      studies.push({ id: res.body.studies[0].id, uid });
    }
  });
  after(async () => proxy?.stop());

  const viaProxy = (token: string, path: string, asQuery = false) =>
    fetch(`${base}${path}${asQuery ? `${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : ''}`, {
      headers: { accept: 'application/dicom+json', ...(asQuery ? {} : { authorization: `Bearer ${token}` }) },
    });

  it('opens one study only, through the proxy, by header or ?token=', async () => {
    const res = await api.post(`/api/dicom/studies/${studies[0]!.id}/viewer-sessions`, { token: h.doctor.token });
    expect(res.status).to.equal(201);
    expect(res.body.token).to.match(/^vs_/);
    expect(res.body.viewerUrl).to.include(`StudyInstanceUIDs=${studies[0]!.uid}`);
    expect(res.body.dicomWebUrl).to.equal(testConfig().proxy.publicUrl);
    const token = res.body.token as string;
    expect((await viaProxy(token, `/studies/${studies[0]!.uid}/metadata`)).status).to.equal(200);
    expect((await viaProxy(token, `/studies/${studies[0]!.uid}/metadata`, true)).status).to.equal(200);
    const qido = (await (await viaProxy(token, '/studies')).json()) as Record<string, { Value: string[] }>[];
    expect(qido.map((s) => s['0020000D']!.Value[0])).to.deep.equal([studies[0]!.uid]);
    // The same patient's other study stays closed to this token.
    expect((await viaProxy(token, `/studies/${studies[1]!.uid}/metadata`)).status).to.equal(404);
    expect(await (await viaProxy(token, `/studies?StudyInstanceUID=${studies[1]!.uid}`)).json()).to.deep.equal([]);
    await api.delete(`/api/viewer-sessions/${res.body.id}`, { token: h.doctor.token });
  });

  it('rotating SECRET_KEY ends every session derived from it: refresh tokens, viewer sessions, share links (issue 22)', async () => {
    const login = await api.post('/api/auth/login', { body: { email: h.doctor.email, password: h.doctor.password } });
    const { accessToken, refreshToken } = login.body as { accessToken: string; refreshToken: string };
    const opened = (await api.post(`/api/dicom/studies/${studies[3]!.id}/viewer-sessions`, { token: accessToken })).body as {
      id: string;
      token: string;
    };
    const viewer = opened.token;
    // The limit test below counts this doctor's live sessions.
    stopAfterTest(async () => void (await api.delete(`/api/viewer-sessions/${opened.id}`, { token: accessToken })));
    const share = (await api.post(`/api/dicom/studies/${studies[3]!.id}/shares`, { token: accessToken, body: {} })).body.token as string;
    const metadata = `/studies/${studies[3]!.uid}/metadata`;
    // The deployment restarted with a new key: an API and a proxy of their own on the same database.
    const secret = { SECRET_KEY: randomBytes(48).toString('base64url') };
    const rotatedApi = await startTestApi(secret);
    stopAfterTest(() => rotatedApi.stop());
    const port = await freePort();
    const rotatedBase = `http://127.0.0.1:${port}/dicom-web`;
    const rotatedProxy = await startProxy(testConfig({ ...secret, DICOM_WEB_URL: rotatedBase }), {
      port,
      logger: createLogger('silent', 'rotated-proxy'),
    });
    stopAfterTest(() => rotatedProxy.stop());
    const rotated = new ApiClient(rotatedApi.url);
    const refreshed = await rotated.post('/api/auth/refresh', { body: { refreshToken } });
    expect([refreshed.status, refreshed.body.error?.code]).to.deep.equal([401, 'INVALID_REFRESH_TOKEN']);
    expect((await rotated.get('/api/auth/me', { token: accessToken })).status).to.equal(401);
    const through = async (token: string) => {
      const res = await fetch(`${rotatedBase}${metadata}`, {
        headers: { accept: 'application/dicom+json', authorization: `Bearer ${token}` },
      });
      return [res.status, ((await res.json()) as { error?: { code: string } }).error?.code];
    };
    expect(await through(viewer)).to.deep.equal([401, 'VIEWER_SESSION_INVALID']);
    expect(await through(share)).to.deep.equal([401, 'SHARE_INVALID']);
    expect(await through(accessToken)).to.deep.equal([401, 'INVALID_TOKEN']);
    // The same tokens under the key that issued them still work: what ended them is the key, nothing else.
    expect((await viaProxy(viewer, metadata)).status).to.equal(200);
    expect((await viaProxy(share, metadata)).status).to.equal(200);
    expect((await api.post('/api/auth/refresh', { body: { refreshToken } })).status).to.equal(200);
  });

  it('the patient opens its own studies; others get 404', async () => {
    const mine = await api.get(`/api/dicom/studies/${studies[1]!.id}/viewer_url/`, { token: patient.token });
    expect(mine.status).to.equal(200);
    expect((await viaProxy(mine.body.token, `/studies/${studies[1]!.uid}/metadata`)).status).to.equal(200);
    for (const who of [other.doctor, h.secretary, h.admin]) {
      expect((await api.post(`/api/dicom/studies/${studies[1]!.id}/viewer-sessions`, { token: who.token })).status, who.role).to.equal(404);
    }
    await api.delete(`/api/viewer-sessions/${mine.body.id}`, { token: patient.token });
  });

  it('limits live sessions per user; reopening a study replaces its session; ending one frees a place', async () => {
    const doc = h.doctor;
    const opened = [];
    for (const s of studies.slice(0, 3))
      opened.push((await api.post(`/api/dicom/studies/${s.id}/viewer-sessions`, { token: doc.token })).body);
    const fourth = await api.post(`/api/dicom/studies/${studies[3]!.id}/viewer-sessions`, { token: doc.token });
    expect(fourth.status).to.equal(409);
    expect(fourth.body.error.code).to.equal('TOO_MANY_VIEWER_SESSIONS');
    const again = await api.post(`/api/dicom/studies/${studies[0]!.id}/viewer-sessions`, { token: doc.token });
    expect(again.status).to.equal(201);
    expect((await viaProxy(opened[0].token, `/studies/${studies[0]!.uid}/metadata`)).status).to.equal(401);
    expect((await api.get('/api/viewer-sessions', { token: doc.token })).body.items).to.have.length(3);
    expect((await api.delete(`/api/viewer-sessions/${opened[1].id}`, { token: patient.token })).status).to.equal(404);
    expect((await api.delete(`/api/viewer-sessions/${opened[1].id}`, { token: doc.token })).status).to.equal(204);
    expect((await viaProxy(opened[1].token, `/studies/${studies[1]!.uid}/metadata`)).status).to.equal(401);
    expect((await api.post(`/api/dicom/studies/${studies[3]!.id}/viewer-sessions`, { token: doc.token })).status).to.equal(201);
    for (const s of (await api.get('/api/viewer-sessions', { token: doc.token })).body.items)
      await api.delete(`/api/viewer-sessions/${s.id}`, { token: doc.token });
  });

  it('expired sessions and deactivated owners are refused by the proxy', async () => {
    const res = await api.post(`/api/dicom/studies/${studies[4]!.id}/viewer-sessions`, { token: h.doctor.token });
    await testDb()('viewer_sessions')
      .where({ id: res.body.id })
      .update({ expires_at: new Date(Date.now() - 1000) });
    expect((await viaProxy(res.body.token, `/studies/${studies[4]!.uid}/metadata`)).status).to.equal(401);
    const doctor2 = await f.activate((await f.account('doctor', h.hospital.id, h.admin.token)).email);
    await api.post(`/api/patients/${patient.id}/doctors`, { token: h.secretary.token, body: { doctorId: doctor2.id } });
    const s2 = await api.post(`/api/dicom/studies/${studies[4]!.id}/viewer-sessions`, { token: doctor2.token });
    expect((await viaProxy(s2.body.token, `/studies/${studies[4]!.uid}/metadata`)).status).to.equal(200);
    await api.patch(`/api/doctors/${doctor2.id}`, { token: h.admin.token, body: { isActive: false } });
    expect((await viaProxy(s2.body.token, `/studies/${studies[4]!.uid}/metadata`)).status).to.equal(401);
  });
});
