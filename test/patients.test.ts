import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ApiClient } from './helpers/client.js';
import { testDb } from './helpers/db.js';
import { fold } from '../common/search.js';
import { fixtures, NEW_PASSWORD, randomEmail, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';

describe('patients and doctor links', () => {
  let f: Fixtures;
  let api: ApiClient;
  let sa: Actor;
  let a: HospitalWithStaff;
  let b: HospitalWithStaff;
  let otherDoctorA: Actor;
  before(async () => {
    f = await fixtures();
    api = f.api;
    sa = await f.superAdmin();
    [a, b] = [await f.hospitalWithStaff(), await f.hospitalWithStaff()];
    otherDoctorA = await f.activate((await f.account('doctor', a.hospital.id, a.admin.token)).email);
  });

  const body = (extra: Record<string, unknown> = {}) => ({
    email: randomEmail('pat'),
    firstName: 'Marie',
    lastName: `Curie${randomUUID().slice(0, 6)}`,
    birthDate: '1967-11-07',
    sex: 'female',
    phone: '+33 6 12 34 56 78',
    doctorIds: [a.doctor.id],
    ...extra,
  });

  describe('creation', () => {
    it('a secretary creates a patient linked to doctors of its hospital, with an immutable identifier', async () => {
      const res = await api.post('/api/patients', { token: a.secretary.token, body: body({ doctorIds: [a.doctor.id, otherDoctorA.id] }) });
      expect(res.status).to.equal(201);
      expect(res.body.identifier).to.match(/^MC[0-9A-Z]{12}$/);
      expect(res.body).to.include({ birthDate: '1967-11-07', sex: 'female', isActive: true });
      expect(res.body.doctors.map((d: { doctorId: string }) => d.doctorId)).to.have.members([a.doctor.id, otherDoctorA.id]);
      expect(res.body.doctors[0]).to.include({ source: 'patient_creation', hospitalId: a.hospital.id });
      expect(res.body.doctors[0].createdBy).to.include({ id: a.secretary.id, role: 'secretary' });
      const user = await testDb()('users').where({ id: res.body.id }).first();
      expect(user).to.include({ role: 'patient', hospital_id: null, must_change_password: true });
      const login = await api.post('/api/auth/login', { body: { email: res.body.email, password: 'mediconnect' } });
      expect(login.status).to.equal(200);
      expect(login.body.user).to.include({ role: 'patient', hospitalId: null });
    });

    it('accepts sex as words or DICOM codes', async () => {
      const res = await api.post('/api/patients', { token: a.secretary.token, body: body({ sex: 'M' }) });
      expect(res.status).to.equal(201);
      expect(res.body.sex).to.equal('male');
      expect((await api.patch(`/api/patients/${res.body.id}`, { token: a.secretary.token, body: { sex: 'Female' } })).body.sex).to.equal(
        'female',
      );
    });

    it('identifiers are unique across patients', async () => {
      const ids = await Promise.all([1, 2, 3].map(async () => (await f.createPatient(a.secretary, [a.doctor.id])).identifier));
      expect(new Set(ids).size).to.equal(3);
    });

    it('requires at least one doctor, all of the secretary’s hospital; nothing is created otherwise', async () => {
      const none = await api.post('/api/patients', { token: a.secretary.token, body: body({ doctorIds: [] }) });
      expect(none.status).to.equal(400);
      const missing = body();
      delete (missing as Record<string, unknown>).doctorIds;
      expect((await api.post('/api/patients', { token: a.secretary.token, body: missing })).status).to.equal(400);
      const email = randomEmail('mixed');
      const mixed = await api.post('/api/patients', {
        token: a.secretary.token,
        body: body({ email, doctorIds: [a.doctor.id, b.doctor.id] }),
      });
      expect(mixed.status).to.equal(400);
      expect(mixed.body.error.code).to.equal('INVALID_DOCTOR');
      expect(mixed.body.error.details[0].value).to.equal(b.doctor.id);
      const unknown = await api.post('/api/patients', { token: a.secretary.token, body: body({ doctorIds: [randomUUID()] }) });
      expect(unknown.status).to.equal(400);
      expect(await testDb()('users').whereRaw('lower(email) = ?', [email]).first()).to.equal(undefined);
    });

    it('rejects bad demographics and duplicate e-mails', async () => {
      const bad = await api.post('/api/patients', {
        token: a.secretary.token,
        body: body({ birthDate: '2999-01-01', sex: 'x', email: 'nope' }),
      });
      expect(bad.status).to.equal(400);
      expect(bad.body.error.details.map((d: { field: string }) => d.field)).to.include.members(['birthDate', 'sex', 'email']);
      const dup = await api.post('/api/patients', { token: a.secretary.token, body: body({ email: a.doctor.email }) });
      expect(dup.status).to.equal(409);
      const withPassword = await api.post('/api/patients', { token: a.secretary.token, body: body({ password: 'Chosen-123456' }) });
      expect(withPassword.status).to.equal(400);
    });

    it('a probable duplicate (same names, accents and case aside, and birth date, followed in the hospital) answers 409 POSSIBLE_DUPLICATE naming it, unless confirmed', async () => {
      const lastName = `Dupont${randomUUID().slice(0, 6)}`;
      const first = await api.post('/api/patients', {
        token: a.secretary.token,
        body: body({ firstName: 'Jean', lastName, birthDate: '1980-02-10' }),
      });
      expect(first.status).to.equal(201);
      const twin = await api.post('/api/patients', {
        token: a.secretary.token,
        body: body({ firstName: 'JEAN', lastName: lastName.toUpperCase(), birthDate: '1980-02-10' }),
      });
      expect(twin.status).to.equal(409);
      expect(twin.body.error.code).to.equal('POSSIBLE_DUPLICATE');
      expect(twin.body.error.details[0].value).to.equal(first.body.id);
      // Another birth date is another person; another hospital does not see this one (no hint of it leaks).
      expect(
        (
          await api.post('/api/patients', {
            token: a.secretary.token,
            body: body({ firstName: 'Jean', lastName, birthDate: '1980-02-11' }),
          })
        ).status,
      ).to.equal(201);
      expect(
        (
          await api.post('/api/patients', {
            token: b.secretary.token,
            body: body({ firstName: 'Jean', lastName, birthDate: '1980-02-10', doctorIds: [b.doctor.id] }),
          })
        ).status,
      ).to.equal(201);
      const confirmed = await api.post('/api/patients', {
        token: a.secretary.token,
        body: body({ firstName: 'Jean', lastName, birthDate: '1980-02-10', confirmNotDuplicate: true }),
      });
      expect(confirmed.status).to.equal(201);
      expect(confirmed.body.id).to.not.equal(first.body.id);
    });

    it('a patient without an e-mail address (a newborn, an elderly patient) is registered, and logs in once one is added', async () => {
      const { email: _none, ...withoutEmail } = body();
      const created = await api.post('/api/patients', { token: a.secretary.token, body: withoutEmail });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      expect(created.body.email).to.equal(null);
      expect((await api.get(`/api/patients/${created.body.id}`, { token: a.doctor.token })).body.email).to.equal(null);
      const email = randomEmail('later');
      const added = await api.patch(`/api/patients/${created.body.id}`, { token: a.secretary.token, body: { email } });
      expect(added.status, JSON.stringify(added.body)).to.equal(200);
      const login = await api.post('/api/auth/login', { body: { email, password: 'mediconnect' } });
      expect(login.status).to.equal(200);
      expect(login.body.user.mustChangePassword).to.equal(true);
      // Staff accounts still need one.
      expect(
        await testDb()('users')
          .where({ id: a.doctor.id })
          .update({ email: null })
          .catch((e: { constraint?: string }) => e.constraint),
      ).to.equal('users_email_required_for_staff');
    });

    it('only secretaries create patients (403 for every other role)', async () => {
      const patient = await f.patient(a.secretary, [a.doctor.id]);
      for (const actor of [sa, a.admin, a.doctor, patient]) {
        expect((await api.post('/api/patients', { token: actor.token, body: body() })).status, actor.role).to.equal(403);
      }
    });
  });

  describe('reading', () => {
    let patient: Actor & { identifier: string };
    let crossPatient: any;
    before(async () => {
      patient = await f.patient(a.secretary, [a.doctor.id]);
      // Linked to a doctor of B only.
      crossPatient = await f.createPatient(b.secretary, [b.doctor.id]);
    });

    it('a linked doctor sees the patient; an unlinked one gets 404', async () => {
      expect((await api.get(`/api/patients/${patient.id}`, { token: a.doctor.token })).status).to.equal(200);
      expect((await api.get(`/api/patients/${patient.id}`, { token: otherDoctorA.token })).status).to.equal(404);
      expect((await api.get(`/api/patients/${patient.id}`, { token: b.doctor.token })).status).to.equal(404);
      const list = await api.get('/api/patients?pageSize=100', { token: otherDoctorA.token });
      expect(list.body.items.map((p: { id: string }) => p.id)).to.not.include(patient.id);
    });

    it('a secretary sees patients linked to its hospital’s doctors only', async () => {
      expect((await api.get(`/api/patients/${patient.id}`, { token: a.secretary.token })).status).to.equal(200);
      expect((await api.get(`/api/patients/${patient.id}`, { token: b.secretary.token })).status).to.equal(404);
      expect((await api.get(`/api/patients/${crossPatient.id}`, { token: a.secretary.token })).status).to.equal(404);
    });

    it('a patient sees only itself', async () => {
      const me = await api.get(`/api/patients/${patient.id}`, { token: patient.token });
      expect(me.status).to.equal(200);
      expect(me.body.identifier).to.equal(patient.identifier);
      expect((await api.get(`/api/patients/${crossPatient.id}`, { token: patient.token })).status).to.equal(404);
      const list = await api.get('/api/patients', { token: patient.token });
      expect(list.body.items.map((p: { id: string }) => p.id)).to.deep.equal([patient.id]);
    });

    it('admins see no patient: an empty list, 404 for any patient', async () => {
      for (const actor of [sa, a.admin]) {
        const list = await api.get('/api/patients', { token: actor.token });
        expect(list.status, actor.role).to.equal(200);
        expect(list.body).to.include({ total: 0 });
        expect(list.body.items).to.deep.equal([]);
        expect((await api.get(`/api/patients/${patient.id}`, { token: actor.token })).status, actor.role).to.equal(404);
        expect((await api.get(`/api/patients/${patient.id}/doctors`, { token: actor.token })).status, actor.role).to.equal(404);
      }
    });

    it('the doctorId filter only narrows what the caller sees: another hospital’s link is revealed to no role', async () => {
      // Followed in both hospitals: by A's doctor (at creation) and by B's doctor.
      const shared = await f.patient(a.secretary, [a.doctor.id]);
      await testDb()('patient_doctor_links').insert({
        patient_id: shared.id,
        doctor_id: b.doctor.id,
        source: 'secretary',
        created_by: b.secretary.id,
      });
      const listed = async (who: Actor, doctorId: string) =>
        ((await api.get(`/api/patients?pageSize=100&doctorId=${doctorId}`, { token: who.token })).body.items as { id: string }[]).some(
          (p) => p.id === shared.id,
        );
      const cases: [string, Actor, string, boolean][] = [
        ['A’s secretary, A’s doctor', a.secretary, a.doctor.id, true],
        ['A’s secretary, B’s doctor', a.secretary, b.doctor.id, false],
        ['A’s doctor, its own id', a.doctor, a.doctor.id, true],
        ['A’s doctor, B’s doctor', a.doctor, b.doctor.id, false],
        ['B’s secretary, B’s doctor', b.secretary, b.doctor.id, true],
        ['B’s secretary, A’s doctor', b.secretary, a.doctor.id, false],
        ['B’s doctor, A’s doctor', b.doctor, a.doctor.id, false],
        ['the patient, B’s doctor', shared, b.doctor.id, true],
        ['the patient, A’s doctor', shared, a.doctor.id, true],
      ];
      for (const [what, who, doctorId, expected] of cases) expect(await listed(who, doctorId), what).to.equal(expected);
      // The relation shows the same way on the patient's own page.
      const linksSeenByA = (await api.get(`/api/patients/${shared.id}/doctors`, { token: a.secretary.token })).body.items as {
        doctorId: string;
      }[];
      expect(linksSeenByA.map((l) => l.doctorId)).to.not.include(b.doctor.id);
    });

    it('search ignores case and accents and takes words in any order, as the database and the API fold them alike', async () => {
      const tag = randomUUID().slice(0, 6);
      const amelie = await f.createPatient(a.secretary, [a.doctor.id], { firstName: 'Amélie', lastName: `Poulain${tag}` });
      const herve = await f.createPatient(a.secretary, [a.doctor.id], { firstName: 'Hervé', lastName: `Léger-Œuvray${tag}` });
      const found = async (q: string) =>
        ((await api.get(`/api/patients?q=${encodeURIComponent(q)}`, { token: a.secretary.token })).body.items as { id: string }[]).map(
          (p) => p.id,
        );
      for (const q of [`amelie poulain${tag}`, `Poulain${tag} Amélie`, `AMELIE ${tag}`, `poulain${tag}`])
        expect(await found(q), q).to.deep.equal([amelie.id]);
      for (const q of [`herve ${tag}`, `leger-oeuvray${tag}`, `LÉGER ${tag} hervé`]) expect(await found(q), q).to.deep.equal([herve.id]);
      expect(await found(`amelie leger ${tag}`)).to.deep.equal([]);
      // The same folding on both sides: the database's function and the API's (records, appointments).
      const names = ['Amélie', 'ÉLODIE', 'Œuvray', 'Ægir', 'Straße', 'Łukasz', 'Øster', 'Đorđe', 'İlkay', 'Ñúñez', 'Ştefan', 'Hervé Léger'];
      const { rows } = await testDb().raw('select mediconnect_fold(n) as f from unnest(?::text[]) as n', [names]);
      expect(rows.map((r: { f: string }) => r.f)).to.deep.equal(names.map(fold));
    });

    it('searches by name, identifier and birth date, with pagination and sorting', async () => {
      const tag = randomUUID().slice(0, 6);
      const p1 = await f.createPatient(a.secretary, [a.doctor.id], { lastName: `Alpha${tag}`, birthDate: '1990-01-02' });
      const p2 = await f.createPatient(a.secretary, [a.doctor.id], { lastName: `Beta${tag}`, birthDate: '1991-03-04' });
      const byName = await api.get(`/api/patients?q=${tag}&sort=-lastName`, { token: a.doctor.token });
      expect(byName.body.items.map((p: { id: string }) => p.id)).to.deep.equal([p2.id, p1.id]);
      expect(byName.body.total).to.equal(2);
      const byIdentifier = await api.get(`/api/patients?q=${p1.identifier.toLowerCase()}`, { token: a.secretary.token });
      expect(byIdentifier.body.items.map((p: { id: string }) => p.id)).to.deep.equal([p1.id]);
      const byBirth = await api.get(`/api/patients?q=${tag}&birthDate=1991-03-04`, { token: a.doctor.token });
      expect(byBirth.body.items.map((p: { id: string }) => p.id)).to.deep.equal([p2.id]);
      const paged = await api.get(`/api/patients?q=${tag}&pageSize=1&page=2&sort=lastName`, { token: a.doctor.token });
      expect(paged.body).to.include({ total: 2, page: 2, pageSize: 1 });
      expect(paged.body.items[0].id).to.equal(p2.id);
    });
  });

  describe('updates, deactivation and links', () => {
    it('a secretary in scope updates demographics; the identifier never changes', async () => {
      const p = await f.createPatient(a.secretary, [a.doctor.id]);
      const patched = await api.patch(`/api/patients/${p.id}`, {
        token: a.secretary.token,
        body: { lastName: 'Durand', birthDate: '1970-02-03' },
      });
      expect(patched.status).to.equal(200);
      expect(patched.body).to.include({ lastName: 'Durand', birthDate: '1970-02-03', identifier: p.identifier });
      const put = await api.put(`/api/patients/${p.id}`, {
        token: a.secretary.token,
        body: { email: p.email, firstName: 'Anne', lastName: 'Durand', birthDate: '1970-02-03', sex: 'other' },
      });
      expect(put.status).to.equal(200);
      expect(put.body).to.include({ firstName: 'Anne', sex: 'other', phone: null });
      const identifier = await api.patch(`/api/patients/${p.id}`, { token: a.secretary.token, body: { identifier: 'MCHACKED' } });
      expect(identifier.status).to.equal(400);
      let refused = false;
      await testDb()('patients')
        .where({ user_id: p.id })
        .update({ identifier: 'MCOTHER0000' })
        .catch(() => (refused = true));
      expect(refused).to.equal(true);
    });

    it('other hospitals’ secretaries get 404; doctors and patients may not edit (403)', async () => {
      const p = await f.patient(a.secretary, [a.doctor.id]);
      expect((await api.patch(`/api/patients/${p.id}`, { token: b.secretary.token, body: { lastName: 'X' } })).status).to.equal(404);
      expect((await api.delete(`/api/patients/${p.id}`, { token: b.secretary.token })).status).to.equal(404);
      for (const actor of [a.doctor, p, a.admin]) {
        expect((await api.patch(`/api/patients/${p.id}`, { token: actor.token, body: { lastName: 'X' } })).status, actor.role).to.equal(
          403,
        );
        expect((await api.delete(`/api/patients/${p.id}`, { token: actor.token })).status, actor.role).to.equal(403);
      }
    });

    it('DELETE deactivates the account and keeps the patient and its links', async () => {
      const p = await f.patient(a.secretary, [a.doctor.id]);
      expect((await api.delete(`/api/patients/${p.id}`, { token: a.secretary.token })).status).to.equal(204);
      expect((await api.get('/api/auth/me', { token: p.token })).status).to.equal(401);
      expect((await api.post('/api/auth/login', { body: { email: p.email, password: NEW_PASSWORD } })).status).to.equal(401);
      const still = await api.get(`/api/patients/${p.id}`, { token: a.doctor.token });
      expect(still.status).to.equal(200);
      expect(still.body.isActive).to.equal(false);
      expect(still.body.doctors).to.have.length(1);
      expect((await api.patch(`/api/patients/${p.id}`, { token: a.secretary.token, body: { isActive: true } })).body.isActive).to.equal(
        true,
      );
      expect((await api.post('/api/auth/login', { body: { email: p.email, password: NEW_PASSWORD } })).status).to.equal(200);
    });

    it('a secretary links a patient in scope to another doctor of its hospital (idempotent)', async () => {
      const p = await f.createPatient(a.secretary, [a.doctor.id]);
      expect((await api.get(`/api/patients/${p.id}`, { token: otherDoctorA.token })).status).to.equal(404);
      const linked = await api.post(`/api/patients/${p.id}/doctors`, { token: a.secretary.token, body: { doctorId: otherDoctorA.id } });
      expect(linked.status).to.equal(201);
      const link = linked.body.items.find((l: { doctorId: string }) => l.doctorId === otherDoctorA.id);
      expect(link).to.include({ source: 'secretary' });
      expect(link.createdBy).to.include({ id: a.secretary.id });
      expect(
        (await api.post(`/api/patients/${p.id}/doctors`, { token: a.secretary.token, body: { doctorId: otherDoctorA.id } })).status,
      ).to.equal(200);
      expect((await api.get(`/api/patients/${p.id}`, { token: otherDoctorA.token })).status).to.equal(200);
      const links = await api.get(`/api/patients/${p.id}/doctors`, { token: a.doctor.token });
      expect(links.body.items).to.have.length(2);
    });

    it('refuses links to another hospital’s doctor, outside scope, or by other roles', async () => {
      const p = await f.createPatient(a.secretary, [a.doctor.id]);
      const foreign = await api.post(`/api/patients/${p.id}/doctors`, { token: a.secretary.token, body: { doctorId: b.doctor.id } });
      expect(foreign.status).to.equal(400);
      expect(
        (await api.post(`/api/patients/${p.id}/doctors`, { token: b.secretary.token, body: { doctorId: b.doctor.id } })).status,
      ).to.equal(404);
      for (const actor of [a.doctor, a.admin, sa]) {
        expect(
          (await api.post(`/api/patients/${p.id}/doctors`, { token: actor.token, body: { doctorId: otherDoctorA.id } })).status,
          actor.role,
        ).to.equal(403);
      }
      expect((await api.get(`/api/patients/${p.id}`, { token: b.doctor.token })).status).to.equal(404);
    });
  });
});
