import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { loadDatabaseConfig } from '../common/config.js';
import { migrateAndSeed, rollback } from '../scripts/lib/migrate.js';

describe('migrations: every down() undoes its up() (npm run db:rollback), and up() runs again after', function () {
  this.timeout(120_000);
  const database = `${process.env.DB_NAME}_rollback_${randomUUID().slice(0, 8)}`;
  const admin = () =>
    new pg.Client({
      host: process.env.DB_HOST,
      port: Number(process.env.DB_PORT),
      user: process.env.DB_USER,
      password: process.env.DB_PASSWORD,
      database: 'postgres',
    });
  before(async () => {
    const client = admin();
    await client.connect();
    await client.query(`create database "${database}"`);
    await client.end();
  });
  after(async () => {
    const client = admin();
    await client.connect();
    await client.query(`drop database if exists "${database}" with (force)`);
    await client.end();
  });

  it('a fresh database: all migrations applied in one batch, rolled back, applied again, with the seed', async () => {
    const config = loadDatabaseConfig({ ...process.env, DB_NAME: database });
    const first = await migrateAndSeed(config, { seed: true });
    expect(first.applied.length).to.be.greaterThan(40);
    const undone = await rollback(config);
    expect(undone.length).to.equal(first.applied.length);
    const client = new pg.Client({ ...config.db, database, user: config.db.user });
    await client.connect();
    try {
      const { rows } = await client.query(
        `select table_name from information_schema.tables where table_schema = 'public' and table_name not like 'knex_migrations%'`,
      );
      expect(
        rows.map((r) => r.table_name),
        'tables left by the down() functions',
      ).to.deep.equal([]);
    } finally {
      await client.end();
    }
    const again = await migrateAndSeed(config, { seed: true });
    expect(again.applied).to.deep.equal(first.applied);
    expect(again.superAdminCreated).to.equal(true);
    expect(await rollback({ ...config, db: { ...config.db } })).to.have.length(first.applied.length);
  });
});
