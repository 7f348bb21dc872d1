// `npm run bench:api`: the API's fast path (issues 13 and 25). One stack, one API process (as in production: the load
// generator does not share its event loop; its access log at `info`, written to a pipe the bench drains, as a
// supervisor reads it), a world of one hospital whose secretary follows 50 patients with 10 record entries each, 40
// appointments and 20 studies; then autocannon on loopback against /healthz and the authenticated reads: 50
// connections at saturation, then a steady 200 requests/s. Prints req/s, p50 and p99 of each, each list's share of
// /healthz and of /api/auth/me (target: ≥ 0.15 of /healthz, with p99 < 25 ms at 200/s), and what the access log costs
// per request (/api/auth/me with the log at info against a second process with it at warn). Every answer must be 2xx:
// a benchmark of errors measures nothing.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { createSealer, sealedText } from '../common/sealer.js';
import { loadConfig } from '../common/config.js';
import { createKnex } from '../common/db.js';
import { freePort } from '../scripts/lib/ports.js';
import { seedScale } from '../scripts/lib/seed-scale.js';
import { SERVICE_NODE_FLAGS } from '../scripts/lib/service-flags.js';
import { buildApiForBench, runBench, startBenchStack, waitForHealth } from './lib.js';

const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_API_CONNECTIONS ?? 50);
const STEADY_RATE = Number(process.env.BENCH_API_RATE ?? 200);
const STEADY_SECONDS = Number(process.env.BENCH_API_STEADY_SECONDS ?? 5);

interface Figures {
  rps: number;
  p50: number;
  p99: number;
}

