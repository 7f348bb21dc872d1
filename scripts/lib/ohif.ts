import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The OHIF Viewer release served by MediConnect (npm package @ohif/app, its built `dist/`). */
export const OHIF_VERSION = '3.13.2';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cacheDir = path.join(repoRoot, 'node_modules', '.cache', 'mediconnect-ohif', OHIF_VERSION);

/**
 * The built viewer, fetched from the npm registry on first use. The package's own dependencies are not
 * installable (it pins unpublished @ohif/* versions) and not needed: only `dist/` is served.
 */
export function ensureOhifDist(): string {
  const dist = path.join(cacheDir, 'dist');
  if (existsSync(path.join(dist, 'index.html'))) return dist;
  const work = `${cacheDir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  console.log(`Fetching OHIF Viewer ${OHIF_VERSION} (npm @ohif/app)…`);
  execFileSync('npm', ['pack', `@ohif/app@${OHIF_VERSION}`, '--pack-destination', work, '--silent'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack @ohif/app produced no tarball');
  execFileSync('tar', ['xzf', path.join(work, tarball), '-C', work, 'package/dist']);
  mkdirSync(cacheDir, { recursive: true });
  rmSync(dist, { recursive: true, force: true });
  renameSync(path.join(work, 'package', 'dist'), dist);
  rmSync(work, { recursive: true, force: true });
  return dist;
}
