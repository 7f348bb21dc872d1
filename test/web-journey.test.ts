import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { createLogger } from '../common/logger.js';
import type { RunningApi } from '../api/src/server.js';
import { startProxy, type RunningProxy } from '../dicom-proxy/src/server.js';
import { startViewer } from '../dicom-proxy/src/viewer.js';
import { ensureOhifDist } from '../scripts/lib/ohif.js';
import { freePort } from '../scripts/lib/ports.js';
import { newUid, synthDicom } from './helpers/dicom.js';
import { ApiClient } from './helpers/client.js';
import { Fixtures, NEW_PASSWORD } from './helpers/fixtures.js';
import { launchChromium, waitForPixels } from './helpers/ohif.js';
import { field } from './helpers/web.js';
import { startTestApi, testConfig } from './helpers/server.js';

/** Picks `option` in the Mantine Select or MultiSelect labelled `label`, typing `search` first when given (server-side search). */
async function choose(page: Page, scope: Page | Locator, label: string, option: RegExp | string, search?: string) {
  const box = scope.getByRole('combobox', { name: new RegExp(`^${label}( \\*)?$`) });
  await box.click();
  if (search) await box.fill(search);
  await page.getByRole('option', { name: option }).first().click();
  await page.keyboard.press('Escape');
}

/** Everything a page received from the API, as text (what "seen in the network" means here). */
function recordNetwork(page: Page): string[] {
  const bodies: string[] = [];
  page.on('response', async (res) => {
    if (!res.url().includes('/api/')) return;
    bodies.push(await res.text().catch(() => ''));
  });
  return bodies;
}

