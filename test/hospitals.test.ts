import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ApiClient } from './helpers/client.js';
import { testDb } from './helpers/db.js';
import { DateTime } from 'luxon';
import { ALL_WEEK, twoHospitals, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';

describe('hospitals', () => {
  let f: Fixtures;
  let api: ApiClient;
  let sa: Actor;
  let a: HospitalWithStaff;
  let b: HospitalWithStaff;
  let patient: Actor;
  before(async () => ({ f, api, sa, a, b, patient } = await twoHospitals()));

  it('super admin creates, reads, lists, updates and deletes a hospital', async () => {
    const name = `Clinique ${randomUUID().slice(0, 6)}`;
    const created = await api.post('/api/hospitals', {
      token: sa.token,
      body: { name, city: 'Paris', phone: '+33 1 23 45 67 89', email: 'Contact@Clinique.example' },
    });
    expect(created.status).to.equal(201);
    expect(created.body).to.include({ name, city: 'Paris', isActive: true, email: 'contact@clinique.example' });
    const id = created.body.id;
    expect((await api.get(`/api/hospitals/${id}`, { token: sa.token })).body.name).to.equal(name);
    const list = await api.get(`/api/hospitals?q=${encodeURIComponent(name)}`, { token: sa.token });
    expect(list.body).to.include({ total: 1, page: 1, pageSize: 20 });
    expect(list.body.items[0].id).to.equal(id);
    const patched = await api.patch(`/api/hospitals/${id}`, { token: sa.token, body: { city: 'Lyon' } });
    expect(patched.status).to.equal(200);
    expect(patched.body).to.include({ city: 'Lyon', name });
    const put = await api.put(`/api/hospitals/${id}`, {
      token: sa.token,
      body: { name: `${name} II`, address: null, city: null, phone: null, email: null },
    });
    expect(put.status).to.equal(200);
    expect(put.body).to.include({ name: `${name} II`, city: null });
    expect((await api.delete(`/api/hospitals/${id}`, { token: sa.token })).status).to.equal(204);
    expect((await api.get(`/api/hospitals/${id}`, { token: sa.token })).status).to.equal(404);
    const actions = (await testDb()('audit_log').where({ target_id: id }).orderBy('id')).map((r) => r.action);
    expect(actions).to.deep.equal(['hospital.created', 'hospital.updated', 'hospital.updated', 'hospital.deleted']);
  });

  it('paginates and sorts', async () => {
    const tag = randomUUID().slice(0, 6);
    for (const n of ['C', 'A', 'B']) await f.hospital({ name: `Sort ${tag} ${n}` });
    const page1 = await api.get(`/api/hospitals?q=Sort%20${tag}&pageSize=2&sort=-name`, { token: sa.token });
    expect(page1.body.total).to.equal(3);
    expect(page1.body.items.map((h: { name: string }) => h.name.slice(-1))).to.deep.equal(['C', 'B']);
    const page2 = await api.get(`/api/hospitals?q=Sort%20${tag}&pageSize=2&page=2&sort=-name`, { token: sa.token });
    expect(page2.body.items.map((h: { name: string }) => h.name.slice(-1))).to.deep.equal(['A']);
    const bad = await api.get('/api/hospitals?sort=password&pageSize=1000', { token: sa.token });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.details.map((d: { field: string }) => d.field)).to.include.members(['sort', 'pageSize']);
  });

  it('validates bodies', async () => {
    const empty = await api.post('/api/hospitals', { token: sa.token, body: {} });
    expect(empty.status).to.equal(400);
    expect(empty.body.error.details[0].field).to.equal('name');
    // Unknown fields are ignored (and never stored); fields with a forbidden meaning are refused elsewhere.
    const extra = await api.post('/api/hospitals', { token: sa.token, body: { name: `X ${randomUUID()}`, isAdmin: true } });
    expect(extra.status).to.equal(201);
    expect(extra.body).to.not.have.property('isAdmin');
    const emptyPatch = await api.patch(`/api/hospitals/${a.hospital.id}`, { token: sa.token, body: {} });
    expect(emptyPatch.status).to.equal(400);
    expect((await api.get('/api/hospitals/not-a-uuid', { token: sa.token })).status).to.equal(404);
    expect((await api.get(`/api/hospitals/${randomUUID()}`, { token: sa.token })).status).to.equal(404);
  });

  it('staff read their own hospital only; a patient the hospitals it is followed or has appointments in', async () => {
    for (const actor of [a.admin, a.doctor, a.secretary]) {
      expect((await api.get(`/api/hospitals/${a.hospital.id}`, { token: actor.token })).status, actor.role).to.equal(200);
      expect((await api.get(`/api/hospitals/${b.hospital.id}`, { token: actor.token })).status, actor.role).to.equal(404);
      const list = await api.get('/api/hospitals', { token: actor.token });
      expect(list.body.items.map((h: { id: string }) => h.id)).to.deep.equal([a.hospital.id]);
    }
    // The patient is followed in A only: A's address and phone, nothing of B.
    const seen = await api.get('/api/hospitals', { token: patient.token });
    expect(seen.status).to.equal(200);
    expect(seen.body.items.map((h: { id: string }) => h.id)).to.deep.equal([a.hospital.id]);
    expect((await api.get(`/api/hospitals/${a.hospital.id}`, { token: patient.token })).status).to.equal(200);
    expect((await api.get(`/api/hospitals/${b.hospital.id}`, { token: patient.token })).status).to.equal(404);
    // An appointment request in B makes B one of its hospitals too.
    expect((await api.put(`/api/doctors/${b.doctor.id}/availability`, { token: b.doctor.token, body: ALL_WEEK })).status).to.equal(200);
    const startsAt = DateTime.now()
      .setZone('Europe/Paris')
      .plus({ days: 4 })
      .set({ hour: 9, minute: 0, second: 0, millisecond: 0 })
      .toISO()!;
    expect(
      (
        await api.post('/api/appointments', {
          token: patient.token,
          body: { doctorId: b.doctor.id, startsAt, durationMinutes: 30, reason: 'Second opinion' },
        })
      ).status,
    ).to.equal(201);
    expect((await api.get(`/api/hospitals/${b.hospital.id}`, { token: patient.token })).status).to.equal(200);
  });

  it('only the super admin creates, changes and deletes hospitals', async () => {
    for (const actor of [a.admin, a.doctor, a.secretary, patient]) {
      expect((await api.post('/api/hospitals', { token: actor.token, body: { name: 'Nope' } })).status, actor.role).to.equal(403);
      expect(
        (await api.patch(`/api/hospitals/${a.hospital.id}`, { token: actor.token, body: { name: 'Nope' } })).status,
        actor.role,
      ).to.equal(403);
      expect(
        (
          await api.put(`/api/hospitals/${a.hospital.id}`, {
            token: actor.token,
            body: { name: 'Nope', address: null, city: null, phone: null, email: null },
          })
        ).status,
      ).to.equal(403);
      expect((await api.delete(`/api/hospitals/${a.hospital.id}`, { token: actor.token })).status, actor.role).to.equal(403);
    }
    expect((await api.get(`/api/hospitals/${a.hospital.id}`, { token: sa.token })).body.name).to.equal(a.hospital.name);
  });

  it('refuses to delete a hospital that still has accounts', async () => {
    const res = await api.delete(`/api/hospitals/${a.hospital.id}`, { token: sa.token });
    expect(res.status).to.equal(409);
    expect(res.body.error.code).to.equal('HOSPITAL_NOT_EMPTY');
    expect((await api.get(`/api/hospitals/${a.hospital.id}`, { token: sa.token })).status).to.equal(200);
  });

  it('deactivating a hospital locks its staff out at once; reactivating restores access', async () => {
    const h = await f.hospitalWithStaff();
    const off = await api.patch(`/api/hospitals/${h.hospital.id}`, { token: sa.token, body: { isActive: false } });
    expect(off.status).to.equal(200);
    expect(off.body.isActive).to.equal(false);
    for (const actor of [h.admin, h.doctor, h.secretary]) {
      const res = await api.get('/api/doctors', { token: actor.token });
      expect(res.status, actor.role).to.equal(401);
      expect(res.body.error.code).to.equal('ACCOUNT_INACTIVE');
      const login = await api.post('/api/auth/login', { body: { email: actor.email, password: actor.password } });
      expect(login.status).to.equal(401);
      expect((await api.post('/api/auth/refresh', { body: { refreshToken: actor.refreshToken } })).status).to.equal(401);
    }
    // The directory hides the doctors of a deactivated hospital.
    const dir = await api.get(`/api/doctors?hospitalId=${h.hospital.id}`, { token: a.doctor.token });
    expect(dir.body.total).to.equal(0);
    expect((await api.patch(`/api/hospitals/${h.hospital.id}`, { token: sa.token, body: { isActive: true } })).status).to.equal(200);
    expect((await api.get('/api/doctors', { token: h.doctor.token })).status).to.equal(200);
    expect((await api.post('/api/auth/login', { body: { email: h.admin.email, password: h.admin.password } })).status).to.equal(200);
    const actions = (await testDb()('audit_log').where({ target_id: h.hospital.id }).orderBy('id')).map((r) => r.action);
    expect(actions).to.include.members(['hospital.deactivated', 'hospital.reactivated']);
  });
});
