// `npm run bench:web`: the web console's weight and speed (issue 24). Prints the JavaScript the login page loads
// (gzip; target under 300 KB) and, for a doctor followed by 1,000 patients, the time from opening /patients until
// the first rows show in Chromium (median of several runs, a full page load, and a click on the menu once the console is loaded;
// target under 1 s). The API runs compiled, in its own process, against a throwaway stack.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadConfig } from '../common/config.js';
import { createKnex } from '../common/db.js';
import { freePort } from '../scripts/lib/ports.js';
import { seedScale } from '../scripts/lib/seed-scale.js';
import { SERVICE_NODE_FLAGS } from '../scripts/lib/service-flags.js';
import { ensureWebDist } from '../scripts/lib/web.js';
import { launchChromium } from '../test/helpers/ohif.js';
import { buildApiForBench, runBench, startBenchStack, waitForHealth } from './lib.js';

const RUNS = Number(process.env.BENCH_WEB_RUNS ?? 5);

/** The JavaScript and CSS the first page loads: its entry script, the modules it preloads, its style sheets. */
function initialWeight(dist: string): { js: number; css: number; files: number } {
  const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
  const js = [...html.matchAll(/<script[^>]+src="([^"]+)"|<link rel="modulepreload"[^>]+href="([^"]+)"/g)].map((m) => m[1] ?? m[2]!);
  const css = [...html.matchAll(/<link rel="stylesheet"[^>]+href="([^"]+)"/g)].map((m) => m[1]!);
  const gz = (files: string[]) => files.reduce((sum, f) => sum + gzipSync(readFileSync(path.join(dist, f))).length, 0);
  return { js: gz(js), css: gz(css), files: js.length };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const dist = ensureWebDist();
  const weight = initialWeight(dist);
  const bench = await startBenchStack(60);
  const config = loadConfig(bench.env);
  const db = createKnex(config, { pool: { min: 0, max: 2 } });
  const world = await seedScale(db, config, { hospitals: 1, patientsPerHospital: 1000, entriesPerPatient: 0, studies: 0 }, 'web');
  await db.destroy();
  const port = await freePort();
  const env = {
    ...bench.env,
    API_HOST: '127.0.0.1',
    API_PORT: String(port),
    WEB_DIST_DIR: dist,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
  };
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, buildApiForBench()], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  const browser = await launchChromium();
  try {
    await waitForHealth(url);
    // The API's own share: the request the page makes, alone.
    const login = await fetch(`${url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: world.doctorEmail, password: world.password }),
    });
    const token = ((await login.json()) as { accessToken: string }).accessToken;
    const apiTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      const res = await fetch(`${url}/api/patients?page=1&pageSize=20&sort=lastName`, { headers: { authorization: `Bearer ${token}` } });
      await res.text();
      apiTimes.push(performance.now() - started);
    }
    const cold: number[] = [];
    const warm: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${url}/login`);
      await page.locator('input[type=email]').fill(world.doctorEmail);
      await page.locator('input[type=password]').fill(world.password);
      await page.locator('button[type=submit]').click();
      await page.getByRole('navigation').waitFor();
      // A full load of /patients (the page, its scripts, the session restored, the first page of patients)…
      const started = performance.now();
      await page.goto(`${url}/patients`);
      await page.locator('tbody tr a').first().waitFor();
      cold.push(performance.now() - started);
      // …and a click on the menu from another page (the console already loaded).
      await page.goto(`${url}/`);
      await page.getByRole('navigation').waitFor();
      // Timed inside the page (from the click to the first row in the DOM), not by the driver's own round trips.
      const link = page.getByRole('navigation').getByRole('link').nth(1);
      await link.waitFor();
      const inPage = await link.evaluate(
        (a) =>
          new Promise<number>((resolve) => {
            const started = performance.now();
            const observer = new MutationObserver(() => {
              if (!document.querySelector('tbody tr a')) return;
              observer.disconnect();
              resolve(performance.now() - started);
            });
            observer.observe(document.body, { childList: true, subtree: true });
            (a as HTMLAnchorElement).click();
          }),
      );
      warm.push(inPage);
      const rows = await page.locator('tbody tr').count();
      if (rows === 0) throw new Error('the list showed no patient');
      await context.close();
    }
    console.log(`web console (${RUNS} runs, a doctor with 1,000 patients):`);
    console.log(`  GET /api/patients (a page of 20 of 1,000): ${median(apiTimes).toFixed(0)} ms median`);
    console.log(
      `  initial JavaScript  ${(weight.js / 1024).toFixed(1)} KB gzip in ${weight.files} file(s) (target < 300 KB); CSS ${(weight.css / 1024).toFixed(1)} KB gzip`,
    );
    console.log(
      `  /patients → first rows: page load ${median(cold).toFixed(0)} ms median (max ${Math.max(...cold).toFixed(0)}), from the menu ${median(warm).toFixed(0)} ms (target < 1000 ms)`,
    );
  } finally {
    await browser.close();
    child.kill('SIGTERM');
    await bench.stop();
  }
}

runBench(main);
