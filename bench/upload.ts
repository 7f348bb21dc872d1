// Upload benchmark: the same volume of DICOM sent through the API (multipart, streamed, identity
// rewritten) and straight to Orthanc's /instances, in one run on one stack; prints throughputs, their
// ratio (target ≥ 0.8) and the API process's peak RSS (target < 200 MB). Size: BENCH_UPLOAD_MB (500).
// Then C-STORE (BENCH_CSTORE_FILES, 500 files, storescu, one association each way): through the device gate
// from a registered modality, and straight into Orthanc's own DICOM server (the reference; the target is the
// gate at ≥ 0.8 of it, the gate under 200 MB); the HTTP upload's figure above stands next to them.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openAsBlob, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OrthancClient } from '../common/orthanc.js';
import { freePort } from '../scripts/lib/ports.js';
import { SERVICE_NODE_FLAGS } from '../scripts/lib/service-flags.js';
import { waitForTcp } from '../scripts/lib/gate.js';
import { benchGateEntry, buildApiForBench, runBench, startBenchStack } from './lib.js';
import { ApiClient } from '../test/helpers/client.js';
import { newUid, synthDicom } from '../test/helpers/dicom.js';
import { Fixtures } from '../test/helpers/fixtures.js';

const TOTAL_MB = Number(process.env.BENCH_UPLOAD_MB ?? 500);
// 512 × 512 16-bit pixels: a typical CT slice.
const FILE_KB = 512;
const BATCH = 50;

function makeSet(dir: string, count: number, patientId = 'BENCH'): string[] {
  mkdirSync(dir, { recursive: true });
  const studyUid = newUid();
  const seriesUid = newUid();
  return Array.from({ length: count }, (_, i) => {
    const file = path.join(dir, `${i}.dcm`);
    writeFileSync(file, synthDicom({ patientId, studyUid, seriesUid, instanceNumber: i + 1, rows: 512, columns: FILE_KB }));
    return file;
  });
}

