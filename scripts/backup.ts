// `npm run backup -- <dir> [--encrypt] [--storage-dir <dir>]`: the clinical database, Orthanc's index and every image
// object, consistent with each other, from the installation the configuration describes (.env, then
// .data/secrets.json). The keys are not in it: they are kept apart (see docs/operations.md).
import { backup, locationFromEnv } from './lib/backup.js';
import { passphraseFromEnv } from './lib/backup-crypto.js';
import { helpIfAsked, loadOperatorEnv, withEmbeddedDatabase } from './lib/operator-env.js';

const USAGE = `npm run backup -- <dir> [--encrypt] [--storage-dir <images directory, when not in S3>]
  --encrypt   seal every file with a key derived from BACKUP_PASSPHRASE (scrypt, AES-256-GCM): without it the backup
              holds patient names and images in clear`;
helpIfAsked(USAGE);
const loaded = loadOperatorEnv();

const [dir] = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--storage-dir');
const storageDir = process.argv.includes('--storage-dir') ? process.argv[process.argv.indexOf('--storage-dir') + 1] : undefined;
if (!dir) {
  console.error(`usage: ${USAGE}`);
  process.exit(2);
}
const passphrase = process.argv.includes('--encrypt') ? passphraseFromEnv() : undefined;
const manifest = await withEmbeddedDatabase(loaded, () => backup(locationFromEnv(process.env, storageDir), dir, { passphrase }));
console.log(
  `Backed up into ${dir}${passphrase ? ', encrypted' : ''}: 2 database dumps, ${manifest.objects} objects (${(manifest.bytes / 1024 / 1024).toFixed(1)} MB)${manifest.missing.length ? `, ${manifest.missing.length} missing` : ''}.`,
);
const keys = Object.entries(manifest.keys ?? {});
console.log(
  `The encryption keys are not in the backup. It opens only with ${keys.map(([id, f]) => `key ${id} (fingerprint ${f})`).join(', ') || 'the keys configured now'}:` +
    ` keep ${loaded.secretsFile ?? 'ENCRYPTION_KEYS'} safe, apart from the backup (check: npm run restore -- --check-keys ${dir}).`,
);
