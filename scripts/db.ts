// `npm run db:migrate` / `npm run db:seed` against the database described by the environment.
import { loadDatabaseConfig } from '../common/config.js';
import { migrateAndSeed } from './lib/migrate.js';
import { helpIfAsked, loadOperatorEnv } from './lib/operator-env.js';

// The configuration npm start runs with: .env, then the embedded stack's .data/secrets.json.
helpIfAsked('npm run db:migrate | npm run db:seed');
loadOperatorEnv();

const command = process.argv[2];
const config = loadDatabaseConfig();
const result = await migrateAndSeed(config, { seed: command === 'seed' });
console.log(command === 'seed'
  ? `migrations applied: ${result.applied.length}; super admin ${result.superAdminCreated ? 'created' : 'already present'} (${config.superAdminEmail})`
  : `migrations applied: ${result.applied.length}`);
