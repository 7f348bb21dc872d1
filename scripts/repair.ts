// `npm run repair -- [--dry-run] [--grace-minutes N] [--storage-dir <dir>]`: removes what a process killed
// during an upload can leave behind (storage rows without an attachment in Orthanc's index, objects without a
// row) and brings the study index in line with Orthanc, for the installation the environment describes.
// Anything younger than the grace period (default 15 minutes) is left alone: it may be an upload in flight.
import { loadConfig } from '../common/config.js';
import { OrthancClient } from '../common/orthanc.js';
import { locationFromEnv } from './lib/backup.js';
import { repair } from './lib/repair.js';
import { helpIfAsked, loadOperatorEnv } from './lib/operator-env.js';

// The configuration npm start runs with: .env, then the embedded stack's .data/secrets.json.
helpIfAsked('npm run repair -- [--dry-run] [--grace-minutes N] [--storage-dir <dir>]');
loadOperatorEnv();

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const graceMinutes = Number(option('--grace-minutes') ?? 15);
if (!Number.isFinite(graceMinutes) || graceMinutes < 0) {
  console.error('usage: npm run repair -- [--dry-run] [--grace-minutes N (default 15)] [--storage-dir <images directory, when not in S3>]');
  process.exit(2);
}
const config = loadConfig();
const report = await repair(locationFromEnv(process.env, option('--storage-dir')), new OrthancClient(config.orthanc), {
  graceSeconds: graceMinutes * 60,
  dryRun: args.includes('--dry-run'),
});
console.log(JSON.stringify(report, null, 2));
