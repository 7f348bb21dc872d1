// `npm run backup -- <dir> [--storage-dir <dir>]`: the clinical database, Orthanc's index and every image
// object, consistent with each other, from the installation the environment describes (.env variables).
import { backup, locationFromEnv } from './lib/backup.js';
import { helpIfAsked, loadOperatorEnv } from './lib/operator-env.js';

// The configuration npm start runs with: .env, then the embedded stack's .data/secrets.json.
helpIfAsked('npm run backup -- <dir> [--storage-dir <images directory, when not in S3>]');
loadOperatorEnv();

const [dir] = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--storage-dir');
const storageDir = process.argv.includes('--storage-dir') ? process.argv[process.argv.indexOf('--storage-dir') + 1] : undefined;
if (!dir) {
  console.error('usage: npm run backup -- <dir> [--storage-dir <images directory, when not in S3>]');
  process.exit(2);
}
const manifest = await backup(locationFromEnv(process.env, storageDir), dir);
console.log(`Backed up into ${dir}: 2 database dumps, ${manifest.objects} objects (${(manifest.bytes / 1024 / 1024).toFixed(1)} MB)${manifest.missing.length ? `, ${manifest.missing.length} missing` : ''}.`);
