import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { RunningApi } from '../api/src/server.js';
import { loadDatabaseConfig } from '../common/config.js';
import { OrthancClient } from '../common/orthanc.js';
import { indexDb, locationFromEnv, type DataLocation } from '../scripts/lib/backup.js';
import { migrateAndSeed } from '../scripts/lib/migrate.js';
import { objectStore, type ObjectStore } from '../scripts/lib/object-store.js';
import { orthancService } from '../scripts/lib/orthanc.js';
import { freePort } from '../scripts/lib/ports.js';
import { repair } from '../scripts/lib/repair.js';
import type { StartedService } from '../scripts/lib/stack.js';
import { ApiClient } from './helpers/client.js';
import { newUid, synthDicom, testOrthanc, upload } from './helpers/dicom.js';
import { Fixtures, type Actor, type HospitalWithStaff } from './helpers/fixtures.js';
import { startTestApi } from './helpers/server.js';

/**
 * A process killed in the middle of an upload (issue 11): on a fresh installation of its own (databases, bucket,
 * Orthanc), Orthanc is SIGKILLed while an upload streams through the API, and the crash windows the storage
 * plugin and the API have are reproduced exactly; the repair job must leave no orphan row or object behind.
 */
describe('repair after a process killed during an upload (issue 11)', function () {
  this.timeout(300_000);
  const suffix = randomUUID().slice(0, 8);
  const database = `${process.env.DB_NAME}_repair_${suffix}`;
  const bucket = `repair-${suffix}`;
  let location: DataLocation;
  let store: ObjectStore;
  let env: Record<string, string>;
  let dataDir: string;
  let ports: { http: number };
  const password = randomUUID();
  let orthancProcess: StartedService | null = null;
  let orthanc: OrthancClient;
  let api: RunningApi;
  let f: Fixtures;
  let h: HospitalWithStaff;
  let patient: Actor & { identifier: string };
  let clinical: pg.Client;
  let index: pg.Client;

  const startOrthanc = async () => {
    orthancProcess = await orthancService({
      dataDir,
      httpPort: ports.http,
      stableAge: 1,
      storage: 's3',
      storageDir: path.join(dataDir, 'unused'),
      password,
    }).start(env);
    orthanc = new OrthancClient({ url: orthancProcess.env.ORTHANC_URL!, username: orthancProcess.env.ORTHANC_USERNAME!, password });
  };

  before(async () => {
    const shared = locationFromEnv(process.env);
    location = {
      db: { ...shared.db, database },
      storage: 's3' in shared.storage ? { s3: { ...shared.storage.s3, bucket } } : shared.storage,
    };
    const admin = new pg.Client({ ...shared.db, database: 'postgres' });
    await admin.connect();
    await admin.query(`create database "${database}"`);
    await admin.end();
    await migrateAndSeed(loadDatabaseConfig({ ...process.env, DB_NAME: database }), { seed: true });
    store = objectStore(location.storage);
    await store.createBucket();
    env = { ...(process.env as Record<string, string>), DB_NAME: database, MINIO_BUCKET_NAME: bucket };
    dataDir = path.join(mkdtempSync(path.join(process.env.MEDICONNECT_TEST_TMP!, 'repair-')), 'orthanc');
    ports = { http: await freePort() };
    await startOrthanc();
    api = await startTestApi({
      DB_NAME: database,
      MINIO_BUCKET_NAME: bucket,
      ORTHANC_URL: orthancProcess!.env.ORTHANC_URL!,
      ORTHANC_USERNAME: orthancProcess!.env.ORTHANC_USERNAME!,
      ORTHANC_PASSWORD: password,
      SCHEDULER_ENABLED: 'false',
    });
    f = new Fixtures(new ApiClient(api.url));
    h = await f.hospitalWithStaff();
    patient = await f.patient(h.secretary, [h.doctor.id]);
    clinical = new pg.Client({ ...location.db });
    index = new pg.Client({ ...location.db, database: indexDb(location) });
    await clinical.connect();
    await index.connect();
  });
  after(async () => {
    await clinical?.end();
    await index?.end();
    await api?.stop();
    await orthancProcess?.stop();
  });

  /** Every object key in the bucket, sorted. */
  async function objectKeys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const page of store.list(100)) keys.push(...page.map((o) => o.key));
    return keys.sort();
  }

  /** Nothing orphaned anywhere: rows ↔ attachments, rows ↔ objects, Orthanc's studies ↔ our index. */
  async function expectConsistent() {
    const rows = (await clinical.query<{ uuid: string; object_key: string | null }>('select uuid, object_key from orthanc_storage_keys'))
      .rows;
    const attachments = new Set((await index.query<{ uuid: string }>('select uuid from attachedfiles')).rows.map((r) => r.uuid));
    expect(
      rows.filter((r) => !attachments.has(r.uuid)),
      'storage rows without an attachment',
    ).to.deep.equal([]);
    expect(
      [...attachments].filter((u) => !rows.some((r) => r.uuid === u)),
      'attachments without a storage row',
    ).to.deep.equal([]);
    const named = [...new Set(rows.map((r) => r.object_key).filter((k): k is string => k !== null))].sort();
    expect(await objectKeys(), 'objects in the bucket = objects the rows name').to.deep.equal(named);
    const orthancStudies = ((await (await orthanc.fetch('/studies')).json()) as string[]).sort();
    const indexed = (await clinical.query<{ orthanc_id: string }>('select orthanc_id from dicom_studies order by 1')).rows.map(
      (r) => r.orthanc_id,
    );
    expect(indexed, 'index rows = Orthanc studies').to.deep.equal(orthancStudies);
    const series = (await clinical.query<{ orthanc_id: string }>('select orthanc_id from dicom_series')).rows.map((r) => r.orthanc_id);
    const orthancSeries = (await (await orthanc.fetch('/series')).json()) as string[];
    expect(series.sort()).to.deep.equal(orthancSeries.sort());
    const metadata = (await clinical.query<{ orthanc_series_id: string }>('select orthanc_series_id from dicom_series_metadata')).rows.map(
      (r) => r.orthanc_series_id,
    );
    expect(
      metadata.filter((id) => !orthancSeries.includes(id)),
      'cached metadata of gone series',
    ).to.deep.equal([]);
    return { rows: rows.length, objects: named.length };
  }

  it('refuses to run against an index database that is not this Orthanc’s', async () => {
    // A file in this Orthanc, so that the shared stack's index (another Orthanc) cannot pass for its own.
    const res = await upload(api.url, h.doctor.token, patient.id, [
      { name: 'a.dcm', data: synthDicom({ patientId: 'R', studyUid: newUid(), seriesUid: newUid(), rows: 16, columns: 16 }) },
    ]);
    expect(res.status).to.equal(201);
    let message = '';
    await repair({ ...location, orthancIndexDatabase: `${process.env.DB_NAME}_orthanc` }, orthanc, { graceSeconds: 0 }).catch(
      (err: Error) => (message = err.message),
    );
    expect(message).to.match(/not this Orthanc’s index/);
    // Nothing was touched.
    expect((await clinical.query('select count(*)::int as n from orthanc_storage_keys')).rows[0].n).to.be.at.least(1);
  });

  it('after Orthanc is killed mid-upload and each crash window is reproduced, leaves no orphan row or object, and every stored image stays whole', async () => {
    // 1. A real kill: Orthanc dies while 120 files stream through the API.
    const study = { uid: newUid(), series: newUid() };
    const sops = Array.from({ length: 120 }, () => newUid());
    const files = sops.map((sopUid, i) => ({
      name: `${i}.dcm`,
      data: synthDicom({
        patientId: 'R',
        studyUid: study.uid,
        seriesUid: study.series,
        sopUid,
        instanceNumber: i + 1,
        rows: 256,
        columns: 256,
      }),
    }));
    const pending = upload(api.url, h.doctor.token, patient.id, files);
    const pid = Number(readFileSync(path.join(dataDir, 'orthanc.pid'), 'utf8'));
    for (;;) {
      const { n } = (
        await clinical.query('select count(*)::int as n from orthanc_storage_keys where object_key like $1', [`%/studies/${study.uid}/%`])
      ).rows[0];
      if (n >= 5) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    process.kill(pid, 'SIGKILL');
    const cut = await pending;
    expect(cut.status, JSON.stringify(cut.body)).to.equal(503);
    expect(cut.body.error.code).to.equal('IMAGING_UNAVAILABLE');
    await Promise.resolve(orthancProcess!.stop()).catch(() => undefined);
    await startOrthanc();

    // 2. The crash windows, reproduced exactly.
    //    a. The plugin wrote an object, then died before its row.
    const lostObject = `patients/${patient.identifier}/studies/${newUid()}/series/${newUid()}/${newUid()}.dcm`;
    await store.put(
      lostObject,
      synthDicom({ patientId: patient.identifier, studyUid: newUid(), seriesUid: newUid(), rows: 8, columns: 8 }),
    );
    //    b. It wrote the object and its row, then Orthanc died before committing its index.
    const lostRowKey = `patients/${patient.identifier}/studies/${newUid()}/series/${newUid()}/${newUid()}.dcm`;
    await store.put(
      lostRowKey,
      synthDicom({ patientId: patient.identifier, studyUid: newUid(), seriesUid: newUid(), rows: 8, columns: 8 }),
    );
    await clinical.query('insert into orthanc_storage_keys (uuid, object_key, content_type, size) values ($1, $2, 1, 100)', [
      randomUUID(),
      lostRowKey,
    ]);
    //    c. The API stored a study in Orthanc, then died before indexing it (the change feed has moved past it).
    const unindexed = { uid: newUid(), series: newUid() };
    const done = await upload(
      api.url,
      h.doctor.token,
      patient.id,
      [0, 1].map((i) => ({
        name: `${i}.dcm`,
        data: synthDicom({
          patientId: 'R',
          studyUid: unindexed.uid,
          seriesUid: unindexed.series,
          instanceNumber: i + 1,
          rows: 32,
          columns: 32,
        }),
      })),
    );
    expect(done.status).to.equal(201);
    const unindexedOrthancId = (await clinical.query('select orthanc_id from dicom_studies where id = $1', [done.body.studies[0].id]))
      .rows[0].orthanc_id;
    await clinical.query('delete from dicom_studies where id = $1', [done.body.studies[0].id]);
    //    d. A study removed from Orthanc behind the index's back, with its cached series metadata.
    const removed = await upload(api.url, h.doctor.token, patient.id, [
      { name: 'x.dcm', data: synthDicom({ patientId: 'R', studyUid: newUid(), seriesUid: newUid(), rows: 16, columns: 16 }) },
    ]);
    const removedRow = (await clinical.query('select orthanc_id from dicom_studies where id = $1', [removed.body.studies[0].id])).rows[0];
    const removedSeries = (await clinical.query('select orthanc_id from dicom_series where study_id = $1', [removed.body.studies[0].id]))
      .rows[0].orthanc_id;
    await clinical.query(
      "insert into dicom_series_metadata (orthanc_series_id, study_instance_uid, series_instance_uid, last_update, instances, body_gzip) values ($1, '1.2', '1.3', 'x', 1, '\\x00')",
      [removedSeries],
    );
    expect((await orthanc.fetch(`/studies/${removedRow.orthanc_id}`, { method: 'DELETE' })).status).to.equal(200);

    //    e. A receipt of the device gate for an instance Orthanc does not hold (its store failed, or it was deleted).
    const lostReceipt = randomUUID();
    await clinical.query("insert into dicom_gate_receipts (orthanc_instance_id, ae_title) values ($1, 'CT1')", [lostReceipt]);

    // Young leftovers belong to uploads in flight: a grace period leaves them alone (the index is reconciled
    // whatever their age), and a dry run changes nothing.
    const young = await repair(location, orthanc, { graceSeconds: 3600 });
    expect(young).to.include({ orphanKeys: 0, orphanObjects: 0, metadataDropped: 1, receiptsDropped: 0 });
    expect(young.studiesIndexed, 'window c').to.be.at.least(1);
    expect(young.studiesRefreshed, 'window d, and the killed upload’s study if the API indexed it').to.be.at.least(1);
    expect(await store.get(lostObject)).to.not.equal(null);
    const dry = await repair(location, orthanc, { graceSeconds: 0, dryRun: true });
    expect(dry.orphanKeys).to.be.at.least(1);
    expect(dry.orphanObjects).to.be.at.least(1);
    expect(await store.get(lostObject)).to.not.equal(null);

    const report = await repair(location, orthanc, { graceSeconds: 0 });
    expect(report.orphanKeys, 'the row of window b (and any the real kill left)').to.be.at.least(1);
    expect(report.orphanObjects, 'the object of window a (and any the real kill left)').to.be.at.least(1);
    expect(report).to.include({ studiesIndexed: 0, studiesRefreshed: 0, metadataDropped: 0 });
    expect(report.receiptsDropped, 'window e').to.be.at.least(1);
    expect((await clinical.query('select 1 from dicom_gate_receipts where orthanc_instance_id = $1', [lostReceipt])).rowCount).to.equal(0);
    expect(await store.get(lostObject)).to.equal(null);
    expect(await store.get(lostRowKey)).to.equal(null);
    const { rows } = await expectConsistent();
    expect(rows).to.be.at.least(4);

    // Window c is indexed again, under its patient; window d's row is gone.
    const reindexed = (
      await clinical.query('select patient_id, number_of_instances from dicom_studies where orthanc_id = $1', [unindexedOrthancId])
    ).rows[0];
    expect(reindexed).to.deep.equal({ patient_id: patient.id, number_of_instances: 2 });
    expect((await clinical.query('select 1 from dicom_studies where orthanc_id = $1', [removedRow.orthanc_id])).rowCount).to.equal(0);
    // Every file the cut upload reported stored is in Orthanc, and every instance Orthanc holds is whole:
    // its bytes are the object's, byte for byte.
    const reported = cut.body.error.details.stored as string[];
    expect(reported.length).to.be.within(1, 119);
    for (const file of reported) {
      const found = (await (
        await orthanc.fetch('/tools/lookup', { method: 'POST', body: sops[Number.parseInt(file, 10)] })
      ).json()) as unknown[];
      expect(found, file).to.have.length(1);
    }
    const instances = (await (await orthanc.fetch('/instances')).json()) as string[];
    expect(instances.length).to.be.at.least(reported.length + 2);
    for (const id of instances) {
      const res = await orthanc.fetch(`/instances/${id}/file`);
      expect(res.status).to.equal(200);
      const body = Buffer.from(await res.arrayBuffer());
      const tags = (await (await orthanc.fetch(`/instances/${id}/simplified-tags`)).json()) as Record<string, string>;
      const key = `patients/${tags.PatientID}/studies/${tags.StudyInstanceUID}/series/${tags.SeriesInstanceUID}/${tags.SOPInstanceUID}.dcm`;
      expect((await store.get(key))?.equals(body), key).to.equal(true);
    }

    // Crash and resend (issue 22): the whole cut upload sent again. An upload indexes without sizes (the indexer or
    // repair fills them), so the study keeps the partial size repair indexed it with; repair's size pass brings it
    // to what Orthanc holds.
    const resend = await upload(api.url, h.doctor.token, patient.id, files);
    expect(resend.status, JSON.stringify(resend.body)).to.equal(201);
    const cutRow = async () =>
      (
        await clinical.query('select orthanc_id, size_bytes, number_of_instances from dicom_studies where study_instance_uid = $1', [
          study.uid,
        ])
      ).rows[0];
    const stale = await cutRow();
    const held = (await (await orthanc.fetch(`/studies/${stale.orthanc_id}/statistics`)).json()) as {
      DiskSize: string;
      CountInstances: number;
    };
    expect([stale.number_of_instances, held.CountInstances]).to.deep.equal([120, 120]);
    expect(Number(stale.size_bytes), 'the size the crash left').to.be.lessThan(Number(held.DiskSize));
    expect((await repair(location, orthanc, { graceSeconds: 0 })).sizesCorrected).to.equal(1);
    expect(Number((await cutRow()).size_bytes)).to.equal(Number(held.DiskSize));

    // A second pass finds nothing left to do.
    expect(await repair(location, orthanc, { graceSeconds: 0 })).to.deep.equal({
      dryRun: false,
      orphanKeys: 0,
      orphanObjects: 0,
      studiesIndexed: 0,
      studiesRefreshed: 0,
      metadataDropped: 0,
      receiptsDropped: 0,
      sizesCorrected: 0,
    });
    // The shared stack's Orthanc was never involved.
    expect(
      (await testOrthanc()
        .fetch(`/tools/lookup`, { method: 'POST', body: study.uid })
        .then((r) => r.json())) as unknown[],
    ).to.deep.equal([]);
  });
});
