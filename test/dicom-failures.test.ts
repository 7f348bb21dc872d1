import { expect } from 'chai';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OrthancClient } from '../common/orthanc.js';
import { erasePatient } from '../api/src/patients/erase.js';
import { gateService } from '../scripts/lib/gate.js';
import { orthancService } from '../scripts/lib/orthanc.js';
import { freePort } from '../scripts/lib/ports.js';
import type { StartedService } from '../scripts/lib/stack.js';
import { ApiClient } from './helpers/client.js';
import { testDb } from './helpers/db.js';
import { newUid, synthDicom, testOrthanc, upload } from './helpers/dicom.js';
import { fixtures, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { stopAfterTest } from './helpers/processes.js';
import { startTestApi, testConfig } from './helpers/server.js';
import { startProxy, type RunningProxy } from '../dicom-proxy/src/server.js';
import { createLogger } from '../common/logger.js';
import type { RunningApi } from '../api/src/server.js';

const tmpRoot = () => mkdtempSync(path.join(os.tmpdir(), 'extra-'));

/** Another Orthanc of our own (local directory or a given S3), with its own index database. */
async function extraOrthanc(
  name: string,
  storage: 'local' | 's3',
  env: Record<string, string> = {},
): Promise<{ service: StartedService; storageDir: string; client: OrthancClient; pid: () => number }> {
  const dir = tmpRoot();
  const storageDir = path.join(dir, 'dicom');
  const service = await orthancService({
    dataDir: path.join(dir, 'orthanc'),
    httpPort: await freePort(),
    stableAge: 1,
    storage,
    storageDir,
    indexDatabase: `${process.env.DB_NAME}_orthanc_${name}`,
  }).start({ ...(process.env as Record<string, string>), ...env });
  const client = new OrthancClient({
    url: service.env.ORTHANC_URL!,
    username: service.env.ORTHANC_USERNAME!,
    password: service.env.ORTHANC_PASSWORD!,
  });
  return { service, storageDir, client, pid: () => Number(readFileSync(path.join(dir, 'orthanc', 'orthanc.pid'), 'utf8')) };
}

function apiFor(service: StartedService, extra: Record<string, string> = {}): Promise<RunningApi> {
  return startTestApi({
    ORTHANC_URL: service.env.ORTHANC_URL!,
    ORTHANC_USERNAME: service.env.ORTHANC_USERNAME!,
    ORTHANC_PASSWORD: service.env.ORTHANC_PASSWORD!,
    ...extra,
  });
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(path.join(dir, f)).isFile());
}

