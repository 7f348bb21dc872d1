import http from 'node:http';
import { expect } from 'chai';
import type { RunningProxy } from '../dicom-proxy/src/server.js';
import { reUid, sample, testOrthanc, upload, type ReUided } from './helpers/dicom.js';
import { fixtures, type Actor } from './helpers/fixtures.js';
import { startTestProxy } from './helpers/server.js';

type DicomJson = Record<string, unknown>[];

/** A request by node:http, which (unlike fetch) sends any header, `Expect` included. */
function rawRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

// Gaps a peer suite (Orthanc's own DICOMweb integration tests, run through the proxy) found: each request is sent
// straight to Orthanc and through the proxy (and the API origin), and the answers must be the same.
describe('DICOMweb conformance: the proxy answers a request as Orthanc does', function () {
  this.timeout(120_000);
  let proxy: RunningProxy;
  let base: string;
  let apiWado: string;
  let doctor: Actor;
  let ct: ReUided;
  let mr: ReUided;
  const orthancBase = () => `${process.env.ORTHANC_URL}/dicom-web`;
  const orthancAuth = () => `Basic ${Buffer.from(`${process.env.ORTHANC_USERNAME}:${process.env.ORTHANC_PASSWORD}`).toString('base64')}`;

  before(async () => {
    const f = await fixtures();
    ({ proxy, base } = await startTestProxy());
    apiWado = `${f.api.baseUrl}/api/dicom/wado`;
    const clinic = await f.hospitalWithStaff();
    doctor = clinic.doctor;
    const patient = await f.patient(clinic.secretary, [doctor.id]);
    [ct, mr] = [reUid(sample('CT_small.dcm')), reUid(sample('MR_small.dcm'))];
    const res = await upload(f.api.baseUrl, doctor.token, patient.id, [
      { name: 'ct.dcm', data: ct.data },
      { name: 'mr.dcm', data: mr.data },
    ]);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body.stored).to.have.length(2);
  });
  after(async () => proxy?.stop());

  /** Orthanc's JSON answer with its URLs named as `root` names them, and only the rows of the doctor's studies. */
  async function orthancRows(pathname: string, root: string): Promise<DicomJson> {
    const res = await testOrthanc().fetch(`/dicom-web${pathname}`, { headers: { accept: 'application/dicom+json' } });
    expect(res.status, `Orthanc ${pathname}`).to.equal(200);
    const mine = new Set([ct.study, mr.study]);
    const rows = JSON.parse((await res.text()).split(orthancBase()).join(root)) as DicomJson;
    return rows.filter((row) => {
      const uid = (row['0020000D'] as { Value?: string[] } | undefined)?.Value?.[0];
      return uid === undefined || mine.has(uid);
    });
  }

  // The root /studies is answered from the study index (the patient as MediConnect knows it): compared in dicomweb-security.
  it('QIDO: series and instances searched at the root or in a study carry the attributes Orthanc returns', async () => {
    const requests = [
      `/series`,
      `/series?SeriesInstanceUID=${ct.series}`,
      `/series?Modality=CT,MR`,
      `/series?StudyInstanceUID=${ct.study}`,
      `/series?StudyInstanceUID=${ct.study},${mr.study}`,
      `/series?StudyInstanceUID=${ct.study}&includefield=00100020`,
      `/instances`,
      `/instances?SeriesInstanceUID=${ct.series}`,
      `/instances?StudyInstanceUID=${mr.study}`,
      `/instances?includefield=00081030,00180050`,
      `/studies/${ct.study}/series`,
      `/studies/${ct.study}/series?SeriesInstanceUID=${ct.series},${mr.series}`,
      `/studies/${ct.study}/instances?includefield=00280010,00280011`,
      `/studies/${mr.study}/series/${mr.series}/instances`,
    ];
    for (const [root, prefix] of [
      [base, base],
      [apiWado, apiWado],
      [`${apiWado.replace('/wado', '/qido')}`, apiWado],
    ] as const) {
      for (const pathname of requests) {
        const res = await fetch(`${root}${pathname}`, {
          headers: { accept: 'application/dicom+json', authorization: `Bearer ${doctor.token}` },
        });
        expect(res.status, `${root}${pathname}`).to.equal(200);
        const proxied = (await res.json()) as DicomJson;
        const sortKey = (row: Record<string, unknown>) => JSON.stringify(row['00080018'] ?? row['0020000E'] ?? row['0020000D']);
        const sorted = (rows: DicomJson) => [...rows].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
        const direct = await orthancRows(pathname, prefix);
        expect(direct.length, `${pathname}: Orthanc finds the doctor's rows`).to.be.greaterThan(0);
        expect(sorted(proxied), `${root}${pathname}`).to.deep.equal(sorted(direct));
      }
    }
  });

  it('WADO-RS rendered: values listing with commas (window, viewport) reach Orthanc as it reads them, same bytes', async () => {
    const instance = `/studies/${ct.study}/series/${ct.series}/instances/${ct.sop}`;
    const requests = [
      `${instance}/rendered?viewport=64,64`,
      `${instance}/rendered?window=200,800,linear`,
      `${instance}/rendered?window=40,400,linear&viewport=32,32&quality=50`,
      `${instance}/frames/1/rendered?window=200,800,linear`,
      `${instance}/frames/1/rendered?viewport=64,64`,
    ];
    for (const pathname of requests) {
      const direct = await testOrthanc().fetch(`/dicom-web${pathname}`, { headers: { accept: 'image/jpeg' } });
      expect(direct.status, `Orthanc ${pathname}`).to.equal(200);
      const reference = Buffer.from(await direct.arrayBuffer());
      for (const root of [base, apiWado]) {
        const res = await fetch(`${root}${pathname}`, { headers: { accept: 'image/jpeg', authorization: `Bearer ${doctor.token}` } });
        expect(res.status, `${root}${pathname}`).to.equal(200);
        expect(res.headers.get('content-type')).to.equal(direct.headers.get('content-type'));
        expect(Buffer.from(await res.arrayBuffer()).equals(reference), `${root}${pathname}: Orthanc's bytes`).to.equal(true);
      }
    }
  });

  it('an empty or unknown Expect header is ignored, as Orthanc does, on every method (no bare 417)', async () => {
    const pathname = `/studies/${ct.study}/series`;
    for (const expectation of ['', 'something-else']) {
      const direct = await rawRequest(`${orthancBase()}${pathname}`, 'GET', {
        expect: expectation,
        accept: 'application/dicom+json',
        authorization: orthancAuth(),
      });
      expect(direct.status, 'Orthanc ignores it').to.equal(200);
      const rows = JSON.parse(direct.body.toString()) as DicomJson;
      for (const root of [base, apiWado]) {
        const res = await rawRequest(`${root}${pathname}`, 'GET', {
          expect: expectation,
          accept: 'application/dicom+json',
          authorization: `Bearer ${doctor.token}`,
        });
        expect(res.status, `${root}: GET with Expect: ${JSON.stringify(expectation)}`).to.equal(200);
        expect(JSON.parse(res.body.toString())).to.deep.equal(JSON.parse(JSON.stringify(rows).split(orthancBase()).join(root)));
        const head = await rawRequest(`${root}${pathname}`, 'HEAD', { expect: expectation, authorization: `Bearer ${doctor.token}` });
        expect(head.status, `${root}: HEAD`).to.equal(200);
      }
      // Other methods get the answer they would get without the header, in the error envelope.
      const post = await rawRequest(`${base}${pathname}`, 'POST', { expect: expectation, authorization: `Bearer ${doctor.token}` });
      expect(post.status).to.not.equal(417);
      expect(JSON.parse(post.body.toString()).error.code).to.be.a('string');
      const login = await rawRequest(`${apiWado.replace('/api/dicom/wado', '')}/api/auth/me`, 'GET', { expect: expectation });
      expect(login.status, 'API without a token').to.equal(401);
      expect(JSON.parse(login.body.toString()).error.code).to.equal('AUTHENTICATION_REQUIRED');
    }
  });
});
