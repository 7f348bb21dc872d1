import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findPostgresBin } from './postgres.js';

/** A system dependency of the stack, and the Debian packages that provide it. */
export interface SystemRequirement {
  name: string;
  debPackages: string[];
  present: () => boolean;
}

export const POSTGRESQL: SystemRequirement = {
  name: 'PostgreSQL server',
  debPackages: ['postgresql'],
  present: () => findPostgresBin() !== null,
};

/** kubectl (Debian's kubernetes-client when the machine has none): renders deploy/k8s with its kustomize. */
export const KUBECTL_PATH = '/usr/bin/kubectl';

/** Tools the test suite drives: dcmtk (storescu, as a modality), pdftotext, pydicom's sample files, promtool. */
export const TEST_TOOLS: SystemRequirement = {
  name: 'dcmtk, poppler-utils, pydicom test files, Chromium (drives the real OHIF Viewer), promtool (checks the alert rules), docker-compose (checks the compose file) and nginx (runs the reverse proxy configuration)',
  debPackages: [
    'dcmtk',
    'poppler-utils',
    'python3-pydicom',
    'chromium',
    'prometheus',
    'docker-compose',
    'nginx-light',
    ...(existsSync(KUBECTL_PATH) ? [] : ['kubernetes-client']),
  ],
  present: () =>
    ['/usr/bin/storescu', '/usr/bin/pdftotext', CHROMIUM_PATH, PROMTOOL_PATH, DOCKER_COMPOSE_PATH, KUBECTL_PATH, NGINX_PATH].every((f) =>
      existsSync(f),
    ) && existsSync(PYDICOM_TEST_FILES),
};

/** Debian's nginx (package nginx-light): the tests run deploy/nginx/mediconnect.conf in front of the services. */
export const NGINX_PATH = '/usr/sbin/nginx';

/** Debian's docker-compose: only `config` is used (no Docker engine runs here), to check the compose file. */
export const DOCKER_COMPOSE_PATH = '/usr/bin/docker-compose';

/** Debian's promtool (package prometheus): checks and unit-tests the alert rules. */
export const PROMTOOL_PATH = '/usr/bin/promtool';

/** Debian's Chromium, which the viewer tests drive through playwright-core. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Where Debian's python3-pydicom keeps its sample DICOM files (including malformed ones). */
export const PYDICOM_TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

/** Installs missing Debian packages when running as root; otherwise prints the exact command and exits. */
export function ensureSystemPackages(requirements: SystemRequirement[]): void {
  const missing = requirements.filter((r) => !r.present());
  if (missing.length === 0) return;
  const packages = [...new Set(missing.flatMap((r) => r.debPackages))];
  const line = `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  if (process.getuid?.() !== 0) {
    console.error(`Missing: ${missing.map((r) => r.name).join(', ')}. Install them with:\n  sudo apt-get update && sudo ${line}`);
    process.exit(1);
  }
  console.log(`Installing ${packages.join(', ')} …`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  const install = update.status === 0 ? spawnSync('sh', ['-c', line], { stdio: 'inherit', env }) : update;
  const still = missing.filter((r) => !r.present());
  if (install.status !== 0 || still.length > 0) {
    console.error(`Could not install ${packages.join(' ')}; run as root: apt-get update && ${line}`);
    process.exit(1);
  }
}
