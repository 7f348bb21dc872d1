// `npm run backup -- <dir> [--storage-dir <dir>]`: the clinical database, Orthanc's index and every image
// object, consistent with each other, from the installation the configuration describes (.env, then
// .data/secrets.json). The keys are not in it: they are kept apart (see docs/operations.md).
import { backup, locationFromEnv } from './lib/backup.js';
import { helpIfAsked, loadOperatorEnv, withEmbeddedDatabase } from './lib/operator-env.js';

helpIfAsked('npm run backup -- <dir> [--storage-dir <images directory, when not in S3>]');
const loaded = loadOperatorEnv();

const [dir] = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--storage-dir');
const storageDir = process.argv.includes('--storage-dir') ? process.argv[process.argv.indexOf('--storage-dir') + 1] : undefined;
if (!dir) {
  console.error('usage: npm run backup -- <dir> [--storage-dir <images directory, when not in S3>]');
  process.exit(2);
}
const manifest = await withEmbeddedDatabase(loaded, () => backup(locationFromEnv(process.env, storageDir), dir));
console.log(`Backed up into ${dir}: 2 database dumps, ${manifest.objects} objects (${(manifest.bytes / 1024 / 1024).toFixed(1)} MB)${manifest.missing.length ? `, ${manifest.missing.length} missing` : ''}.`);
const keys = Object.entries(manifest.keys ?? {});
console.log(
  `The encryption keys are not in the backup. It opens only with ${keys.map(([id, f]) => `key ${id} (fingerprint ${f})`).join(', ') || 'the keys configured now'}:` +
    ` keep ${loaded.secretsFile ?? 'ENCRYPTION_KEYS'} safe, apart from the backup (check: npm run restore -- --check-keys ${dir}).`,
);
