import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { createLogger } from '../common/logger.js';
import type { RunningApi } from '../api/src/server.js';
import { startProxy, type RunningProxy } from '../dicom-proxy/src/server.js';
import { startViewer } from '../dicom-proxy/src/viewer.js';
import { ensureOhifDist } from '../scripts/lib/ohif.js';
import { freePort } from '../scripts/lib/ports.js';
import { ApiClient } from './helpers/client.js';
import { testDb } from './helpers/db.js';
import { newUid, synthDicom, upload } from './helpers/dicom.js';
import { Fixtures, type Actor, type HospitalWithStaff } from './helpers/fixtures.js';
import { launchChromium, waitForPixels } from './helpers/ohif.js';
import { startTestApi, testConfig } from './helpers/server.js';

interface Study {
  uid: string;
  id: string;
  description: string;
  series: string;
  sops: string[];
}

describe('viewer features: study lists, share links, history (issue 9)', function () {
  this.timeout(240_000);
  let api: RunningApi;
  let client: ApiClient;
  let f: Fixtures;
  let proxy: RunningProxy;
  let base: string;
  let viewer: Awaited<ReturnType<typeof startViewer>>;
  let h: HospitalWithStaff;
  let other: HospitalWithStaff;
  let patient: Actor & { identifier: string };
  let stranger: Actor & { identifier: string };
  const mine: Study[] = [];
  let theirs: Study;

  /** Uploads a 3-slice CT study with a recognisable description. */
  async function study(doctor: Actor, patientId: string, description: string): Promise<Study> {
    const uid = newUid();
    const series = newUid();
    const sops = [newUid(), newUid(), newUid()];
    const slices = sops.map((sopUid, i) => ({
      name: `${i}.dcm`,
      data: synthDicom({
        patientId: 'X',
        studyUid: uid,
        seriesUid: series,
        sopUid,
        instanceNumber: i + 1,
        rows: 128,
        columns: 128,
        studyDescription: description,
      }),
    }));
    const res = await upload(api.url, doctor.token, patientId, slices);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return { uid, id: res.body.studies[0].id, description, series, sops };
  }

  /** A proxy GET with a viewer or share token in the path, as OHIF sends it. */
  const viaToken = (token: string, path: string) =>
    fetch(`${base}/t/${encodeURIComponent(token)}${path}`, { headers: { accept: 'application/dicom+json' } });

  before(async () => {
    const proxyPort = await freePort();
    base = `http://127.0.0.1:${proxyPort}/dicom-web`;
    const viewerPort = await freePort();
    const env = { DICOM_WEB_URL: base, OHIF_VIEWER_URL: `http://127.0.0.1:${viewerPort}/viewer` };
    proxy = await startProxy(testConfig(env), { port: proxyPort, logger: createLogger('silent', 'proxy-test') });
    viewer = await startViewer(testConfig(env), { distDir: ensureOhifDist(), port: viewerPort });
    // SMTP configured (nothing listens): share e-mails are queued in the outbox, where the test reads them.
    api = await startTestApi({
      ...env,
      DICOM_PROXY_INTERNAL_URL: proxy.url,
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(await freePort()),
      SCHEDULER_ENABLED: 'false',
    });
    client = new ApiClient(api.url);
    f = new Fixtures(client);
    [h, other] = [await f.hospitalWithStaff(), await f.hospitalWithStaff()];
    patient = await f.patient(h.secretary, [h.doctor.id]);
    stranger = await f.patient(other.secretary, [other.doctor.id]);
    mine.push(await study(h.doctor, patient.id, `Thorax ${Date.now()}`), await study(h.doctor, patient.id, `Abdomen ${Date.now()}`));
    theirs = await study(other.doctor, stranger.id, `Crane ${Date.now()}`);
  });
  after(async () => {
    await api?.stop();
    await viewer?.stop();
    await proxy?.stop();
  });

  describe('a study-list viewer session', () => {
    it('opens with an empty body; its token lists exactly the caller’s studies through the proxy', async () => {
      for (const [who, expected] of [
        [patient, mine],
        [h.doctor, mine],
      ] as const) {
        const session = await client.post('/api/viewer-sessions', { token: who.token, body: {} });
        expect(session.status, JSON.stringify(session.body)).to.equal(201);
        expect(session.body).to.include({ kind: 'list', studyId: null, studyInstanceUid: null });
        expect(session.body.token).to.match(/^vl_/);
        expect(session.body.viewerUrl).to.match(/\/\?token=vl_/);
        const listed = await (await viaToken(session.body.token, '/studies?limit=101')).json();
        const uids = listed.map((s: Record<string, { Value: string[] }>) => s['0020000D']!.Value[0]);
        expect(uids, who.role).to.include.members(expected.map((s) => s.uid));
        expect(uids, who.role).to.not.include(theirs.uid);
        // A doctor's list holds only its linked patients' studies; the patient's, only its own.
        const owners = await testDb()('dicom_studies').whereIn('study_instance_uid', uids).distinct('patient_id');
        expect(owners.map((o) => o.patient_id)).to.deep.equal([patient.id]);
        expect((await viaToken(session.body.token, `/studies/${mine[0]!.uid}/series`)).status).to.equal(200);
        expect((await viaToken(session.body.token, `/studies/${theirs.uid}/series`)).status).to.equal(404);
      }
      const otherDoctor = await client.post('/api/viewer-sessions', { token: other.doctor.token, body: {} });
      const listed = await (await viaToken(otherDoctor.body.token, '/studies?limit=101')).json();
      expect(listed.map((s: Record<string, { Value: string[] }>) => s['0020000D']!.Value[0]))
        .to.include(theirs.uid)
        .and.not.include(mine[0]!.uid);
    });

    it('keeps the one-study session with studyId; a study out of scope is 404; the same limit and revocation hold', async () => {
      const one = await client.post('/api/viewer-sessions', { token: patient.token, body: { studyId: mine[0]!.id } });
      expect(one.status).to.equal(201);
      expect(one.body).to.include({ kind: 'study', studyInstanceUid: mine[0]!.uid });
      expect((await viaToken(one.body.token, `/studies/${mine[1]!.uid}/series`)).status).to.equal(404);
      expect((await client.post('/api/viewer-sessions', { token: patient.token, body: { studyId: theirs.id } })).status).to.equal(404);
      expect((await client.post('/api/viewer-sessions', { token: h.secretary.token, body: {} })).status).to.equal(404);
      // Logging out ends the list session at once.
      const login = await f.login(patient.email, patient.password);
      const session = await client.post('/api/viewer-sessions', { token: login.token, body: {} });
      expect((await viaToken(session.body.token, '/studies')).status).to.equal(200);
      expect(
        (await client.post('/api/auth/logout', { token: login.token, body: { refreshToken: login.refreshToken } })).status,
      ).to.be.within(200, 204);
      expect((await viaToken(session.body.token, '/studies')).status).to.equal(401);
    });
  });

  describe('share links', () => {
    it('validates the request: expiresInHours 0 or 1000 → 400; a study one may not read → 404', async () => {
      for (const expiresInHours of [0, 1000, 1.5]) {
        const res = await client.post(`/api/dicom/studies/${mine[0]!.id}/shares`, { token: h.doctor.token, body: { expiresInHours } });
        expect(res.status, String(expiresInHours)).to.equal(400);
        expect(res.body.error.details[0].field).to.equal('expiresInHours');
      }
      expect((await client.post(`/api/dicom/studies/${theirs.id}/shares`, { token: h.doctor.token, body: {} })).status).to.equal(404);
      for (const staff of [h.secretary, h.admin])
        expect(
          (await client.post(`/api/dicom/studies/${mine[0]!.id}/shares`, { token: staff.token, body: {} })).status,
          staff.role,
        ).to.equal(404);
      expect((await client.get(`/api/dicom/studies/${mine[0]!.id}/shares`, { token: other.doctor.token })).status).to.equal(404);
    });

    it('opens one study read-only with no account; other studies, a revoked or an expired link open nothing', async () => {
      const res = await client.post(`/api/dicom/studies/${mine[0]!.id}/shares`, {
        token: h.doctor.token,
        body: { expiresInHours: 2, recipientEmail: 'colleague@elsewhere.example', note: 'Second opinion please' },
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body).to.include({ studyId: mine[0]!.id, active: true, emailed: true, recipientEmail: 'colleague@elsewhere.example' });
      expect(Date.parse(res.body.expiresAt) - Date.now()).to.be.within(2 * 3_600_000 - 60_000, 2 * 3_600_000 + 60_000);
      expect(res.body.url).to.include(`StudyInstanceUIDs=${mine[0]!.uid}`).and.include('token=sh_');
      const token: string = res.body.token;
      const mail = await testDb()('email_outbox').where({ to_address: 'colleague@elsewhere.example' }).orderBy('id', 'desc').first();
      expect(mail.body).to.include(res.body.url).and.include('Second opinion please');
      expect(JSON.stringify(await testDb()('study_shares').where({ id: res.body.id }).first())).to.not.include(token);

      const series = await viaToken(token, `/studies/${mine[0]!.uid}/series`);
      expect(series.status).to.equal(200);
      const seriesUid = (await series.json())[0]['0020000E'].Value[0];
      const metadata = await viaToken(token, `/studies/${mine[0]!.uid}/series/${seriesUid}/metadata`);
      expect(metadata.status).to.equal(200);
      // Nothing else: another study of the same patient, another patient's, the study list.
      expect((await viaToken(token, `/studies/${mine[1]!.uid}/series`)).status).to.equal(404);
      expect((await viaToken(token, `/studies/${theirs.uid}/series`)).status).to.equal(404);
      const list = await (await viaToken(token, '/studies')).json();
      expect(list.map((s: Record<string, { Value: string[] }>) => s['0020000D']!.Value[0])).to.deep.equal([mine[0]!.uid]);
      // No writes.
      expect(
        (await fetch(`${base}/t/${token}/studies`, { method: 'POST', headers: { 'content-type': 'application/dicom' }, body: 'x' })).status,
      ).to.be.oneOf([403, 404, 405]);

      // The opening is audited without an account and shows in the patient's access log and the study's views.
      const log = await client.get(`/api/patients/${patient.id}/access-log?pageSize=100`, { token: patient.token });
      expect(
        log.body.items.some((i: { action: string; actor: unknown }) => i.action === 'dicom.images_viewed' && i.actor === null),
      ).to.equal(true);
      const views = await client.get(`/api/dicom/studies/${mine[0]!.id}/views`, { token: patient.token });
      expect(views.body.items.find((v: { via: string }) => v.via === 'share_link')).to.include({ shareId: res.body.id, actor: null });

      const listed = await client.get(`/api/dicom/studies/${mine[0]!.id}/shares`, { token: patient.token });
      expect(listed.body.items.map((s: { id: string }) => s.id)).to.include(res.body.id);
      expect(listed.body.items[0]).to.not.have.property('token');
      // Revoked by the patient: refused from the next request.
      expect((await client.delete(`/api/shares/${res.body.id}`, { token: other.doctor.token })).status).to.equal(404);
      expect((await client.delete(`/api/shares/${res.body.id}`, { token: patient.token })).status).to.equal(204);
      expect((await viaToken(token, `/studies/${mine[0]!.uid}/series`)).status).to.equal(401);

      const expiring = await client.post(`/api/dicom/studies/${mine[0]!.id}/shares`, { token: patient.token, body: {} });
      expect(expiring.body.emailed).to.equal(false);
      expect((await viaToken(expiring.body.token, `/studies/${mine[0]!.uid}/series`)).status).to.equal(200);
      await testDb()('study_shares')
        .where({ id: expiring.body.id })
        .update({ expires_at: new Date(Date.now() - 1000) });
      // A change written straight to the database reaches the proxy's cache by NOTIFY: wait until every listener
      // has handled it (as the API's own writes do), rather than hoping it was quick enough.
      await api.deps.principals.sync(10_000);
      expect((await viaToken(expiring.body.token, `/studies/${mine[0]!.uid}/series`)).status).to.equal(401);
    });

    it('at most 20 live links per sharer and study: one reader cannot use up everyone’s', async () => {
      const p = await f.patient(h.secretary, [h.doctor.id]);
      const s = await study(h.doctor, p.id, `Genou ${Date.now()}`);
      for (let i = 0; i < 20; i++)
        expect((await client.post(`/api/dicom/studies/${s.id}/shares`, { token: p.token, body: {} })).status).to.equal(201);
      const over = await client.post(`/api/dicom/studies/${s.id}/shares`, { token: p.token, body: {} });
      expect(over.status).to.equal(409);
      expect(over.body.error.code).to.equal('TOO_MANY_SHARES');
      // The doctor still shares the same study.
      expect((await client.post(`/api/dicom/studies/${s.id}/shares`, { token: h.doctor.token, body: {} })).status).to.equal(201);
      // Revoking one of its own frees a place for the patient.
      const own = await client.get('/api/shares', { token: p.token });
      expect(own.body.items).to.have.length(20);
      expect((await client.delete(`/api/shares/${own.body.items[0].id}`, { token: p.token })).status).to.equal(204);
      expect((await client.post(`/api/dicom/studies/${s.id}/shares`, { token: p.token, body: {} })).status).to.equal(201);
    });

    it('only the sharer, or the patient for its own study, revokes a link; GET /api/shares lists the caller’s live links', async () => {
      const colleague = await f.activate((await f.account('doctor', h.hospital.id, h.admin.token)).email);
      const p = await f.patient(h.secretary, [h.doctor.id, colleague.id]);
      const s = await study(h.doctor, p.id, `Epaule ${Date.now()}`);
      const byDoctor = await client.post(`/api/dicom/studies/${s.id}/shares`, { token: h.doctor.token, body: {} });
      const byColleague = await client.post(`/api/dicom/studies/${s.id}/shares`, { token: colleague.token, body: {} });
      const mineNow = (await client.get('/api/shares', { token: colleague.token })).body.items.map((i: { id: string }) => i.id);
      expect(mineNow).to.include(byColleague.body.id).and.not.include(byDoctor.body.id);
      // The colleague reads the study, sees the doctor's link, but may not revoke it.
      const refused = await client.delete(`/api/shares/${byDoctor.body.id}`, { token: colleague.token });
      expect(refused.status).to.equal(403);
      expect(refused.body.error.code).to.equal('NOT_YOUR_SHARE');
      expect((await viaToken(byDoctor.body.token, `/studies/${s.uid}/series`)).status).to.equal(200);
      // Other hospitals and other roles see nothing.
      expect((await client.delete(`/api/shares/${byDoctor.body.id}`, { token: other.doctor.token })).status).to.equal(404);
      expect((await client.delete(`/api/shares/${byDoctor.body.id}`, { token: h.secretary.token })).status).to.equal(404);
      expect((await client.get('/api/shares', { token: h.secretary.token })).status).to.equal(404);
      // The sharer revokes its own; the patient revokes any link to its study.
      expect((await client.delete(`/api/shares/${byColleague.body.id}`, { token: colleague.token })).status).to.equal(204);
      expect((await client.delete(`/api/shares/${byDoctor.body.id}`, { token: p.token })).status).to.equal(204);
      expect((await viaToken(byDoctor.body.token, `/studies/${s.uid}/series`)).status).to.equal(401);
      expect((await client.get('/api/shares', { token: colleague.token })).body.items.map((i: { id: string }) => i.id)).to.not.include(
        byColleague.body.id,
      );
    });

    it('ends for good when the sharer, its hospital or the patient is deactivated: reactivation does not bring a link back', async () => {
      const clinic = await f.hospitalWithStaff();
      const p = await f.patient(clinic.secretary, [clinic.doctor.id]);
      const s = await study(clinic.doctor, p.id, `Hanche ${Date.now()}`);
      const share = async (who: Actor) =>
        (await client.post(`/api/dicom/studies/${s.id}/shares`, { token: who.token, body: {} })).body as { id: string; token: string };
      const works = async (link: { token: string }) => (await viaToken(link.token, `/studies/${s.uid}/series`)).status;
      const superAdmin = await f.superAdmin();
      const cases: [string, () => Promise<unknown>, () => Promise<unknown>, () => Promise<Actor>][] = [
        [
          'the sharer',
          async () =>
            expect(
              (await client.patch(`/api/doctors/${clinic.doctor.id}`, { token: clinic.admin.token, body: { isActive: false } })).status,
            ).to.equal(200),
          async () =>
            expect(
              (await client.patch(`/api/doctors/${clinic.doctor.id}`, { token: clinic.admin.token, body: { isActive: true } })).status,
            ).to.equal(200),
          () => f.login(clinic.doctor.email, clinic.doctor.password),
        ],
        [
          'its hospital',
          async () =>
            expect(
              (await client.patch(`/api/hospitals/${clinic.hospital.id}`, { token: superAdmin.token, body: { isActive: false } })).status,
            ).to.equal(200),
          async () =>
            expect(
              (await client.patch(`/api/hospitals/${clinic.hospital.id}`, { token: superAdmin.token, body: { isActive: true } })).status,
            ).to.equal(200),
          () => f.login(clinic.doctor.email, clinic.doctor.password),
        ],
        [
          'the patient',
          async () =>
            expect(
              (await client.patch(`/api/patients/${p.id}`, { token: clinic.secretary.token, body: { isActive: false } })).status,
            ).to.equal(200),
          async () =>
            expect(
              (await client.patch(`/api/patients/${p.id}`, { token: clinic.secretary.token, body: { isActive: true } })).status,
            ).to.equal(200),
          () => f.login(clinic.doctor.email, clinic.doctor.password),
        ],
      ];
      let sharer: Actor = clinic.doctor;
      for (const [who, deactivate, reactivate, loginAgain] of cases) {
        const link = await share(sharer);
        expect(await works(link), who).to.equal(200);
        await deactivate();
        expect(await works(link), `${who} deactivated`).to.equal(401);
        await reactivate();
        sharer = await loginAgain();
        expect(await works(link), `${who} reactivated: the link stays ended`).to.equal(401);
        const listed = await client.get(`/api/dicom/studies/${s.id}/shares`, { token: sharer.token });
        expect(
          listed.body.items.find((i: { id: string }) => i.id === link.id),
          who,
        ).to.include({ active: false });
        expect(listed.body.items.find((i: { id: string }) => i.id === link.id).revokedAt, who).to.be.a('string');
        // A new link works again once everyone is active.
        expect(await works(await share(sharer)), `${who}: a new link`).to.equal(200);
      }
    });
  });

  describe('history', () => {
    it('lists the studies the caller opened, newest first; a study’s views say who, when and how', async () => {
      const doctor = await f.login(h.doctor.email, h.doctor.password);
      for (const s of [mine[1]!, mine[0]!]) {
        const session = await client.post('/api/viewer-sessions', { token: doctor.token, body: { studyId: s.id } });
        const series = await (await viaToken(session.body.token, `/studies/${s.uid}/series`)).json();
        expect((await viaToken(session.body.token, `/studies/${s.uid}/series/${series[0]['0020000E'].Value[0]}/metadata`)).status).to.equal(
          200,
        );
        await new Promise((r) => setTimeout(r, 20));
      }
      const history = await client.get('/api/viewer-sessions/history?pageSize=2', { token: doctor.token });
      expect(history.status).to.equal(200);
      expect(history.body.items.map((i: { studyId: string }) => i.studyId)).to.deep.equal([mine[0]!.id, mine[1]!.id]);
      expect(history.body.items[0]).to.include({ studyInstanceUid: mine[0]!.uid, patientId: patient.id });
      // Nobody else's history shows them; the stranger's doctor sees nothing of these studies.
      expect(
        (await client.get('/api/viewer-sessions/history', { token: other.doctor.token })).body.items.map(
          (i: { studyId: string }) => i.studyId,
        ),
      ).to.not.include(mine[0]!.id);
      const views = await client.get(`/api/dicom/studies/${mine[0]!.id}/views`, { token: patient.token });
      expect(views.body.items[0]).to.include({ via: 'viewer_session' });
      expect(views.body.items[0].actor).to.include({ id: h.doctor.id, role: 'doctor' });
      expect((await client.get(`/api/dicom/studies/${mine[0]!.id}/views`, { token: other.doctor.token })).status).to.equal(404);
      expect((await client.get(`/api/dicom/studies/${mine[0]!.id}/views`, { token: h.secretary.token })).status).to.equal(404);
    });
  });

  describe('key images and the printed report', () => {
    it('a doctor marks key images; the report PDF prints its text and the images (pdftotext, pdfimages)', async () => {
      const s = mine[0]!;
      const mark = (who: Actor, body: Record<string, unknown>) =>
        client.post(`/api/dicom/studies/${s.id}/key-images`, { token: who.token, body });
      const first = await mark(h.doctor, { seriesInstanceUid: s.series, sopInstanceUid: s.sops[0], note: 'Nodule' });
      expect(first.status, JSON.stringify(first.body)).to.equal(201);
      expect(first.body).to.include({ frame: 1, note: 'Nodule', sopInstanceUid: s.sops[0] });
      expect((await mark(h.doctor, { seriesInstanceUid: s.series, sopInstanceUid: s.sops[2] })).status).to.equal(201);
      expect((await mark(h.doctor, { seriesInstanceUid: s.series, sopInstanceUid: s.sops[0] })).status).to.equal(409);
      // Not of this study, a frame it lacks, or not the caller's to mark.
      const foreign = await mark(h.doctor, { seriesInstanceUid: mine[1]!.series, sopInstanceUid: mine[1]!.sops[0] });
      expect(foreign.status).to.equal(400);
      expect(foreign.body.error.code).to.equal('NOT_IN_STUDY');
      expect((await mark(h.doctor, { seriesInstanceUid: s.series, sopInstanceUid: s.sops[1], frame: 2 })).status).to.equal(400);
      expect((await mark(other.doctor, { seriesInstanceUid: s.series, sopInstanceUid: s.sops[1] })).status).to.equal(404);
      expect((await mark(h.secretary, { seriesInstanceUid: s.series, sopInstanceUid: s.sops[1] })).status).to.equal(404);
      expect((await client.get(`/api/dicom/studies/${s.id}/key-images`, { token: patient.token })).body.items).to.have.length(2);

      const report = await client.post(`/api/dicom/studies/${s.id}/reports`, {
        token: h.doctor.token,
        body: { title: 'CT thorax', findings: 'A 6 mm nodule in the right upper lobe.', conclusion: 'Follow-up in six months.' },
      });
      expect(report.status, JSON.stringify(report.body)).to.equal(201);
      const pdfOf = async (query: string) => {
        const res = await fetch(`${api.url}/api/dicom/studies/${s.id}/reports/${report.body.id}/pdf${query}`, {
          headers: { authorization: `Bearer ${patient.token}` },
        });
        expect(res.status).to.equal(200);
        expect(res.headers.get('content-type')).to.equal('application/pdf');
        const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'report-')), 'report.pdf');
        writeFileSync(file, Buffer.from(await res.arrayBuffer()));
        return file;
      };
      const withImages = await pdfOf('');
      const text = execFileSync('pdftotext', [withImages, '-']).toString();
      expect(text).to.include('CT thorax').and.include('6 mm nodule').and.include('Key images').and.include('Nodule');
      const images = execFileSync('pdfimages', ['-list', withImages]).toString().trim().split('\n').slice(2);
      expect(images, 'one image per key image').to.have.length(2);
      // Each image is the rendered frame: 128 × 128 pixels.
      for (const line of images) expect(line.trim().split(/\s+/).slice(3, 5)).to.deep.equal(['128', '128']);
      const without = await pdfOf('?keyImages=false');
      expect(execFileSync('pdfimages', ['-list', without]).toString().trim().split('\n').slice(2)).to.have.length(0);

      const id = first.body.id;
      expect((await client.delete(`/api/dicom/studies/${s.id}/key-images/${id}`, { token: h.doctor.token })).status).to.equal(204);
      expect((await client.get(`/api/dicom/studies/${s.id}/key-images`, { token: h.doctor.token })).body.items).to.have.length(1);
    });
  });

  describe('in OHIF (real Chromium)', () => {
    let browser: Browser;
    before(async () => {
      browser = await launchChromium();
    });
    after(() => browser?.close());

    it('a study-list session shows exactly the caller’s studies in OHIF’s list, and opening one shows pixels', async () => {
      const session = await client.post('/api/viewer-sessions', { token: patient.token, body: {} });
      const page = await browser.newPage();
      await page.goto(session.body.viewerUrl);
      for (const s of mine) await page.getByText(s.description).first().waitFor({ timeout: 60_000 });
      expect(await page.getByText(theirs.description).count()).to.equal(0);
      // One row per study: exactly the patient's (rows of studies carry a modality and an instance count).
      const rowTexts = await page.locator('tbody tr').allInnerTexts();
      const studyRows = rowTexts.filter((t) => /\bCT\b/.test(t));
      expect(studyRows, 'rows in the study list').to.have.length(mine.length);
      for (const s of mine)
        expect(
          studyRows.some((t) => t.includes(s.description)),
          s.description,
        ).to.equal(true);
      // Open the first study as a user does: select its row, then the viewer.
      await page.getByText(mine[0]!.description).first().click();
      const open = page.getByRole('button', { name: /basic viewer/i }).first();
      await open.waitFor({ timeout: 30_000 });
      await open.click();
      const shown = await waitForPixels(page);
      await page.close();
      expect(shown.viewport, JSON.stringify(shown.all.slice(0, 5))).to.be.greaterThan(10_000);
    });

    it('a share link opens its study in a fresh browser with no login, and shows pixels', async () => {
      const share = await client.post(`/api/dicom/studies/${mine[1]!.id}/shares`, { token: h.doctor.token, body: { expiresInHours: 1 } });
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(share.body.url);
      const shown = await waitForPixels(page);
      await context.close();
      expect(shown.viewport).to.be.greaterThan(10_000);
      expect(shown.thumbnail).to.be.greaterThan(1_000);
    });
  });
});
