// `npm run restore -- <dir> [--storage-dir <dir>]`: restores a backup into the installation the environment
// describes, whose databases must not exist yet (or be empty); the bucket or directory is created if needed.
import { locationFromEnv, restore } from './lib/backup.js';
import { helpIfAsked, loadOperatorEnv } from './lib/operator-env.js';

// The configuration npm start runs with: .env, then the embedded stack's .data/secrets.json.
helpIfAsked('npm run restore -- <dir> [--storage-dir <images directory, when not in S3>]');
loadOperatorEnv();

const [dir] = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--storage-dir');
const storageDir = process.argv.includes('--storage-dir') ? process.argv[process.argv.indexOf('--storage-dir') + 1] : undefined;
if (!dir) {
  console.error('usage: npm run restore -- <dir> [--storage-dir <images directory, when not in S3>]');
  process.exit(2);
}
const manifest = await restore(dir, locationFromEnv(process.env, storageDir));
console.log(`Restored the backup of ${manifest.createdAt}: 2 databases, ${manifest.objects} objects.`);
