// Load benchmark: BENCH_USERS (200) concurrent virtual users for BENCH_LOAD_SECONDS (60) on one stack, mixing
// logins, record and study lists, and image frames through the proxy (its own process). Every answer is checked
// against who asked: a record, study or frame of another patient is a leak. Prints throughput, latency per
// operation, errors and leaks. (A fetch-based generator rather than autocannon: it must read every body.)
import { Readable } from 'node:stream';
import { OrthancClient } from '../common/orthanc.js';
import { runIndexerTick } from '../api/src/dicom/index-sync.js';
import { runBench, startBenchServers } from './lib.js';
import { ApiClient } from '../test/helpers/client.js';
import { newUid, synthDicom } from '../test/helpers/dicom.js';
import { Fixtures, NEW_PASSWORD } from '../test/helpers/fixtures.js';

const USERS = Number(process.env.BENCH_USERS ?? 200);
const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 60);
// One account per user, as in real traffic: several logins at once on one account meet the login throttle.
const PATIENTS = Number(process.env.BENCH_LOAD_PATIENTS ?? USERS);
const FRAME = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';

interface Person {
  id: string;
  email: string;
  token: string;
  study: { uid: string; series: string; sop: string };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function main(): Promise<void> {
  // Every virtual user comes from 127.0.0.1: the per-address login limit would count them as one client
  // (in-flight logins are reserved against it). The per-account limit stays as configured.
  process.env.LOGIN_MAX_FAILURES_PER_IP = process.env.LOGIN_MAX_FAILURES_PER_IP ?? '1000000';
  const servers = await startBenchServers(2, { proxyProcess: true });
  const { api, proxy, config } = servers;
  try {
    const f = new Fixtures(new ApiClient(api.url));
    const clinic = await f.hospitalWithStaff();
    const orthanc = new OrthancClient(config.orthanc);
    const people: Person[] = [];
    for (let i = 0; i < PATIENTS; i++) {
      const p = await f.patient(clinic.secretary, [clinic.doctor.id]);
      const study = { uid: newUid(), series: newUid(), sop: newUid() };
      await orthanc.storeInstance(
        Readable.from([
          synthDicom({ patientId: p.identifier, studyUid: study.uid, seriesUid: study.series, sopUid: study.sop, rows: 64, columns: 64 }),
        ]),
      );
      await f.api.post('/api/medical-records', {
        token: clinic.doctor.token,
        body: { patientId: p.id, type: 'note', title: `Note ${i}`, content: 'Seen' },
      });
      people.push({ id: p.id, email: p.email, token: p.token, study });
    }
    while ((await runIndexerTick(api.deps.db, orthanc, undefined, 50)) > 0);

    const latencies: Record<string, number[]> = { login: [], records: [], studies: [], frame: [] };
    let errors = 0;
    let leaks = 0;
    const why: Record<string, number> = {};
    const timed = async (op: string, work: () => Promise<boolean | string>) => {
      const t = performance.now();
      let outcome: boolean | string;
      try {
        outcome = await work();
      } catch (err) {
        outcome = (err as Error).message.slice(0, 60);
      }
      latencies[op]!.push(performance.now() - t);
      if (outcome !== true) {
        errors++;
        const key = `${op}: ${outcome === false ? 'unexpected answer' : outcome}`;
        why[key] = (why[key] ?? 0) + 1;
      }
    };
    const deadline = Date.now() + SECONDS * 1000;
    const user = async (n: number) => {
      for (let i = n; Date.now() < deadline; i++) {
        const me = people[n % people.length]!;
        const other = people[(n + 1 + i) % people.length]!;
        if (other === me) continue;
        switch (i % 4) {
          case 0:
            await timed('login', async () => {
              const res = await fetch(`${api.url}/api/auth/login`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ email: me.email, password: NEW_PASSWORD }),
              });
              if (res.ok) me.token = ((await res.json()) as { accessToken: string }).accessToken;
              else return `${res.status} ${((await res.json()) as { error: { code: string } }).error.code}`;
              return true;
            });
            break;
          case 1:
            await timed('records', async () => {
              const res = await fetch(`${api.url}/api/medical-records?pageSize=20`, { headers: { authorization: `Bearer ${me.token}` } });
              const body = (await res.json()) as { items: { patientId: string }[] };
              if (res.ok && body.items.some((e) => e.patientId !== me.id)) leaks++;
              return res.ok ? body.items.length > 0 : `${res.status}`;
            });
            break;
          case 2:
            await timed('studies', async () => {
              const res = await fetch(`${api.url}/api/dicom/studies?pageSize=20`, { headers: { authorization: `Bearer ${me.token}` } });
              const body = (await res.json()) as { items: { patientId: string }[] };
              if (res.ok && body.items.some((s) => s.patientId !== me.id)) leaks++;
              return res.ok ? body.items.length === 1 : `${res.status}`;
            });
            break;
          default:
            await timed('frame', async () => {
              const mine = await fetch(
                `${proxy.url}/dicom-web/studies/${me.study.uid}/series/${me.study.series}/instances/${me.study.sop}/frames/1`,
                { headers: { authorization: `Bearer ${me.token}`, accept: FRAME } },
              );
              await mine.arrayBuffer();
              // Someone else's frame must be refused.
              const theirs = await fetch(
                `${proxy.url}/dicom-web/studies/${other.study.uid}/series/${other.study.series}/instances/${other.study.sop}/frames/1`,
                { headers: { authorization: `Bearer ${me.token}`, accept: FRAME } },
              );
              await theirs.arrayBuffer();
              if (theirs.status === 200) leaks++;
              return mine.status === 200 && theirs.status === 404 ? true : `${mine.status}/${theirs.status}`;
            });
        }
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: USERS }, (_, n) => user(n)));
    const seconds = (Date.now() - started) / 1000;
    const total = Object.values(latencies).reduce((n, l) => n + l.length, 0);
    console.log(
      `\nload benchmark: ${USERS} concurrent users for ${seconds.toFixed(0)} s, ${PATIENTS} patients (API in the bench process, proxy in its own)`,
    );
    console.log(`  ${total} operations, ${(total / seconds).toFixed(0)} ops/s; errors ${errors}; leaks between patients ${leaks}`);
    for (const [op, l] of Object.entries(latencies)) {
      const sorted = [...l].sort((a, b) => a - b);
      console.log(
        `  ${op.padEnd(8)} ${String(l.length).padStart(7)} ops  p50 ${percentile(sorted, 50).toFixed(0)} ms  p99 ${percentile(sorted, 99).toFixed(0)} ms`,
      );
    }
    if (errors > 0) console.log(`  errors by cause: ${JSON.stringify(why)}`);
    if (leaks > 0) throw new Error(`${leaks} answers carried another patient's data`);
  } finally {
    await servers.stop();
  }
}

runBench(main);
