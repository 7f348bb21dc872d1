import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { ApiClient } from './helpers/client.js';
import { testDb } from './helpers/db.js';
import { ALL_WEEK, fixtures, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { startTestApi, testConfig } from './helpers/server.js';
import { createKnex } from '../common/db.js';
import { guardKeys } from '../common/key-registry.js';

const RX = { medication: 'Amoxicillin', dosage: '500 mg', route: 'oral', frequency: 'three times a day', duration: '7 days' };

describe('medical records', () => {
  let f: Fixtures;
  let api: ApiClient;
  let a: HospitalWithStaff;
  let b: HospitalWithStaff;
  let patient: Actor;
  let otherPatient: Actor;
  before(async () => {
    f = await fixtures();
    api = f.api;
    [a, b] = [await f.hospitalWithStaff(), await f.hospitalWithStaff()];
    patient = await f.patient(a.secretary, [a.doctor.id]);
    otherPatient = await f.patient(b.secretary, [b.doctor.id]);
  });

  const entry = (extra: Record<string, unknown> = {}) => ({
    patientId: patient.id,
    type: 'consultation',
    title: 'Chest pain',
    content: 'Patient reports chest pain since Monday.',
    ...extra,
  });
  const create = async (who: Actor, extra: Record<string, unknown> = {}) =>
    api.post('/api/medical-records', { token: who.token, body: entry(extra) });

  describe('access', () => {
    it('a linked doctor writes and reads; the patient reads its own', async () => {
      const res = await create(a.doctor);
      expect(res.status).to.equal(201);
      expect(res.body).to.include({ type: 'consultation', title: 'Chest pain', version: 1, patientId: patient.id });
      expect(res.body.author).to.include({ id: a.doctor.id, role: 'doctor' });
      expect((await api.get(`/api/medical-records/${res.body.id}`, { token: a.doctor.token })).body.content).to.equal(
        'Patient reports chest pain since Monday.',
      );
      expect((await api.get(`/api/medical-records/${res.body.id}`, { token: patient.token })).status).to.equal(200);
    });

    it('the patient’s writes are refused with 403', async () => {
      const id = (await create(a.doctor)).body.id;
      expect((await create(patient)).status).to.equal(403);
      expect((await api.patch(`/api/medical-records/${id}`, { token: patient.token, body: { title: 'Mine' } })).status).to.equal(403);
      expect((await api.delete(`/api/medical-records/${id}`, { token: patient.token })).status).to.equal(403);
    });

    it('everyone else gets 404: unlinked doctors, other patients, secretaries and admins', async () => {
      const id = (await create(a.doctor)).body.id;
      const outsiders = [b.doctor, otherPatient, a.secretary, b.secretary, a.admin, await f.superAdmin()];
      for (const who of outsiders) {
        expect((await api.get(`/api/medical-records/${id}`, { token: who.token })).status, who.role).to.equal(404);
        // A patient may never write (403, whoever's entry it is); other roles must not learn the entry exists.
        const writeStatus = who.role === 'patient' ? 403 : 404;
        expect((await api.patch(`/api/medical-records/${id}`, { token: who.token, body: { title: 'X' } })).status, who.role).to.equal(
          writeStatus,
        );
        expect((await api.delete(`/api/medical-records/${id}`, { token: who.token })).status, who.role).to.equal(writeStatus);
        expect((await api.get(`/api/medical-records/${id}/history`, { token: who.token })).status, who.role).to.equal(404);
        expect((await api.get(`/api/patients/${patient.id}/medical-record`, { token: who.token })).status, who.role).to.equal(404);
        expect((await api.get(`/api/medical-records?patientId=${patient.id}`, { token: who.token })).status, who.role).to.equal(404);
        if (who.role !== 'patient') expect((await create(who)).status, who.role).to.equal(404);
      }
      expect(
        (await api.get('/api/medical-records?pageSize=100', { token: b.doctor.token })).body.items.map((e: { id: string }) => e.id),
      ).to.not.include(id);
    });

    // The list asks for the patient only when its page is empty (issue 13): each answer must stay what it was.
    it('the list of one patient: entries, an empty record (200), a patient out of scope or deleted (404)', async () => {
      const fresh = await f.patient(a.secretary, [a.doctor.id]);
      const list = (who: Actor, extra = '') => api.get(`/api/medical-records?patientId=${fresh.id}${extra}`, { token: who.token });
      expect((await list(a.doctor)).body).to.deep.include({ items: [], total: 0 });
      expect((await list(fresh)).status).to.equal(200);
      expect((await list(b.doctor)).status).to.equal(404);
      expect((await api.get(`/api/medical-records?patientId=${randomUUID()}`, { token: a.doctor.token })).status).to.equal(404);
      const id = (await api.post('/api/medical-records', { token: a.doctor.token, body: { ...entry(), patientId: fresh.id } })).body.id;
      expect((await list(a.doctor)).body.items.map((e: { id: string }) => e.id)).to.deep.equal([id]);
      expect((await list(a.doctor, '&page=2')).body).to.deep.include({ items: [], total: 1 });
      expect((await list(b.doctor)).status).to.equal(404);
      await testDb()('users').where({ id: fresh.id }).update({ deleted_at: new Date() });
      try {
        expect((await list(a.doctor)).status).to.equal(404);
        expect((await list(a.doctor, '&page=2')).status).to.equal(404);
      } finally {
        await testDb()('users').where({ id: fresh.id }).update({ deleted_at: null });
      }
    });

    it('a doctor of another hospital gains access once an appointment with it is validated', async () => {
      await api.put(`/api/doctors/${b.doctor.id}/availability`, { token: b.doctor.token, body: ALL_WEEK });
      const id = (await create(a.doctor)).body.id;
      const startsAt = DateTime.now().plus({ days: 40 }).set({ hour: 10, minute: 0, second: 0, millisecond: 0 }).toISO();
      const appt = await api.post('/api/appointments', {
        token: patient.token,
        body: { doctorId: b.doctor.id, startsAt, durationMinutes: 30, reason: 'Second opinion' },
      });
      expect((await api.get(`/api/medical-records/${id}`, { token: b.doctor.token })).status).to.equal(404);
      expect((await api.post(`/api/appointments/${appt.body.id}/validate`, { token: b.secretary.token })).status).to.equal(200);
      expect((await api.get(`/api/medical-records/${id}`, { token: b.doctor.token })).status).to.equal(200);
      expect((await create(b.doctor, { title: 'Second opinion' })).status).to.equal(201);
    });
  });

  describe('record, types and validation', () => {
    it('groups the whole record by type; prescriptions carry their details', async () => {
      const p = await f.patient(a.secretary, [a.doctor.id]);
      for (const type of ['antecedent', 'treatment', 'allergy', 'note']) {
        expect((await create(a.doctor, { patientId: p.id, type, title: type })).status).to.equal(201);
      }
      const rx = await create(a.doctor, { patientId: p.id, type: 'prescription', title: 'Antibiotics', prescription: RX });
      expect(rx.status).to.equal(201);
      expect(rx.body.prescription).to.deep.equal(RX);
      const record = await api.get(`/api/patients/${p.id}/medical-record`, { token: p.token });
      expect(record.status).to.equal(200);
      expect(record.body.total).to.equal(5);
      expect(record.body.patient.identifier).to.equal(p.identifier);
      expect(record.body.entries.prescription[0].prescription.medication).to.equal('Amoxicillin');
      expect(record.body.entries.consultation).to.deep.equal([]);
      const filtered = await api.get(`/api/medical-records/?patientId=${p.id}&type=allergy`, { token: a.doctor.token });
      expect(filtered.body.items.map((e: { type: string }) => e.type)).to.deep.equal(['allergy']);
    });

    it('accepts the prescription details flat as well, and answers them both ways', async () => {
      const res = await create(a.doctor, { type: 'prescription', title: 'Flat', ...RX });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body.prescription).to.deep.equal(RX);
      expect(res.body).to.include(RX);
      const partial = await create(a.doctor, { type: 'prescription', title: 'Flat', medication: 'X' });
      expect(partial.status).to.equal(400);
      expect(partial.body.error.details.map((d: { field: string }) => d.field)).to.include.members([
        'dosage',
        'route',
        'frequency',
        'duration',
      ]);
      const patched = await api.patch(`/api/medical-records/${res.body.id}`, { token: a.doctor.token, body: { ...RX, dosage: '250 mg' } });
      expect(patched.body).to.include({ dosage: '250 mg', version: 2 });
    });

    it('rejects bad entries', async () => {
      for (const bad of [
        { type: 'prescription' },
        { type: 'note', prescription: RX },
        { type: 'gossip' },
        { title: '' },
        { prescription: { ...RX, dosage: undefined }, type: 'prescription' },
        { patientId: 'nope' },
      ]) {
        expect((await create(a.doctor, bad)).status, JSON.stringify(bad)).to.equal(400);
      }
      expect((await create(a.doctor, { patientId: randomUUID() })).status).to.equal(404);
    });
  });

  describe('versions: nothing is lost', () => {
    it('keeps every version with who, when and what changed; a deleted entry stays in history for doctors', async () => {
      const created = (await create(a.doctor, { title: 'v1 title', content: 'v1 content' })).body;
      const colleague = await f.activate((await f.account('doctor', a.hospital.id, a.admin.token)).email);
      await api.post(`/api/patients/${patient.id}/doctors`, { token: a.secretary.token, body: { doctorId: colleague.id } });
      const v2 = await api.patch(`/api/medical-records/${created.id}/`, { token: colleague.token, body: { content: 'v2 content' } });
      expect(v2.body).to.include({ version: 2, content: 'v2 content', title: 'v1 title' });
      expect(v2.body.updatedBy).to.include({ id: colleague.id, role: 'doctor' });
      const v3 = await api.put(`/api/medical-records/${created.id}/`, {
        token: a.doctor.token,
        body: { title: 'v3 title', content: 'v2 content' },
      });
      expect(v3.body.version).to.equal(3);
      expect((await api.delete(`/api/medical-records/${created.id}/`, { token: a.doctor.token })).status).to.equal(204);
      expect((await api.get(`/api/medical-records/${created.id}`, { token: a.doctor.token })).status).to.equal(404);
      const record = await api.get(`/api/patients/${patient.id}/medical-record`, { token: a.doctor.token });
      expect(record.body.entries.consultation.map((e: { id: string }) => e.id)).to.not.include(created.id);
      const history = await api.get(`/api/medical-records/${created.id}/history`, { token: colleague.token });
      expect(history.status).to.equal(200);
      expect(history.body.deleted).to.equal(true);
      expect(history.body.items.map((v: { version: number; change: string }) => [v.version, v.change])).to.deep.equal([
        [1, 'created'],
        [2, 'updated'],
        [3, 'updated'],
        [4, 'deleted'],
      ]);
      expect(history.body.items[0].entry).to.include({ title: 'v1 title', content: 'v1 content' });
      expect(history.body.items[1]).to.deep.include({ changedFields: ['content'] });
      expect(history.body.items[1].changedBy).to.include({ id: colleague.id });
      expect(history.body.items[2].changedFields).to.deep.equal(['title']);
      expect((await api.get(`/api/medical-records/${created.id}/history`, { token: patient.token })).status).to.equal(404);
      let refused = false;
      await testDb()('medical_record_versions')
        .where({ entry_id: created.id })
        .delete()
        .catch(() => (refused = true));
      expect(refused).to.equal(true);
    });

    it('the patient reads the history of its live entries', async () => {
      const created = (await create(a.doctor)).body;
      await api.patch(`/api/medical-records/${created.id}`, { token: a.doctor.token, body: { title: 'Updated' } });
      const history = await api.get(`/api/medical-records/${created.id}/history`, { token: patient.token });
      expect(history.body.items).to.have.length(2);
    });
  });

  describe('encryption at rest', () => {
    it('stores no clinical text in the clear, in entries or versions', async () => {
      const secret = `Diagnosis-${randomUUID()}`;
      const created = (
        await create(a.doctor, {
          type: 'prescription',
          title: `T-${secret}`,
          content: `C-${secret}`,
          prescription: { ...RX, medication: `M-${secret}` },
        })
      ).body;
      await api.patch(`/api/medical-records/${created.id}`, { token: a.doctor.token, body: { content: `C2-${secret}` } });
      const entryRow = await testDb()('medical_record_entries').where({ id: created.id }).first();
      const versionRows = await testDb()('medical_record_versions').where({ entry_id: created.id });
      const dump = JSON.stringify([entryRow, versionRows]);
      expect(dump).to.not.include(secret);
      expect(dump).to.not.include('Amoxicillin');
      expect(entryRow.key_id).to.equal('test1');
      const anyPlain = await testDb().raw(`SELECT count(*)::int AS n FROM medical_record_entries e WHERE e::text LIKE ?`, [`%${secret}%`]);
      expect(anyPlain.rows[0].n).to.equal(0);
      expect((await api.get(`/api/medical-records/${created.id}`, { token: a.doctor.token })).body.content).to.equal(`C2-${secret}`);
    });

    it('a ciphertext moved onto another row does not open', async () => {
      const one = (await create(a.doctor, { title: 'one' })).body;
      const two = (await create(a.doctor, { title: 'two' })).body;
      const row = await testDb()('medical_record_entries').where({ id: one.id }).first();
      await testDb()('medical_record_entries').where({ id: two.id }).update({ payload: row.payload, key_id: row.key_id });
      const res = await api.get(`/api/medical-records/${two.id}`, { token: a.doctor.token });
      expect(res.status).to.equal(500);
      expect(res.body.error.code).to.equal('INTERNAL_ERROR');
      expect(JSON.stringify(res.body)).to.not.include('one');
    });

    it('rotates keys: old entries stay readable, new writes use the active key', async () => {
      const oldKeys = process.env.ENCRYPTION_KEYS!;
      const rotated = await startTestApi({
        ENCRYPTION_KEYS: `${oldKeys},test2:${randomBytes(32).toString('base64')}`,
        ENCRYPTION_ACTIVE_KEY_ID: 'test2',
      });
      try {
        const old = (await create(a.doctor, { title: 'before rotation' })).body;
        const client = new ApiClient(rotated.url);
        expect((await client.get(`/api/medical-records/${old.id}`, { token: a.doctor.token })).body.title).to.equal('before rotation');
        await client.patch(`/api/medical-records/${old.id}`, { token: a.doctor.token, body: { title: 'after rotation' } });
        expect((await testDb()('medical_record_entries').where({ id: old.id }).first()).key_id).to.equal('test2');
        const history = await client.get(`/api/medical-records/${old.id}/history`, { token: a.doctor.token });
        expect(history.body.items.map((v: { entry: { title: string } }) => v.entry.title)).to.deep.equal([
          'before rotation',
          'after rotation',
        ]);
      } finally {
        await rotated.stop();
        // test2 sealed only this test's entry: retired as docs/operations.md says, so later APIs (test1 only) start.
        await testDb()('encryption_keys').where({ key_id: 'test2' }).delete();
      }
    });

    it('refuses to start with a key whose bytes differ from the one the database recorded, or without a recorded key, naming it', async () => {
      const lost = `test1:${randomBytes(32).toString('base64')}`;
      const refusal = (env: Record<string, string>) =>
        startTestApi(env).then(
          async (api) => void (await api.stop()),
          (err: Error) => err,
        );
      let refused = await refusal({ ENCRYPTION_KEYS: lost });
      expect(refused?.name).to.equal('KeyMismatchError');
      expect(refused?.message).to.match(
        /^ENCRYPTION_KEY_MISMATCH: .*\n.*key "test1" in ENCRYPTION_KEYS has fingerprint [0-9a-f]{16}, but the data .* fingerprint [0-9a-f]{16}/,
      );
      expect(refused?.message).to.include('secrets.json');
      // The key under another id: test1 is recorded but no longer configured.
      refused = await refusal({ ENCRYPTION_KEYS: `other:${process.env.ENCRYPTION_KEYS!.split(':')[1]}` });
      expect(refused?.message).to.match(/key "test1" \(fingerprint [0-9a-f]{16}\) sealed data .* ENCRYPTION_KEYS has no key "test1"/);
      // Nothing was recorded by the refused starts: the right keys still start.
      expect((await testDb()('encryption_keys').select('key_id')).map((r) => r.key_id)).to.deep.equal(['test1']);
      const right = await startTestApi({});
      await right.stop();
    });

    it('an API started while the database is down starts, is not ready until its keys are checked, and retries the check', async () => {
      const silent = { warn: () => undefined, error: () => undefined };
      const down = createKnex(testConfig({ DB_PORT: '1' }), { pool: { min: 0, max: 1 } });
      try {
        const watch = await guardKeys(down, testConfig().encryption.keys, silent, 50);
        expect(watch).to.include({ verified: false, problem: null });
        watch.stop();
      } finally {
        await down.destroy();
      }
      // Against the database: verified at once; a mismatch refuses the start.
      const watch = await guardKeys(testDb(), testConfig().encryption.keys, silent);
      expect(watch).to.include({ verified: true, problem: null });
      const other = new Map([['test1', randomBytes(32)]]);
      expect(
        await guardKeys(testDb(), other, silent).then(
          () => null,
          (err: Error) => err.name,
        ),
      ).to.equal('KeyMismatchError');
    });
  });

  describe('audit and access log', () => {
    it('records every read and write; the patient lists who accessed its record', async () => {
      const p = await f.patient(a.secretary, [a.doctor.id]);
      const created = (await create(a.doctor, { patientId: p.id })).body;
      await api.get(`/api/medical-records/${created.id}`, { token: a.doctor.token });
      await api.get(`/api/patients/${p.id}/medical-record`, { token: a.doctor.token });
      await api.patch(`/api/medical-records/${created.id}`, { token: a.doctor.token, body: { title: 'Changed' } });
      const log = await api.get(`/api/patients/${p.id}/access-log`, { token: p.token });
      expect(log.status).to.equal(200);
      const actions = log.body.items.map((i: { action: string }) => i.action);
      expect(actions).to.include.members([
        'medical_record.created',
        'medical_record.read',
        'medical_record.record_read',
        'medical_record.updated',
      ]);
      expect(log.body.items.find((i: { action: string }) => i.action === 'medical_record.read').actor).to.include({
        id: a.doctor.id,
        role: 'doctor',
      });
      const rows = await testDb()('audit_log').where({ patient_id: p.id, actor_id: a.doctor.id });
      expect(rows.length).to.be.greaterThanOrEqual(4);
      expect(rows.every((r) => typeof r.request_id === 'string')).to.equal(true);
    });

    it('a list read is one entry, in the log of each patient it showed and of no other; one per page', async () => {
      // A doctor of its own, so that its list holds exactly these entries: 5 patients × 4 entries, one linked patient without.
      const clinic = await f.hospitalWithStaff();
      const doctor = clinic.doctor;
      const shown = [];
      for (let i = 0; i < 5; i++) shown.push(await f.patient(clinic.secretary, [doctor.id]));
      const [unshown, elsewhere] = [await f.patient(clinic.secretary, [doctor.id]), await f.patient(a.secretary, [a.doctor.id])];
      for (const p of shown)
        for (let i = 0; i < 4; i++) expect((await create(doctor, { patientId: p.id, title: `Entry ${i}` })).status).to.equal(201);
      const listed = (p: Actor) =>
        api
          .get(`/api/patients/${p.id}/access-log?pageSize=100`, { token: p.token })
          .then((r) => r.body.items.filter((i: { action: string }) => i.action === 'medical_record.listed'));
      const before = await Promise.all([...shown, unshown, elsewhere].map(listed));

      const page = await api.get('/api/medical-records?pageSize=20', { token: doctor.token });
      expect(page.status).to.equal(200);
      expect(page.body.items).to.have.length(20);
      expect(new Set(page.body.items.map((e: { patientId: string }) => e.patientId)).size).to.equal(5);
      const rows = await testDb()('audit_log').where({ action: 'medical_record.listed', actor_id: doctor.id });
      expect(rows, 'one audit entry for the page').to.have.length(1);
      expect([...rows[0].patient_ids].sort()).to.deep.equal(shown.map((p) => p.id).sort());
      expect(rows[0].details.entries).to.have.members(page.body.items.map((e: { id: string }) => e.id));
      const after = await Promise.all([...shown, unshown, elsewhere].map(listed));
      shown.forEach((p, i) => {
        expect(after[i].length - before[i].length, `patient ${i + 1}: the read once`).to.equal(1);
        expect(after[i][0].actor).to.include({ id: doctor.id, role: 'doctor' });
        expect(after[i][0].entryId).to.equal(null);
      });
      expect(after[5], 'a linked patient the page did not show').to.deep.equal(before[5]);
      expect(after[6], 'another doctor’s patient').to.deep.equal(before[6]);

      // Paging through the same list: one entry per page, each naming the patients of its page only.
      for (let n = 1; n <= 4; n++)
        expect((await api.get(`/api/medical-records?pageSize=5&page=${n}`, { token: doctor.token })).status).to.equal(200);
      const pages = await testDb()('audit_log').where({ action: 'medical_record.listed', actor_id: doctor.id }).orderBy('id');
      expect(pages, 'one entry per page').to.have.length(5);
      const perPatient = new Map<string, number>();
      for (const entry of pages.slice(1)) {
        expect(entry.details.entries).to.have.length(5);
        for (const id of entry.patient_ids ?? [entry.patient_id]) perPatient.set(id, (perPatient.get(id) ?? 0) + 1);
      }
      // Each patient's log grew by the pages that showed its entries, each page once.
      const final = await Promise.all(shown.map(listed));
      shown.forEach((p, i) => expect(final[i].length - after[i].length, `patient ${i + 1}`).to.equal(perPatient.get(p.id) ?? 0));
      expect([...perPatient.values()].reduce((x, y) => x + y, 0)).to.be.greaterThanOrEqual(5);
    });

    it('the access log is the patient’s own: other patients 404, staff 403', async () => {
      expect((await api.get(`/api/patients/${patient.id}/access-log`, { token: otherPatient.token })).status).to.equal(404);
      for (const who of [a.doctor, a.secretary, a.admin]) {
        expect((await api.get(`/api/patients/${patient.id}/access-log`, { token: who.token })).status, who.role).to.equal(403);
      }
    });
  });
});
