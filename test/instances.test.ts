import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '../common/logger.js';
import type { RunningApi } from '../api/src/server.js';
import { startProxy, type RunningProxy } from '../dicom-proxy/src/server.js';
import { orthancService } from '../scripts/lib/orthanc.js';
import { freePort } from '../scripts/lib/ports.js';
import type { StartedService } from '../scripts/lib/stack.js';
import { ApiClient } from './helpers/client.js';
import { newUid, synthDicom, upload } from './helpers/dicom.js';
import { fixtures, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { sharedDicomProxy, startTestApi, testConfig } from './helpers/server.js';

const FRAME = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';

/** The frame bytes of a single-part multipart answer (boundaries differ between answers, frames must not). */
const framePayload = (buf: Buffer) => buf.subarray(buf.indexOf('\r\n\r\n') + 4, buf.lastIndexOf('\r\n--'));

describe('several instances: two APIs, two proxies, two Orthancs on one database, index and object store (issue 11)', function () {
  this.timeout(180_000);
  let f: Fixtures;
  let h: HospitalWithStaff;
  let patient: Actor & { identifier: string };
  let orthanc2: StartedService;
  let api2: RunningApi;
  let proxy1: RunningProxy;
  let proxy2: RunningProxy;

  before(async () => {
    f = await fixtures();
    h = await f.hospitalWithStaff();
    patient = await f.patient(h.secretary, [h.doctor.id]);
    const dir = mkdtempSync(path.join(process.env.MEDICONNECT_TEST_TMP!, 'orthanc2-'));
    // The second Orthanc shares the first's PostgreSQL index (default `<DB_NAME>_orthanc`) and its bucket.
    orthanc2 = await orthancService({
      dataDir: path.join(dir, 'orthanc'),
      httpPort: await freePort(),
      stableAge: 1,
      storage: 's3',
      storageDir: path.join(dir, 'unused'),
    }).start(process.env as Record<string, string>);
    const viaOrthanc2 = {
      ORTHANC_URL: orthanc2.env.ORTHANC_URL!,
      ORTHANC_USERNAME: orthanc2.env.ORTHANC_USERNAME!,
      ORTHANC_PASSWORD: orthanc2.env.ORTHANC_PASSWORD!,
    };
    const port2 = await freePort();
    proxy2 = await startProxy(testConfig({ ...viaOrthanc2, DICOM_WEB_URL: `http://127.0.0.1:${port2}/dicom-web` }), {
      port: port2,
      logger: createLogger('silent', 'proxy-2'),
    });
    api2 = await startTestApi({ ...viaOrthanc2, DICOM_PROXY_INTERNAL_URL: proxy2.url, SCHEDULER_ENABLED: 'false' });
    proxy1 = await sharedDicomProxy();
  });
  after(async () => {
    await api2?.stop();
    await proxy2?.stop();
    await orthanc2?.stop();
  });

  /** Uploads a 2-slice study through one API; returns its UIDs. */
  async function uploadThrough(apiUrl: string) {
    const s = { uid: newUid(), series: newUid(), sops: [newUid(), newUid()] };
    const files = s.sops.map((sopUid, i) => ({
      name: `${i}.dcm`,
      data: synthDicom({ patientId: 'I', studyUid: s.uid, seriesUid: s.series, sopUid, instanceNumber: i + 1, rows: 32, columns: 32 }),
    }));
    const res = await upload(apiUrl, h.doctor.token, patient.id, files);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return { ...s, id: res.body.studies[0].id as string };
  }

  async function frameThrough(proxy: RunningProxy, s: { uid: string; series: string }, sop: string): Promise<Buffer> {
    const res = await fetch(`${proxy.url}/dicom-web/studies/${s.uid}/series/${s.series}/instances/${sop}/frames/1`, {
      headers: { authorization: `Bearer ${h.doctor.token}`, accept: FRAME },
    });
    expect(res.status).to.equal(200);
    return framePayload(Buffer.from(await res.arrayBuffer()));
  }

  it('an upload through one API and Orthanc is listed and read, byte for byte, through the other', async () => {
    const one = await uploadThrough(f.api.baseUrl);
    const two = await uploadThrough(api2.url);
    for (const s of [one, two]) {
      for (const api of [f.api.baseUrl, api2.url]) {
        expect((await new ApiClient(api).get(`/api/dicom/studies/${s.id}`, { token: h.doctor.token })).body).to.include({
          studyInstanceUid: s.uid,
          numberOfInstances: 2,
        });
      }
      for (const sop of s.sops) {
        const [a, b] = [await frameThrough(proxy1, s, sop), await frameThrough(proxy2, s, sop)];
        expect(a.length).to.equal(32 * 32 * 2);
        expect(a.equals(b)).to.equal(true);
      }
    }
  });

  it('the viewer-session limit holds across API processes', async () => {
    const s = await uploadThrough(f.api.baseUrl);
    const max = testConfig().viewer.maxSessions;
    const doctor = await f.login(h.doctor.email, h.doctor.password);
    // Sessions on distinct studies, alternating between the two APIs.
    const studies = [s.id, ...(await Promise.all(Array.from({ length: max }, () => uploadThrough(f.api.baseUrl)))).map((x) => x.id)];
    const apis = [new ApiClient(f.api.baseUrl), new ApiClient(api2.url)];
    for (let i = 0; i < max; i++)
      expect((await apis[i % 2]!.post(`/api/dicom/studies/${studies[i]}/viewer-sessions`, { token: doctor.token })).status).to.equal(201);
    const over = await apis[max % 2]!.post(`/api/dicom/studies/${studies[max]}/viewer-sessions`, { token: doctor.token });
    expect(over.status).to.equal(409);
    expect(over.body.error.code).to.equal('TOO_MANY_VIEWER_SESSIONS');
  });
});
