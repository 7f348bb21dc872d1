import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { en } from '../web/src/i18n/en.js';
import { newUid, synthDicom, upload } from './helpers/dicom.js';
import { fixtures, NEW_PASSWORD, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { launchChromium } from './helpers/ohif.js';
import { accessibilityViolations } from './helpers/web.js';
import { sharedApi } from './helpers/server.js';

/** Where the screenshots go: docs/screenshots with UPDATE_SCREENSHOTS=1 (for docs/user-guide.md), else the run's folder. */
const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? path.resolve('docs/screenshots')
  : path.join(process.env.TMPDIR ?? '/tmp', 'web-screenshots');
/** A text key i18next would show as is when a language lacks it (`studies.view`). */
const KEY = new RegExp(`\\b(${Object.keys(en).join('|')})\\.[a-zA-Z_]+(\\.[a-zA-Z_]+)*\\b`);

describe('web console: every screen of every role, in English and French, axe-core clean, screenshots (issue 24)', function () {
  this.timeout(300_000);
  let base: string;
  let f: Fixtures;
  let h: HospitalWithStaff;
  let patient: Actor & { identifier: string };
  let browser: Browser;
  let studyUid: string;
  let superAdmin: Actor;

  before(async () => {
    base = (await sharedApi()).url;
    f = await fixtures();
    h = await f.hospitalWithStaff();
    superAdmin = await f.superAdmin();
    patient = await f.patient(h.secretary, [h.doctor.id]);
    await f.api.post('/api/medical-records', {
      token: h.doctor.token,
      body: { patientId: patient.id, type: 'consultation', title: 'Consultation', content: 'Seen today.' },
    });
    studyUid = newUid();
    const res = await upload(base, h.doctor.token, patient.id, [
      { name: 'a.dcm', data: synthDicom({ patientId: 'S', studyUid, seriesUid: newUid(), studyDescription: 'Thorax' }) },
    ]);
    expect(res.status).to.equal(201);
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchChromium();
  });
  after(() => browser?.close());

  const screens = (): { who: () => Actor; role: string; paths: string[] }[] => [
    { who: () => superAdmin, role: 'super_admin', paths: ['/', '/hospitals', `/hospitals/${h.hospital.id}`] },
    { who: () => h.admin, role: 'hospital_admin', paths: ['/doctors', '/secretaries', '/devices'] },
    {
      who: () => h.secretary,
      role: 'secretary',
      paths: ['/patients', `/patients/${patient.id}`, '/appointments', '/calendar', '/availability'],
    },
    {
      who: () => h.doctor,
      role: 'doctor',
      paths: ['/patients', `/patients/${patient.id}`, '/appointments', '/calendar', '/availability', '/quarantine'],
    },
    { who: () => patient, role: 'patient', paths: ['/appointments', '/record', '/images'] },
  ];

  for (const language of ['en', 'fr'] as const) {
    it(`${language}: the login page, then every role's pages — no untranslated text, no serious or critical axe violation`, async () => {
      const problems: string[] = [];
      const context = await browser.newContext({ locale: language === 'fr' ? 'fr-FR' : 'en-US', viewport: { width: 1280, height: 900 } });
      try {
        const page = await context.newPage();
        await page.goto(`${base}/login`);
        await page.getByRole('button').first().waitFor();
        await page.screenshot({ path: path.join(SHOTS, `login-${language}.png`) });
        problems.push(...(await accessibilityViolations(page)).map((v) => `/login: ${v}`));
        for (const { who, role, paths } of screens()) {
          const actor = who();
          // The account's language decides what the console shows once logged in.
          expect((await f.api.patch('/api/auth/me', { token: actor.token, body: { locale: language } })).status).to.equal(200);
          await page.evaluate(() => sessionStorage.clear());
          await page.goto(`${base}/login`);
          await page.locator('input[type=email]').fill(actor.email);
          await page.locator('input[type=password]').fill(NEW_PASSWORD);
          await page.locator('button[type=submit]').click();
          await page.getByRole('navigation').waitFor();
          for (const at of paths) {
            await page.goto(`${base}${at}`);
            await page.getByRole('heading', { level: 1 }).first().waitFor();
            // Lists and sections settle (their queries answer) before the page is judged.
            await page.waitForLoadState('networkidle');
            await page.waitForTimeout(300);
            const text = await page.locator('body').innerText();
            const key = KEY.exec(text);
            if (key) problems.push(`${role} ${at}: untranslated "${key[0]}"`);
            if (language === 'fr' && !/Se déconnecter/.test(text)) problems.push(`${role} ${at}: not in French`);
            problems.push(...(await accessibilityViolations(page)).map((v) => `${role} ${at}: ${v}`));
            const name = `${role}${at.replace(/\/[0-9a-f-]{36}/g, '-detail').replace(/\//g, '-')}`.replace(/-$/, '-home');
            await page.screenshot({ path: path.join(SHOTS, `${name}-${language}.png`), fullPage: true });
          }
          await page.getByRole('button', { name: language === 'fr' ? 'Se déconnecter' : 'Log out' }).click();
          await page.waitForURL(/\/login$/);
        }
      } finally {
        await context.close();
        for (const actor of [superAdmin, h.admin, h.secretary, h.doctor, patient]) {
          await f.api.patch('/api/auth/me', { token: actor.token, body: { locale: null } });
        }
      }
      expect(problems).to.deep.equal([]);
    });
  }
});