describe('imaging store: storage back-ends and failures', function () {
  this.timeout(120_000);
  let f: Fixtures;
  let h: HospitalWithStaff;
  let patient: Actor & { identifier: string };
  before(async () => {
    f = await fixtures();
    h = await f.hospitalWithStaff();
    patient = await f.patient(h.secretary, [h.doctor.id]);
  });

  describe('local directory storage, and Orthanc stopping mid-upload', () => {
    let local: Awaited<ReturnType<typeof extraOrthanc>>;
    let api: RunningApi;
    before(async () => {
      local = await extraOrthanc('local', 'local');
      // Local storage: no S3 settings for this API either.
      api = await apiFor(local.service, { MINIO_ENDPOINT: '', MINIO_ACCESS_KEY: '', MINIO_SECRET_KEY: '' });
    });
    after(async () => {
      await api?.stop();
      await local?.service.stop();
    });

    it('stores each instance once, at the per-patient path in the directory', async () => {
      const studyUid = newUid();
      const seriesUid = newUid();
      const sop = newUid();
      const res = await upload(api.url, h.doctor.token, patient.id, [
        { name: 'a.dcm', data: synthDicom({ patientId: 'CD-1', studyUid, seriesUid, sopUid: sop }) },
      ]);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      const key = `patients/${patient.identifier}/studies/${studyUid}/series/${seriesUid}/${sop}.dcm`;
      expect(filesUnder(local.storageDir)).to.deep.equal([key]);
      const fromOrthanc = Buffer.from(await (await local.client.fetch(`/instances/${res.body.stored[0].instanceId}/file`)).arrayBuffer());
      expect(readFileSync(path.join(local.storageDir, key)).equals(fromOrthanc)).to.equal(true);
      const presign = await new ApiClient(api.url).get(`/api/dicom/studies/${res.body.studies[0].id}/presigned-urls`, {
        token: h.doctor.token,
      });
      expect(presign.status).to.equal(409);
      expect(presign.body.error.code).to.equal('S3_NOT_CONFIGURED');
    });

    it('an erasure leaves no folder named by the patient’s identifier or its UIDs; another patient’s folders stay', async () => {
      const [gone, kept] = [await f.patient(h.secretary, [h.doctor.id]), await f.patient(h.secretary, [h.doctor.id])];
      for (const p of [gone, kept]) {
        const res = await upload(
          api.url,
          h.doctor.token,
          p.id,
          [0, 1].map((i) => ({ name: `${i}.dcm`, data: synthDicom({ patientId: 'ER', studyUid: newUid(), seriesUid: newUid() }) })),
        );
        expect(res.status).to.equal(201);
      }
      expect(existsSync(path.join(local.storageDir, 'patients', gone.identifier))).to.equal(true);
      const report = await erasePatient(testDb(), local.client, gone.id, gone.identifier, {
        requestId: 'test',
        ip: '127.0.0.1',
        userAgent: null,
      });
      expect(report.objectsLeft).to.equal(0);
      expect(existsSync(path.join(local.storageDir, 'patients', gone.identifier)), 'the identifier’s folder').to.equal(false);
      expect(filesUnder(path.join(local.storageDir, 'patients', kept.identifier))).to.have.length(2);
    });

    it('answers 503 when Orthanc stops during an upload, and indexes nothing half-way', async () => {
      const [study1, study2] = [newUid(), newUid()];
      const sop1 = newUid();
      const file1 = synthDicom({ patientId: 'CD-2', studyUid: study1, seriesUid: newUid(), sopUid: sop1 });
      const file2 = synthDicom({ patientId: 'CD-2', studyUid: study2, seriesUid: newUid() });
      const boundary = '----mediconnect-test';
      const partHeader = (name: string) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${name}"\r\nContent-Type: application/dicom\r\n\r\n`;
      const url = new URL('/api/dicom/studies/upload_dicom/', api.url);
      const response = new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = http.request(
          url,
          {
            method: 'POST',
            headers: { authorization: `Bearer ${h.doctor.token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
          },
          (res) => {
            let text = '';
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        req.write(`--${boundary}\r\nContent-Disposition: form-data; name="patientId"\r\n\r\n${patient.id}\r\n`);
        // The next part's header ends the first file for the parser.
        req.write(Buffer.concat([Buffer.from(partHeader('first.dcm')), file1, Buffer.from(`\r\n${partHeader('second.dcm')}`)]));
        // Wait until Orthanc holds the first file, stop Orthanc, then send the second.
        const poll = setInterval(async () => {
          const found = await local.client
            .fetch(`/tools/lookup`, { method: 'POST', body: sop1 })
            .then((r) => r.json())
            .catch(() => []);
          if (found.length > 0) {
            clearInterval(poll);
            await local.service.stop();
            req.write(file2);
            req.end(`\r\n--${boundary}--\r\n`);
          }
        }, 100);
      });
      const res = await response;
      expect(res.status).to.equal(503);
      expect(res.body.error.code).to.equal('IMAGING_UNAVAILABLE');
      expect(await testDb()('dicom_studies').where({ study_instance_uid: study2 })).to.deep.equal([]);
      const indexed = await testDb()('dicom_studies').where({ study_instance_uid: study1 });
      expect(indexed).to.have.length.lessThanOrEqual(1);
      expect(filesUnder(local.storageDir).some((k) => k.includes(study2))).to.equal(false);
    });

    it('answers 503 for reads and deletes while Orthanc is down, changing nothing', async () => {
      const study = await testDb()('dicom_studies').where({ patient_id: patient.id }).first();
      const client = new ApiClient(api.url);
      expect((await client.delete(`/api/dicom/studies/${study.id}`, { token: h.doctor.token })).status).to.equal(503);
      expect(await testDb()('dicom_studies').where({ id: study.id }).first()).to.not.equal(undefined);
      const download = await fetch(`${api.url}/api/dicom/studies/${study.id}/download`, {
        headers: { authorization: `Bearer ${h.doctor.token}` },
      });
      expect(download.status).to.equal(503);
    });
  });

  describe('a frozen Orthanc (SIGSTOP): every call has a timeout (ORTHANC_TIMEOUT_SECONDS)', () => {
    let frozen: Awaited<ReturnType<typeof extraOrthanc>>;
    let api: RunningApi;
    let proxy: RunningProxy;
    const ids = { study: '', studyUid: newUid(), seriesUid: newUid(), sopUid: newUid() };
    const timeout = { ORTHANC_TIMEOUT_SECONDS: '2', MINIO_ENDPOINT: '', MINIO_ACCESS_KEY: '', MINIO_SECRET_KEY: '' };
    before(async () => {
      frozen = await extraOrthanc('frozen', 'local');
      api = await apiFor(frozen.service, timeout);
      const port = await freePort();
      const orthanc = {
        ORTHANC_URL: frozen.service.env.ORTHANC_URL!,
        ORTHANC_USERNAME: frozen.service.env.ORTHANC_USERNAME!,
        ORTHANC_PASSWORD: frozen.service.env.ORTHANC_PASSWORD!,
      };
      proxy = await startProxy(testConfig({ ...orthanc, ...timeout, DICOM_WEB_URL: `http://127.0.0.1:${port}/dicom-web` }), {
        port,
        logger: createLogger('silent', 'frozen-proxy'),
      });
      const res = await upload(api.url, h.doctor.token, patient.id, [
        { name: 'before.dcm', data: synthDicom({ patientId: 'FZ', studyUid: ids.studyUid, seriesUid: ids.seriesUid, sopUid: ids.sopUid }) },
      ]);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      ids.study = res.body.studies[0].id;
    });
    after(async () => {
      // A stopped process ignores SIGTERM until continued: resumed first, whatever the tests did.
      if (frozen) process.kill(frozen.pid(), 'SIGCONT');
      await proxy?.stop();
      await api?.stop();
      await frozen?.service.stop();
    });

    it('uploads, image reads, queries, downloads and deletes answer 503 IMAGING_UNAVAILABLE instead of hanging; after it resumes, the same upload succeeds', async () => {
      process.kill(frozen.pid(), 'SIGSTOP');
      stopAfterTest(() => void process.kill(frozen.pid(), 'SIGCONT'));
      // A small file: sent whole, then no answer. A large one (8 MB): Orthanc stops taking its bytes.
      const small = { name: 'small.dcm', data: synthDicom({ patientId: 'FZ', studyUid: newUid(), seriesUid: newUid() }) };
      const large = {
        name: 'large.dcm',
        data: synthDicom({ patientId: 'FZ', studyUid: newUid(), seriesUid: newUid(), rows: 2048, columns: 2048 }),
      };
      expect(large.data.length).to.be.greaterThan(8_000_000);
      for (const file of [small, large]) {
        const res = await upload(api.url, h.doctor.token, patient.id, [file]);
        expect([res.status, res.body.error?.code, res.body.error?.details], file.name).to.deep.equal([
          503,
          'IMAGING_UNAVAILABLE',
          { stored: [] },
        ]);
      }
      const viaProxy = (p: string, accept: string) =>
        fetch(`${proxy.url}/dicom-web${p}`, { headers: { authorization: `Bearer ${h.doctor.token}`, accept } });
      const frame = await viaProxy(
        `/studies/${ids.studyUid}/series/${ids.seriesUid}/instances/${ids.sopUid}/frames/1`,
        'multipart/related; type="application/octet-stream"; transfer-syntax=*',
      );
      expect([frame.status, ((await frame.json()) as { error: { code: string } }).error.code]).to.deep.equal([503, 'IMAGING_UNAVAILABLE']);
      const qido = await viaProxy(`/studies/${ids.studyUid}/series`, 'application/dicom+json');
      expect([qido.status, ((await qido.json()) as { error: { code: string } }).error.code]).to.deep.equal([503, 'IMAGING_UNAVAILABLE']);
      const download = await fetch(`${api.url}/api/dicom/studies/${ids.study}/download`, {
        headers: { authorization: `Bearer ${h.doctor.token}` },
      });
      expect([download.status, ((await download.json()) as { error: { code: string } }).error.code]).to.deep.equal([
        503,
        'IMAGING_UNAVAILABLE',
      ]);
      const removal = await new ApiClient(api.url).delete(`/api/dicom/studies/${ids.study}`, { token: h.doctor.token });
      expect([removal.status, removal.body.error.code]).to.deep.equal([503, 'IMAGING_UNAVAILABLE']);
      expect(await testDb()('dicom_studies').where({ id: ids.study }).first()).to.not.equal(undefined);

      process.kill(frozen.pid(), 'SIGCONT');
      // Resumed: the same files again (the small one may have been stored meanwhile: Orthanc read it before it froze).
      const retry = await upload(api.url, h.doctor.token, patient.id, [small, large]);
      expect(retry.status, JSON.stringify(retry.body)).to.equal(201);
      expect(retry.body.stored.map((s: { file: string }) => s.file)).to.deep.equal(['small.dcm', 'large.dcm']);
    });
  });

  it('registered devices are still accepted after Orthanc and the device gate stop and start again: the gate reads the registry from the database', async () => {
    const dir = tmpRoot();
    const options = {
      dataDir: path.join(dir, 'orthanc'),
      httpPort: await freePort(),
      stableAge: 1,
      storage: 'local' as const,
      storageDir: path.join(dir, 'dicom'),
      indexDatabase: `${process.env.DB_NAME}_orthanc_restart`,
      password: randomUUID(),
    };
    const localStorage = { MINIO_ENDPOINT: '', MINIO_ACCESS_KEY: '', MINIO_SECRET_KEY: '' };
    let service = await orthancService(options).start({ ...(process.env as Record<string, string>), ...localStorage });
    stopAfterTest(() => service.stop());
    const gate = gateService({
      port: await freePort(),
      baseEnv: { ...(process.env as Record<string, string>), ...localStorage },
      logFile: path.join(dir, 'gate.log'),
    });
    let gateRun = await gate.start(service.env);
    stopAfterTest(() => gateRun.stop());
    const aeTitle = `RS${randomUUID().slice(0, 8).toUpperCase()}`;
    const registered = await new ApiClient((await f.api.baseUrl) as string).post('/api/modalities', {
      token: h.admin.token,
      body: { aeTitle, host: '127.0.0.1', port: 104 },
    });
    expect(registered.status, JSON.stringify(registered.body)).to.equal(201);
    const client = () =>
      new OrthancClient({
        url: service.env.ORTHANC_URL!,
        username: service.env.ORTHANC_USERNAME!,
        password: service.env.ORTHANC_PASSWORD!,
      });
    const push = () => {
      const file = path.join(dir, `${randomUUID()}.dcm`);
      writeFileSync(file, synthDicom({ patientId: patient.identifier, studyUid: newUid(), seriesUid: newUid() }));
      return spawnSync('storescu', ['-aet', aeTitle, '-aec', 'MEDICONNECT', '127.0.0.1', gateRun.env.DICOM_PORT!, file], {
        encoding: 'utf8',
      });
    };
    const instances = async () => ((await (await client().fetch('/statistics')).json()) as { CountInstances: number }).CountInstances;
    const first = push();
    expect(first.status, first.stderr).to.equal(0);
    expect(await instances()).to.equal(1);
    // Both stop and start again (as the supervisor restarts them after a crash); the API goes on untouched.
    await gateRun.stop();
    await service.stop();
    service = await orthancService(options).start({ ...(process.env as Record<string, string>), ...localStorage });
    gateRun = await gate.start(service.env);
    const second = push();
    expect(second.status, second.stderr).to.equal(0);
    expect(await instances()).to.equal(2);
  });

  it('answers 503 when the S3 storage is unreachable, and stores nothing', async () => {
    const dead = await extraOrthanc('deads3', 's3', {
      MINIO_ENDPOINT: `127.0.0.1:${await freePort()}`,
      MINIO_ACCESS_KEY: 'x',
      MINIO_SECRET_KEY: 'y',
      MEDICONNECT_S3_MAX_ATTEMPTS: '1',
    });
    stopAfterTest(() => dead.service.stop());
    const api = await apiFor(dead.service);
    stopAfterTest(() => api.stop());
    const studyUid = newUid();
    const res = await upload(api.url, h.doctor.token, patient.id, [
      { name: 'a.dcm', data: synthDicom({ patientId: 'CD-3', studyUid, seriesUid: newUid() }) },
    ]);
    expect(res.status).to.equal(503);
    expect(res.body.error.code).to.equal('IMAGING_UNAVAILABLE');
    expect((await (await dead.client.fetch('/statistics')).json()).CountInstances).to.equal(0);
    expect(await testDb()('dicom_studies').where({ study_instance_uid: studyUid })).to.deep.equal([]);
  });

  it('an upload cut off halfway keeps the complete files only', async () => {
    const api = (await f.api.baseUrl) as string;
    const sop1 = newUid();
    const study2 = newUid();
    const file1 = synthDicom({ patientId: 'CD-4', studyUid: newUid(), seriesUid: newUid(), sopUid: sop1 });
    const file2 = synthDicom({ patientId: 'CD-4', studyUid: study2, seriesUid: newUid(), rows: 256, columns: 256 });
    const boundary = '----cut-off';
    const req = http.request(new URL('/api/dicom/studies/upload_dicom/', api), {
      method: 'POST',
      headers: { authorization: `Bearer ${h.doctor.token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    req.on('error', () => undefined);
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="patientId"\r\n\r\n${patient.id}\r\n`);
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="one.dcm"\r\n\r\n`);
    req.write(file1);
    req.write(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="two.dcm"\r\n\r\n`);
    req.write(file2.subarray(0, file2.length / 2));
    const orthanc = testOrthanc();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await (await orthanc.fetch('/tools/lookup', { method: 'POST', body: sop1 })).json()).length === 0) {
      await new Promise((r) => setTimeout(r, 100));
    }
    req.destroy();
    await new Promise((r) => setTimeout(r, 1000));
    expect((await (await orthanc.fetch('/tools/lookup', { method: 'POST', body: sop1 })).json()).length).to.equal(1);
    const studies = await (
      await orthanc.fetch('/tools/find', { method: 'POST', body: JSON.stringify({ Level: 'Study', Query: { StudyInstanceUID: study2 } }) })
    ).json();
    expect(studies).to.deep.equal([]);
    expect(await testDb()('dicom_studies').where({ study_instance_uid: study2 })).to.deep.equal([]);
    expect((await new ApiClient(api).get('/readyz')).status).to.equal(200);
  });
});
