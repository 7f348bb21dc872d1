// Scale benchmark: list and search endpoints of one hospital (1,000 patients, 10 record entries each) measured
// alone, then again once the database holds BENCH_SCALE_HOSPITALS (50) hospitals — 100,000 patients,
// 1,000,000 record entries, 10,000 studies — to show the queries stay on their indexes (target: p99 ≤ 2× the
// small world's). Prints both, their ratio, and the plans of the list queries.
import type { Knex } from 'knex';
import { startApi } from '../api/src/server.js';
import { loadConfig } from '../common/config.js';
import { createLogger } from '../common/logger.js';
import { freePort } from '../scripts/lib/ports.js';
import { seedScale } from '../scripts/lib/seed-scale.js';
import { runBench, startBenchStack } from './lib.js';

const HOSPITALS = Number(process.env.BENCH_SCALE_HOSPITALS ?? 50);
const PER_HOSPITAL = Number(process.env.BENCH_SCALE_PATIENTS ?? 2000);
const REQUESTS = Number(process.env.BENCH_SCALE_REQUESTS ?? 200);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function main(): Promise<void> {
  const bench = await startBenchStack(60);
  const config = loadConfig({ ...bench.env, API_PORT: String(await freePort()) });
  const api = await startApi(config, { port: 0, logger: createLogger('warn', 'bench') });
  try {
    const db = api.deps.db;
    // The measured hospital: 1,000 patients (half of a "large" hospital), 10 entries each, 200 studies.
    const small = await seedScale(db, config, { hospitals: 1, patientsPerHospital: 1000, entriesPerPatient: 10, studies: 200 }, 'measured');
    const login = async (email: string) => {
      const res = await fetch(`${api.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: small.password }),
      });
      return ((await res.json()) as { accessToken: string }).accessToken;
    };
    const [secretary, doctor] = [await login(small.secretaryEmail), await login(small.doctorEmail)];
    const onePatient = (
      await db('patient_doctor_links as l')
        .join('users as d', 'd.id', 'l.doctor_id')
        .where('d.email', small.doctorEmail)
        .first('l.patient_id')
    ).patient_id as string;
    const endpoints: [string, string, string][] = [
      ['patients, page 1', '/api/patients?pageSize=20', secretary],
      ['patients, last page', '/api/patients?pageSize=20&page=50', secretary],
      ['patients, search', '/api/patients?q=Martin1&pageSize=20', secretary],
      ['records of a patient', `/api/medical-records?patientId=${onePatient}&pageSize=20`, doctor],
      ['records, all in scope', '/api/medical-records?pageSize=20', doctor],
      ['studies', '/api/dicom/studies?pageSize=20', doctor],
      ['appointments', '/api/appointments?pageSize=20', secretary],
    ];
    const measure = async () => {
      const out: Record<string, { p50: number; p99: number }> = {};
      for (const [name, path, token] of endpoints) {
        const times: number[] = [];
        for (let i = 0; i < REQUESTS + 10; i++) {
          const t = performance.now();
          const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
          if (!res.ok) throw new Error(`${path}: ${res.status}`);
          await res.arrayBuffer();
          if (i >= 10) times.push(performance.now() - t);
        }
        times.sort((a, b) => a - b);
        out[name] = { p50: percentile(times, 50), p99: percentile(times, 99) };
      }
      return out;
    };
    const before = await measure();
    const t = Date.now();
    await seedScale(
      db,
      config,
      { hospitals: HOSPITALS - 1, patientsPerHospital: PER_HOSPITAL, entriesPerPatient: 10, studies: 10_000 - 200 },
      'others',
    );
    const [{ patients }] = (await db('patients').count({ patients: '*' })) as [{ patients: string }];
    const [{ entries }] = (await db('medical_record_entries').count({ entries: '*' })) as [{ entries: string }];
    const [{ studies }] = (await db('dicom_studies').count({ studies: '*' })) as [{ studies: string }];
    console.log(`seeded ${patients} patients, ${entries} record entries, ${studies} studies in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    const after = await measure();

    console.log(
      `\nscale benchmark: one hospital of 1,000 patients, alone and among ${patients} patients (${REQUESTS} sequential requests each)`,
    );
    console.log(`  ${'endpoint'.padEnd(24)} ${'alone p50/p99'.padEnd(16)} ${'at scale p50/p99'.padEnd(18)} p99 ratio (target ≤ 2)`);
    for (const [name] of endpoints) {
      const [a, b] = [before[name]!, after[name]!];
      console.log(
        `  ${name.padEnd(24)} ${`${a.p50.toFixed(1)}/${a.p99.toFixed(1)} ms`.padEnd(16)} ${`${b.p50.toFixed(1)}/${b.p99.toFixed(1)} ms`.padEnd(18)} ${(b.p99 / a.p99).toFixed(2)}`,
      );
    }
    // The plans, for the documentation of the indexes they use.
    const entryPlan = await db.raw(
      `EXPLAIN SELECT id FROM medical_record_entries WHERE patient_id = ? AND deleted_at IS NULL ORDER BY recorded_at DESC LIMIT 20`,
      [onePatient],
    );
    console.log(
      `  plan of one patient's record entries:\n${(entryPlan.rows as { 'QUERY PLAN': string }[]).map((r) => `    ${r['QUERY PLAN']}`).join('\n')}`,
    );
    // The statements the API runs (page and total in one), captured as they are sent, then analysed.
    const analyse = async (what: string, table: string, path: string, token: string) => {
      let captured: { sql: string; bindings: Knex.RawBinding[] } | null = null;
      const grab = (q: { sql: string; bindings: Knex.RawBinding[] }) => {
        if (/count\(\*\) over \(\)/.test(q.sql) && q.sql.includes(`"${table}"`)) captured = q;
      };
      db.on('query', grab);
      await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer());
      db.off('query', grab);
      if (!captured) return;
      const { sql, bindings } = captured as { sql: string; bindings: Knex.RawBinding[] };
      const analyzed = await db.raw(`EXPLAIN ANALYZE ${sql.replace(/\$\d+/g, '?')}`, bindings);
      console.log(
        `  plan of ${what} (one statement: page and total):\n${(analyzed.rows as { 'QUERY PLAN': string }[]).map((r) => `    ${r['QUERY PLAN']}`).join('\n')}`,
      );
    };
    await analyse("a secretary's patient list", 'users', '/api/patients?pageSize=20', secretary);
    await analyse("a doctor's entries across its patients", 'medical_record_entries', '/api/medical-records?pageSize=20', doctor);
  } finally {
    await api.stop();
    await bench.stop();
  }
}

runBench(main);
