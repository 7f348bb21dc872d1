import { expect } from 'chai';
import { tokenDigest } from '../common/tokens.js';
import { ApiClient } from './helpers/client.js';
import { testDb } from './helpers/db.js';
import { fixtures, NEW_PASSWORD, randomEmail, type Fixtures } from './helpers/fixtures.js';
import { startTestApi } from './helpers/server.js';

describe('authentication', () => {
  let f: Fixtures;
  let api: ApiClient;
  let hospitalId: string;
  let adminToken: string;
  before(async () => {
    f = await fixtures();
    api = f.api;
    const h = await f.hospitalWithStaff();
    hospitalId = h.hospital.id;
    adminToken = h.admin.token;
  });

  /** A fresh doctor account that still has the default password. */
  const newDoctor = async () => (await f.account('doctor', hospitalId, adminToken)).email as string;

  describe('login', () => {
    it('returns tokens and the user with mustChangePassword for a new account', async () => {
      const email = await newDoctor();
      const res = await api.post('/api/auth/login', { body: { email, password: 'mediconnect' } });
      expect(res.status).to.equal(200);
      expect(res.body.accessToken).to.be.a('string');
      expect(res.body.refreshToken).to.be.a('string');
      expect(res.body.user).to.include({ email, role: 'doctor', hospitalId, mustChangePassword: true });
      expect(res.body.user).to.have.property('id');
    });

    it('accepts the e-mail in any case', async () => {
      const email = await newDoctor();
      const res = await api.post('/api/auth/login', { body: { email: email.toUpperCase(), password: 'mediconnect' } });
      expect(res.status).to.equal(200);
    });

    it('answers a wrong password and an unknown e-mail identically', async () => {
      const email = await newDoctor();
      const wrong = await api.post('/api/auth/login', { body: { email, password: 'nope-nope' } });
      const unknown = await api.post('/api/auth/login', { body: { email: randomEmail('ghost'), password: 'nope-nope' } });
      expect(wrong.status).to.equal(401);
      expect(unknown.status).to.equal(401);
      expect(wrong.body).to.deep.equal(unknown.body);
    });

    it('rejects a malformed body with field details', async () => {
      const res = await api.post('/api/auth/login', { body: { email: 'not-an-email' } });
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal('VALIDATION_ERROR');
      const fields = res.body.error.details.map((d: { field: string }) => d.field);
      expect(fields).to.include.members(['email', 'password']);
    });

    it('writes login successes and failures to the audit log', async () => {
      const email = await newDoctor();
      await api.post('/api/auth/login', { body: { email, password: 'wrong-password' } });
      const ok = await f.login(email, 'mediconnect');
      const rows = await testDb()('audit_log').where('target_id', ok.id).orWhere('actor_id', ok.id).orderBy('id');
      const actions = rows.map((r) => r.action);
      expect(actions).to.include.members(['account.created', 'auth.login.failed', 'auth.login.succeeded']);
      const success = rows.find((r) => r.action === 'auth.login.succeeded');
      expect(success.request_id).to.be.a('string').with.length.greaterThan(0);
      expect(success.actor_id).to.equal(ok.id);
    });
  });

  describe('default password gate', () => {
    it('allows only /me, change-password and logout until the password is changed', async () => {
      const actor = await f.login(await newDoctor(), 'mediconnect');
      const me = await api.get('/api/auth/me', { token: actor.token });
      expect(me.status).to.equal(200);
      expect(me.body.user.mustChangePassword).to.equal(true);
      for (const [method, path] of [
        ['GET', '/api/doctors'],
        ['GET', `/api/hospitals/${hospitalId}`],
        ['GET', '/api/secretaries'],
      ] as const) {
        const res = await api.request(method, path, { token: actor.token });
        expect(res.status, path).to.equal(403);
        expect(res.body.error.code).to.equal('PASSWORD_CHANGE_REQUIRED');
      }
      const changed = await api.post('/api/auth/change-password', {
        token: actor.token,
        body: { currentPassword: 'mediconnect', newPassword: NEW_PASSWORD },
      });
      expect(changed.status).to.equal(200);
      expect(changed.body.user.mustChangePassword).to.equal(false);
      expect((await api.get('/api/doctors', { token: actor.token })).status).to.equal(200);
    });

    it('lets a pending account log out', async () => {
      const actor = await f.login(await newDoctor(), 'mediconnect');
      expect((await api.post('/api/auth/logout', { token: actor.token })).status).to.equal(204);
      expect((await api.get('/api/auth/me', { token: actor.token })).status).to.equal(401);
    });
  });

  describe('password change', () => {
    it('enforces the password rules', async () => {
      const email = await newDoctor();
      const actor = await f.login(email, 'mediconnect');
      for (const newPassword of ['short', 'mediconnect', 'MEDICONNECT', email, 'x'.repeat(80)]) {
        const res = await api.post('/api/auth/change-password', {
          token: actor.token,
          body: { currentPassword: 'mediconnect', newPassword },
        });
        expect(res.status, newPassword).to.equal(400);
        expect(res.body.error.code).to.equal('WEAK_PASSWORD');
      }
      expect((await api.post('/api/auth/login', { body: { email, password: 'mediconnect' } })).status).to.equal(200);
    });

    it('requires the right current password', async () => {
      const email = await newDoctor();
      const actor = await f.login(email, 'mediconnect');
      const res = await api.post('/api/auth/change-password', {
        token: actor.token,
        body: { currentPassword: 'wrong-one!', newPassword: NEW_PASSWORD },
      });
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal('INVALID_CURRENT_PASSWORD');
    });

    it('replaces the old password, ends other sessions, keeps the current one', async () => {
      const email = await newDoctor();
      const first = await f.login(email, 'mediconnect');
      const other = await f.login(email, 'mediconnect');
      const res = await api.post('/api/auth/change-password', {
        token: first.token,
        body: { currentPassword: 'mediconnect', newPassword: NEW_PASSWORD },
      });
      expect(res.status).to.equal(200);
      expect((await api.post('/api/auth/login', { body: { email, password: 'mediconnect' } })).status).to.equal(401);
      expect((await api.post('/api/auth/login', { body: { email, password: NEW_PASSWORD } })).status).to.equal(200);
      expect((await api.get('/api/auth/me', { token: first.token })).status).to.equal(200);
      const otherRes = await api.get('/api/auth/me', { token: other.token });
      expect(otherRes.status).to.equal(401);
      expect(otherRes.body.error.code).to.equal('SESSION_REVOKED');
      const audit = await testDb()('audit_log').where({ action: 'auth.password.changed', target_id: first.id });
      expect(audit).to.have.length(1);
    });

    it('accepts no account id: it always changes the caller’s own password', async () => {
      const victim = await newDoctor();
      const attacker = await f.activate(await newDoctor());
      const victimRow = await testDb()('users').whereRaw('lower(email) = ?', [victim]).first();
      const res = await api.post('/api/auth/change-password', {
        token: attacker.token,
        body: { currentPassword: NEW_PASSWORD, newPassword: 'Another-Pass-99', userId: victimRow.id },
      });
      expect(res.status).to.equal(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).to.include('userId');
      expect((await api.post('/api/auth/login', { body: { email: victim, password: 'mediconnect' } })).status).to.equal(200);
      expect((await api.post('/api/auth/login', { body: { email: attacker.email, password: NEW_PASSWORD } })).status).to.equal(200);
    });
  });

  describe('tokens', () => {
    it('refuses requests without, or with a forged, token', async () => {
      const none = await api.get('/api/auth/me');
      expect(none.status).to.equal(401);
      expect(none.body.error.code).to.equal('AUTHENTICATION_REQUIRED');
      const actor = await f.login(await newDoctor(), 'mediconnect');
      const [h, p] = actor.token.split('.');
      const forged = await api.get('/api/auth/me', { token: `${h}.${p}.c2lnbmF0dXJl` });
      expect(forged.status).to.equal(401);
      expect(forged.body.error.code).to.equal('INVALID_TOKEN');
    });

    it('rejects an expired access token with TOKEN_EXPIRED', async () => {
      const shortLived = await startTestApi({ ACCESS_TOKEN_TTL_SECONDS: '1' });
      try {
        const client = new ApiClient(shortLived.url);
        const login = await client.post('/api/auth/login', { body: { email: await newDoctor(), password: 'mediconnect' } });
        await new Promise((r) => setTimeout(r, 2100));
        const res = await client.get('/api/auth/me', { token: login.body.accessToken });
        expect(res.status).to.equal(401);
        expect(res.body.error.code).to.equal('TOKEN_EXPIRED');
      } finally {
        await shortLived.stop();
      }
    });

    it('rotates the refresh token on every use', async () => {
      const actor = await f.login(await newDoctor(), 'mediconnect');
      const r1 = await api.post('/api/auth/refresh', { body: { refreshToken: actor.refreshToken } });
      expect(r1.status).to.equal(200);
      expect(r1.body.refreshToken).to.not.equal(actor.refreshToken);
      const r2 = await api.post('/api/auth/refresh', { body: { refreshToken: r1.body.refreshToken } });
      expect(r2.status).to.equal(200);
      expect((await api.get('/api/auth/me', { token: r2.body.accessToken })).status).to.equal(200);
    });

    it('two tabs refreshing with one token at once both get the same new pair, and the session lives on', async () => {
      const actor = await f.login(await newDoctor(), 'mediconnect');
      const [first, second] = await Promise.all(
        [0, 1].map(() => api.post('/api/auth/refresh', { body: { refreshToken: actor.refreshToken } })),
      );
      expect([first!.status, second!.status]).to.deep.equal([200, 200]);
      expect(first!.body.refreshToken).to.equal(second!.body.refreshToken);
      for (const r of [first!, second!]) expect((await api.get('/api/auth/me', { token: r.body.accessToken })).status).to.equal(200);
      const next = await api.post('/api/auth/refresh', { body: { refreshToken: first!.body.refreshToken } });
      expect(next.status).to.equal(200);
      expect(
        await testDb()('audit_log').where({ action: 'auth.refresh.reused' }).whereRaw(`details->>'userId' = ?`, [actor.id]),
      ).to.have.length(0);
    });

    it('within the grace, a token whose successor was already used is a reuse: the family ends', async () => {
      const actor = await f.login(await newDoctor(), 'mediconnect');
      const rotated = await api.post('/api/auth/refresh', { body: { refreshToken: actor.refreshToken } });
      expect((await api.post('/api/auth/refresh', { body: { refreshToken: rotated.body.refreshToken } })).status).to.equal(200);
      const reuse = await api.post('/api/auth/refresh', { body: { refreshToken: actor.refreshToken } });
      expect(reuse.status).to.equal(401);
      expect(reuse.body.error.code).to.equal('REFRESH_TOKEN_REUSED');
    });

    it('revokes the whole family when a used refresh token comes back after the grace', async () => {
      const actor = await f.login(await newDoctor(), 'mediconnect');
      const rotated = await api.post('/api/auth/refresh', { body: { refreshToken: actor.refreshToken } });
      expect(rotated.status).to.equal(200);
      // Rotated longer ago than the grace (the clock moved, not the test's time).
      await testDb()('refresh_tokens')
        .where({ token_hash: tokenDigest(process.env.SECRET_KEY!, actor.refreshToken) })
        .update({ used_at: testDb().raw(`now() - interval '1 minute'`) });
      const reuse = await api.post('/api/auth/refresh', { body: { refreshToken: actor.refreshToken } });
      expect(reuse.status).to.equal(401);
      expect(reuse.body.error.code).to.equal('REFRESH_TOKEN_REUSED');
      // The legitimate holder's newer tokens die with the family.
      const newer = await api.post('/api/auth/refresh', { body: { refreshToken: rotated.body.refreshToken } });
      expect(newer.status).to.equal(401);
      expect((await api.get('/api/auth/me', { token: rotated.body.accessToken })).status).to.equal(401);
      expect(
        await testDb()('audit_log').where({ action: 'auth.refresh.reused' }).whereRaw(`details->>'userId' = ?`, [actor.id]),
      ).to.have.length(1);
    });

    it('stores refresh tokens hashed only', async () => {
      const actor = await f.login(await newDoctor(), 'mediconnect');
      const plain = await testDb()('refresh_tokens').where({ token_hash: actor.refreshToken }).first();
      expect(plain).to.equal(undefined);
    });

    it('rejects an unknown refresh token', async () => {
      const res = await api.post('/api/auth/refresh', { body: { refreshToken: 'not-a-token' } });
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal('INVALID_REFRESH_TOKEN');
    });

    it('logout revokes the refresh token and the access token', async () => {
      const actor = await f.activate(await newDoctor());
      expect((await api.post('/api/auth/logout', { token: actor.token })).status).to.equal(204);
      expect((await api.get('/api/doctors', { token: actor.token })).status).to.equal(401);
      const refresh = await api.post('/api/auth/refresh', { body: { refreshToken: actor.refreshToken } });
      expect(refresh.status).to.equal(401);
    });
  });

  describe('brute-force protection', () => {
    it('locks an account after repeated failures, with the same answer for unknown e-mails', async () => {
      const strict = await startTestApi({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_IP: '1000' });
      try {
        const client = new ApiClient(strict.url);
        const email = await newDoctor();
        const ghost = randomEmail('ghost');
        for (const target of [email, ghost]) {
          for (let i = 0; i < 3; i++) {
            expect((await client.post('/api/auth/login', { body: { email: target, password: 'wrong-password' } })).status).to.equal(401);
          }
        }
        const locked = await client.post('/api/auth/login', { body: { email, password: 'mediconnect' } });
        const lockedGhost = await client.post('/api/auth/login', { body: { email: ghost, password: 'mediconnect' } });
        expect(locked.status).to.equal(429);
        expect(lockedGhost.status).to.equal(429);
        expect(locked.body.error.code).to.equal(lockedGhost.body.error.code);
        expect(Number(locked.headers.get('retry-after'))).to.be.greaterThan(0);
        expect(
          await testDb()('audit_log').where({ action: 'auth.login.throttled' }).whereRaw(`details->>'email' = ?`, [email]),
        ).to.have.length.greaterThan(0);
        // Other accounts are unaffected.
        expect((await client.post('/api/auth/login', { body: { email: await newDoctor(), password: 'mediconnect' } })).status).to.equal(
          200,
        );
      } finally {
        await strict.stop();
      }
    });

    it('holds in parallel: 20 simultaneous wrong passwords on one account → at most the limit checked, the rest 429', async () => {
      const strict = await startTestApi({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '5', LOGIN_MAX_FAILURES_PER_IP: '1000' });
      try {
        const client = new ApiClient(strict.url);
        const email = await newDoctor();
        const answers = await Promise.all(
          Array.from({ length: 20 }, () => client.post('/api/auth/login', { body: { email, password: 'wrong-password' } })),
        );
        const statuses = answers.map((r) => r.status);
        expect(
          statuses.filter((s) => s === 401),
          statuses.join(','),
        ).to.have.length(5);
        expect(statuses.filter((s) => s === 429)).to.have.length(15);
        // The right password, once the account is locked, is refused too.
        expect((await client.post('/api/auth/login', { body: { email, password: 'mediconnect' } })).status).to.equal(429);
      } finally {
        await strict.stop();
      }
    });

    it('a right password withdraws its reserved attempt: it never counts as a failure', async () => {
      const strict = await startTestApi({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '2', LOGIN_MAX_FAILURES_PER_IP: '1000' });
      try {
        const client = new ApiClient(strict.url);
        const email = await newDoctor();
        for (let i = 0; i < 5; i++)
          expect((await client.post('/api/auth/login', { body: { email, password: 'mediconnect' } })).status).to.equal(200);
        expect((await client.post('/api/auth/login', { body: { email, password: 'wrong-password' } })).status).to.equal(401);
        expect((await client.post('/api/auth/login', { body: { email, password: 'mediconnect' } })).status).to.equal(200);
      } finally {
        await strict.stop();
      }
    });

    it('lets the account in again once the window has passed', async () => {
      const strict = await startTestApi({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '2', LOGIN_THROTTLE_WINDOW_SECONDS: '2' });
      try {
        const client = new ApiClient(strict.url);
        const email = await newDoctor();
        for (let i = 0; i < 2; i++) await client.post('/api/auth/login', { body: { email, password: 'wrong-password' } });
        expect((await client.post('/api/auth/login', { body: { email, password: 'mediconnect' } })).status).to.equal(429);
        await new Promise((r) => setTimeout(r, 2200));
        expect((await client.post('/api/auth/login', { body: { email, password: 'mediconnect' } })).status).to.equal(200);
      } finally {
        await strict.stop();
      }
    });

    it('refuses an address that fails on many accounts', async () => {
      const strict = await startTestApi({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '100', LOGIN_MAX_FAILURES_PER_IP: '4', TRUST_PROXY: 'true' });
      try {
        const client = new ApiClient(strict.url);
        const attacker = { 'x-forwarded-for': `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}` };
        for (let i = 0; i < 4; i++) {
          const res = await client.post('/api/auth/login', {
            body: { email: randomEmail('spray'), password: 'wrong-password' },
            headers: attacker,
          });
          expect(res.status).to.equal(401);
        }
        const blocked = await client.post('/api/auth/login', {
          body: { email: await newDoctor(), password: 'mediconnect' },
          headers: attacker,
        });
        expect(blocked.status).to.equal(429);
        const elsewhere = await client.post('/api/auth/login', {
          body: { email: await newDoctor(), password: 'mediconnect' },
          headers: { 'x-forwarded-for': '10.8.0.1' },
        });
        expect(elsewhere.status).to.equal(200);
      } finally {
        await strict.stop();
      }
    });
  });
});
