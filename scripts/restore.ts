// `npm run restore -- <dir> [--into-fresh] [--force] [--check-keys] [--storage-dir <dir>]`: restores a backup into
// the installation the configuration describes (.env, then .data/secrets.json). The services are stopped first;
// for npm start's embedded stack the command starts (or creates) its PostgreSQL itself.
import { parseEncryptionKeys } from '../common/config.js';
import { compareKeys, describeKeyProblems, fingerprints } from '../common/key-registry.js';
import { locationFromEnv, readManifest, restore, RestoreRefused } from './lib/backup.js';
import { helpIfAsked, loadOperatorEnv, withEmbeddedDatabase } from './lib/operator-env.js';

const USAGE = `npm run restore -- <dir> [--into-fresh] [--force] [--check-keys] [--storage-dir <images directory, when not in S3>]
  --into-fresh   replace the databases a first start created (nothing but the schema and the super admin)
  --force        replace databases holding clinical data too, and restore even when the keys do not match
  --check-keys   only compare the backup's key fingerprints with the configured ENCRYPTION_KEYS
  An encrypted backup (npm run backup -- --encrypt) needs BACKUP_PASSPHRASE.`;
helpIfAsked(USAGE);
const loaded = loadOperatorEnv();

const args = process.argv.slice(2);
const [dir] = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--storage-dir');
const storageDir = args.includes('--storage-dir') ? args[args.indexOf('--storage-dir') + 1] : undefined;
if (!dir) {
  console.error(`usage: ${USAGE}`);
  process.exit(2);
}
const keys = process.env.ENCRYPTION_KEYS ? parseEncryptionKeys(process.env.ENCRYPTION_KEYS) : undefined;

if (args.includes('--check-keys')) {
  const recorded = readManifest(dir).keys;
  if (!recorded) console.log('This backup records no key fingerprints (taken before they were recorded).');
  else
    console.log(
      `Keys of this backup: ${
        Object.entries(recorded)
          .map(([id, f]) => `${id} ${f}`)
          .join(', ') || 'none'
      }`,
    );
  if (!keys) {
    console.log('ENCRYPTION_KEYS is not configured here: nothing to compare with.');
    process.exit(recorded ? 1 : 0);
  }
  console.log(
    `Configured keys:    ${Object.entries(fingerprints(keys))
      .map(([id, f]) => `${id} ${f}`)
      .join(', ')}`,
  );
  const problems = recorded ? compareKeys(recorded, keys) : [];
  console.log(problems.length ? describeKeyProblems(problems, 'this backup') : 'The configured keys open this backup.');
  process.exit(problems.length ? 1 : 0);
}
if (!keys) console.warn("ENCRYPTION_KEYS is not configured: the backup's keys cannot be checked before restoring.");

try {
  const manifest = await withEmbeddedDatabase(loaded, () =>
    restore(dir, locationFromEnv(process.env, storageDir), {
      intoFresh: args.includes('--into-fresh'),
      force: args.includes('--force'),
      ...(keys ? { keys } : {}),
      ...(process.env.BACKUP_PASSPHRASE ? { passphrase: process.env.BACKUP_PASSPHRASE } : {}),
    }),
  );
  console.log(`Restored the backup of ${manifest.createdAt}: 2 databases, ${manifest.objects} objects.`);
} catch (err) {
  if (!(err instanceof RestoreRefused)) throw err;
  console.error(`Restore refused, nothing changed: ${err.message}`);
  process.exit(1);
}
