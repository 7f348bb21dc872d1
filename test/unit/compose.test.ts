import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { SERVICE_NODE_FLAGS } from '../../scripts/lib/service-flags.js';
import { spawnSync } from 'node:child_process';
import { DOCKER_COMPOSE_PATH } from '../../scripts/lib/system-packages.js';

interface Service {
  image?: string;
  build?: unknown;
  restart?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

// No Docker engine runs on the development machines: what can be checked without one is checked here.
describe('docker-compose.yml', () => {
  const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, Service> };
  const services = Object.entries(compose.services);
  // One-shot jobs (no restart policy: they exit when done) need no health check.
  const oneShot = new Set(services.filter(([, s]) => s.restart === undefined).map(([name]) => name));

  it('every long-running service restarts unless stopped and has a health check (Orthanc included)', () => {
    expect(compose.services.orthanc?.healthcheck).to.not.equal(undefined);
    for (const [name, service] of services) {
      if (oneShot.has(name)) {
        // A one-shot job is only ever waited for as completed.
        for (const other of Object.values(compose.services)) {
          const dep = other.depends_on?.[name];
          if (dep) expect(dep.condition, `${name} is waited for as a job`).to.equal('service_completed_successfully');
        }
        continue;
      }
      expect(service.restart, `${name}.restart`).to.equal('unless-stopped');
      expect(service.healthcheck?.test, `${name}.healthcheck`).to.be.an('array').with.length.greaterThan(0);
    }
  });

  it('waits on health only for services that have a health check, and has no dependency cycle', () => {
    for (const [name, service] of services) {
      for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(compose.services[dep], `${name} depends on ${dep}`).to.not.equal(undefined);
        if (condition === 'service_healthy')
          expect(compose.services[dep]!.healthcheck, `${dep} has a health check`).to.not.equal(undefined);
      }
    }
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (name: string, trail: string[]): void => {
      if (done.has(name)) return;
      expect(visiting.has(name), `cycle: ${[...trail, name].join(' → ')}`).to.equal(false);
      visiting.add(name);
      for (const dep of Object.keys(compose.services[name]!.depends_on ?? {})) visit(dep, [...trail, name]);
      visiting.delete(name);
      done.add(name);
    };
    for (const [name] of services) visit(name, []);
  });

  it('parses with docker-compose (Debian’s), and refuses to start without its secrets', () => {
    const secrets = {
      DB_PASSWORD: 'db-secret',
      MINIO_ACCESS_KEY: 'minio',
      MINIO_SECRET_KEY: 'minio-secret',
      SECRET_KEY: 'k'.repeat(40),
      ENCRYPTION_KEYS: 'k1:a2V5',
      ORTHANC_PASSWORD: 'orthanc-secret',
    };
    const config = (env: Record<string, string>) =>
      spawnSync(DOCKER_COMPOSE_PATH, ['-f', 'docker-compose.yml', 'config'], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
    const ok = config(secrets);
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout).to.include('orthanc-secret').and.include('METRICS_PORT');
    const { SECRET_KEY: _dropped, ...withoutKey } = secrets;
    const refused = config(withoutKey);
    expect(refused.status).to.not.equal(0);
    expect(refused.stderr).to.include('SECRET_KEY');
  });

  it('runs two API and two proxy replicas behind one reverse proxy routing /api, /dicom-web and the viewer', () => {
    const replicas = (name: string) => (compose.services[name] as { deploy?: { replicas?: number } }).deploy?.replicas;
    expect(replicas('api')).to.equal(2);
    expect(replicas('dicom-proxy')).to.equal(2);
    const published = services
      .filter(([, s]) => (s as { ports?: string[] }).ports?.length)
      .map(([name]) => name)
      .sort();
    // Devices reach the device gate only: Orthanc publishes nothing (and has no DICOM server, orthanc.docker.json).
    expect(published).to.deep.equal(['dicom-gate', 'reverse-proxy']);
    expect((compose.services['dicom-gate'] as { ports?: string[]; command?: string[] }).ports).to.deep.equal(['${DICOM_PORT:-4242}:4242']);
    expect((compose.services['dicom-gate'] as { command?: string[] }).command).to.deep.equal(['node', 'dist/dicom-gate/src/server.js']);
    expect(JSON.parse(readFileSync('orthanc/orthanc.docker.json', 'utf8')).DicomServerEnabled).to.equal(false);
    const nginx = readFileSync('deploy/nginx/mediconnect.conf', 'utf8');
    for (const [location, upstream] of [
      ['/api/', 'api'],
      ['/dicom-web/', 'dicom_proxy'],
      ['/', 'viewer'],
    ] as const) {
      expect(nginx).to.match(new RegExp(`location ${location.replace(/\//g, '\\/')} \\{ proxy_pass http://${upstream}; \\}`));
    }
    expect(nginx).to.include('client_max_body_size 0;').and.include('proxy_request_buffering off;');
  });

  it('pins every image to a version', () => {
    for (const [name, service] of services) {
      if (service.image)
        expect(service.image, name)
          .to.match(/:[^:]*\d[^:]*$/)
          .and.not.match(/:latest$/);
    }
    expect(readFileSync('orthanc/Dockerfile', 'utf8')).to.match(/^FROM \S+:\d[\w.-]*$/m);
  });
});

describe('Dockerfile', () => {
  it('runs the services with the V8 flags npm start and the benchmarks use', () => {
    const nodeOptions = /^ENV NODE_OPTIONS=(.+)$/m.exec(readFileSync('Dockerfile', 'utf8'))?.[1];
    expect(nodeOptions?.split(' ')).to.deep.equal(SERVICE_NODE_FLAGS);
  });

  it('builds the web console and points the API at it', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    expect(dockerfile).to.match(/^RUN npm run build:web$/m);
    expect(dockerfile).to.match(/^COPY --from=build \/app\/web\/dist \.\/web$/m);
    expect(dockerfile).to.match(/^ENV WEB_DIST_DIR=\/app\/web$/m);
  });
});

describe('.env.example', () => {
  it('documents every variable the configuration reads', () => {
    const schema = readFileSync('common/config.ts', 'utf8');
    const keys = [
      ...schema.slice(schema.indexOf('const envSchema'), schema.indexOf('export type Env')).matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm),
    ].map((m) => m[1]!);
    const example = readFileSync('.env.example', 'utf8');
    expect(keys.length).to.be.greaterThan(40);
    for (const key of keys) expect(example, key).to.match(new RegExp(`^${key}=`, 'm'));
  });
});
