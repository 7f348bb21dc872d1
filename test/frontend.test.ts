import { expect } from 'chai';
import http from 'node:http';
import { DateTime } from 'luxon';
import type { Browser } from 'playwright-core';
import type { RunningApi } from '../api/src/server.js';
import { ConfigError } from '../common/config.js';
import { freePort } from '../scripts/lib/ports.js';
import { ApiClient } from './helpers/client.js';
import { ALL_WEEK, Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { testDb } from './helpers/db.js';
import { newUid, synthDicom, upload } from './helpers/dicom.js';
import { launchChromium } from './helpers/ohif.js';
import { startTestApi, testConfig } from './helpers/server.js';
import { startProxy } from '../dicom-proxy/src/server.js';
import { createLogger } from '../common/logger.js';

/** A frontend's page on its own origin: it logs in and lists patients with fetch, and shows what happened. */
const PAGE = `<!doctype html><script>
async function run(api, email, password) {
  try {
    const login = await fetch(api + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    const { accessToken } = await login.json();
    const list = await fetch(api + '/api/patients?pageSize=5', { headers: { authorization: 'Bearer ' + accessToken } });
    return { status: list.status, requestId: list.headers.get('x-request-id'), body: await list.json() };
  } catch (err) {
    return { error: String(err) };
  }
}
</script>`;

describe('the API as a web frontend uses it (issue 10)', function () {
  this.timeout(120_000);
  let frontend: http.Server;
  let origin: string;
  let allowing: RunningApi;
  let closed: RunningApi;
  let browser: Browser;
  let h: HospitalWithStaff;

  before(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    frontend = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
    await new Promise<void>((resolve) => frontend.listen(port, '127.0.0.1', resolve));
    allowing = await startTestApi({ API_CORS_ORIGINS: `http://other.example, ${origin}` });
    closed = await startTestApi({ API_CORS_ORIGINS: '' });
    h = await new Fixtures(new ApiClient(allowing.url)).hospitalWithStaff();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await allowing?.stop();
    await closed?.stop();
    await new Promise((resolve) => frontend?.close(resolve));
  });

  describe('CORS', () => {
    it('a page on an allowed origin logs in and lists patients with fetch; on a closed API the browser blocks it', async () => {
      const page = await browser.newPage();
      await page.goto(origin);
      const ok = await page.evaluate(
        ({ api, email, password }) => (window as unknown as { run: (...a: string[]) => Promise<unknown> }).run(api, email, password),
        { api: allowing.url, email: h.secretary.email, password: h.secretary.password },
      );
      expect(ok).to.include({ status: 200 });
      expect((ok as { requestId: string }).requestId, 'X-Request-Id exposed').to.be.a('string');
      expect((ok as { body: { items: unknown[] } }).body.items).to.be.an('array');
      const blocked = await page.evaluate(
        ({ api, email, password }) => (window as unknown as { run: (...a: string[]) => Promise<unknown> }).run(api, email, password),
        { api: closed.url, email: h.secretary.email, password: h.secretary.password },
      );
      await page.close();
      expect(blocked)
        .to.have.property('error')
        .that.matches(/Failed to fetch|TypeError/);
    });

    it('answers preflights for allowed origins only, never with credentials', async () => {
      const preflight = (api: string, from: string) =>
        fetch(`${api}/api/auth/login`, {
          method: 'OPTIONS',
          headers: { origin: from, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
        });
      const yes = await preflight(allowing.url, origin);
      expect(yes.status).to.equal(204);
      expect(yes.headers.get('access-control-allow-origin')).to.equal(origin);
      expect(yes.headers.get('access-control-allow-headers')).to.include('authorization').and.include('content-type');
      expect(yes.headers.get('access-control-allow-credentials')).to.equal(null);
      const no = await preflight(allowing.url, 'http://evil.example');
      expect(no.headers.get('access-control-allow-origin')).to.equal(null);
      expect((await preflight(closed.url, origin)).headers.get('access-control-allow-origin')).to.equal(null);
    });

    it('refuses `*` in production', () => {
      expect(() => testConfig({ NODE_ENV: 'production', API_CORS_ORIGINS: '*' })).to.throw(ConfigError, /API_CORS_ORIGINS/);
      expect(testConfig({ API_CORS_ORIGINS: 'http://a.example/, http://b.example' }).api.corsOrigins).to.deep.equal([
        'http://a.example',
        'http://b.example',
      ]);
    });
  });

  describe('round-trip updates, ETag and If-Match', () => {
    let client: ApiClient;
    let f: Fixtures;
    before(() => {
      client = new ApiClient(allowing.url);
      f = new Fixtures(client);
    });

    /** What history a write leaves: audit entries of the target other than reads, and a record entry's versions. */
    const historyOf = async (targetId: string) =>
      Number(
        (
          (await testDb()('audit_log').where({ target_id: targetId }).whereNot('action', 'like', '%read%').count({ n: '*' })) as [
            { n: string },
          ]
        )[0].n,
      ) + Number(((await testDb()('medical_record_versions').where({ entry_id: targetId }).count({ n: '*' })) as [{ n: string }])[0].n);

    interface Case {
      name: string;
      path: () => string;
      token: () => string;
      method: 'put' | 'patch';
      targetId: () => string;
      /** A read-only field and another value for it. */
      readOnly: [string, unknown];
      /** A real change. */
      change: Record<string, unknown>;
      /** Another real change, after the first. */
      again: Record<string, unknown>;
    }
    const world: Record<string, string> = {};
    const cases: Case[] = [
      {
        name: 'hospital',
        path: () => `/api/hospitals/${h.hospital.id}`,
        token: () => world.sa!,
        method: 'put',
        targetId: () => h.hospital.id,
        readOnly: ['id', '00000000-0000-4000-8000-000000000000'],
        change: { city: 'Nantes' },
        again: { city: 'Lyon' },
      },
      {
        name: 'doctor account',
        path: () => `/api/doctors/${h.doctor.id}`,
        token: () => h.admin.token,
        method: 'put',
        targetId: () => h.doctor.id,
        readOnly: ['createdAt', '2020-01-01T00:00:00.000Z'],
        change: { firstName: 'Renamed' },
        again: { firstName: 'Again' },
      },
      {
        name: 'secretary account',
        path: () => `/api/secretaries/${h.secretary.id}`,
        token: () => h.admin.token,
        method: 'patch',
        targetId: () => h.secretary.id,
        readOnly: ['role', 'doctor'],
        change: { lastName: 'Changed' },
        again: { lastName: 'Again' },
      },
      {
        name: 'patient',
        path: () => `/api/patients/${world.patient}`,
        token: () => h.secretary.token,
        method: 'put',
        targetId: () => world.patient!,
        readOnly: ['identifier', 'MC0000000000AA'],
        change: { firstName: 'Paula' },
        again: { firstName: 'Paulette' },
      },
      {
        name: 'availability',
        path: () => `/api/doctors/${h.doctor.id}/availability`,
        token: () => h.doctor.token,
        method: 'put',
        targetId: () => h.doctor.id,
        readOnly: ['doctorId', '00000000-0000-4000-8000-000000000000'],
        change: { timezone: 'Europe/London' },
        again: { timezone: 'Europe/Berlin' },
      },
      {
        name: 'appointment',
        path: () => `/api/appointments/${world.appointment}`,
        token: () => h.secretary.token,
        method: 'put',
        targetId: () => world.appointment!,
        readOnly: ['status', 'validated'],
        change: { reason: 'Other reason' },
        again: { reason: 'Third reason' },
      },
      {
        name: 'record entry',
        path: () => `/api/medical-records/${world.entry}`,
        token: () => h.doctor.token,
        method: 'put',
        targetId: () => world.entry!,
        readOnly: ['patientId', '00000000-0000-4000-8000-000000000000'],
        change: { type: 'consultation' },
        again: { type: 'note' },
      },
    ];

    before(async () => {
      world.sa = (await f.superAdmin()).token;
      const p = await f.patient(h.secretary, [h.doctor.id]);
      world.patient = p.id;
      expect((await client.put(`/api/doctors/${h.doctor.id}/availability`, { token: h.doctor.token, body: ALL_WEEK })).status).to.equal(
        200,
      );
      const startsAt = DateTime.now()
        .setZone('Europe/Paris')
        .plus({ days: 3 })
        .set({ hour: 10, minute: 0, second: 0, millisecond: 0 })
        .toISO()!;
      world.appointment = (
        await client.post('/api/appointments', {
          token: p.token,
          body: { doctorId: h.doctor.id, startsAt, durationMinutes: 30, reason: 'Check-up' },
        })
      ).body.id;
      world.entry = (
        await client.post('/api/medical-records', {
          token: h.doctor.token,
          body: { patientId: p.id, type: 'note', title: 'Note', content: 'Seen' },
        })
      ).body.id;
    });

    for (const c of cases) {
      it(`${c.name}: GET → ${c.method.toUpperCase()} unchanged is 200 with no history; a changed read-only field is 400; a stale If-Match is 412`, async () => {
        const read = await fetch(`${allowing.url}${c.path()}`, { headers: { authorization: `Bearer ${c.token()}` } });
        expect(read.status).to.equal(200);
        const etag = read.headers.get('etag')!;
        expect(etag).to.match(/^"[\w-]+"$/);
        const representation = await read.json();
        const history = await historyOf(c.targetId());

        const same = await client.request(c.method.toUpperCase(), c.path(), {
          token: c.token(),
          body: representation,
          headers: { 'if-match': etag },
        });
        expect(same.status, JSON.stringify(same.body)).to.equal(200);
        expect(same.headers.get('etag')).to.equal(etag);
        expect(await historyOf(c.targetId()), 'no history for an unchanged write').to.equal(history);

        const [field, value] = c.readOnly;
        const refused = await client.request(c.method.toUpperCase(), c.path(), {
          token: c.token(),
          body: { ...representation, [field]: value },
        });
        expect(refused.status, JSON.stringify(refused.body)).to.equal(400);
        expect(refused.body.error.code).to.equal('FIELD_NOT_ALLOWED');
        expect(refused.body.error.details.map((d: { field: string }) => d.field)).to.deep.equal([field]);

        // Two people edit the same resource: the second, still holding the first ETag, gets 412.
        const first = await client.request(c.method.toUpperCase(), c.path(), {
          token: c.token(),
          body: { ...representation, ...c.change },
          headers: { 'if-match': etag },
        });
        expect(first.status, JSON.stringify(first.body)).to.equal(200);
        expect(first.headers.get('etag')).to.not.equal(etag);
        const stale = await client.request(c.method.toUpperCase(), c.path(), {
          token: c.token(),
          body: { ...representation, ...c.change },
          headers: { 'if-match': etag },
        });
        expect(stale.status).to.equal(412);
        expect(stale.body.error.code).to.equal('PRECONDITION_FAILED');
        expect(await historyOf(c.targetId())).to.be.greaterThan(history);

        // Four people send a change at the same instant, all holding the current ETag: If-Match is checked under the
        // write's lock, so exactly one is applied and the others are told it changed meanwhile (none is lost silently).
        const current = await fetch(`${allowing.url}${c.path()}`, { headers: { authorization: `Bearer ${c.token()}` } });
        const now = { etag: current.headers.get('etag')!, body: await current.json() };
        const racing = await Promise.all(
          [0, 1, 2, 3].map(() =>
            client.request(c.method.toUpperCase(), c.path(), {
              token: c.token(),
              body: { ...now.body, ...c.again },
              headers: { 'if-match': now.etag },
            }),
          ),
        );
        expect(racing.map((r) => r.status).sort(), JSON.stringify(racing.map((r) => r.body))).to.deep.equal([200, 412, 412, 412]);
      });
    }

    it('study: GET → PATCH unchanged is 200; a changed read-only field is 400; a stale If-Match is 412', async () => {
      const p = await f.patient(h.secretary, [h.doctor.id]);
      const studyUid = newUid();
      const uploaded = await upload(allowing.url, h.doctor.token, p.id, [
        { name: 'a.dcm', data: synthDicom({ patientId: 'X', studyUid, seriesUid: newUid() }) },
      ]);
      const path = `/api/dicom/studies/${uploaded.body.studies[0].id}`;
      const read = await fetch(`${allowing.url}${path}`, { headers: { authorization: `Bearer ${h.doctor.token}` } });
      const etag = read.headers.get('etag')!;
      const representation = await read.json();
      const same = await client.patch(path, { token: h.doctor.token, body: representation, headers: { 'if-match': etag } });
      expect(same.status, JSON.stringify(same.body)).to.equal(200);
      const refused = await client.patch(path, { token: h.doctor.token, body: { ...representation, studyInstanceUid: newUid() } });
      expect(refused.status).to.equal(400);
      expect(refused.body.error.details[0].field).to.equal('studyInstanceUid');
      expect(
        (await client.patch(path, { token: h.doctor.token, body: { labels: ['urgent'] }, headers: { 'if-match': etag } })).status,
      ).to.equal(200);
      expect(
        (await client.patch(path, { token: h.doctor.token, body: { labels: ['later'] }, headers: { 'if-match': etag } })).status,
      ).to.equal(412);
    });
  });

  describe('unlinking a doctor', () => {
    it('ends the doctor’s access at once — API, a second API, two proxies, its viewer session and share links — and never the last link', async () => {
      const client = new ApiClient(allowing.url);
      const f = new Fixtures(client);
      const colleague = await f.activate((await f.account('doctor', h.hospital.id, h.admin.token)).email);
      const p = await f.patient(h.secretary, [h.doctor.id, colleague.id]);
      const studyUid = newUid();
      const studyId = (
        await upload(allowing.url, colleague.token, p.id, [
          { name: 'a.dcm', data: synthDicom({ patientId: 'X', studyUid, seriesUid: newUid() }) },
        ])
      ).body.studies[0].id;
      expect(
        (
          await client.post('/api/medical-records', {
            token: h.doctor.token,
            body: { patientId: p.id, type: 'note', title: 'T', content: 'C' },
          })
        ).status,
      ).to.equal(201);
      const links = await client.get(`/api/patients/${p.id}/doctors`, { token: h.secretary.token });
      expect(links.body.items.find((l: { doctorId: string }) => l.doctorId === h.doctor.id)).to.include({
        source: 'patient_creation',
        appointmentId: null,
      });

      // Two proxies (separate caches and listeners) and a second API, all warmed up with the doctor's access.
      const proxies = [
        await startProxy(testConfig(), { port: await freePort(), logger: createLogger('silent', 'p1') }),
        await startProxy(testConfig(), { port: await freePort(), logger: createLogger('silent', 'p2') }),
      ];
      const second = await startTestApi({});
      try {
        const session = await client.post(`/api/dicom/studies/${studyId}/viewer-sessions`, { token: h.doctor.token });
        const share = await client.post(`/api/dicom/studies/${studyId}/shares`, { token: h.doctor.token, body: {} });
        const qido = (proxy: { url: string }, token: string) =>
          fetch(`${proxy.url}/dicom-web/studies/${studyUid}/series`, {
            headers: { authorization: `Bearer ${token}`, accept: 'application/dicom+json' },
          });
        for (const proxy of proxies) {
          expect((await qido(proxy, h.doctor.token)).status).to.equal(200);
          expect((await qido(proxy, session.body.token)).status).to.equal(200);
          expect((await qido(proxy, share.body.token)).status).to.equal(200);
        }
        for (const api of [allowing, second])
          expect((await new ApiClient(api.url).get(`/api/medical-records?patientId=${p.id}`, { token: h.doctor.token })).status).to.equal(
            200,
          );

        const unlinked = await client.delete(`/api/patients/${p.id}/doctors/${h.doctor.id}`, { token: h.secretary.token });
        expect(unlinked.status, JSON.stringify(unlinked.body)).to.equal(200);
        expect(unlinked.body.items.map((l: { doctorId: string }) => l.doctorId)).to.deep.equal([colleague.id]);

        for (const api of [allowing, second]) {
          const c = new ApiClient(api.url);
          expect((await c.get(`/api/medical-records?patientId=${p.id}`, { token: h.doctor.token })).status).to.equal(404);
          expect((await c.get(`/api/patients/${p.id}`, { token: h.doctor.token })).status).to.equal(404);
          expect((await c.get(`/api/dicom/studies/${studyId}`, { token: h.doctor.token })).status).to.equal(404);
          expect(
            (await c.get('/api/dicom/studies?pageSize=100', { token: h.doctor.token })).body.items.map((s: { id: string }) => s.id),
          ).to.not.include(studyId);
        }
        for (const proxy of proxies) {
          expect((await qido(proxy, h.doctor.token)).status).to.equal(404);
          expect((await qido(proxy, session.body.token)).status).to.equal(401);
          expect((await qido(proxy, share.body.token)).status).to.equal(401);
          const wado = await fetch(`${proxy.url}/dicom-web/studies/${studyUid}/metadata`, {
            headers: { authorization: `Bearer ${h.doctor.token}` },
          });
          expect(wado.status).to.equal(404);
          // The colleague keeps its access.
          expect((await qido(proxy, colleague.token)).status).to.equal(200);
        }
        const notes = await testDb()('notifications').where({ type: 'patient.unlinked' }).whereRaw(`data->>'patientId' = ?`, [p.id]);
        expect(notes.map((n) => n.user_id).sort()).to.deep.equal([p.id, h.doctor.id].sort());
        expect(await testDb()('audit_log').where({ action: 'patient.unlinked', target_id: p.id })).to.have.length(1);

        // The last link stays.
        const last = await client.delete(`/api/patients/${p.id}/doctors/${colleague.id}`, { token: h.secretary.token });
        expect(last.status).to.equal(409);
        expect(last.body.error.code).to.equal('LAST_DOCTOR');
        // Another hospital's secretary cannot unlink this hospital's doctor.
        const other = await f.hospitalWithStaff();
        expect((await client.delete(`/api/patients/${p.id}/doctors/${colleague.id}`, { token: other.secretary.token })).status).to.equal(
          404,
        );
      } finally {
        await second.stop();
        for (const proxy of proxies) await proxy.stop();
      }
    });
  });

  describe('French and English', () => {
    it('Accept-Language: fr gives French messages for a 400, a 403, a 404 and a 409, with the same codes', async () => {
      const client = new ApiClient(allowing.url);
      const fr = { 'accept-language': 'fr-FR,fr;q=0.9,en;q=0.5' };
      const cases = [
        {
          res: await client.post('/api/patients', { token: h.secretary.token, body: { email: 'nope' }, headers: fr }),
          status: 400,
          code: 'VALIDATION_ERROR',
          text: 'Données invalides',
        },
        {
          res: await client.post('/api/hospitals', { token: h.secretary.token, body: { name: 'X' }, headers: fr }),
          status: 403,
          code: 'FORBIDDEN',
          text: 'Votre rôle',
        },
        {
          res: await client.get('/api/patients/00000000-0000-4000-8000-000000000000', { token: h.secretary.token, headers: fr }),
          status: 404,
          code: 'NOT_FOUND',
          text: 'Introuvable',
        },
        {
          res: await client.post('/api/secretaries', {
            token: h.admin.token,
            body: { email: h.doctor.email, firstName: 'A', lastName: 'B' },
            headers: fr,
          }),
          status: 409,
          code: 'EMAIL_ALREADY_EXISTS',
          text: 'déjà utilisée',
        },
      ];
      for (const c of cases) {
        expect(c.res.status, JSON.stringify(c.res.body)).to.equal(c.status);
        expect(c.res.body.error.code).to.equal(c.code);
        expect(c.res.body.error.message).to.include(c.text);
        expect(c.res.headers.get('content-language')).to.equal('fr');
      }
      const en = await client.get('/api/patients/00000000-0000-4000-8000-000000000000', {
        token: h.secretary.token,
        headers: { 'accept-language': 'en' },
      });
      expect(en.body.error.message).to.equal('Patient not found');
    });

    it('an account’s locale (PATCH /api/auth/me) picks its error messages and notifications (e-mails are written from the notification)', async () => {
      const client = new ApiClient(allowing.url);
      const f = new Fixtures(client);
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      const set = await client.patch('/api/auth/me', { token: patient.token, body: { locale: 'fr' } });
      expect(set.status, JSON.stringify(set.body)).to.equal(200);
      expect(set.body.user.locale).to.equal('fr');
      expect((await client.patch('/api/auth/me', { token: patient.token, body: { locale: 'de' } })).status).to.equal(400);
      // No Accept-Language: the account's choice.
      const missing = await client.get('/api/appointments/00000000-0000-4000-8000-000000000000', { token: patient.token });
      expect(missing.body.error.message).to.equal('Introuvable');
      expect((await client.put(`/api/doctors/${h.doctor.id}/availability`, { token: h.doctor.token, body: ALL_WEEK })).status).to.equal(
        200,
      );
      const startsAt = DateTime.now().setZone('Europe/Paris').plus({ days: 5 }).set({ hour: 11, minute: 0, second: 0, millisecond: 0 });
      const appt = await client.post('/api/appointments', {
        token: patient.token,
        body: { doctorId: h.doctor.id, startsAt: startsAt.toISO()!, durationMinutes: 30, reason: 'Contrôle' },
      });
      expect(appt.status).to.equal(201);
      expect((await client.post(`/api/appointments/${appt.body.id}/validate`, { token: h.secretary.token })).status).to.equal(200);
      const inbox = await client.get('/api/notifications?pageSize=10', { token: patient.token });
      const validated = inbox.body.items.find((n: { type: string }) => n.type === 'appointment.validated');
      expect(validated.title).to.equal('Rendez-vous validé');
      expect(validated.body).to.include(startsAt.setLocale('fr-FR').toFormat('d LLLL yyyy'));
      // The secretary, with no locale, reads English.
      const staff = await client.get('/api/notifications?pageSize=50', { token: h.secretary.token });
      expect(
        staff.body.items.find(
          (n: { data: { appointmentId?: string }; type: string }) =>
            n.data.appointmentId === appt.body.id && n.type === 'appointment.requested',
        ).title,
      ).to.equal('Appointment requested');
    });
  });
});
