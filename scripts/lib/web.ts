// The web console's build (web/ → web/dist), made on first use like OHIF's dist/: `npm start` and the test suite call
// ensureWebDist(), which rebuilds only when the console's sources or the lockfile changed since the last build.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const webDir = path.join(repoRoot, 'web');
/** The built console. */
export const WEB_DIST = path.join(webDir, 'dist');
const STAMP = '.mediconnect-build';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

/** A hash of everything the build reads: the console's sources and configuration, and the installed versions. */
export function webSourceHash(): string {
  const hash = createHash('sha256');
  const inputs = [
    ...filesUnder(path.join(webDir, 'src')),
    ...['index.html', 'vite.config.ts', 'postcss.config.cjs', 'tsconfig.json'].map((f) => path.join(webDir, f)),
    path.join(repoRoot, 'package-lock.json'),
  ].sort();
  for (const file of inputs) hash.update(path.relative(repoRoot, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

/** The console's dist/, built first when missing or older than its sources; returns its path. */
export function ensureWebDist(): string {
  const wanted = webSourceHash();
  const stamp = path.join(WEB_DIST, STAMP);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted && existsSync(path.join(WEB_DIST, 'index.html'))) return WEB_DIST;
  // Built aside, then swapped in: a concurrent start (or a test's npm start) never serves a half-written build.
  const work = path.join(webDir, `.dist-${process.pid}-${Date.now()}`);
  console.log('Building the web console (web/ → web/dist)…');
  try {
    execFileSync(
      process.execPath,
      [
        path.join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js'),
        'build',
        webDir,
        '--outDir',
        work,
        '--emptyOutDir',
        '--logLevel',
        'warn',
      ],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
        cwd: repoRoot,
      },
    );
    writeFileSync(path.join(work, STAMP), wanted);
    const old = `${WEB_DIST}.old-${process.pid}`;
    if (existsSync(WEB_DIST)) renameSync(WEB_DIST, old);
    renameSync(work, WEB_DIST);
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return WEB_DIST;
}
