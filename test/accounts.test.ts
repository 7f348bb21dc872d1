import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ApiClient } from './helpers/client.js';
import { testDb } from './helpers/db.js';
import { twoHospitals, NEW_PASSWORD, randomEmail, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';

describe('hospital admins (super admin only)', () => {
  let f: Fixtures;
  let api: ApiClient;
  let sa: Actor;
  let a: HospitalWithStaff;
  let b: HospitalWithStaff;
  let patient: Actor;
  before(async () => ({ f, api, sa, a, b, patient } = await twoHospitals()));

  it('creates an admin bound to the given hospital, with the default password', async () => {
    const email = randomEmail('Admin').toUpperCase();
    const res = await api.post('/api/hospital-admins', {
      token: sa.token,
      body: { email, firstName: 'Ada', lastName: 'Admin', hospitalId: a.hospital.id },
    });
    expect(res.status).to.equal(201);
    expect(res.body).to.include({
      email: email.toLowerCase(),
      role: 'hospital_admin',
      hospitalId: a.hospital.id,
      isActive: true,
      mustChangePassword: true,
    });
    expect(res.body).to.not.have.property('password');
    const login = await api.post('/api/auth/login', { body: { email, password: 'mediconnect' } });
    expect(login.status).to.equal(200);
    expect(login.body.user.mustChangePassword).to.equal(true);
  });

  it('requires an existing hospitalId', async () => {
    const missing = await api.post('/api/hospital-admins', {
      token: sa.token,
      body: { email: randomEmail('adm'), firstName: 'A', lastName: 'B' },
    });
    expect(missing.status).to.equal(400);
    expect(missing.body.error.details.map((d: { field: string }) => d.field)).to.include('hospitalId');
    const unknown = await api.post('/api/hospital-admins', {
      token: sa.token,
      body: { email: randomEmail('adm'), firstName: 'A', lastName: 'B', hospitalId: randomUUID() },
    });
    expect(unknown.status).to.equal(400);
    expect(unknown.body.error.details[0].field).to.equal('hospitalId');
  });

  it('refuses a duplicate e-mail (any case) with 409', async () => {
    const res = await api.post('/api/hospital-admins', {
      token: sa.token,
      body: { email: a.doctor.email.toUpperCase(), firstName: 'A', lastName: 'B', hospitalId: a.hospital.id },
    });
    expect(res.status).to.equal(409);
    expect(res.body.error.code).to.equal('EMAIL_ALREADY_EXISTS');
  });

  it('lists, reads, updates, deactivates, reactivates and deletes admins', async () => {
    const created = await f.account('hospital_admin', b.hospital.id, undefined, { lastName: `Zed${randomUUID().slice(0, 6)}` });
    const list = await api.get(`/api/hospital-admins?hospitalId=${b.hospital.id}`, { token: sa.token });
    expect(list.body.items.map((x: { id: string }) => x.id)).to.include.members([created.id, b.admin.id]);
    expect(list.body.items.every((x: { hospitalId: string }) => x.hospitalId === b.hospital.id)).to.equal(true);
    expect((await api.get(`/api/hospital-admins/${created.id}`, { token: sa.token })).body.email).to.equal(created.email);
    const renamed = await api.patch(`/api/hospital-admins/${created.id}`, {
      token: sa.token,
      body: { firstName: 'Renamed', phone: '+33 6 00 00 00 00' },
    });
    expect(renamed.body).to.include({ firstName: 'Renamed', phone: '+33 6 00 00 00 00' });
    const actor = await f.activate(created.email);
    expect((await api.patch(`/api/hospital-admins/${created.id}`, { token: sa.token, body: { isActive: false } })).body.isActive).to.equal(
      false,
    );
    expect((await api.get('/api/secretaries', { token: actor.token })).status).to.equal(401);
    expect((await api.post('/api/auth/login', { body: { email: created.email, password: NEW_PASSWORD } })).status).to.equal(401);
    expect((await api.patch(`/api/hospital-admins/${created.id}`, { token: sa.token, body: { isActive: true } })).body.isActive).to.equal(
      true,
    );
    const back = await f.login(created.email, NEW_PASSWORD);
    expect((await api.get('/api/secretaries', { token: back.token })).status).to.equal(200);
    expect((await api.delete(`/api/hospital-admins/${created.id}`, { token: sa.token })).status).to.equal(204);
    expect((await api.get(`/api/hospital-admins/${created.id}`, { token: sa.token })).status).to.equal(404);
    expect((await api.post('/api/auth/login', { body: { email: created.email, password: NEW_PASSWORD } })).status).to.equal(401);
    expect((await api.get('/api/secretaries', { token: back.token })).status).to.equal(401);
    // The audit trail that names the deleted account stays.
    const actions = (await testDb()('audit_log').where({ target_id: created.id }).orderBy('id')).map((r) => r.action);
    expect(actions).to.include.members([
      'account.created',
      'account.updated',
      'account.deactivated',
      'account.reactivated',
      'account.deleted',
    ]);
    expect(await testDb()('users').where({ id: created.id }).first()).to.include({ is_active: false });
  });

  it('frees the e-mail of a deleted account for a new one', async () => {
    const created = await f.account('hospital_admin', b.hospital.id);
    await api.delete(`/api/hospital-admins/${created.id}`, { token: sa.token });
    const again = await api.post('/api/hospital-admins', {
      token: sa.token,
      body: { email: created.email, firstName: 'New', lastName: 'One', hospitalId: b.hospital.id },
    });
    expect(again.status).to.equal(201);
    expect(again.body.id).to.not.equal(created.id);
  });

  it('never moves an admin to another hospital', async () => {
    const res = await api.patch(`/api/hospital-admins/${b.admin.id}`, { token: sa.token, body: { hospitalId: a.hospital.id } });
    expect(res.status).to.equal(400);
    expect((await api.get(`/api/hospital-admins/${b.admin.id}`, { token: sa.token })).body.hospitalId).to.equal(b.hospital.id);
    // Below the API, the database refuses it too.
    let refused = false;
    await testDb()('users')
      .where({ id: b.admin.id })
      .update({ hospital_id: a.hospital.id })
      .catch(() => (refused = true));
    expect(refused).to.equal(true);
  });

  it('the super admin cannot set an admin’s password either; the old one keeps working', async () => {
    for (const body of [{ password: 'Stolen-Pass-123' }, { newPassword: 'Stolen-Pass-123' }, { firstName: 'X', password_hash: 'x' }]) {
      const res = await api.patch(`/api/hospital-admins/${b.admin.id}`, { token: sa.token, body });
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal('PASSWORD_NOT_ACCEPTED');
    }
    expect((await api.get(`/api/hospital-admins/${b.admin.id}`, { token: sa.token })).body.firstName).to.equal('Test');
    expect((await api.post('/api/auth/login', { body: { email: b.admin.email, password: 'Stolen-Pass-123' } })).status).to.equal(401);
    expect((await api.post('/api/auth/login', { body: { email: b.admin.email, password: NEW_PASSWORD } })).status).to.equal(200);
  });

  it('is refused to every other role (403)', async () => {
    for (const actor of [a.admin, a.doctor, a.secretary, patient]) {
      expect((await api.get('/api/hospital-admins', { token: actor.token })).status, actor.role).to.equal(403);
      expect((await api.get(`/api/hospital-admins/${a.admin.id}`, { token: actor.token })).status, actor.role).to.equal(403);
      const create = await api.post('/api/hospital-admins', {
        token: actor.token,
        body: { email: randomEmail('x'), firstName: 'A', lastName: 'B', hospitalId: a.hospital.id },
      });
      expect(create.status, actor.role).to.equal(403);
      expect((await api.patch(`/api/hospital-admins/${a.admin.id}`, { token: actor.token, body: { firstName: 'X' } })).status).to.equal(
        403,
      );
      expect((await api.delete(`/api/hospital-admins/${a.admin.id}`, { token: actor.token })).status).to.equal(403);
    }
  });
});

describe('doctors and secretaries (hospital admins of their hospital)', () => {
  let f: Fixtures;
  let api: ApiClient;
  let sa: Actor;
  let a: HospitalWithStaff;
  let b: HospitalWithStaff;
  let patient: Actor;
  before(async () => ({ f, api, sa, a, b, patient } = await twoHospitals()));

  for (const [path, role] of [
    ['/api/doctors', 'doctor'],
    ['/api/secretaries', 'secretary'],
  ] as const) {
    describe(path, () => {
      const body = (extra: Record<string, unknown> = {}) => ({
        email: randomEmail(role),
        firstName: 'Jean',
        lastName: `Martin${randomUUID().slice(0, 4)}`,
        ...(role === 'doctor' ? { specialty: 'Cardiology' } : {}),
        ...extra,
      });

      it('a hospital admin creates accounts in its own hospital, taken from the admin', async () => {
        const res = await api.post(path, { token: a.admin.token, body: body() });
        expect(res.status).to.equal(201);
        expect(res.body).to.include({
          role,
          hospitalId: a.hospital.id,
          hospitalName: a.hospital.name,
          mustChangePassword: true,
          isActive: true,
        });
        if (role === 'doctor') expect(res.body.specialty).to.equal('Cardiology');
        const same = await api.post(path, { token: a.admin.token, body: body({ hospitalId: a.hospital.id }) });
        expect(same.status).to.equal(201);
        const other = await api.post(path, { token: a.admin.token, body: body({ hospitalId: b.hospital.id }) });
        expect(other.status).to.equal(400);
        expect(other.body.error.details[0].field).to.equal('hospitalId');
      });

      it('every admin of the hospital manages accounts it did not create', async () => {
        const second = await f.activate((await f.account('hospital_admin', a.hospital.id)).email);
        const created = await f.account(role, a.hospital.id, a.admin.token);
        const patched = await api.patch(`${path}/${created.id}`, { token: second.token, body: { lastName: 'Durand' } });
        expect(patched.status).to.equal(200);
        expect(patched.body.lastName).to.equal('Durand');
        expect((await api.get(`${path}/${created.id}`, { token: second.token })).status).to.equal(200);
        expect((await api.delete(`${path}/${created.id}`, { token: second.token })).status).to.equal(204);
      });

      it('accounts of another hospital answer 404 to its admins', async () => {
        const other = role === 'doctor' ? b.doctor : b.secretary;
        expect((await api.get(`${path}/${other.id}`, { token: a.admin.token })).status).to.equal(404);
        expect((await api.patch(`${path}/${other.id}`, { token: a.admin.token, body: { firstName: 'Hacked' } })).status).to.equal(404);
        expect((await api.patch(`${path}/${other.id}`, { token: a.admin.token, body: { isActive: false } })).status).to.equal(404);
        expect((await api.put(`${path}/${other.id}`, { token: a.admin.token, body: body({ email: other.email }) })).status).to.equal(404);
        expect((await api.delete(`${path}/${other.id}`, { token: a.admin.token })).status).to.equal(404);
        expect((await api.post('/api/auth/login', { body: { email: other.email, password: other.password } })).status).to.equal(200);
      });

      it('other roles may not create, change or delete them (403)', async () => {
        const target = role === 'doctor' ? a.doctor : a.secretary;
        for (const actor of [sa, a.doctor, a.secretary, patient]) {
          expect((await api.post(path, { token: actor.token, body: body() })).status, actor.role).to.equal(403);
          expect((await api.patch(`${path}/${target.id}`, { token: actor.token, body: { firstName: 'X' } })).status, actor.role).to.equal(
            403,
          );
          expect((await api.delete(`${path}/${target.id}`, { token: actor.token })).status, actor.role).to.equal(403);
        }
      });

      it('PUT replaces the editable fields', async () => {
        const created = await f.account(role, a.hospital.id, a.admin.token, { phone: '0102030405' });
        const replacement = body({ email: randomEmail('put') });
        const res = await api.put(`${path}/${created.id}`, { token: a.admin.token, body: replacement });
        expect(res.status).to.equal(200);
        expect(res.body).to.include({ email: replacement.email, lastName: replacement.lastName, phone: null });
      });

      it('deactivation locks the account out at once; reactivation restores it', async () => {
        const actor = await f.activate((await f.account(role, a.hospital.id, a.admin.token)).email);
        const off = await api.patch(`${path}/${actor.id}`, { token: a.admin.token, body: { isActive: false } });
        expect(off.status).to.equal(200);
        expect(off.body.isActive).to.equal(false);
        const denied = await api.get('/api/doctors', { token: actor.token });
        expect(denied.status).to.equal(401);
        expect((await api.post('/api/auth/login', { body: { email: actor.email, password: NEW_PASSWORD } })).status).to.equal(401);
        expect((await api.patch(`${path}/${actor.id}`, { token: a.admin.token, body: { isActive: true } })).status).to.equal(200);
        expect((await api.post('/api/auth/login', { body: { email: actor.email, password: NEW_PASSWORD } })).status).to.equal(200);
      });

      it('a deleted account disappears from lists and login', async () => {
        const created = await f.account(role, a.hospital.id, a.admin.token);
        expect((await api.delete(`${path}/${created.id}`, { token: a.admin.token })).status).to.equal(204);
        const list = await api.get(`${path}?pageSize=100&q=${created.lastName}`, { token: a.admin.token });
        expect(list.body.items.map((x: { id: string }) => x.id)).to.not.include(created.id);
        expect((await api.get(`${path}/${created.id}`, { token: a.admin.token })).status).to.equal(404);
        expect((await api.post('/api/auth/login', { body: { email: created.email, password: 'mediconnect' } })).status).to.equal(401);
        expect((await api.delete(`${path}/${created.id}`, { token: a.admin.token })).status).to.equal(404);
      });

      it('no endpoint sets another account’s password; the old one keeps working', async () => {
        const target = role === 'doctor' ? a.doctor : a.secretary;
        for (const [actor, field] of [
          [a.admin, 'password'],
          [sa, 'password'],
          [a.admin, 'newPassword'],
          [a.admin, 'passwordHash'],
        ] as const) {
          const res = await api.patch(`${path}/${target.id}`, { token: actor.token, body: { [field]: 'Stolen-Pass-123' } });
          expect(res.status, `${actor.role} ${field}`).to.be.oneOf([400, 403]);
        }
        const put = await api.put(`${path}/${target.id}`, {
          token: a.admin.token,
          body: body({ email: target.email, password: 'Stolen-Pass-123' }),
        });
        expect(put.status).to.equal(400);
        const create = await api.post(path, { token: a.admin.token, body: body({ password: 'Chosen-Pass-123' }) });
        expect(create.status).to.equal(400);
        expect(create.body.error.code).to.equal('PASSWORD_NOT_ACCEPTED');
        expect((await api.post('/api/auth/login', { body: { email: target.email, password: 'Stolen-Pass-123' } })).status).to.equal(401);
        expect((await api.post('/api/auth/login', { body: { email: target.email, password: NEW_PASSWORD } })).status).to.equal(200);
      });

      it('rejects bad bodies with field details', async () => {
        const res = await api.post(path, { token: a.admin.token, body: { email: 'nope', firstName: '', phone: 'abc' } });
        expect(res.status).to.equal(400);
        const fields = res.body.error.details.map((d: { field: string }) => d.field);
        expect(fields).to.include.members(['email', 'firstName', 'lastName', 'phone']);
        if (role === 'doctor') expect(fields).to.include('specialty');
        const dup = await api.post(path, { token: a.admin.token, body: body({ email: b.admin.email }) });
        expect(dup.status).to.equal(409);
      });
    });
  }

  describe('secretary list', () => {
    it('shows a hospital admin only its own hospital’s secretaries; others get 403', async () => {
      const res = await api.get('/api/secretaries?pageSize=100', { token: a.admin.token });
      expect(res.status).to.equal(200);
      expect(res.body.items.every((s: { hospitalId: string }) => s.hospitalId === a.hospital.id)).to.equal(true);
      expect(res.body.items.map((s: { id: string }) => s.id)).to.include(a.secretary.id);
      for (const actor of [sa, a.doctor, a.secretary, patient]) {
        expect((await api.get('/api/secretaries', { token: actor.token })).status, actor.role).to.equal(403);
        expect((await api.get(`/api/secretaries/${a.secretary.id}`, { token: actor.token })).status, actor.role).to.equal(403);
      }
    });
  });

  describe('doctor directory', () => {
    it('is readable by every logged-in role, across hospitals, without private fields', async () => {
      for (const actor of [sa, a.admin, a.doctor, a.secretary, b.secretary, patient]) {
        const res = await api.get(`/api/doctors?hospitalId=${b.hospital.id}`, { token: actor.token });
        expect(res.status, actor.role).to.equal(200);
        const entry = res.body.items.find((d: { id: string }) => d.id === b.doctor.id);
        expect(entry, actor.role).to.include({ hospitalId: b.hospital.id, hospitalName: b.hospital.name, specialty: 'Radiology' });
        expect(entry).to.not.have.property('email');
        expect(entry).to.not.have.property('isActive');
      }
      const one = await api.get(`/api/doctors/${b.doctor.id}`, { token: patient.token });
      expect(one.status).to.equal(200);
      expect(one.body).to.not.have.property('email');
    });

    it('shows management fields to the admins of the doctor’s hospital only', async () => {
      const own = await api.get(`/api/doctors?hospitalId=${a.hospital.id}`, { token: a.admin.token });
      expect(own.body.items.find((d: { id: string }) => d.id === a.doctor.id)).to.include({ email: a.doctor.email, isActive: true });
      expect((await api.get(`/api/doctors/${a.doctor.id}`, { token: a.admin.token })).body.email).to.equal(a.doctor.email);
    });

    it('hides unauthenticated callers, and inactive doctors from everyone but their admins', async () => {
      expect((await api.get('/api/doctors')).status).to.equal(401);
      const doc = await f.account('doctor', a.hospital.id, a.admin.token, { specialty: `Rare${randomUUID().slice(0, 6)}` });
      await api.patch(`/api/doctors/${doc.id}`, { token: a.admin.token, body: { isActive: false } });
      const search = `/api/doctors?specialty=${doc.specialty}`;
      expect((await api.get(search, { token: patient.token })).body.total).to.equal(0);
      expect((await api.get(`/api/doctors/${doc.id}`, { token: patient.token })).status).to.equal(404);
      expect((await api.get(search, { token: a.admin.token })).body.items[0]).to.include({ id: doc.id, isActive: false });
    });

    it('searches by name and specialty and sorts', async () => {
      const tag = randomUUID().slice(0, 6);
      for (const last of ['Bbb', 'Aaa'])
        await f.account('doctor', a.hospital.id, a.admin.token, { lastName: `${last}${tag}`, specialty: 'Neurology' });
      const res = await api.get(`/api/doctors?q=${tag}&sort=lastName`, { token: patient.token });
      expect(res.body.items.map((d: { lastName: string }) => d.lastName)).to.deep.equal([`Aaa${tag}`, `Bbb${tag}`]);
      const desc = await api.get(`/api/doctors?q=${tag}&sort=-lastName`, { token: patient.token });
      expect(desc.body.items[0].lastName).to.equal(`Bbb${tag}`);
    });
  });
});
