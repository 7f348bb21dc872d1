// `npm run db:migrate` / `db:seed` / `db:rollback` against the database described by the configuration.
import { loadDatabaseConfig } from '../common/config.js';
import { migrateAndSeed, rollback } from './lib/migrate.js';
import { helpIfAsked, loadOperatorEnv, withEmbeddedDatabase } from './lib/operator-env.js';

// The configuration npm start runs with: .env, then the embedded stack's .data/secrets.json.
helpIfAsked(
  'npm run db:migrate | npm run db:seed | npm run db:rollback (undoes the last batch of migrations: stop the services first, back up first)',
);
const loaded = loadOperatorEnv();

const command = process.argv[2];
const config = loadDatabaseConfig();
if (command === 'rollback') {
  const undone = await withEmbeddedDatabase(loaded, () => rollback(config));
  console.log(
    undone.length ? `rolled back ${undone.length} migration(s), newest first:\n  ${undone.join('\n  ')}` : 'nothing to roll back',
  );
} else {
  const result = await withEmbeddedDatabase(loaded, () => migrateAndSeed(config, { seed: command === 'seed' }));
  console.log(
    command === 'seed'
      ? `migrations applied: ${result.applied.length}; super admin ${result.superAdminCreated ? 'created' : 'already present'} (${config.superAdminEmail})`
      : `migrations applied: ${result.applied.length}`,
  );
}
