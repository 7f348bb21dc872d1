// `npm run db:embedded -- start|stop|status|psql`: the embedded PostgreSQL of `npm start` on its own, for operator
// work while the rest is stopped (a password rotation, a manual look). Reads .data/secrets.json like npm start.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { findPostgresBin, clusterRunning, startCluster, stopCluster } from './lib/postgres.js';
import { embeddedCluster, helpIfAsked, loadOperatorEnv } from './lib/operator-env.js';

const USAGE = `npm run db:embedded -- start | stop | status | psql
  start    start the embedded PostgreSQL (127.0.0.1, port DB_PORT or 54329) alone, with .data/postgres
  stop     stop it (fast shutdown: nothing committed is lost)
  status   say whether it runs
  psql     open psql on the clinical database as the embedded user (the password from .data/secrets.json)`;
helpIfAsked(USAGE);
const loaded = loadOperatorEnv();
const command = process.argv[2];
if (!loaded.embeddedDb) {
  console.error('DB_HOST is set (environment or .env): the database is not npm start’s embedded one; manage it with its own tools.');
  process.exit(2);
}
const cluster = embeddedCluster();
const running = clusterRunning(cluster.dataDir);
switch (command) {
  case 'start':
    if (running) console.log('The embedded PostgreSQL is already running.');
    else {
      startCluster(cluster);
      console.log(
        `The embedded PostgreSQL runs on 127.0.0.1:${cluster.port} (log: ${cluster.logFile}); stop it with npm run db:embedded -- stop before npm start.`,
      );
    }
    break;
  case 'stop':
    stopCluster(cluster.dataDir);
    console.log(running ? 'The embedded PostgreSQL is stopped.' : 'The embedded PostgreSQL was not running.');
    break;
  case 'status':
    console.log(running ? `running on 127.0.0.1:${cluster.port} (${cluster.dataDir})` : `stopped (${cluster.dataDir})`);
    process.exitCode = running ? 0 : 3;
    break;
  case 'psql': {
    const psql = findPostgresBin() ? path.join(findPostgresBin()!, 'psql') : 'psql';
    const result = spawnSync(
      psql,
      ['-h', '127.0.0.1', '-p', String(cluster.port), '-U', cluster.user, cluster.database, ...process.argv.slice(3)],
      {
        stdio: 'inherit',
        env: { ...process.env, PGPASSWORD: cluster.password },
      },
    );
    process.exitCode = result.status ?? 1;
    break;
  }
  default:
    console.error(`usage: ${USAGE}`);
    process.exit(2);
}
