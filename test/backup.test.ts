import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { objectStore } from '../scripts/lib/object-store.js';
import path from 'node:path';
import { createLogger } from '../common/logger.js';
import { startProxy } from '../dicom-proxy/src/server.js';
import { backup, locationFromEnv, restore, type DataLocation } from '../scripts/lib/backup.js';
import { orthancService } from '../scripts/lib/orthanc.js';
import { stopAfterTest } from './helpers/processes.js';
import { freePort } from '../scripts/lib/ports.js';
import { ApiClient } from './helpers/client.js';
import { newUid, synthDicom, testOrthanc, upload } from './helpers/dicom.js';
import { fixtures, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { startTestApi, testConfig } from './helpers/server.js';

describe('backup and restore (issue 11)', function () {
  this.timeout(300_000);
  let f: Fixtures;
  let h: HospitalWithStaff;
  let patient: Actor & { identifier: string };
  const study = { uid: newUid(), series: newUid(), sops: [newUid(), newUid()], id: '' };
  let entryId: string;

  before(async () => {
    f = await fixtures();
    h = await f.hospitalWithStaff();
    patient = await f.patient(h.secretary, [h.doctor.id]);
    const entry = await f.api.post('/api/medical-records', {
      token: h.doctor.token,
      body: { patientId: patient.id, type: 'allergy', title: 'Penicillin', content: 'Rash in 2019' },
    });
    entryId = entry.body.id;
    const files = study.sops.map((sopUid, i) => ({
      name: `${i}.dcm`,
      data: synthDicom({
        patientId: 'B',
        studyUid: study.uid,
        seriesUid: study.series,
        sopUid,
        instanceNumber: i + 1,
        rows: 64,
        columns: 64,
      }),
    }));
    const res = await upload(f.api.baseUrl, h.doctor.token, patient.id, files);
    expect(res.status).to.equal(201);
    study.id = res.body.studies[0].id;
  });

  it('an encrypted backup (--encrypt) holds nothing in clear, refuses a wrong passphrase or a changed file before touching anything, and restores whole', async () => {
    const dir = mkdtempSync(path.join(process.env.MEDICONNECT_TEST_TMP!, 'sealed-'));
    const from = locationFromEnv(process.env);
    const passphrase = 'correct horse battery staple';
    const manifest = await backup(from, dir, { passphrase });
    expect(manifest.encryption).to.include({ cipher: 'aes-256-gcm', kdf: 'scrypt' });
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => statSync(path.join(dir, f)).isFile())
      .sort();
    expect(files.filter((f) => !f.startsWith('objects/'))).to.deep.equal([
      'clinical.dump.enc',
      'manifest.json',
      'objects.index.enc',
      'orthanc-index.dump.enc',
    ]);
    // Object files are named by a hash: their keys name the patient and the UIDs.
    expect(files.filter((f) => f.startsWith('objects/')).every((f) => /^objects\/[0-9a-f]{64}$/.test(f))).to.equal(true);
    expect(files.filter((f) => f.startsWith('objects/')).length).to.equal(manifest.objects);
    for (const file of files) {
      const bytes = readFileSync(path.join(dir, file));
      for (const clear of ['PGDMP', 'DICM', patient.identifier, study.uid, 'Penicillin'])
        expect(bytes.includes(clear), `${clear} in ${file}`).to.equal(false);
    }
    const suffix = randomUUID().slice(0, 8);
    const database = `${process.env.DB_NAME}_sealed_${suffix}`;
    const to: DataLocation = {
      db: { ...from.db, database },
      storage:
        's3' in from.storage ? { s3: { ...from.storage.s3, bucket: `sealed-${suffix}` } } : { directory: path.join(dir, 'restored') },
    };
    const exists = async () => {
      const admin = new pg.Client({ ...from.db, database: 'postgres' });
      await admin.connect();
      try {
        return (await admin.query('select 1 from pg_database where datname = $1', [database])).rowCount === 1;
      } finally {
        await admin.end();
      }
    };
    const refusal = (options: Parameters<typeof restore>[2]) =>
      restore(dir, to, options).then(
        () => null,
        (err: Error) => err,
      );
    expect((await refusal({}))?.message).to.match(/encrypted: set BACKUP_PASSPHRASE/);
    expect((await refusal({ passphrase: 'not the passphrase' }))?.message).to.match(/not the one this backup was encrypted with/);
    // One byte changed in the middle of the clinical dump: refused, nothing created.
    const dumpFile = path.join(dir, 'clinical.dump.enc');
    const dump = readFileSync(dumpFile);
    dump[Math.floor(dump.length / 2)]! ^= 1;
    writeFileSync(dumpFile, dump);
    expect((await refusal({ passphrase }))?.name).to.equal('RestoreRefused');
    expect(await exists(), 'a database created by a refused restore').to.equal(false);
    dump[Math.floor(dump.length / 2)]! ^= 1;
    writeFileSync(dumpFile, dump);

    await restore(dir, to, { passphrase });
    const restored = new pg.Client({ ...from.db, database });
    await restored.connect();
    try {
      expect((await restored.query('select patient_id from medical_record_entries where id = $1', [entryId])).rows).to.deep.equal([
        { patient_id: patient.id },
      ]);
      expect(
        (await restored.query('select number_of_instances from dicom_studies where study_instance_uid = $1', [study.uid])).rows,
      ).to.deep.equal([{ number_of_instances: 2 }]);
    } finally {
      await restored.end();
    }
    // Every object, byte for byte.
    const [source, target] = [objectStore(from.storage), objectStore(to.storage)];
    for await (const page of source.list(100)) {
      for (const o of page.filter((o) => o.key.includes(study.uid)))
        expect((await target.get(o.key))?.equals((await source.get(o.key))!), o.key).to.equal(true);
    }
  });

  it('backs up the databases and the images, restores them into a fresh database, bucket and Orthanc: accounts, links, records and images are back and viewable', async () => {
    const dir = mkdtempSync(path.join(process.env.MEDICONNECT_TEST_TMP!, 'backup-'));
    const from = locationFromEnv(process.env);
    const manifest = await backup(from, dir);
    expect(manifest.missing).to.deep.equal([]);
    expect(manifest.objects).to.be.at.least(2);
    // Patient names and images: the owner alone reads them (folders 0700, files 0600), dumps included.
    const modes = [dir, ...readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f))].map(
      (f) => [f, statSync(f).mode & 0o777] as const,
    );
    expect(
      modes.filter(([, m]) => m & 0o077),
      'group- or world-accessible',
    ).to.deep.equal([]);
    expect(modes.some(([f]) => f.endsWith('clinical.dump'))).to.equal(true);

    // A fresh installation: new databases (clinical and Orthanc index), a new bucket, a new Orthanc.
    const suffix = randomUUID().slice(0, 8);
    const database = `${process.env.DB_NAME}_restored_${suffix}`;
    const bucket = `restored-${suffix}`;
    const to: DataLocation = {
      db: { ...from.db, database },
      storage: 's3' in from.storage ? { s3: { ...from.storage.s3, bucket } } : { directory: path.join(dir, 'restored') },
    };
    await restore(dir, to);
    const env = { ...(process.env as Record<string, string>), DB_NAME: database, MINIO_BUCKET_NAME: bucket };
    const orthanc = await orthancService({
      dataDir: path.join(dir, 'orthanc'),
      httpPort: await freePort(),
      stableAge: 1,
      storage: 's3',
      storageDir: path.join(dir, 'unused'),
    }).start(env);
    stopAfterTest(() => orthanc.stop());
    const restoredEnv = {
      DB_NAME: database,
      MINIO_BUCKET_NAME: bucket,
      ORTHANC_URL: orthanc.env.ORTHANC_URL!,
      ORTHANC_USERNAME: orthanc.env.ORTHANC_USERNAME!,
      ORTHANC_PASSWORD: orthanc.env.ORTHANC_PASSWORD!,
    };
    const proxyPort = await freePort();
    const proxy = await startProxy(testConfig({ ...restoredEnv, DICOM_WEB_URL: `http://127.0.0.1:${proxyPort}/dicom-web` }), {
      port: proxyPort,
      logger: createLogger('silent', 'restored-proxy'),
    });
    stopAfterTest(() => proxy.stop());
    const api = await startTestApi({ ...restoredEnv, DICOM_PROXY_INTERNAL_URL: proxy.url, SCHEDULER_ENABLED: 'false' });
    stopAfterTest(() => api.stop());
    const client = new ApiClient(api.url);
    // Accounts (with their passwords), links and encrypted records.
    const doctor = await client.post('/api/auth/login', { body: { email: h.doctor.email, password: h.doctor.password } });
    expect(doctor.status).to.equal(200);
    const token = doctor.body.accessToken;
    const entry = await client.get(`/api/medical-records/${entryId}`, { token });
    expect(entry.body).to.include({ title: 'Penicillin', content: 'Rash in 2019', patientId: patient.id });
    const links = await client.get(`/api/patients/${patient.id}/doctors`, { token });
    expect(links.body.items.map((l: { doctorId: string }) => l.doctorId)).to.deep.equal([h.doctor.id]);
    expect((await client.get(`/api/dicom/studies/${study.id}`, { token })).body).to.include({
      studyInstanceUid: study.uid,
      numberOfInstances: 2,
    });
    // Images: every frame through the restored proxy equals the original Orthanc's, byte for byte.
    for (const sop of study.sops) {
      const framePath = `/studies/${study.uid}/series/${study.series}/instances/${sop}/frames/1`;
      const restored = await fetch(`${proxy.url}/dicom-web${framePath}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' },
      });
      expect(restored.status).to.equal(200);
      const original = await testOrthanc().fetch(`/dicom-web${framePath}`, {
        headers: { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*', 'accept-encoding': 'identity' },
      });
      const [a, b] = [Buffer.from(await restored.arrayBuffer()), Buffer.from(await original.arrayBuffer())];
      // The multipart boundaries differ; the frame bytes between them must not.
      const payload = (buf: Buffer) => buf.subarray(buf.indexOf('\r\n\r\n') + 4, buf.lastIndexOf('\r\n--'));
      expect(payload(a).length).to.equal(64 * 64 * 2);
      expect(payload(a).equals(payload(b))).to.equal(true);
    }
  });
});
