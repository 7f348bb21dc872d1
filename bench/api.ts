// `npm run bench:api`: the API's fast path (issue 13). One stack, one API process (as in production: the load
// generator does not share its event loop), a world of one hospital whose secretary follows 50 patients with
// 10 record entries each, 40 appointments and 20 studies; then autocannon, 50 connections on loopback, against
// /healthz and the authenticated reads. Prints req/s, p50 and p99 of each, and each list's share of /healthz
// (target: ≥ 0.15, with p99 < 25 ms). Every answer must be 2xx: a benchmark of errors measures nothing.
import { spawn } from 'node:child_process';
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

interface Figures {
  rps: number;
  p50: number;
  p99: number;
}

/** autocannon against one path; refuses a run with any error or non-2xx answer. */
async function load(url: string, token: string | null, duration: number): Promise<Figures> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration, headers: token ? { authorization: `Bearer ${token}` } : {} });
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

  const port = await freePort();
  const env = {
    ...bench.env,
    API_HOST: '127.0.0.1',
    API_PORT: String(port),
    SCHEDULER_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
  };
  // BENCH_API_FLAGS replaces the services' V8 flags (e.g. "--max-semi-space-size=16"); BENCH_API_PROF writes a CPU profile.
  const profile = process.env.BENCH_API_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_API_PROF] : [];
  // Measured as in production: compiled JavaScript (as bench:upload).
  const child = spawn(
    process.execPath,
    [...(process.env.BENCH_API_FLAGS?.split(' ').filter(Boolean) ?? SERVICE_NODE_FLAGS), ...profile, buildApiForBench()],
    { env, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(url);
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
    // BENCH_API_ONLY (a regular expression) measures some endpoints only, e.g. with BENCH_API_PROF (a CPU profile).
    const only = process.env.BENCH_API_ONLY ? new RegExp(process.env.BENCH_API_ONLY) : null;
    for (const [name, path, token] of endpoints) {
      if (only && name !== '/healthz' && !only.test(name)) continue;
      await load(`${url}${path}`, token, 1); // warm-up: connections, prepared statements, JIT
      figures.set(name, await load(`${url}${path}`, token, SECONDS));
    }
    const base = figures.get('/healthz')!;
    console.log(
      `\nAPI fast path: ${CONNECTIONS} connections, ${SECONDS} s each, loopback, one API process (targets: lists ≥ 0.15 × /healthz, p99 < 25 ms)`,
    );
    console.log(
      `  ${'endpoint'.padEnd(24)} ${'bytes'.padStart(7)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'× healthz'.padStart(10)}  target`,
    );
    for (const [name, , token] of endpoints) {
      const f = figures.get(name);
      if (!f) continue;
      const share = f.rps / base.rps;
      const list = token !== null && name !== '/api/auth/me';
      const verdict = list ? (share >= 0.15 && f.p99 < 25 ? 'met' : 'NOT met') : '';
      console.log(
        `  ${name.padEnd(24)} ${String(bytes.get(name)).padStart(7)} ${f.rps.toFixed(0).padStart(8)} ${f.p50.toFixed(1).padStart(7)} ${f.p99.toFixed(1).padStart(7)} ${share.toFixed(2).padStart(10)}  ${verdict}`,
      );
    }
    if (!only || only.test('slots')) await slotSearch(url, secretary, doctor.id);
  } finally {
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
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
