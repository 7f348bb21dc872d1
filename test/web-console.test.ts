import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { en } from '../web/src/i18n/en.js';
import { fr } from '../web/src/i18n/fr.js';
import { openApiDocumentOffline, webApiTypes } from '../scripts/lib/web-api.js';
import { testDb } from './helpers/db.js';
import { fixtures, NEW_PASSWORD, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { launchChromium } from './helpers/ohif.js';
import { accessibilityViolations, field } from './helpers/web.js';
import { sharedApi, startTestApi } from './helpers/server.js';

/** Every leaf of a texts object, as `a.b.c` keys. */
const leaves = (o: object, prefix = ''): [string, string][] =>
  Object.entries(o).flatMap(([k, v]) => (typeof v === 'string' ? [[`${prefix}${k}`, v]] : leaves(v as object, `${prefix}${k}.`)));

describe('web console (issue 24): served by the API at /, typed from its OpenAPI document, real Chromium', function () {
  this.timeout(120_000);
  let base: string;
  let f: Fixtures;
  let h: HospitalWithStaff;
  let browser: Browser;

  before(async () => {
    base = (await sharedApi()).url;
    f = await fixtures();
    h = await f.hospitalWithStaff();
    browser = await launchChromium();
  });
  after(() => browser?.close());

  describe('serving', () => {
    it('answers the console at / and at any deep link (history fallback), with its CSP; hashed assets are cached for good', async () => {
      for (const at of ['/', '/patients/123/record', '/login']) {
        const res = await fetch(`${base}${at}`);
        expect(res.status, at).to.equal(200);
        expect(res.headers.get('content-type')).to.match(/^text\/html/);
        expect(res.headers.get('content-security-policy')).to.include("script-src 'self'");
        expect(res.headers.get('cache-control')).to.equal('no-cache');
        expect(await res.text()).to.include('<div id="root">');
      }
      const html = await (await fetch(`${base}/`)).text();
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
      const asset = await fetch(`${base}${script}`);
      expect(asset.status).to.equal(200);
      expect(asset.headers.get('content-type')).to.match(/^text\/javascript/);
      expect(asset.headers.get('cache-control')).to.include('immutable');
      const head = await fetch(`${base}${script}`, { method: 'HEAD' });
      expect(head.status).to.equal(200);
      expect(head.headers.get('content-length')).to.equal(asset.headers.get('content-length'));
    });

    it('leaves /api and the health endpoints to the API (JSON errors, never the page); a missing file or an escape is a 404', async () => {
      const api = await fetch(`${base}/api/nothing-here`);
      expect(api.status).to.equal(404);
      expect((await api.json()).error.code).to.equal('NOT_FOUND');
      expect((await fetch(`${base}/healthz`)).headers.get('content-type')).to.match(/json/);
      for (const at of [
        '/assets/missing.js',
        '/favicon.png',
        '/%2e%2e/package.json',
        '/..%2fpackage.json',
        '/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      ]) {
        const res = await fetch(`${base}${at}`);
        expect(res.status, at).to.equal(404);
        expect(await res.text(), at).to.not.include('"name": "mediconnect"');
      }
      expect((await fetch(`${base}/`, { method: 'POST' })).status).to.equal(404);
    });
  });

  describe('the typed client', () => {
    it('web/src/api/schema.d.ts is what openapi-typescript makes of the API’s document today (npm run web:api)', async () => {
      const committed = readFileSync(path.resolve('web/src/api/schema.d.ts'), 'utf8');
      expect(committed === (await webApiTypes()), 'stale: run `npm run web:api` and commit web/src/api/schema.d.ts').to.equal(true);
    });

    it('the document it is made from (built offline from the route specs) is the one the API serves', async () => {
      const served = await (await fetch(`${base}/api/openapi.json`)).json();
      expect(JSON.parse(JSON.stringify(openApiDocumentOffline()))).to.deep.equal(served);
    });

    it('every text exists in English and French, none empty', () => {
      const [english, french] = [leaves(en), leaves(fr)];
      expect(french.map(([k]) => k)).to.deep.equal(english.map(([k]) => k));
      for (const [k, v] of [...english, ...french]) expect(v.trim(), k).to.not.equal('');
    });
  });

  describe('logging in', () => {
    let context: BrowserContext;
    let page: Page;
    const refused: string[] = [];
    beforeEach(async () => {
      context = await browser.newContext({ locale: 'en-US' });
      page = await context.newPage();
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
      });
    });
    afterEach(async () => {
      await context?.close();
      expect(refused, 'nothing the console loads is refused by its CSP').to.deep.equal([]);
    });

    it('first login: the password must change before anything else; then home, French saved on the account, logout', async () => {
      const account = await f.account('doctor', h.hospital.id, h.admin.token);
      await page.goto(`${base}/patients`);
      await page.getByRole('heading', { name: 'Log in to MediConnect' }).waitFor();
      expect(await accessibilityViolations(page), 'login page').to.deep.equal([]);
      await field(page, 'E-mail').fill(account.email);
      await field(page, 'Password').fill('wrong-password');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('alert').waitFor();
      expect(await page.getByRole('alert').textContent()).to.match(/password/i);

      await field(page, 'Password').fill('mediconnect');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { name: 'Choose your own password' }).waitFor();
      expect(new URL(page.url()).pathname).to.equal('/change-password');
      expect(await accessibilityViolations(page), 'password change').to.deep.equal([]);
      // A refusal of the API shows next to its field, in words.
      await field(page, 'Current password').fill('mediconnect');
      await field(page, 'New password').fill('short');
      await field(page, 'New password again').fill('short');
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByRole('alert').waitFor();
      await field(page, 'New password').fill(NEW_PASSWORD);
      await field(page, 'New password again').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByRole('heading', { name: /^Welcome, Test doctor$/ }).waitFor();
      expect(await accessibilityViolations(page), 'home').to.deep.equal([]);

      // The choice is saved on the account (PATCH /api/auth/me): what the test reads once the API answered.
      const saving = page.waitForResponse((r) => r.url().endsWith('/api/auth/me') && r.request().method() === 'PATCH');
      await field(page, 'Language').first().selectOption('fr');
      expect((await saving).status()).to.equal(200);
      await page.getByRole('heading', { name: /^Bienvenue, Test doctor$/ }).waitFor();
      expect(await page.evaluate(() => document.documentElement.lang)).to.equal('fr');
      const saved = await testDb()('users').where({ email: account.email }).first('locale');
      expect(saved.locale).to.equal('fr');
      expect(await accessibilityViolations(page), 'home in French').to.deep.equal([]);

      // A reload on a deep link keeps the session of the tab (and the language of the account).
      await page.goto(`${base}/no/such/page`);
      await page.getByText('Cette page n’existe pas.').waitFor();

      await page.getByRole('button', { name: 'Se déconnecter' }).click();
      await page.getByRole('heading', { name: 'Connexion à MediConnect' }).waitFor();
      await page.getByText('Vous êtes déconnecté.').waitFor();
    });

    it('works with the keyboard alone: tab to the fields, type, Enter', async () => {
      await page.goto(`${base}/`);
      await page.getByRole('heading', { name: 'Log in to MediConnect' }).waitFor();
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('type'))).to.equal('email');
      await page.keyboard.type(h.secretary.email);
      await page.keyboard.press('Tab');
      await page.keyboard.type(NEW_PASSWORD);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: /^Welcome,/ }).waitFor();
      // The first stop of the keyboard on every page leads past the menu.
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).to.equal('Skip to content');
    });

    it('a session the server ended (logged out elsewhere) goes back to the login page, saying so', async () => {
      const actor = await f.login(h.admin.email, NEW_PASSWORD);
      await page.goto(`${base}/login`);
      await field(page, 'E-mail').fill(h.admin.email);
      await field(page, 'Password').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { name: /^Welcome,/ }).waitFor();
      // The admin changes its password in another tab: every other session ends.
      const changed = await f.api.post('/api/auth/change-password', {
        token: actor.token,
        body: { currentPassword: NEW_PASSWORD, newPassword: `${NEW_PASSWORD}!` },
      });
      expect(changed.status).to.equal(200);
      await page.reload();
      await page.getByText('Your session has ended. Please log in again.').waitFor();
      await f.api.post('/api/auth/change-password', {
        token: (await f.login(h.admin.email, `${NEW_PASSWORD}!`)).token,
        body: { currentPassword: `${NEW_PASSWORD}!`, newPassword: NEW_PASSWORD },
      });
    });
  });

  describe('as a person meets errors, and with the keyboard alone', () => {
    let context: BrowserContext;
    let page: Page;
    beforeEach(async () => {
      context = await browser.newContext({ locale: 'en-US' });
      page = await context.newPage();
    });
    afterEach(() => context?.close());

    async function logIn(email: string) {
      await page.goto(`${base}/login`);
      await field(page, 'E-mail').fill(email);
      await field(page, 'Password').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { name: /^Welcome,/ }).waitFor();
    }

    it('412: someone changed the hospital meanwhile — the save is refused, a reload is offered, what was typed stays', async () => {
      const sa = await f.superAdmin();
      const hospital = await f.api.post('/api/hospitals', { token: sa.token, body: { name: `H412 ${Date.now()}`, city: 'Lyon' } });
      await logIn(sa.email);
      await page.goto(`${base}/hospitals/${hospital.body.id}`);
      const details = page.getByRole('region', { name: 'Details' });
      await field(details, 'City').waitFor();
      // A colleague saves first.
      expect((await f.api.patch(`/api/hospitals/${hospital.body.id}`, { token: sa.token, body: { city: 'Nantes' } })).status).to.equal(200);
      await field(details, 'City').fill('Marseille');
      await details.getByRole('button', { name: 'Save' }).click();
      await details
        .getByRole('alert')
        .getByText(/Someone changed this meanwhile/)
        .waitFor();
      expect(await field(details, 'City').inputValue(), 'what was typed stays').to.equal('Marseille');
      await details.getByRole('button', { name: 'Reload' }).click();
      await details.getByRole('button', { name: 'Save' }).click();
      await page.getByText('Saved.').waitFor();
      expect((await f.api.get(`/api/hospitals/${hospital.body.id}`, { token: sa.token })).body.city).to.equal('Marseille');
    });

    it('409: deleting a hospital that still has accounts is refused and explained', async () => {
      const sa = await f.superAdmin();
      await logIn(sa.email);
      await page.goto(`${base}/hospitals/${h.hospital.id}`);
      await page.getByRole('button', { name: 'Delete the hospital' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Delete the hospital' }).click();
      const alert = page.getByRole('region', { name: 'Status' }).getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).to.match(/account/i);
      expect((await f.api.get(`/api/hospitals/${h.hospital.id}`, { token: sa.token })).status).to.equal(200);
    });

    it('a hospital admin edits a secretary in its dialog, and deletes another after confirming', async () => {
      const admin = await f.login(h.admin.email, NEW_PASSWORD);
      const keep = await f.account('secretary', h.hospital.id, admin.token, { lastName: `Keep${Date.now().toString(36)}` });
      const gone = await f.account('secretary', h.hospital.id, admin.token, { lastName: `Gone${Date.now().toString(36)}` });
      await logIn(h.admin.email);
      await page.getByRole('navigation').getByRole('link', { name: 'Secretaries' }).click();
      const staff = page.getByRole('region', { name: 'Secretaries' });
      await staff.getByRole('searchbox', { name: 'Search' }).fill(keep.lastName);
      await staff.getByRole('button', { name: `Edit Test ${keep.lastName}` }).click();
      const dialog = page.getByRole('dialog');
      await field(dialog, 'Last name').fill(`${keep.lastName}x`);
      await dialog.getByRole('button', { name: 'Save' }).click();
      await staff.getByRole('cell', { name: `Test ${keep.lastName}x`, exact: true }).waitFor();
      page.once('dialog', (d) => void d.accept());
      await staff.getByRole('searchbox', { name: 'Search' }).fill(gone.lastName);
      await staff.getByRole('button', { name: `Delete Test ${gone.lastName}` }).click();
      await staff.getByText('Nothing yet.').waitFor();
      expect((await f.api.get(`/api/secretaries/${keep.id}`, { token: admin.token })).body.lastName).to.equal(`${keep.lastName}x`);
      expect((await f.api.get(`/api/secretaries/${gone.id}`, { token: admin.token })).status).to.equal(404);
    });

    it('notifications: the unread count in the header, the latest ones, "mark all as read"', async () => {
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      await testDb()('notifications').insert([
        { user_id: patient.id, type: 'appointment.validated', title: 'Appointment confirmed', body: 'See you on Monday.' },
        { user_id: patient.id, type: 'appointment.reminder', title: 'Reminder', body: 'Tomorrow at 10:00.' },
      ]);
      await logIn(patient.email);
      const bell = page.getByRole('button', { name: /^Notifications — 2 unread notifications$/ });
      await bell.click();
      await page.getByText('Appointment confirmed').waitFor();
      await page.getByRole('button', { name: 'Mark all as read' }).click();
      await page.getByRole('button', { name: /^Notifications — 0 unread notifications$/ }).waitFor();
      const unread = await testDb()('notifications').where({ user_id: patient.id }).whereNull('read_at').count({ n: '*' });
      expect(Number((unread[0] as { n: string | number }).n)).to.equal(0);
    });

    it('a patient requests an appointment with the keyboard alone', async () => {
      const lastName = `Keys${Date.now().toString(36)}`;
      // A fresh admin session: an earlier test ended the admin's others by changing its password.
      const admin = await f.login(h.admin.email, NEW_PASSWORD);
      const created = await f.account('doctor', h.hospital.id, admin.token, { lastName });
      const doctor = await f.activate(created.email);
      const hours = await f.api.put(`/api/doctors/${doctor.id}/availability`, {
        token: doctor.token,
        body: { timezone: 'Europe/Paris', weekly: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '23:30' })) },
      });
      expect(hours.status, JSON.stringify(hours.body)).to.equal(200);
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      await logIn(patient.email);
      await page.getByRole('link', { name: 'Appointments' }).focus();
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: 'Appointments' }).waitFor();
      const form = page.getByRole('region', { name: 'Request an appointment' });
      const focused = () =>
        page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.labels?.[0]?.textContent?.trim() ?? '');
      await form.getByRole('combobox', { name: /^Doctor/ }).focus();
      // The doctor: typed (the directory filters on it), then picked from the list with the arrows.
      await page.keyboard.type(lastName);
      await page.getByRole('option', { name: new RegExp(lastName) }).waitFor();
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      expect(await form.getByRole('combobox', { name: /^Doctor/ }).inputValue(), 'the doctor picked').to.include(lastName);
      await page.keyboard.press('Tab');
      expect(await focused()).to.match(/^Day/);
      const tomorrow = new Date(Date.now() + 86_400_000);
      const ymd = tomorrow.toLocaleDateString('sv-SE');
      // The free slots of that day, as the page asks for them once the date is complete.
      const slots = page.waitForResponse(
        (r) =>
          r.url().includes(`/api/doctors/${doctor.id}/availability`) &&
          decodeURIComponent(r.url()).includes(`from=${new Date(`${ymd}T00:00:00`).toISOString()}`),
      );
      await page.keyboard.type(
        tomorrow.toLocaleDateString('en-US', { month: '2-digit', day: '2-digit', year: 'numeric' }).replace(/\//g, ''),
        // Part by part, as a person types (each re-render of the field settles before the next key).
        { delay: 80 },
      );
      expect(await field(form, 'Day').inputValue(), 'the field holds tomorrow').to.equal(tomorrow.toLocaleDateString('sv-SE'));
      const offered = (await (await slots).json()) as { slots: unknown[] };
      expect(offered.slots.length, `free slots offered: ${JSON.stringify(offered).slice(0, 400)}`).to.be.greaterThan(0);
      // The first free slot: Tab into the group of slots, Space picks it; Tab again reaches the reason.
      await form.getByRole('radiogroup').locator('input').first().waitFor({ state: 'attached' });
      // A date field takes a Tab per part (month, day, year) before the next field.
      for (let i = 0; i < 3 && (await focused()).startsWith('Day'); i++) await page.keyboard.press('Tab');
      expect(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type)).to.equal('radio');
      await page.keyboard.press('Space');
      await page.keyboard.press('Tab');
      expect(await focused()).to.match(/^Reason/);
      await page.keyboard.type('Keyboard only');
      await page.keyboard.press('Enter');
      await page.getByRole('cell', { name: 'Keyboard only' }).waitFor();
      const mine = await f.api.get('/api/appointments', { token: patient.token });
      expect(mine.body.items.map((a: { reason: string }) => a.reason)).to.include('Keyboard only');
    });
  });

  it('an access token about to expire is refreshed silently: the person keeps working', async () => {
    const short = await startTestApi({ ACCESS_TOKEN_TTL_SECONDS: '33' });
    const context = await browser.newContext({ locale: 'en-US' });
    try {
      const page = await context.newPage();
      const refreshes: number[] = [];
      page.on('response', (r) => {
        if (r.url().endsWith('/api/auth/refresh')) refreshes.push(r.status());
      });
      await page.goto(`${short.url}/login`);
      await field(page, 'E-mail').fill(h.secretary.email);
      await field(page, 'Password').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { name: /^Welcome,/ }).waitFor();
      // Within 30 s of its end the token is renewed before the next request (33 s tokens: after 3 s).
      await page.waitForTimeout(4_000);
      await page.getByRole('navigation').getByRole('link', { name: 'Patients' }).click();
      await page.getByRole('heading', { level: 1, name: 'Patients' }).waitFor();
      await page
        .getByText(/items?$/)
        .first()
        .waitFor();
      expect(refreshes).to.include(200);
      expect(new URL(page.url()).pathname).to.equal('/patients');
    } finally {
      await context.close();
      await short.stop();
    }
  });
});
