// Series metadata benchmark: a 200-slice CT series, its WADO-RS metadata fetched through the proxy —
// once computed by Orthanc (reads every instance), then served from our store. Prints both timings.
import { Readable } from 'node:stream';
import { OrthancClient } from '../common/orthanc.js';
import { runIndexerTick } from '../api/src/dicom/index-sync.js';
import { runBench, startBenchServers } from './lib.js';
import { ApiClient } from '../test/helpers/client.js';
import { newUid, synthDicom } from '../test/helpers/dicom.js';
import { Fixtures } from '../test/helpers/fixtures.js';

const SLICES = Number(process.env.BENCH_SLICES ?? 200);
const ROUNDS = 10;

async function main(): Promise<void> {
  const servers = await startBenchServers(2);
  const { config, api, proxy } = servers;
  try {
    const f = new Fixtures(new ApiClient(api.url));
    const clinic = await f.hospitalWithStaff();
    const patient = await f.createPatient(clinic.secretary, [clinic.doctor.id]);
    const orthanc = new OrthancClient(config.orthanc);
    const [study, series] = [newUid(), newUid()];
    for (let i = 0; i < SLICES; i++) {
      await orthanc.storeInstance(
        Readable.from([
          synthDicom({ patientId: patient.identifier, studyUid: study, seriesUid: series, instanceNumber: i + 1, rows: 512, columns: 512 }),
        ]),
      );
    }
    // The proxy reads ownership from the study index: index what was pushed straight to Orthanc.
    await runIndexerTick(api.deps.db, orthanc);
    for (;;) {
      const found = await (
        await orthanc.fetch('/tools/find', {
          method: 'POST',
          body: JSON.stringify({ Level: 'Series', Query: { SeriesInstanceUID: series }, Expand: true }),
        })
      ).json();
      if (found[0]?.IsStable) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const url = `${proxy.url}/dicom-web/studies/${study}/series/${series}/metadata`;
    const timed = async () => {
      const t = process.hrtime.bigint();
      const res = await fetch(url, { headers: { authorization: `Bearer ${clinic.doctor.token}`, accept: 'application/dicom+json' } });
      await res.arrayBuffer();
      return { ms: Number(process.hrtime.bigint() - t) / 1e6, cache: res.headers.get('x-mediconnect-cache') };
    };
    const cold = await timed();
    const warm = [];
    for (let i = 0; i < ROUNDS; i++) warm.push(await timed());
    const median = warm.map((w) => w.ms).sort((x, y) => x - y)[Math.floor(ROUNDS / 2)]!;
    console.log(`\nseries metadata benchmark (${SLICES} slices, local storage, through the proxy)`);
    console.log(`  first request (Orthanc computes, cache ${cold.cache}) : ${cold.ms.toFixed(0)} ms`);
    console.log(`  cached (median of ${ROUNDS}, cache ${warm[0]!.cache})          : ${median.toFixed(0)} ms`);
  } finally {
    await servers.stop();
  }
}

runBench(main);
