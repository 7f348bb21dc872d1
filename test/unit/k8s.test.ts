import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { KUBECTL_PATH } from '../../scripts/lib/system-packages.js';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: any;
}

/** The kubernetes-models class of an object: `apps/v1` + `Deployment` → kubernetes-models/apps/v1/Deployment. */
async function modelOf(o: K8sObject): Promise<new (data: unknown) => { validate(): void }> {
  const module = await import(`kubernetes-models/${o.apiVersion}/${o.kind}`);
  return module[o.kind] ?? module.default;
}

// No cluster runs here: the manifests are rendered with kubectl's kustomize and every object is validated
// against the Kubernetes schemas (kubernetes-models).
describe('deploy/k8s (kustomize)', () => {
  const rendered = execFileSync(KUBECTL_PATH, ['kustomize', 'deploy/k8s'], { encoding: 'utf8' });
  const objects = parseAllDocuments(rendered)
    .map((d) => d.toJSON() as K8sObject)
    .filter(Boolean);
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

  it('renders, and every object is valid against the Kubernetes schemas', async () => {
    expect(objects.length).to.be.greaterThan(10);
    for (const o of objects) {
      const Model = await modelOf(o);
      expect(() => new Model(o).validate(), `${o.kind}/${o.metadata.name}`).to.not.throw();
    }
  });

  it('runs the topology: api and dicom-proxy autoscaled with readiness probes, Orthanc replicas, external PostgreSQL and S3, one ingress', () => {
    for (const name of ['api', 'dicom-proxy']) {
      const deployment = find('Deployment', name)!;
      const container = deployment.spec.template.spec.containers[0];
      expect(container.readinessProbe.httpGet.path, name).to.equal('/readyz');
      expect(container.envFrom.map((e: Record<string, { name: string }>) => Object.values(e)[0]!.name).join(' ')).to.match(
        /mediconnect-config-\w+ mediconnect-secrets-\w+/,
      );
      const hpa = find('HorizontalPodAutoscaler', name)!;
      expect(hpa.spec.scaleTargetRef).to.include({ kind: 'Deployment', name });
      expect(hpa.spec.minReplicas).to.be.at.least(2);
    }
    expect(find('Deployment', 'orthanc')!.spec.replicas).to.be.at.least(2);
    // Devices push to the gate: Orthanc exposes no DICOM port; the gate's DICOM port is load-balanced with the
    // client's address kept (the gate checks it), its /metrics stays inside the cluster.
    expect(
      find('Deployment', 'orthanc')!.spec.template.spec.containers[0].ports.map((p: { containerPort: number }) => p.containerPort),
    ).to.deep.equal([8042]);
    expect(find('Deployment', 'dicom-gate')!.spec.template.spec.containers[0].command).to.deep.equal([
      'node',
      'dist/dicom-gate/src/server.js',
    ]);
    expect(find('Service', 'dicom-gate-dicom')!.spec).to.deep.include({ type: 'LoadBalancer', externalTrafficPolicy: 'Local' });
    expect(find('Service', 'dicom-gate-dicom')!.spec.ports.map((p: { port: number }) => p.port)).to.deep.equal([4242]);
    for (const name of ['postgres', 's3']) expect(find('Service', name)!.spec.type).to.equal('ExternalName');
    const paths = find('Ingress', 'mediconnect')!.spec.rules[0].http.paths.map(
      (p: { path: string; backend: { service: { name: string } } }) => `${p.path}→${p.backend.service.name}`,
    );
    expect(paths).to.deep.equal(['/api→api', '/dicom-web→dicom-proxy', '/→viewer']);
    expect(objects.every((o) => o.kind === 'Namespace' || o.metadata.namespace === 'mediconnect')).to.equal(true);
  });

  it('runs the repair job nightly, one at a time, with the services’ configuration, a command the image builds', () => {
    const job = find('CronJob', 'repair')!;
    expect(job.spec.concurrencyPolicy).to.equal('Forbid');
    const container = job.spec.jobTemplate.spec.template.spec.containers[0];
    expect(container.command.slice(0, 2)).to.deep.equal(['node', 'dist/scripts/repair.js']);
    expect(JSON.parse(readFileSync('tsconfig.build.json', 'utf8')).include).to.include('scripts/repair.ts');
    expect(container.envFrom).to.deep.equal(find('Deployment', 'api')!.spec.template.spec.containers[0].envFrom);
  });
});
