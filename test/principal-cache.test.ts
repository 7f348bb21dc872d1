import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { DbListener } from '../common/listener.js';
import { createLogger } from '../common/logger.js';
import { PRINCIPAL_CHANNEL, PrincipalCache } from '../common/principal-cache.js';
import { testDb } from './helpers/db.js';
import { fixtures, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { testConfig } from './helpers/server.js';

/**
 * Which changes drop which cached principals: the triggers' column lists and the cache's handling of each kind,
 * one row per change, against the real database (issue 13).
 */
describe('principal cache: what each change drops (issue 13)', function () {
  this.timeout(60_000);
  let f: Fixtures;
  let listener: DbListener;
  let cache: PrincipalCache;
  let hits = 0;

  before(async () => {
    f = await fixtures();
    listener = new DbListener(testConfig(), createLogger('silent', 'test'), 'test-listener');
    cache = new PrincipalCache(testDb(), listener, 60_000);
    cache.onLookup = (result) => {
      if (result === 'hit') hits++;
    };
    await listener.start();
  });
  after(() => listener.stop());

  const sessionOf = async (userId: string) =>
    (await testDb()('sessions').where({ user_id: userId }).whereNull('revoked_at').orderBy('created_at', 'desc').first('id')).id as string;

  /** Whether the cache still answers for the session without the database. */
  async function cached(userId: string, sessionId: string): Promise<boolean> {
    const before = hits;
    await cache.load({ userId, sessionId });
    return hits > before;
  }

  /** Loads both hospitals' doctor and secretary, then applies `change` and waits for its NOTIFY. */
  async function afterChange(a: HospitalWithStaff, b: HospitalWithStaff, change: () => Promise<unknown>): Promise<Record<string, boolean>> {
    const who = { aDoctor: a.doctor.id, aSecretary: a.secretary.id, bDoctor: b.doctor.id };
    const sessions = new Map<string, string>();
    for (const id of Object.values(who)) sessions.set(id, await sessionOf(id));
    for (const id of Object.values(who)) await cache.load({ userId: id, sessionId: sessions.get(id)! });
    for (const id of Object.values(who)) expect(await cached(id, sessions.get(id)!), 'warm').to.equal(true);
    await change();
    await cache.sync();
    const out: Record<string, boolean> = {};
    for (const [name, id] of Object.entries(who)) out[name] = await cached(id, sessions.get(id)!);
    return out;
  }

  const rows: [string, (a: HospitalWithStaff) => Promise<unknown>, Record<string, boolean>][] = [
    [
      'a login time (last_login_at): nothing',
      (a) => testDb()('users').where({ id: a.doctor.id }).update({ last_login_at: testDb().fn.now() }),
      { aDoctor: true, aSecretary: true, bDoctor: true },
    ],
    [
      'a phone number: nothing',
      (a) => testDb()('users').where({ id: a.doctor.id }).update({ phone: '0600000000' }),
      { aDoctor: true, aSecretary: true, bDoctor: true },
    ],
    [
      'a last name: that account',
      (a) => testDb()('users').where({ id: a.doctor.id }).update({ last_name: 'Changed' }),
      { aDoctor: false, aSecretary: true, bDoctor: true },
    ],
    [
      'an e-mail: that account',
      (a) =>
        testDb()('users')
          .where({ id: a.secretary.id })
          .update({ email: `changed-${a.secretary.email}` }),
      { aDoctor: true, aSecretary: false, bDoctor: true },
    ],
    [
      'a locale: that account',
      (a) => testDb()('users').where({ id: a.secretary.id }).update({ locale: 'fr' }),
      { aDoctor: true, aSecretary: false, bDoctor: true },
    ],
    [
      'a deactivation: that account',
      (a) => testDb()('users').where({ id: a.doctor.id }).update({ is_active: false }),
      { aDoctor: false, aSecretary: true, bDoctor: true },
    ],
    [
      'a password hash: that account',
      (a) => testDb()('users').where({ id: a.doctor.id }).update({ password_hash: 'x' }),
      { aDoctor: false, aSecretary: true, bDoctor: true },
    ],
    [
      'a session revoked: that session',
      async (a) =>
        testDb()('sessions')
          .where({ id: await sessionOf(a.doctor.id) })
          .update({ revoked_at: testDb().fn.now() }),
      { aDoctor: false, aSecretary: true, bDoctor: true },
    ],
    [
      'a hospital renamed: nothing',
      (a) => testDb()('hospitals').where({ id: a.hospital.id }).update({ name: 'Renamed' }),
      { aDoctor: true, aSecretary: true, bDoctor: true },
    ],
    [
      'a hospital deactivated: its accounts',
      (a) => testDb()('hospitals').where({ id: a.hospital.id }).update({ is_active: false }),
      { aDoctor: false, aSecretary: false, bDoctor: true },
    ],
    [
      'an unknown kind of change: everything',
      () => testDb().raw(`select pg_notify('mediconnect_principal', 'z:future')`),
      { aDoctor: false, aSecretary: false, bDoctor: false },
    ],
  ];
  for (const [name, change, expected] of rows) {
    it(name, async () => {
      const [a, b] = [await f.hospitalWithStaff(), await f.hospitalWithStaff()];
      const result = await afterChange(a, b, () => change(a));
      // A dropped principal was read again: a revoked or deactivated one is then refused, not cached.
      expect(result).to.deep.equal(expected);
    });
  }
});

// A write that ends a session answers only once every process's cache has heard of it (DbListener.sync): the
// writer's own listener hearing its marker is not enough when another process's listener is behind.
describe('a sync waits for every listener of the database (issue 13)', function () {
  this.timeout(30_000);
  const logger = createLogger('silent', 'test');
  type Paused = { client: { connection: { stream: { pause(): void; resume(): void } } } };

  it('resolves only after a lagging listener in another process has handled the earlier changes', async () => {
    const [writer, peer] = [new DbListener(testConfig(), logger, 'writer'), new DbListener(testConfig(), logger, 'peer')];
    const heard: string[] = [];
    peer.on(PRINCIPAL_CHANNEL, (payload) => heard.push(payload));
    await Promise.all([writer.start(), peer.start()]);
    try {
      const change = `u:${randomUUID()}`;
      // The peer's process reads nothing for now (a busy or descheduled process).
      const stream = (peer as unknown as Paused).client.connection.stream;
      stream.pause();
      await testDb().raw('select pg_notify(?, ?)', [PRINCIPAL_CHANNEL, change]);
      let synced = false;
      const sync = writer.sync(10_000).then(() => (synced = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(synced, 'answered while a listener had not heard the change').to.equal(false);
      stream.resume();
      await sync;
      expect(heard).to.include(change);
    } finally {
      await Promise.all([writer.stop(), peer.stop()]);
    }
  });

  it('gives up after its timeout on a listener that never answers, and at once when not listening itself', async () => {
    const [writer, mute] = [new DbListener(testConfig(), logger, 'writer'), new DbListener(testConfig(), logger, 'mute')];
    await Promise.all([writer.start(), mute.start()]);
    try {
      (mute as unknown as Paused).client.connection.stream.pause();
      // Resolves (the mocha timeout would fail a hang) although the mute listener never acknowledges.
      await writer.sync(400);
    } finally {
      (mute as unknown as Paused).client.connection.stream.resume();
      await Promise.all([writer.stop(), mute.stop()]);
    }
    // Not listening: nothing to wait for, whatever the timeout.
    await writer.sync(3_600_000);
  });
});