const peakRssMb = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function main(): Promise<void> {
  const referenceDicomPort = await freePort();
  const bench = await startBenchStack(60, { referenceDicomPort });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'mediconnect-bench-files-'));
  const apiPort = await freePort();
  // Measured as in production: compiled JavaScript, the services' V8 flags.
  const api = spawn(process.execPath, [...SERVICE_NODE_FLAGS, buildApiForBench()], {
    env: { ...bench.env, API_PORT: String(apiPort) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    const url = `http://127.0.0.1:${apiPort}`;
    for (let i = 0; ; i++) {
      if (
        await fetch(`${url}/readyz`)
          .then((r) => r.ok)
          .catch(() => false)
      )
        break;
      if (i > 150 || api.exitCode !== null) throw new Error('the API did not start');
      await new Promise((r) => setTimeout(r, 200));
    }
    const f = new Fixtures(new ApiClient(url));
    const clinic = await f.hospitalWithStaff();
    const patient = await f.createPatient(clinic.secretary, [clinic.doctor.id]);
    const count = Math.ceil((TOTAL_MB * 1024) / FILE_KB);
    console.log(`generating 2 × ${count} files of ${FILE_KB} KB…`);
    const direct = makeSet(path.join(tmp, 'direct'), count);
    const viaApi = makeSet(path.join(tmp, 'api'), count);
    const bytes = direct.reduce((n, file) => n + statSync(file).size, 0);
    const orthanc = new OrthancClient({
      url: bench.env.ORTHANC_URL!,
      username: bench.env.ORTHANC_USERNAME!,
      password: bench.env.ORTHANC_PASSWORD!,
    });

    const idleRss = peakRssMb(api.pid!);
    // Interleaved batches, so that Orthanc's growing index weighs on both paths alike.
    let directNs = 0n;
    let apiNs = 0n;
    for (let i = 0; i < count; i += BATCH) {
      let t = process.hrtime.bigint();
      for (const file of direct.slice(i, i + BATCH)) {
        const res = await orthanc.fetch('/instances', {
          method: 'POST',
          body: await openAsBlob(file),
          headers: { 'content-type': 'application/dicom' },
        });
        if (!res.ok) throw new Error(`direct upload failed: ${res.status}`);
        await res.arrayBuffer();
      }
      directNs += process.hrtime.bigint() - t;
      t = process.hrtime.bigint();
      const form = new FormData();
      form.append('patientId', patient.id);
      for (const file of viaApi.slice(i, i + BATCH)) form.append('files', await openAsBlob(file), path.basename(file));
      const res = await fetch(`${url}/api/dicom/studies/upload_dicom/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${clinic.doctor.token}` },
        body: form,
      });
      const body = await res.json();
      if (res.status !== 201 || body.refused.length > 0)
        throw new Error(`API upload failed: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
      apiNs += process.hrtime.bigint() - t;
    }
    const directSeconds = Number(directNs) / 1e9;
    const apiSeconds = Number(apiNs) / 1e9;
    const mb = bytes / 1024 / 1024;
    const directRate = mb / directSeconds;
    const apiRate = mb / apiSeconds;
    console.log(`\nupload benchmark (${mb.toFixed(0)} MB, ${count} instances of ${FILE_KB} KB, local storage)`);
    console.log(`  direct to Orthanc /instances : ${directSeconds.toFixed(1)} s  ${directRate.toFixed(1)} MB/s`);
    console.log(`  through the API (multipart)  : ${apiSeconds.toFixed(1)} s  ${apiRate.toFixed(1)} MB/s`);
    console.log(`  ratio API / direct           : ${(apiRate / directRate).toFixed(2)}  (target ≥ 0.8)`);
    console.log(
      `  API peak RSS                 : ${peakRssMb(api.pid!).toFixed(0)} MB  (target < 200 MB; ${idleRss.toFixed(0)} MB before the uploads)`,
    );

    // C-STORE: through the gate (compiled, the services' flags) from a registered modality, and straight into
    // Orthanc's own DICOM server, with the same volume of new files each way, alternately.
    const gatePort = await freePort();
    const gate = spawn(process.execPath, [...SERVICE_NODE_FLAGS, benchGateEntry()], {
      env: { ...bench.env, DICOM_HOST: '127.0.0.1', DICOM_PORT: String(gatePort) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    try {
      await waitForTcp('127.0.0.1', gatePort, 30_000, () => gate.exitCode === null);
      const cstoreCount = Number(process.env.BENCH_CSTORE_FILES ?? 500);
      const aeTitle = 'BENCHCT';
      const registered = await f.api.post('/api/modalities', {
        token: clinic.admin.token,
        body: { aeTitle, host: '127.0.0.1', port: 104 },
      });
      if (registered.status !== 201) throw new Error(`could not register the modality: ${JSON.stringify(registered.body)}`);
      const gateIdle = peakRssMb(gate.pid!);
      const push = (dir: string, port: number) => {
        const t = process.hrtime.bigint();
        execFileSync('storescu', ['+sd', '-aet', aeTitle, '-aec', 'MEDICONNECT', '127.0.0.1', String(port), dir], { stdio: 'ignore' });
        return Number(process.hrtime.bigint() - t) / 1e9;
      };
      let gateSeconds = 0;
      let referenceSeconds = 0;
      let pushedMb = 0;
      // Two rounds each, alternating, so that Orthanc's growing index weighs on both alike.
      for (let round = 0; round < 2; round++) {
        const half = Math.ceil(cstoreCount / 2);
        const viaGate = makeSet(path.join(tmp, `gate-${round}`), half, patient.identifier);
        makeSet(path.join(tmp, `reference-${round}`), half, patient.identifier);
        pushedMb += viaGate.reduce((n, file) => n + statSync(file).size, 0) / 1024 / 1024;
        gateSeconds += push(path.join(tmp, `gate-${round}`), gatePort);
        referenceSeconds += push(path.join(tmp, `reference-${round}`), referenceDicomPort);
      }
      const stored = ((await (await orthanc.fetch('/statistics')).json()) as { CountInstances: number }).CountInstances;
      const gateRate = pushedMb / gateSeconds;
      const referenceRate = pushedMb / referenceSeconds;
      console.log(
        `\nC-STORE (${pushedMb.toFixed(0)} MB each way, ${cstoreCount} files of ${FILE_KB} KB, storescu, one association per half)`,
      );
      console.log(`  HTTP upload through the API   : ${apiRate.toFixed(1)} MB/s  (above)`);
      console.log(`  straight into Orthanc (DICOM) : ${referenceSeconds.toFixed(1)} s  ${referenceRate.toFixed(1)} MB/s`);
      console.log(`  through the device gate       : ${gateSeconds.toFixed(1)} s  ${gateRate.toFixed(1)} MB/s`);
      console.log(`  ratio gate / straight         : ${(gateRate / referenceRate).toFixed(2)}  (target ≥ 0.8)`);
      console.log(
        `  gate peak RSS                 : ${peakRssMb(gate.pid!).toFixed(0)} MB  (target < 200 MB; ${gateIdle.toFixed(0)} MB before the pushes)`,
      );
      console.log(`  instances in Orthanc          : ${stored}`);
    } finally {
      gate.kill('SIGTERM');
      await new Promise((r) => gate.once('exit', r));
    }
  } finally {
    api.kill('SIGTERM');
    await new Promise((r) => api.once('exit', r));
    await bench.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

runBench(main);