/** autocannon against one path (at saturation, or at a steady overall rate); refuses a run with any error or non-2xx answer. */
async function load(url: string, token: string | null, duration: number, rate?: number): Promise<Figures> {
  const result = await autocannon({
    url,
    connections: rate ? 10 : CONNECTIONS,
    duration,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(rate ? { overallRate: rate } : {}),
  });
  if (result.errors || result.timeouts || result.non2xx)
    throw new Error(`${url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

async function main(): Promise<void> {
  const bench = await startBenchStack(60);
  const config = loadConfig(bench.env);
  const db = createKnex(config, { pool: { min: 0, max: 2 } });
  const world = await seedScale(db, config, { hospitals: 1, patientsPerHospital: 50, entriesPerPatient: 10, studies: 20 }, 'api');
  const doctor = await db('users').where({ email: world.doctorEmail }).first('id', 'hospital_id');
  const patients = (await db('patient_doctor_links').where({ doctor_id: doctor.id }).orderBy('patient_id').select('patient_id')).map(
    (r: { patient_id: string }) => r.patient_id,
  );
  const { seal } = sealedText(createSealer(config.encryption));
  const day = 86_400_000;
  const start = Date.UTC(new Date().getUTCFullYear() + 1, 0, 5, 8);
  await db('appointments').insert(
    patients.slice(0, 40).map((patientId, i) => {
      const id = randomUUID();
      const startsAt = new Date(start + Math.floor(i / 8) * day + (i % 8) * 3_600_000);
      return {
        id,
        patient_id: patientId,
        doctor_id: doctor.id,
        hospital_id: doctor.hospital_id,
        starts_at: startsAt,
        ends_at: new Date(startsAt.getTime() + 1_800_000),
        reason: seal(`Check ${i}`, id, 'reason'),
        requested_by: patientId,
        status: i % 2 ? 'validated' : 'requested',
      };
    }),
  );
  await db.destroy();

  // BENCH_API_FLAGS replaces the services' V8 flags (e.g. "--max-semi-space-size=16"); BENCH_API_PROF writes a CPU profile.
  const profile = process.env.BENCH_API_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_API_PROF] : [];
  const built = buildApiForBench();
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'bench-api-log-'));
  /** One API process (compiled JavaScript, as in production and bench:upload), its log drained as a supervisor would. */
  const startApiProcess = async (logLevel: string) => {
    const port = await freePort();
    const env = {
      ...bench.env,
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      SCHEDULER_ENABLED: 'false',
      LOG_LEVEL: logLevel,
      NODE_ENV: 'production',
    };
    // The log goes to a file, as a log collector reads it: draining a pipe here would take CPU from the process measured.
    const logFile = path.join(logDir, `api-${logLevel}-${port}.log`);
    const out = openSync(logFile, 'w');
    const child = spawn(
      process.execPath,
      [...(process.env.BENCH_API_FLAGS?.split(' ').filter(Boolean) ?? SERVICE_NODE_FLAGS), ...profile, built],
      { env, stdio: ['ignore', out, 'inherit'] },
    );
    closeSync(out);
    const log = { lines: () => readFileSync(logFile).toString().split('\n').length - 1 };
    const stop = () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url).catch(async (err: unknown) => {
      await stop();
      throw err;
    });
    return { url, log, stop };
  };
  const main = await startApiProcess(process.env.BENCH_API_LOG_LEVEL ?? 'info');
  const url = main.url;
  let quiet: Awaited<ReturnType<typeof startApiProcess>> | null = null;
  try {
    const login = async (email: string) => {
      const res = await fetch(`${url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: world.password }),
      });
      if (!res.ok) throw new Error(`login ${res.status}`);
      return ((await res.json()) as { accessToken: string }).accessToken;
    };
    const [secretary, doctorToken] = [await login(world.secretaryEmail), await login(world.doctorEmail)];
    const endpoints: [string, string, string | null][] = [
      ['/healthz', '/healthz', null],
      ['/api/auth/me', '/api/auth/me', secretary],
      ['patients, page of 20', '/api/patients?pageSize=20', secretary],
      ['records of a patient', `/api/medical-records?patientId=${patients[0]}`, doctorToken],
      ['records, all patients', '/api/medical-records', doctorToken],
      ['appointments', '/api/appointments', secretary],
      ['studies', '/api/dicom/studies/', doctorToken],
    ];
    // What each list answers, checked once: the benchmark measures real pages, not empty ones.
    const bytes = new Map<string, number>();
    for (const [name, path, token] of endpoints) {
      const text = await (await fetch(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} })).text();
      bytes.set(name, Buffer.byteLength(text));
      if (name.startsWith('/')) continue;
      if (!(JSON.parse(text) as { items?: unknown[] }).items?.length) throw new Error(`${name}: an empty page`);
    }
    const figures = new Map<string, Figures>();
    const steady = new Map<string, Figures>();
    // BENCH_API_ONLY (a regular expression) measures some endpoints only, e.g. with BENCH_API_PROF (a CPU profile).
    const only = process.env.BENCH_API_ONLY ? new RegExp(process.env.BENCH_API_ONLY) : null;
    const linesBefore = main.log.lines();
    let requests = 0;
    for (const [name, path, token] of endpoints) {
      if (only && !['/healthz', '/api/auth/me'].includes(name) && !only.test(name)) continue;
      await load(`${url}${path}`, token, 1); // warm-up: connections, prepared statements, JIT
      const f = await load(`${url}${path}`, token, SECONDS);
      figures.set(name, f);
      steady.set(name, await load(`${url}${path}`, token, STEADY_SECONDS, STEADY_RATE));
      requests += f.rps * SECONDS;
    }
    const linesPerRequest = (main.log.lines() - linesBefore) / requests;
    // The access log's cost: /api/auth/me (the cheapest authenticated answer) in a process logging at warn.
    quiet = await startApiProcess('warn');
    await load(`${quiet.url}/api/auth/me`, secretary, 1);
    const unlogged = await load(`${quiet.url}/api/auth/me`, secretary, SECONDS);
    await quiet.stop();
    quiet = null;
    // And the logging process again, now that both ran in the same conditions: the better of its two runs counts.
    const meAgain = await load(`${url}/api/auth/me`, secretary, SECONDS);
    const logged = Math.max(meAgain.rps, figures.get('/api/auth/me')!.rps);
    const base = figures.get('/healthz')!;
    const me = figures.get('/api/auth/me')!;
    console.log(
      `\nAPI fast path: ${CONNECTIONS} connections for ${SECONDS} s at saturation, then ${STEADY_RATE} requests/s for ${STEADY_SECONDS} s; loopback, one API process, access log at ${process.env.BENCH_API_LOG_LEVEL ?? 'info'}`,
    );
    console.log('  (targets: each list ≥ 0.15 × /healthz at saturation, p99 < 25 ms at the steady rate)');
    console.log(
      `  ${'endpoint'.padEnd(24)} ${'bytes'.padStart(7)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'× healthz'.padStart(10)} ${'× me'.padStart(6)} ${`p99@${STEADY_RATE}/s`.padStart(10)}  target`,
    );
    for (const [name, , token] of endpoints) {
      const f = figures.get(name);
      if (!f) continue;
      const share = f.rps / base.rps;
      const p99 = steady.get(name)!.p99;
      const list = token !== null && name !== '/api/auth/me';
      const verdict = list ? (share >= 0.15 && p99 < 25 ? 'met' : 'NOT met') : '';
      console.log(
        `  ${name.padEnd(24)} ${String(bytes.get(name)).padStart(7)} ${f.rps.toFixed(0).padStart(8)} ${f.p50.toFixed(1).padStart(7)} ${f.p99.toFixed(1).padStart(7)} ${share.toFixed(2).padStart(10)} ${(f.rps / me.rps).toFixed(2).padStart(6)} ${p99.toFixed(1).padStart(10)}  ${verdict}`,
      );
    }
    const perRequest = (rps: number) => 1e6 / rps;
    console.log(
      `  access log: ${linesPerRequest.toFixed(2)} lines per request over the run (/healthz writes none); /api/auth/me ${logged.toFixed(0)} req/s logged at info against ${unlogged.rps.toFixed(0)} req/s at warn: ${(perRequest(logged) - perRequest(unlogged.rps)).toFixed(1)} µs of the process's time per request`,
    );
    if (!only || only.test('slots')) await slotSearch(url, secretary, doctor.id);
  } finally {
    await quiet?.stop();
    await main.stop();
    rmSync(logDir, { recursive: true, force: true });
    await bench.stop();
  }
}

