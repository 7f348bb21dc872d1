import http from 'node:http';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { createLogger } from '../common/logger.js';
import { startProxy, type RunningProxy } from '../dicom-proxy/src/server.js';
import { startViewer } from '../dicom-proxy/src/viewer.js';
import { freePort } from '../scripts/lib/ports.js';
import { newUid, synthDicom, testOrthanc, upload } from './helpers/dicom.js';
import { testDb } from './helpers/db.js';
import { PYDICOM_TEST_FILES } from '../scripts/lib/system-packages.js';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fixtures, NEW_PASSWORD, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { testConfig } from './helpers/server.js';

type DicomJson = Record<string, { Value?: unknown[] }>;
type Patient = Actor & { identifier: string };

describe('DICOMweb security: QIDO that cannot be widened, one ownership truth, tokens bound to logins', function () {
  this.timeout(60_000);
  let f: Fixtures;
  let proxy: RunningProxy;
  let base: string;
  let a: HospitalWithStaff;
  let b: HospitalWithStaff;
  let p1: Patient;
  let p2: Patient;
  let p3: Patient;
  const logLines: string[] = [];
  /** Per patient: two studies (dates 20250110 and 20260115, CT and MR), each one series, one instance. */
  const studies: Record<string, { uid: string; id: string; series: string; sop: string }[]> = {};

  async function store(doctor: Actor, patient: Patient, date: string, modality: string) {
    const ids = { uid: newUid(), series: newUid(), sop: newUid() };
    const res = await upload(f.api.baseUrl, doctor.token, patient.id, [
      {
        name: 'x.dcm',
        data: synthDicom({ patientId: 'ANY', studyUid: ids.uid, seriesUid: ids.series, sopUid: ids.sop, studyDate: date, modality }),
      },
    ]);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return { ...ids, id: res.body.studies[0].id as string };
  }

  before(async () => {
    f = await fixtures();
    const port = await freePort();
    base = `http://127.0.0.1:${port}/dicom-web`;
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    proxy = await startProxy(testConfig({ DICOM_WEB_URL: base }), { port, logger: pino({ level: 'info' }, sink) });
    [a, b] = [await f.hospitalWithStaff(), await f.hospitalWithStaff()];
    p1 = await f.patient(a.secretary, [a.doctor.id]);
    p2 = await f.patient(a.secretary, [a.doctor.id]);
    p3 = await f.patient(b.secretary, [b.doctor.id]);
    for (const [name, patient, doctor] of [
      ['p1', p1, a.doctor],
      ['p2', p2, a.doctor],
      ['p3', p3, b.doctor],
    ] as const) {
      studies[name] = [await store(doctor, patient, '20250110', 'CT'), await store(doctor, patient, '20260115', 'MR')];
    }
  });
  after(async () => proxy?.stop());

  const get = (token: string | null, path: string, accept = 'application/dicom+json') =>
    fetch(`${base}${path}`, { headers: { accept, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  const uids = async (token: string, path: string): Promise<string[]> => {
    const res = await get(token, path);
    expect(res.status, `${path}: ${await res.clone().text()}`).to.equal(200);
    return ((await res.json()) as DicomJson[]).map((row) => String(row['0020000D']?.Value?.[0]));
  };
  const all = (name: string) => studies[name]!.map((s) => s.uid);
  const openSession = async (who: Actor, studyId: string) => {
    const res = await f.api.post(`/api/dicom/studies/${studyId}/viewer-sessions`, { token: who.token });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body as { id: string; token: string };
  };

  it('one identity in the images and the index: QIDO, the instance metadata and the stored file say the same patient, birth date and sex', async () => {
    // A patient of its own: the other tests here count p1's studies. A file that says otherwise (another name,
    // birth date and sex) is uploaded for it.
    const script = `import sys, io, pydicom
from pydicom.uid import generate_uid
ds = pydicom.dcmread(sys.argv[1])
ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = generate_uid(); ds.SOPInstanceUID = generate_uid(); ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
ds.PatientName = "Brainix^Someone"; ds.PatientBirthDate = "19490301"; ds.PatientSex = "O"
out = io.BytesIO(); ds.save_as(out); sys.stdout.buffer.write(out.getvalue())`;
    const p4 = await f.patient(a.secretary, [a.doctor.id]);
    const file = execFileSync('/usr/bin/python3', ['-c', script, path.join(PYDICOM_TEST_FILES, 'MR_small.dcm')]);
    const uids = JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          'import sys, io, json, pydicom; d = pydicom.dcmread(io.BytesIO(sys.stdin.buffer.read())); print(json.dumps([str(d.StudyInstanceUID), str(d.SeriesInstanceUID), str(d.SOPInstanceUID)]))',
        ],
        { input: file },
      ).toString(),
    ) as [string, string, string];
    const res = await upload(f.api.baseUrl, a.doctor.token, p4.id, [{ name: 'brainix.dcm', data: file }]);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    const profile = await testDb()('patients').where({ user_id: p4.id }).first('identifier', 'birth_date', 'sex');
    const expected = {
      id: profile.identifier,
      birthDate: profile.birth_date.replace(/-/g, ''),
      sex: ({ female: 'F', male: 'M', other: 'O', unknown: '' } as Record<string, string>)[profile.sex],
    };
    const pick = (row: DicomJson) => ({
      id: String(row['00100020']?.Value?.[0]),
      birthDate: String(row['00100030']?.Value?.[0] ?? ''),
      sex: String(row['00100040']?.Value?.[0] ?? ''),
    });
    const qido = (await (
      await get(p4.token, `/studies?StudyInstanceUID=${uids[0]}&includefield=00100030&includefield=00100040`)
    ).json()) as DicomJson[];
    expect(qido.map(pick)).to.deep.equal([expected]);
    const metadata = (await (await get(p4.token, `/studies/${uids[0]}/series/${uids[1]}/metadata`)).json()) as DicomJson[];
    expect(metadata.map(pick)).to.deep.equal([expected]);
    const stored = Buffer.from(await (await testOrthanc().fetch(`/instances/${res.body.stored[0].instanceId}/file`)).arrayBuffer());
    const inFile = JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          'import sys, io, json, pydicom; d = pydicom.dcmread(io.BytesIO(sys.stdin.buffer.read())); print(json.dumps({"id": str(d.PatientID), "birthDate": str(d.PatientBirthDate), "sex": str(d.PatientSex)}))',
        ],
        { input: stored },
      ).toString(),
    );
    expect(inFile).to.deep.equal(expected);
  });

  describe('answers of the API origin: URLs from configuration, every includefield answered', () => {
    /** A raw GET with the Host header of our choosing (fetch does not let a page set it). */
    const rawGet = (url: string, token: string, host: string, accept: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const target = new URL(url);
        const req = http.get(
          {
            host: target.hostname,
            port: target.port,
            path: `${target.pathname}${target.search}`,
            headers: { host, accept, authorization: `Bearer ${token}` },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
          },
        );
        req.on('error', reject);
      });

    it('ignores the request’s Host: metadata URLs name the configured WADO root, and a quote in Host breaks nothing', async () => {
      const s = studies.p1![0]!;
      const apiWado = `${f.api.baseUrl}/api/dicom/wado`;
      const path = `/studies/${s.uid}/series/${s.series}/metadata`;
      for (const host of ['evil.example', 'evil.example:1"}', new URL(f.api.baseUrl).host]) {
        const res = await rawGet(`${apiWado}${path}`, p1.token, host, 'application/dicom+json');
        expect(res.status, `${host}: ${res.body.slice(0, 200)}`).to.equal(200);
        const bulk = (JSON.parse(res.body) as Record<string, { BulkDataURI?: string }>[])[0]!['7FE00010']?.BulkDataURI;
        expect(bulk, host).to.be.a('string');
        expect(bulk!.startsWith(`${apiWado}/studies/${s.uid}/`), `${host}: ${bulk}`).to.equal(true);
        expect(res.body).to.not.include('evil.example');
      }
    });

    for (const origin of ['proxy', 'API'] as const) {
      it(`${origin}: every includefield form answers 200 with the caller’s studies`, async () => {
        const root = origin === 'proxy' ? base : `${f.api.baseUrl}/api/dicom/qido`;
        for (const q of [
          'includefield=all',
          'includefield=ALL',
          'includefield=00081030',
          'includefield=StudyDescription',
          'includefield=00081030,00080061',
          'includefield=StudyDescription&includefield=ModalitiesInStudy',
          'includefield=00100030&includefield=all',
          'includefield=0020000D',
        ]) {
          const res = await fetch(`${root}/studies?${q}`, {
            headers: { accept: 'application/dicom+json', authorization: `Bearer ${p1.token}` },
          });
          const text = await res.text();
          expect(res.status, `${q}: ${text.slice(0, 300)}`).to.equal(200);
          const rows = JSON.parse(text) as DicomJson[];
          expect(rows.map((r) => String(r['0020000D']?.Value?.[0])).sort(), q).to.deep.equal(all('p1').sort());
        }
      });
    }
  });

  describe('QIDO tricks (each refused, or answered within the caller’s studies)', () => {
    const refusedQueries = (identifier: () => string, other: () => string) => [
      `PatientID=${identifier()}&PatientID=*`,
      `PatientID=${identifier()}&00100020=*`,
      `PatientID=${identifier()}&0010,0020=*`,
      `patientid=${identifier()}&PATIENTID=${other()}`,
      `StudyInstanceUID=${all('p1')[0]}&0020000D=${all('p3')[0]}`,
      'OtherPatientIDsSequence.PatientID=*',
      'limit=1&limit=2',
    ];
    for (const level of ['/studies', '/series', '/instances']) {
      it(`${level}: a key given twice under any spelling is 400 INVALID_QUERY (patient)`, async () => {
        for (const q of refusedQueries(
          () => p1.identifier,
          () => p3.identifier,
        )) {
          const res = await get(p1.token, `${level}?${q}&includefield=all`);
          expect(res.status, q).to.equal(400);
          expect((await res.json()).error.code, q).to.equal('INVALID_QUERY');
        }
      });
    }

    const table: [string, (q: { own: string; other: string; mine: string[]; foreign: string }) => string, (mine: string[]) => string[]][] =
      [
        ['no filter', () => '', (m) => m],
        ['PatientID=*', () => 'PatientID=*', (m) => m],
        ['PatientID=<another patient>', (q) => `PatientID=${q.other}`, () => []],
        ['00100020=<another patient>', (q) => `00100020=${q.other}`, () => []],
        ['PatientID=MC? wildcard', (q) => `PatientID=${q.own.slice(0, -1)}?`, (m) => m],
        ['empty PatientID (universal)', () => 'PatientID=', (m) => m],
        ['IssuerOfPatientID=OTHER (dropped)', () => 'IssuerOfPatientID=OTHER', (m) => m],
        ['StudyInstanceUID list with , (own and foreign)', (q) => `StudyInstanceUID=${q.mine[0]},${q.foreign}`, (m) => [m[0]!]],
        [
          'StudyInstanceUID list with \\ (own and foreign)',
          (q) => `StudyInstanceUID=${encodeURIComponent(`${q.foreign}\\${q.mine[1]}`)}`,
          (m) => [m[1]!],
        ],
        ['0020000D=<foreign>', (q) => `0020000D=${q.foreign}`, () => []],
        ['StudyDate range', () => 'StudyDate=20260101-20261231', (m) => [m[1]!]],
        ['ModalitiesInStudy=CT', () => 'ModalitiesInStudy=CT', (m) => [m[0]!]],
        ['includefield=all&fuzzymatching=true', () => 'includefield=all&fuzzymatching=true', (m) => m],
        ['limit=1', () => 'limit=1', (m) => [m[1]!]],
        ['limit=1&offset=1', () => 'limit=1&offset=1', (m) => [m[0]!]],
        ['offset past the end', () => 'offset=10', () => []],
      ];
    for (const [label, query, expected] of table) {
      it(`/studies ${label}: patient, doctor and viewer session`, async () => {
        const q = { own: p1.identifier, other: p3.identifier, mine: all('p1'), foreign: all('p3')[0]! };
        // Newest first: the 2026 study, then the 2025 one.
        const newestFirst = (m: string[]) => expected(m).sort((x, y) => m.indexOf(y) - m.indexOf(x));
        expect(await uids(p1.token, `/studies?${query(q)}`), 'patient').to.deep.equal(newestFirst(all('p1')));
        const forDoctor = await uids(a.doctor.token, `/studies?${query(q)}`);
        // Paged queries page over all the doctor's patients; unpaged ones include every expected study.
        if (!query(q).includes('limit') && !query(q).includes('offset'))
          expect(forDoctor, 'doctor').to.include.members(expected(all('p1')));
        expect(
          forDoctor.filter((u) => all('p3').includes(u)),
          'doctor sees nothing of hospital B',
        ).to.deep.equal([]);
        const session = await openSession(p1, studies.p1![0]!.id);
        const viaSession = await uids(session.token, `/studies?${query(q)}`);
        expect(
          viaSession.every((u) => u === all('p1')[0]),
          'viewer session: its study at most',
        ).to.equal(true);
      });
    }

    it('/studies answered from the index carries what Orthanc itself answers', async () => {
      const uid = all('p1')[1]!;
      const fromIndex = ((await (await get(p1.token, `/studies?StudyInstanceUID=${uid}&includefield=00081030`)).json()) as DicomJson[])[0]!;
      // As Orthanc: the description only when asked for.
      const plain = ((await (await get(p1.token, `/studies?StudyInstanceUID=${uid}`)).json()) as DicomJson[])[0]!;
      expect(plain['00081030'], 'StudyDescription not asked for').to.equal(undefined);
      expect(Object.keys(fromIndex).filter((tag) => !(tag in plain))).to.deep.equal(['00081030']);
      // TimezoneOffsetFromUTC is not in the index: this query is described by Orthanc.
      const fromOrthanc = (
        (await (
          await get(p1.token, `/studies?StudyInstanceUID=${uid}&includefield=00081030,00080030,00080050,00080201`)
        ).json()) as DicomJson[]
      )[0]!;
      for (const tag of [
        '0020000D',
        '00080020',
        '00080030',
        '00080050',
        '00080061',
        '00081030',
        '00081190',
        '00100010',
        '00100020',
        '00201206',
        '00201208',
      ]) {
        expect(fromIndex[tag]?.Value ?? null, tag).to.deep.equal(fromOrthanc[tag]?.Value ?? null);
      }
      expect(fromIndex['00081190']!.Value![0]).to.equal(`${base}/studies/${uid}`);
    });

    it('a viewer session is forced to its study under every alias', async () => {
      const session = await openSession(a.doctor, studies.p1![0]!.id);
      const other = all('p1')[1]!;
      for (const q of [`StudyInstanceUID=${other}`, `0020000D=${other}`, `0020,000d=${other}`, `studyinstanceuid=${other}`]) {
        expect(await uids(session.token, `/studies?${q}`), q).to.deep.equal([]);
        expect(await uids(session.token, `/series?${q}`), q).to.deep.equal([]);
      }
      const res = await get(session.token, `/studies?StudyInstanceUID=${all('p1')[0]}&0020000D=${other}`);
      expect(res.status).to.equal(400);
      expect(await uids(session.token, '/studies')).to.deep.equal([all('p1')[0]]);
      expect((await get(session.token, `/studies/${other}/series`)).status).to.equal(404);
    });

    it('series and instances at the root stay within the caller’s studies', async () => {
      const series = await uids(p1.token, '/series?includefield=all');
      expect([...new Set(series)].sort()).to.deep.equal([...all('p1')].sort());
      const instances = await uids(a.doctor.token, `/instances?StudyInstanceUID=${all('p3')[0]},${all('p2')[0]}`);
      expect(instances).to.deep.equal([all('p2')[0]]);
      expect(await uids(p1.token, `/studies/${all('p1')[0]}/series?PatientID=${p3.identifier}`)).to.deep.equal([all('p1')[0]]);
    });

    it('attributes the index cannot search are refused at /studies, never searched unfiltered', async () => {
      const res = await get(p1.token, '/studies?ReferringPhysicianName=SMITH');
      expect(res.status).to.equal(400);
      expect((await res.json()).error.code).to.equal('INVALID_QUERY');
    });
  });

  it('every role: WADO and QIDO open a study to its linked doctors and its patient only', async () => {
    const s = studies.p1![0]!;
    const sa = await f.superAdmin();
    const unlinked = await f.activate((await f.account('doctor', a.hospital.id, a.admin.token)).email);
    const table: [string, Actor, boolean][] = [
      ['super admin', sa, false],
      ['hospital admin of the patient’s doctor', a.admin, false],
      ['secretary of the patient’s doctor', a.secretary, false],
      ['doctor of the same hospital, not linked', unlinked, false],
      ['doctor of another hospital', b.doctor, false],
      ['patient, another one', p2, false],
      ['linked doctor', a.doctor, true],
      ['the patient itself', p1, true],
    ];
    for (const [who, actor, allowed] of table) {
      const wado = await get(actor.token, `/studies/${s.uid}/series/${s.series}/metadata`);
      expect(wado.status, `${who}: WADO`).to.equal(allowed ? 200 : 404);
      expect((await uids(actor.token, `/studies?StudyInstanceUID=${s.uid}`)).length, `${who}: QIDO`).to.equal(allowed ? 1 : 0);
      const series = await get(actor.token, `/studies/${s.uid}/series`);
      expect(series.status, `${who}: QIDO under the study`).to.equal(allowed ? 200 : 404);
    }
  });

  it('a study deleted and re-uploaded for another patient is closed to the former patient at once', async () => {
    const s = await store(a.doctor, p1, '20240101', 'CT');
    expect((await get(p1.token, `/studies/${s.uid}/metadata`)).status).to.equal(200);
    expect((await f.api.delete(`/api/dicom/studies/${s.id}/`, { token: a.doctor.token })).status).to.equal(204);
    const res = await upload(f.api.baseUrl, a.doctor.token, p2.id, [
      { name: 'x.dcm', data: synthDicom({ patientId: 'ANY', studyUid: s.uid, seriesUid: s.series, sopUid: s.sop }) },
    ]);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect((await get(p1.token, `/studies/${s.uid}/metadata`)).status).to.equal(404);
    expect(await uids(p1.token, `/studies?StudyInstanceUID=${s.uid}`)).to.deep.equal([]);
    expect((await get(p2.token, `/studies/${s.uid}/metadata`)).status).to.equal(200);
  });

  describe('viewer tokens end with the login that made them', () => {
    const path = () => `/studies/${all('p2')[0]}/metadata`;
    async function freshPatientSession() {
      const patient = await f.login(p2.email, NEW_PASSWORD);
      const session = await openSession(patient, studies.p2![0]!.id);
      expect((await get(session.token, path())).status).to.equal(200);
      return { patient, session };
    }

    it('logout', async () => {
      const { patient, session } = await freshPatientSession();
      expect((await f.api.post('/api/auth/logout', { token: patient.token })).status).to.equal(204);
      expect((await get(session.token, path())).status).to.equal(401);
    });

    it('password change (even from the same login)', async () => {
      const doctor = await f.activate((await f.account('doctor', a.hospital.id, a.admin.token)).email);
      await f.api.post(`/api/patients/${p2.id}/doctors`, { token: a.secretary.token, body: { doctorId: doctor.id } });
      const session = await openSession(doctor, studies.p2![0]!.id);
      expect((await get(session.token, path())).status).to.equal(200);
      const changed = await f.api.post('/api/auth/change-password', {
        token: doctor.token,
        body: { currentPassword: NEW_PASSWORD, newPassword: 'Another-Horse-43' },
      });
      expect(changed.status, JSON.stringify(changed.body)).to.equal(200);
      expect((await get(session.token, path())).status).to.equal(401);
    });

    it('deactivation, for good: reactivation does not revive it', async () => {
      const doctor = await f.activate((await f.account('doctor', a.hospital.id, a.admin.token)).email);
      await f.api.post(`/api/patients/${p2.id}/doctors`, { token: a.secretary.token, body: { doctorId: doctor.id } });
      const session = await openSession(doctor, studies.p2![0]!.id);
      expect((await f.api.patch(`/api/doctors/${doctor.id}`, { token: a.admin.token, body: { isActive: false } })).status).to.equal(200);
      expect((await get(session.token, path())).status).to.equal(401);
      expect((await f.api.patch(`/api/doctors/${doctor.id}`, { token: a.admin.token, body: { isActive: true } })).status).to.equal(200);
      expect((await get(session.token, path())).status).to.equal(401);
    });
  });

  it('malformed percent-encoding answers 400 with the error envelope; the processes go on', async () => {
    const res = await fetch(`${base}/t/%ZZ/studies`);
    expect(res.status).to.equal(400);
    expect((await res.json()).error.code).to.equal('INVALID_PATH');
    expect((await get(p1.token, '/studies')).status).to.equal(200);
    const port = await freePort();
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dist = mkdtempSync(`${tmpdir()}/ohif-dist-`);
    writeFileSync(`${dist}/index.html`, '<html></html>');
    const viewer = await startViewer(testConfig(), { distDir: dist, port, logger: createLogger('silent', 'viewer-test') });
    try {
      const bad = await fetch(`${viewer.url}/%E0%A4%A`);
      expect(bad.status).to.equal(400);
      expect((await bad.json()).error.code).to.equal('INVALID_PATH');
      expect((await fetch(`${viewer.url}/viewer`)).status).to.equal(200);
    } finally {
      await viewer.stop();
    }
  });

  it('image reads are audited once per session and study, in the patient’s access log', async () => {
    const s = studies.p1![1]!;
    const session = await openSession(a.doctor, s.id);
    for (let i = 0; i < 3; i++) expect((await get(session.token, `/studies/${s.uid}/series/${s.series}/metadata`)).status).to.equal(200);
    const log = await f.api.get('/api/patients/' + p1.id + '/access-log?pageSize=100', { token: p1.token });
    expect(log.status).to.equal(200);
    const viewed = (log.body.items as { action: string; actor: { id: string } | null }[]).filter(
      (e) => e.action === 'dicom.images_viewed' && e.actor?.id === a.doctor.id,
    );
    expect(viewed).to.have.length.at.least(1);
    const { testDb } = await import('./helpers/db.js');
    const rows = await testDb()('audit_log')
      .where({ action: 'dicom.images_viewed', target_id: s.id })
      .whereRaw("details->>'viewerSessionId' = ?", [session.id]);
    expect(rows).to.have.length(1);
  });

  it('a read Orthanc refuses (unknown series in a readable study) is not audited as images viewed; the next answered read is', async () => {
    const s = studies.p1![1]!;
    const session = await openSession(a.doctor, s.id);
    const { testDb } = await import('./helpers/db.js');
    const entries = () =>
      testDb()('audit_log')
        .where({ action: 'dicom.images_viewed', target_id: s.id })
        .whereRaw("details->>'viewerSessionId' = ?", [session.id]);
    expect((await get(session.token, `/studies/${s.uid}/series/1.2.3.999999/metadata`)).status).to.equal(404);
    expect(await entries(), 'a 404 of Orthanc showed nothing').to.have.length(0);
    expect((await get(session.token, `/studies/${s.uid}/series/${s.series}/metadata`)).status).to.equal(200);
    expect(await entries()).to.have.length(1);
  });

  it('never writes a token into its request log', async () => {
    const session = await openSession(p1, studies.p1![0]!.id);
    await fetch(`${base}/t/${session.token}/studies/${all('p1')[0]}/series`);
    await fetch(`${base}/studies?token=${session.token}`);
    await get(p1.token, '/studies');
    await new Promise((r) => setTimeout(r, 50));
    const text = logLines.join('');
    expect(text).to.include('/t/[redacted]/studies/[uid]/series');
    // DICOM UIDs name a patient's images everywhere they are held: no log line keeps them (issue 22, erasure).
    expect(text).to.not.include(all('p1')[0]);
    expect(text).to.not.include(session.token);
    expect(text).to.not.include(p1.token);
  });
});
