import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { RunningProxy } from '../dicom-proxy/src/server.js';
import { PYDICOM_TEST_FILES } from '../scripts/lib/system-packages.js';
import { reUid, sample, testOrthanc, upload, type ReUided } from './helpers/dicom.js';
import { fixtures, type Actor } from './helpers/fixtures.js';
import { parseMultipart } from './helpers/multipart.js';
import { startTestProxy } from './helpers/server.js';

const UNCOMPRESSED = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2']);

/** Public test files, one per encoding the viewer must show; each is stored under fresh UIDs. */
const SAMPLES: Record<string, string> = {
  'explicit little endian (CT, 16-bit)': 'CT_small.dcm',
  'explicit big endian': 'MR_small_bigendian.dcm',
  'implicit little endian': 'MR_small_implicit.dcm',
  'JPEG baseline (RGB)': 'SC_rgb_jpeg_dcmtk.dcm',
  'JPEG extended (12-bit)': 'JPGExtended.dcm',
  'JPEG-LS lossless': 'MR_small_jpeg_ls_lossless.dcm',
  'JPEG 2000 lossless': 'MR_small_jp2klossless.dcm',
  RLE: 'MR_small_RLE.dcm',
  'RLE multi-frame RGB': 'SC_rgb_rle_2frame.dcm',
  'RGB uncompressed': 'SC_rgb_small_odd.dcm',
  'multi-frame uncompressed (RT dose)': 'rtdose.dcm',
};