/** The upper median of a list of numbers. */
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Free-slot search at its worst (100 weekly entries, 500 exceptions, the 62-day window): one search alone,
 * then /healthz probed while 20 run at once — how long a search holds the event loop (target: /healthz
 * median under 50 ms during the load). The test suite only checks that the work is bounded.
 */
async function slotSearch(url: string, token: string, doctorId: string): Promise<void> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const weekly = [1, 2, 3, 4, 5, 6, 7].flatMap((weekday) =>
    Array.from({ length: weekday === 1 ? 16 : 14 }, (_, i) => ({
      weekday,
      start: `${String(4 + i).padStart(2, '0')}:00`,
      end: `${String(4 + i).padStart(2, '0')}:30`,
    })),
  );
  const firstDay = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1);
  const exceptions = Array.from({ length: 500 }, (_, i) => {
    const from = firstDay + Math.floor(i / 10) * 86_400_000 + (4 + (i % 10)) * 3_600_000 + 600_000;
    return { from: new Date(from).toISOString(), to: new Date(from + 300_000).toISOString() };
  });
  const set = await fetch(`${url}/api/doctors/${doctorId}/availability`, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ timezone: 'Europe/Paris', weekly, exceptions }),
  });
  if (!set.ok) throw new Error(`availability: ${set.status}`);
  const search = `${url}/api/doctors/${doctorId}/availability?to=${encodeURIComponent(new Date(Date.now() + 62 * 86_400_000 - 60_000).toISOString())}`;
  const timed = async (target: string, auth: boolean) => {
    const t = performance.now();
    const res = await fetch(target, auth ? { headers } : {});
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${target}: ${res.status}`);
    return performance.now() - t;
  };
  const alone: number[] = [];
  for (let i = 0; i < 10; i++) alone.push(await timed(search, true));
  // /healthz probed without pause while the 20 searches run: how long one waits behind them.
  const during: number[] = [];
  let running = true;
  const load = Promise.all(Array.from({ length: 20 }, () => timed(search, true))).finally(() => (running = false));
  while (running) during.push(await timed(`${url}/healthz`, false));
  const searches = await load;
  console.log(`\nWorst-case slot search (100 weekly entries, 500 exceptions, 62 days): alone median ${median(alone).toFixed(0)} ms;`);
  console.log(
    `  20 at once: slowest ${Math.max(...searches).toFixed(0)} ms; /healthz during them (${during.length} probes) median ${median(during).toFixed(0)} ms, slowest ${Math.max(...during).toFixed(0)} ms (target: median < 50 ms)`,
  );
}

runBench(main);
