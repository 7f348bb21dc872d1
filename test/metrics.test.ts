import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { addressAllowed } from '../common/metrics.js';
import { createLogger } from '../common/logger.js';
import type { RunningApi } from '../api/src/server.js';
import { startGate, type RunningGate } from '../dicom-gate/src/server.js';
import { startProxy, type RunningProxy } from '../dicom-proxy/src/server.js';
import { freePort } from '../scripts/lib/ports.js';
import { PROMTOOL_PATH } from '../scripts/lib/system-packages.js';
import { ApiClient } from './helpers/client.js';
import { newUid, synthDicom, upload } from './helpers/dicom.js';
import { Fixtures, type Actor, type HospitalWithStaff } from './helpers/fixtures.js';
import { startTestApi, testConfig } from './helpers/server.js';

/** The value of one series in a Prometheus text exposition (0 when absent); labels must match exactly as a subset. */
function valueOf(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe('monitoring: /metrics, alert rules, dashboard (issue 11)', function () {
  this.timeout(120_000);
  let api: RunningApi;
  let proxy: RunningProxy;
  let apiMetricsUrl: string;
  let proxyMetricsUrl: string;
  let gate: RunningGate;
  let gateMetricsUrl: string;
  let client: ApiClient;
  let h: HospitalWithStaff;
  let patient: Actor & { identifier: string };
  const scrape = async (url: string) => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.include('text/plain');
    return res.text();
  };

  before(async () => {
    const [apiPort, proxyPort, proxyMetrics] = [await freePort(), await freePort(), await freePort()];
    proxy = await startProxy(testConfig({ DICOM_PROXY_METRICS_PORT: String(proxyMetrics) }), {
      port: proxyPort,
      logger: createLogger('silent', 'proxy-metrics'),
    });
    api = await startTestApi({ METRICS_PORT: String(apiPort), DICOM_PROXY_INTERNAL_URL: proxy.url });
    apiMetricsUrl = `http://127.0.0.1:${apiPort}`;
    proxyMetricsUrl = `http://127.0.0.1:${proxyMetrics}`;
    const gateMetrics = await freePort();
    gate = await startGate(testConfig({ DICOM_GATE_METRICS_PORT: String(gateMetrics) }), {
      port: 0,
      host: '127.0.0.1',
      logger: createLogger('silent', 'gate-metrics'),
    });
    gateMetricsUrl = `http://127.0.0.1:${gateMetrics}`;
    client = new ApiClient(api.url);
    const f = new Fixtures(client);
    h = await f.hospitalWithStaff();
    patient = await f.patient(h.secretary, [h.doctor.id]);
  });
  after(async () => {
    await api?.stop();
    await proxy?.stop();
    await gate?.stop();
  });

  it('the API’s series move when requests, denials, uploads and viewer sessions happen', async () => {
    const before = await scrape(apiMetricsUrl);
    const route = { service: 'api', route: '/api/patients/:id', method: 'GET', status: '200' };
    expect((await client.get(`/api/patients/${patient.id}`, { token: h.secretary.token })).status).to.equal(200);
    expect((await fetch(`${api.url}/api/patients`)).status).to.equal(401);
    const studyUid = newUid();
    const files = [
      { name: 'ok.dcm', data: synthDicom({ patientId: 'M', studyUid, seriesUid: newUid() }) },
      { name: 'junk.dcm', data: Buffer.from('not dicom at all') },
    ];
    const uploaded = await upload(api.url, h.doctor.token, patient.id, files);
    expect(uploaded.status).to.equal(201);
    const session = await client.post(`/api/dicom/studies/${uploaded.body.studies[0].id}/viewer-sessions`, { token: h.doctor.token });
    expect(session.status).to.equal(201);
    const after = await scrape(apiMetricsUrl);

    expect(valueOf(after, 'mediconnect_http_requests_total', route) - valueOf(before, 'mediconnect_http_requests_total', route)).to.equal(
      1,
    );
    expect(valueOf(after, 'mediconnect_http_request_duration_seconds_count', route)).to.be.greaterThan(0);
    expect(
      valueOf(after, 'mediconnect_authorization_denials_total', { status: '401' }) -
        valueOf(before, 'mediconnect_authorization_denials_total', { status: '401' }),
    ).to.equal(1);
    expect(valueOf(after, 'mediconnect_upload_bytes_total') - valueOf(before, 'mediconnect_upload_bytes_total')).to.be.greaterThan(
      files[0]!.data.length,
    );
    expect(
      valueOf(after, 'mediconnect_upload_refused_files_total', { code: 'NOT_DICOM' }) -
        valueOf(before, 'mediconnect_upload_refused_files_total', { code: 'NOT_DICOM' }),
    ).to.equal(1);
    expect(valueOf(after, 'mediconnect_viewer_sessions_open')).to.be.greaterThan(valueOf(before, 'mediconnect_viewer_sessions_open'));
    expect(valueOf(after, 'mediconnect_orthanc_request_duration_seconds_count', { outcome: 'ok' })).to.be.greaterThan(
      valueOf(before, 'mediconnect_orthanc_request_duration_seconds_count', { outcome: 'ok' }),
    );
    expect(valueOf(after, 'mediconnect_db_query_duration_seconds_count', { outcome: 'ok' })).to.be.greaterThan(
      valueOf(before, 'mediconnect_db_query_duration_seconds_count', { outcome: 'ok' }),
    );
    expect(after).to.include('mediconnect_email_outbox_backlog');
    // Route templates, never raw ids.
    expect(after).to.not.include(patient.id);
  });

  it('the proxy’s series count DICOMweb requests by service, denials and access-cache hits', async () => {
    const studyUid = newUid();
    expect(
      (
        await upload(api.url, h.doctor.token, patient.id, [
          { name: 'a.dcm', data: synthDicom({ patientId: 'M', studyUid, seriesUid: newUid() }) },
        ])
      ).status,
    ).to.equal(201);
    const before = await scrape(proxyMetricsUrl);
    const read = () =>
      fetch(`${proxy.url}/dicom-web/studies/${studyUid}/series`, { headers: { authorization: `Bearer ${h.doctor.token}` } });
    expect((await read()).status).to.equal(200);
    expect((await read()).status).to.equal(200);
    expect((await fetch(`${proxy.url}/dicom-web/studies/${studyUid}/series`)).status).to.equal(401);
    const after = await scrape(proxyMetricsUrl);
    const qido = { service: 'dicom-proxy', route: 'qido', status: '200' };
    expect(valueOf(after, 'mediconnect_http_requests_total', qido) - valueOf(before, 'mediconnect_http_requests_total', qido)).to.equal(2);
    expect(
      valueOf(after, 'mediconnect_authorization_denials_total', { status: '401' }) -
        valueOf(before, 'mediconnect_authorization_denials_total', { status: '401' }),
    ).to.equal(1);
    expect(
      valueOf(after, 'mediconnect_cache_lookups_total', { result: 'hit' }) -
        valueOf(before, 'mediconnect_cache_lookups_total', { result: 'hit' }),
    ).to.be.at.least(1);
    expect(
      valueOf(after, 'mediconnect_cache_lookups_total', { result: 'miss' }) -
        valueOf(before, 'mediconnect_cache_lookups_total', { result: 'miss' }),
    ).to.be.at.least(1);
    expect(valueOf(after, 'mediconnect_orthanc_request_duration_seconds_count', { operation: 'dicom-web' })).to.be.greaterThan(0);
  });

  it('answers /metrics only to METRICS_ALLOW (others 404), and nothing else on that port', async () => {
    const port = await freePort();
    const closed = await startTestApi({ METRICS_PORT: String(port), METRICS_ALLOW: '10.20.30.40,192.168.0.0/16' });
    try {
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).to.equal(404);
    } finally {
      await closed.stop();
    }
    expect((await fetch(`${apiMetricsUrl}/api/patients`)).status).to.equal(404);
    expect(addressAllowed('::ffff:127.0.0.1', ['127.0.0.1'])).to.equal(true);
    expect(addressAllowed('10.1.2.3', ['10.0.0.0/8'])).to.equal(true);
    expect(addressAllowed('11.1.2.3', ['10.0.0.0/8'])).to.equal(false);
    expect(addressAllowed('::1', ['127.0.0.1'])).to.equal(false);
  });

  it('alert rules pass promtool’s check and unit tests; the scrape configuration is valid', () => {
    const dir = 'deploy/prometheus';
    expect(execFileSync(PROMTOOL_PATH, ['check', 'rules', `${dir}/alerts.yml`]).toString()).to.include('SUCCESS: 10 rules found');
    expect(execFileSync(PROMTOOL_PATH, ['test', 'rules', 'alerts.test.yml'], { cwd: dir }).toString()).to.include('SUCCESS');
    expect(execFileSync(PROMTOOL_PATH, ['check', 'config', 'prometheus.yml'], { cwd: dir }).toString()).to.include('SUCCESS');
  });

  it('every series the rules and the dashboard use is one the services expose', async () => {
    // Declared series (# TYPE), with the _bucket/_count/_sum series of histograms.
    const exposed = new Set(
      [await scrape(apiMetricsUrl), await scrape(proxyMetricsUrl), await scrape(gateMetricsUrl)].flatMap((t) =>
        [...t.matchAll(/^# TYPE (mediconnect_\w+) (\w+)$/gm)].flatMap(([, name, type]) =>
          type === 'histogram' ? [`${name}_bucket`, `${name}_count`, `${name}_sum`] : [name!],
        ),
      ),
    );
    const dashboard = JSON.parse(readFileSync('deploy/grafana/mediconnect-dashboard.json', 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
    };
    const used = [readFileSync('deploy/prometheus/alerts.yml', 'utf8'), ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))]
      .join('\n')
      .match(/mediconnect_[a-z_]+/g)!;
    expect(used.length).to.be.greaterThan(10);
    for (const name of new Set(used)) expect(exposed.has(name), name).to.equal(true);
  });
});