/** JPEG lossless (process 14, SV1) made by dcmtk from the CT sample: pydicom ships none. */
function jpegLossless(): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jpegll-'));
  try {
    execFileSync('dcmcjpeg', ['+e1', path.join(PYDICOM_TEST_FILES, 'CT_small.dcm'), path.join(dir, 'out.dcm')]);
    return readFileSync(path.join(dir, 'out.dcm'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('DICOMweb bytes: what the proxy serves is exactly what Orthanc serves', function () {
  this.timeout(120_000);
  let proxy: RunningProxy;
  let base: string;
  let doctor: Actor;
  let apiWado: string;
  let fx: Awaited<ReturnType<typeof fixtures>>;
  const f = () => fx;
  const stored: { label: string; file: ReUided }[] = [];
  const orthancBase = () => `${process.env.ORTHANC_URL}/dicom-web`;

  before(async () => {
    const f = (fx = await fixtures());
    ({ proxy, base } = await startTestProxy());
    apiWado = `${f.api.baseUrl}/api/dicom/wado`;
    const clinic = await f.hospitalWithStaff();
    doctor = clinic.doctor;
    const patient = await f.patient(clinic.secretary, [doctor.id]);
    const files = Object.entries({ ...SAMPLES, 'JPEG lossless (SV1)': '' }).map(([label, name]) => ({
      label,
      file: reUid(name ? sample(name) : jpegLossless()),
    }));
    // All in one request, as a browser's drag & drop sends them (twelve small files once deadlocked the upload).
    const res = await upload(
      f.api.baseUrl,
      doctor.token,
      patient.id,
      files.map(({ label, file }) => ({ name: `${label}.dcm`, data: file.data })),
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body.refused, JSON.stringify(res.body.refused)).to.deep.equal([]);
    expect(res.body.stored).to.have.length(files.length);
    stored.push(...files);
  });
  after(async () => proxy?.stop());

  /** The same request straight to Orthanc and through the proxy (or the API's /api/dicom/wado). */
  async function bothAt(
    pathname: string,
    accept: string,
    root = base,
  ): Promise<{ direct: Response; proxied: Response; directBody: Buffer; proxiedBody: Buffer; root: string }> {
    const direct = await testOrthanc().fetch(`/dicom-web${pathname}`, { headers: { accept, 'accept-encoding': 'identity' } });
    const proxied = await fetch(`${root}${pathname}`, { headers: { accept, authorization: `Bearer ${doctor.token}` } });
    return {
      direct,
      proxied,
      directBody: Buffer.from(await direct.arrayBuffer()),
      proxiedBody: Buffer.from(await proxied.arrayBuffer()),
      root,
    };
  }

  /** Multipart answers: same parts, same payload bytes, part headers naming the proxy instead of Orthanc. */
  function expectSameMultipart(what: string, r: Awaited<ReturnType<typeof both>>): Buffer[] {
    expect(r.direct.status, `${what}: Orthanc`).to.equal(200);
    // Orthanc draws a new boundary for every answer: compare the rest of the content type.
    const typeOf = (res: Response) => res.headers.get('content-type')?.replace(/;\s*boundary=[^;]+/i, '');
    expect(typeOf(r.proxied), `${what}: content type`).to.equal(typeOf(r.direct));
    expect(r.proxied.status, `${what}: proxy`).to.equal(200);
    const declared = r.proxied.headers.get('content-length');
    if (declared) expect(Number(declared), `${what}: Content-Length describes the body`).to.equal(r.proxiedBody.length);
    expect(r.proxiedBody.includes(Buffer.from(orthancBase())), `${what}: no Orthanc URL`).to.equal(false);
    const expected = parseMultipart(r.direct.headers.get('content-type'), r.directBody);
    const actual = parseMultipart(r.proxied.headers.get('content-type'), r.proxiedBody);
    expect(actual.length, `${what}: parts`).to.equal(expected.length);
    expected.forEach((part, i) => {
      const normalised = Object.fromEntries(Object.entries(part.headers).map(([k, v]) => [k, v.split(orthancBase()).join(r.root)]));
      expect(actual[i]!.headers, `${what}: part ${i + 1} headers`).to.deep.equal(normalised);
      expect(actual[i]!.body.equals(part.body), `${what}: part ${i + 1} bytes (${actual[i]!.body.length} vs ${part.body.length})`).to.equal(
        true,
      );
    });
    return actual.map((p) => p.body);
  }

  it('stores every encoding under test', () => {
    expect(stored.map((s) => s.label)).to.have.length(Object.keys(SAMPLES).length + 1);
  });

  for (const [via, rootOf] of [
    ['proxy', () => base],
    ['API /api/dicom/wado', () => apiWado],
  ] as const)
    for (const label of [...Object.keys(SAMPLES), 'JPEG lossless (SV1)']) {
      it(`${via}: ${label}: instance, frame 1, a frame list and series metadata equal Orthanc's`, async () => {
        const root = rootOf();
        const both = (pathname: string, accept: string) => bothAt(pathname, accept, root);
        const s = stored.find((x) => x.label === label)!.file;
        const instance = `/studies/${s.study}/series/${s.series}/instances/${s.sop}`;
        expectSameMultipart('instance', await both(instance, 'multipart/related; type="application/dicom"; transfer-syntax=*'));
        // Orthanc serves big-endian frames only transcoded (explicit little endian), as a client then asks.
        const syntax = s.transferSyntax === '1.2.840.10008.1.2.2' ? '1.2.840.10008.1.2.1' : '*';
        const frameAccept = `multipart/related; type="application/octet-stream"; transfer-syntax=${syntax}`;
        const [frame1] = expectSameMultipart('frame 1', await both(`${instance}/frames/1`, frameAccept));
        if (UNCOMPRESSED.has(s.transferSyntax)) {
          expect(frame1!.length, 'uncompressed frame size').to.equal((s.rows * s.columns * s.samplesPerPixel * s.bitsAllocated) / 8);
        } else {
          expect(frame1!.length).to.be.greaterThan(0);
        }
        const list = s.frames > 1 ? [1, 2, Math.min(s.frames, 3)].filter((v, i, a) => a.indexOf(v) === i) : [1];
        const frames = expectSameMultipart('frame list', await both(`${instance}/frames/${list.join(',')}`, frameAccept));
        expect(frames).to.have.length(list.length);
        const meta = await both(`/studies/${s.study}/series/${s.series}/metadata`, 'application/dicom+json');
        expect(meta.proxied.status).to.equal(200);
        expect(meta.proxiedBody.toString('utf8')).to.equal(meta.directBody.toString('utf8').split(orthancBase()).join(root));
      });
    }

  const both = (pathname: string, accept: string) => bothAt(pathname, accept, base);

  it('rendered images and bulk data are Orthanc’s bytes too', async () => {
    const s = stored.find((x) => x.label.startsWith('explicit little endian'))!.file;
    const instance = `/studies/${s.study}/series/${s.series}/instances/${s.sop}`;
    const rendered = await both(`${instance}/rendered`, 'image/jpeg');
    expect(rendered.proxied.status).to.equal(rendered.direct.status);
    expect(rendered.proxied.headers.get('content-type')).to.equal(rendered.direct.headers.get('content-type'));
    expect(rendered.proxiedBody.equals(rendered.directBody)).to.equal(true);
    // Thumbnails (which Orthanc 1.10's DICOMweb lacks) are its rendering of the instance at 128×128 — of the
    // series' middle instance, of the study's first series: the same bytes as asking Orthanc that rendering.
    const rendering = `${instance}/rendered?viewport=128,128`;
    const cases = [
      [`${instance}/thumbnail`, rendering],
      [`/studies/${s.study}/series/${s.series}/thumbnail`, rendering],
      [`/studies/${s.study}/thumbnail`, rendering],
      [`${instance}/thumbnail?viewport=64,64`, `${instance}/rendered?viewport=64,64`],
      [`${instance}/frames/1/rendered`, `${instance}/frames/1/rendered`],
    ];
    for (const [thumb, reference] of cases) {
      const proxied = await fetch(`${base}${thumb}`, { headers: { accept: 'image/jpeg', authorization: `Bearer ${doctor.token}` } });
      const direct = await testOrthanc().fetch(`/dicom-web${reference}`, {
        headers: { accept: 'image/jpeg', 'accept-encoding': 'identity' },
      });
      expect(proxied.status, thumb).to.equal(200);
      expect(direct.status, reference).to.equal(200);
      expect(proxied.headers.get('content-type'), thumb).to.equal('image/jpeg');
      expect(Buffer.from(await proxied.arrayBuffer()).equals(Buffer.from(await direct.arrayBuffer())), thumb).to.equal(true);
    }
    const meta = JSON.parse((await both(`${instance}/metadata`, 'application/dicom+json')).proxiedBody.toString()) as Record<
      string,
      { BulkDataURI?: string }
    >[];
    const bulk = meta[0]!['7FE00010']?.BulkDataURI;
    expect(bulk, 'pixel data as a BulkDataURI').to.be.a('string');
    expect(bulk!.startsWith(base)).to.equal(true);
    expectSameMultipart(
      'bulk data',
      await both(bulk!.slice(base.length), 'multipart/related; type="application/octet-stream"; transfer-syntax=*'),
    );
  });

  it('a gzip-accepting client gets JSON compressed at the edge; a client that does not, plain', async () => {
    const s = stored[0]!.file;
    const pathname = `/studies/${s.study}/series/${s.series}/instances/${s.sop}/metadata`;
    const zipped = await fetch(`${base}${pathname}`, {
      headers: { accept: 'application/dicom+json', 'accept-encoding': 'gzip', authorization: `Bearer ${doctor.token}` },
    });
    expect(zipped.headers.get('content-encoding')).to.equal('gzip');
    const plain = await new Promise<{ encoding: string | undefined; body: string }>((resolve, reject) => {
      http
        .get(`${base}${pathname}`, { headers: { authorization: `Bearer ${doctor.token}` } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks).toString() }));
        })
        .on('error', reject);
    });
    expect(plain.encoding).to.equal(undefined);
    expect(JSON.parse(plain.body)).to.deep.equal(await zipped.json());
  });

  it('WADO-URI (proxy and API origin) answers Orthanc’s bytes, inside the caller’s study only', async () => {
    const s = stored[0]!.file;
    const query = `requestType=WADO&studyUID=${s.study}&seriesUID=${s.series}&objectUID=${s.sop}&contentType=application/dicom`;
    const direct = Buffer.from(await (await testOrthanc().fetch(`/wado?${query}`)).arrayBuffer());
    expect(direct.subarray(128, 132).toString(), direct.toString().slice(0, 500)).to.equal('DICM');
    for (const root of [base, apiWado]) {
      const url = root === base ? `${base}/wado?${query}` : `${apiWado}?${query}`;
      const res = await fetch(url, { headers: { authorization: `Bearer ${doctor.token}` } });
      expect(res.status, url).to.equal(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(direct), url).to.equal(true);
      const other = stored[1]!.file;
      const wrongSeries = url.replace(`seriesUID=${s.series}`, `seriesUID=${other.series}`);
      expect(
        (await fetch(wrongSeries, { headers: { authorization: `Bearer ${doctor.token}` } })).status,
        'series of another study',
      ).to.equal(404);
      const twice = await fetch(`${url}&studyUID=${other.study}`, { headers: { authorization: `Bearer ${doctor.token}` } });
      expect(twice.status, 'studyUID twice').to.equal(400);
      expect((await twice.json()).error.code).to.equal('INVALID_QUERY');
    }
  });

  it('QIDO on the API origin names the API’s WADO root; a viewer token in the path works there too', async () => {
    const s = stored[0]!.file;
    const res = await fetch(`${f().api.baseUrl}/api/dicom/qido/studies?StudyInstanceUID=${s.study}`, {
      headers: { authorization: `Bearer ${doctor.token}`, accept: 'application/dicom+json' },
    });
    expect(res.status).to.equal(200);
    const rows = (await res.json()) as Record<string, { Value?: string[] }>[];
    expect(rows).to.have.length(1);
    expect(rows[0]!['00081190']!.Value![0]).to.equal(`${apiWado}/studies/${s.study}`);
    const studyId = (await f().api.get(`/api/dicom/studies?q=${s.study}`, { token: doctor.token })).body.items[0].id;
    const session = await f().api.post(`/api/dicom/studies/${studyId}/viewer-sessions`, { token: doctor.token });
    const token = session.body.token as string;
    const meta = await fetch(`${apiWado}/t/${token}/studies/${s.study}/series/${s.series}/metadata`);
    expect(meta.status).to.equal(200);
    expect(await meta.text()).to.include(`${apiWado}/t/${token}/studies/${s.study}/series/${s.series}/instances/${s.sop}`);
    const qido = await fetch(`${f().api.baseUrl}/api/dicom/qido/t/${token}/studies`);
    expect(((await qido.json()) as unknown[]).length).to.equal(1);
    // WADO is not served under /qido (OHIF searches series under its WADO root, so /wado serves both).
    expect((await fetch(`${apiWado}/t/${token}/studies/${s.study}/series`)).status).to.equal(200);
    expect((await fetch(`${f().api.baseUrl}/api/dicom/qido/t/${token}/studies/${s.study}/metadata`)).status).to.equal(404);
    expect((await fetch(`${apiWado}/studies/${s.study}/metadata`)).status, 'no token').to.equal(401);
  });
});