describe('web console: the requirements’ whole journey through the screens only (issue 24), real Chromium and OHIF', function () {
  this.timeout(600_000);
  let api: RunningApi;
  let proxy: RunningProxy;
  let viewer: Awaited<ReturnType<typeof startViewer>>;
  let browser: Browser;
  let base: string;
  const contexts: BrowserContext[] = [];
  const tag = randomUUID().slice(0, 6);
  const people = {
    admin: { email: `admin-${tag}@test.example`, first: 'Alice', last: `Admin${tag}` },
    doctor: { email: `doctor-${tag}@test.example`, first: 'Didier', last: `Doctor${tag}` },
    secretary: { email: `secretary-${tag}@test.example`, first: 'Sophie', last: `Secretary${tag}` },
    patient: { email: `patient-${tag}@test.example`, first: 'Paula', last: `Patient${tag}` },
  };
  const hospitalName = `Hôpital ${tag}`;
  let patientId = '';

  before(async () => {
    const proxyPort = await freePort();
    const viewerPort = await freePort();
    const env = { DICOM_WEB_URL: `http://127.0.0.1:${proxyPort}/dicom-web`, OHIF_VIEWER_URL: `http://127.0.0.1:${viewerPort}/viewer` };
    proxy = await startProxy(testConfig(env), { port: proxyPort, logger: createLogger('silent', 'proxy-test') });
    viewer = await startViewer(testConfig(env), { distDir: ensureOhifDist(), port: viewerPort });
    api = await startTestApi({ ...env, DICOM_PROXY_INTERNAL_URL: proxy.url });
    base = api.url;
    browser = await launchChromium();
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await api?.stop();
    await viewer?.stop();
    await proxy?.stop();
  });

  /** A fresh browser (its own session storage) logged in as `email`; a first login changes the default password. */
  async function session(email: string, password: string): Promise<Page> {
    const context = await browser.newContext({ locale: 'en-US', acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await field(page, 'E-mail').fill(email);
    await field(page, 'Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    if (password === 'mediconnect') {
      await page.getByRole('heading', { name: 'Choose your own password' }).waitFor();
      await field(page, 'Current password').fill('mediconnect');
      await field(page, 'New password').fill(NEW_PASSWORD);
      await field(page, 'New password again').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Change password' }).click();
    }
    await page.getByRole('heading', { name: /^Welcome,/ }).waitFor();
    return page;
  }

  async function go(page: Page, menu: string) {
    await page.getByRole('navigation').getByRole('link', { name: menu }).click();
    await page.getByRole('heading', { level: 1, name: menu }).waitFor();
  }

  it('a super admin creates a hospital and its admin', async () => {
    const superAdmin = await new Fixtures(new ApiClient(base)).superAdmin();
    const page = await session(superAdmin.email, NEW_PASSWORD);
    await go(page, 'Hospitals');
    const form = page.getByRole('region', { name: 'New hospital' });
    await field(form, 'Name').fill(hospitalName);
    await field(form, 'City').fill('Lyon');
    await page.getByRole('button', { name: 'Create the hospital' }).click();
    await page.getByRole('heading', { level: 1, name: hospitalName }).waitFor();
    const admins = page.getByRole('form', { name: 'New hospital admin' });
    await field(admins, 'E-mail').fill(people.admin.email);
    await field(admins, 'First name').fill(people.admin.first);
    await field(admins, 'Last name').fill(people.admin.last);
    await admins.getByRole('button', { name: 'Create the account' }).click();
    await page.getByRole('cell', { name: people.admin.email }).waitFor();
  });

  it('the admin creates a doctor and a secretary; each changes the default password at first login', async () => {
    const page = await session(people.admin.email, 'mediconnect');
    for (const [menu, who, formName] of [
      ['Doctors', people.doctor, 'New doctor'],
      ['Secretaries', people.secretary, 'New secretary'],
    ] as const) {
      await go(page, menu);
      const form = page.getByRole('form', { name: formName });
      await field(form, 'E-mail').fill(who.email);
      await field(form, 'First name').fill(who.first);
      await field(form, 'Last name').fill(who.last);
      if (menu === 'Doctors') await field(form, 'Specialty').fill('Radiology');
      await form.getByRole('button', { name: 'Create the account' }).click();
      await page.getByRole('cell', { name: who.email }).waitFor();
    }
    await (await session(people.doctor.email, 'mediconnect')).close();
    await (await session(people.secretary.email, 'mediconnect')).close();
  });

  it('the secretary sets the doctor’s hours and creates a patient linked to the doctor', async () => {
    const page = await session(people.secretary.email, NEW_PASSWORD);
    await go(page, 'Availability');
    await choose(page, page, 'Doctor', new RegExp(people.doctor.last), people.doctor.last);
    const weekday = ((new Date(Date.now() + 86_400_000).getDay() + 6) % 7) + 1;
    await page.getByRole('button', { name: 'Add hours' }).click();
    await field(page, 'Day').selectOption(String(weekday));
    await field(page, 'From').fill('08:00');
    await field(page, 'To').fill('18:00');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();

    await go(page, 'Patients');
    const form = page.getByRole('region', { name: 'New patient' });
    await field(form, 'First name').fill(people.patient.first);
    await field(form, 'Last name').fill(people.patient.last);
    await field(form, 'Date of birth').fill('1980-05-06');
    await choose(page, form, 'Sex', 'Female');
    await field(form, 'E-mail').fill(people.patient.email);
    await choose(page, form, 'Doctors', new RegExp(people.doctor.last));
    await page.getByRole('button', { name: 'Create the patient' }).click();
    await page.getByRole('heading', { level: 1, name: `${people.patient.first} ${people.patient.last}` }).waitFor();
    patientId = new URL(page.url()).pathname.split('/').pop()!;
    await page.getByRole('cell', { name: `${people.doctor.first} ${people.doctor.last}`, exact: true }).waitFor();
  });

  it('the patient requests an appointment in a free slot; the secretary validates it', async () => {
    const page = await session(people.patient.email, 'mediconnect');
    await go(page, 'Appointments');
    const form = page.getByRole('region', { name: 'Request an appointment' });
    await choose(page, form, 'Doctor', new RegExp(people.doctor.last), people.doctor.last);
    const tomorrow = new Date(Date.now() + 86_400_000).toLocaleDateString('sv-SE');
    await field(form, 'Day').fill(tomorrow);
    // The first free slot: chips are radio buttons (the label is what a person clicks).
    await form.getByRole('radiogroup').locator('label').first().click();
    await field(form, 'Reason').fill('Check-up');
    await page.getByRole('button', { name: 'Send the request' }).click();
    await page.getByRole('cell', { name: 'Check-up' }).waitFor();
    await page.getByText('Requested', { exact: true }).last().waitFor();

    const secretary = await session(people.secretary.email, NEW_PASSWORD);
    await go(secretary, 'Appointments');
    await secretary.getByRole('cell', { name: `${people.patient.first} ${people.patient.last}` }).waitFor();
    await secretary
      .getByRole('button', { name: /^Validate/ })
      .first()
      .click();
    await secretary.getByRole('radiogroup', { name: 'Status' }).getByText('Validated', { exact: true }).click();
    await secretary.getByRole('cell', { name: 'Check-up' }).waitFor();
  });

  it('the doctor writes a record entry, uploads a CT by drag and drop and opens it in OHIF (pixels on the canvas)', async () => {
    const page = await session(people.doctor.email, NEW_PASSWORD);
    await go(page, 'Patients');
    await page.getByRole('link', { name: `${people.patient.last} ${people.patient.first}` }).click();
    await page.getByRole('heading', { level: 1, name: `${people.patient.first} ${people.patient.last}` }).waitFor();
    const entry = page.getByRole('form', { name: 'New entry' });
    await field(entry, 'Title').fill('First consultation');
    await field(entry, 'Content').fill('Chest pain, CT requested.');
    await entry.getByRole('button', { name: 'Add the entry' }).click();
    await page.getByRole('article', { name: 'First consultation' }).waitFor();

    // Drag and drop: files dropped on the drop zone, as a person drags them from the desktop.
    const studyUid = newUid();
    const series = newUid();
    const slices = [1, 2, 3].map((n) => ({
      name: `ct-${n}.dcm`,
      data: synthDicom({
        patientId: 'CT',
        studyUid,
        seriesUid: series,
        instanceNumber: n,
        rows: 128,
        columns: 128,
        studyDescription: `Thorax ${tag}`,
      }),
    }));
    const transfer = await page.evaluateHandle(
      (files) => {
        const dt = new DataTransfer();
        for (const f of files)
          dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, { type: 'application/dicom' }));
        return dt;
      },
      slices.map((s) => ({ name: s.name, b64: s.data.toString('base64') })),
    );
    const zone = page.getByText(/^Drop DICOM files, folders or ZIPs here/);
    await zone.dispatchEvent('dragenter', { dataTransfer: transfer });
    await zone.dispatchEvent('drop', { dataTransfer: transfer });
    await page.getByText('3 files stored').waitFor();
    await page.getByRole('cell', { name: `Thorax ${tag}`, exact: true }).waitFor();

    const [viewerTab] = await Promise.all([
      page.context().waitForEvent('page'),
      page.getByRole('button', { name: `View — Thorax ${tag}` }).click(),
    ]);
    await viewerTab.waitForURL(/\/viewer/);
    const painted = await waitForPixels(viewerTab, 90_000);
    expect(painted.viewport, 'lit pixels in the viewport').to.be.greaterThan(10_000);
  });

  it('the patient reads its record (read only) and its images, and shares a link that opens in a fresh browser', async () => {
    const page = await session(people.patient.email, NEW_PASSWORD);
    await go(page, 'My record');
    await page.getByRole('article', { name: 'First consultation' }).waitFor();
    expect(await page.getByRole('button', { name: /^Edit/ }).count(), 'no edit for the patient').to.equal(0);
    expect(await page.getByRole('form', { name: 'New entry' }).count()).to.equal(0);
    await go(page, 'My images');
    await page.getByRole('cell', { name: `Thorax ${tag}`, exact: true }).waitFor();
    await page.getByRole('button', { name: `Share — Thorax ${tag}` }).click();
    await page.getByRole('button', { name: 'Create a link' }).click();
    const url = await field(page, 'Link').inputValue();
    expect(url).to.match(/^http/);

    const stranger = await browser.newContext();
    contexts.push(stranger);
    const shared = await stranger.newPage();
    await shared.goto(url);
    const painted = await waitForPixels(shared, 90_000);
    expect(painted.viewport, 'the shared link shows the images').to.be.greaterThan(10_000);
  });

  it('another patient and another hospital’s doctor see none of it, on screen and in the network', async () => {
    const f = new Fixtures(new ApiClient(base));
    const other = await f.hospitalWithStaff();
    const otherPatient = await f.patient(other.secretary, [other.doctor.id]);
    for (const who of [otherPatient, other.doctor]) {
      const page = await session(who.email, NEW_PASSWORD);
      const seen = recordNetwork(page);
      if (who.role === 'patient') {
        await go(page, 'My record');
        await page.getByText('No entry.').waitFor();
        await go(page, 'My images');
        await page.getByText('No study.').waitFor();
      } else {
        await go(page, 'Patients');
        await page
          .getByText(/^0 items$/)
          .waitFor({ timeout: 10_000 })
          .catch(() => undefined);
        await page.goto(`${base}/patients/${patientId}`);
        await page.getByRole('alert').waitFor();
      }
      const everything = seen.join('\n');
      for (const secret of [people.patient.last, people.patient.email, 'First consultation', `Thorax ${tag}`]) {
        expect(everything, `${who.role} received ${secret}`).to.not.include(secret);
        expect(await page.content(), `${who.role} shows ${secret}`).to.not.include(secret);
      }
    }
  });
});
