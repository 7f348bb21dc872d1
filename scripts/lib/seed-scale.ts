import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import bcrypt from 'bcryptjs';
import type { Config } from '../../common/config.js';
import { createSealer } from '../../common/sealer.js';

/** What a scale world holds, per hospital. */
export interface ScaleShape {
  hospitals: number;
  patientsPerHospital: number;
  entriesPerPatient: number;
  studies: number;
}

/** The accounts a benchmark logs in with (first hospital), all with `password`. */
export interface ScaleWorld {
  hospitalIds: string[];
  secretaryEmail: string;
  doctorEmail: string;
  password: string;
}

const BATCH = 2000;

async function insertBatches(db: Knex, table: string, rows: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) await db(table).insert(rows.slice(i, i + BATCH));
}

/**
 * Writes a large world straight into the database (no HTTP, no bcrypt per account): hospitals with a doctor and
 * a secretary, patients linked to their hospital's doctor, encrypted record entries (readable by the API: sealed
 * with the configured key, bound to their row) and indexed studies. `prefix` keeps successive calls apart.
 */
export async function seedScale(
  db: Knex,
  config: Pick<Config, 'encryption'>,
  shape: ScaleShape,
  prefix: string,
  password = 'Scale-Password-42',
): Promise<ScaleWorld> {
  const sealer = createSealer(config.encryption);
  const hash = await bcrypt.hash(password, 4);
  const world: ScaleWorld = { hospitalIds: [], secretaryEmail: '', doctorEmail: '', password };
  const surnames = ['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard', 'Petit', 'Durand', 'Leroy', 'Moreau', 'Simon', 'Laurent'];
  let studiesLeft = shape.studies;
  for (let h = 0; h < shape.hospitals; h++) {
    const [hospital] = await db('hospitals')
      .insert({ name: `${prefix} hospital ${h}`, city: 'Lyon' })
      .returning('id');
    const hospitalId = hospital.id as string;
    world.hospitalIds.push(hospitalId);
    const staff = (role: string, n: string) => ({
      id: randomUUID(),
      email: `${prefix}-${role}-${h}-${n}@scale.test`,
      password_hash: hash,
      role,
      hospital_id: hospitalId,
      first_name: 'Scale',
      last_name: role,
      must_change_password: false,
    });
    const doctor = staff('doctor', '0');
    const secretary = staff('secretary', '0');
    await db('users').insert([doctor, secretary]);
    await db('doctor_profiles').insert({ user_id: doctor.id, specialty: 'General' });
    if (h === 0) {
      world.doctorEmail = doctor.email;
      world.secretaryEmail = secretary.email;
    }
    const users: Record<string, unknown>[] = [];
    const patients: Record<string, unknown>[] = [];
    const links: Record<string, unknown>[] = [];
    const entries: Record<string, unknown>[] = [];
    const studies: Record<string, unknown>[] = [];
    const studiesHere = Math.ceil(studiesLeft / (shape.hospitals - h));
    studiesLeft -= studiesHere;
    for (let p = 0; p < shape.patientsPerHospital; p++) {
      const id = randomUUID();
      const identifier = `SC${prefix.slice(0, 3)}${h.toString(36).padStart(3, '0')}${p.toString(36).padStart(5, '0')}`.toUpperCase();
      users.push({
        id,
        email: `${prefix}-p-${h}-${p}@scale.test`,
        password_hash: hash,
        role: 'patient',
        first_name: `Pat${p}`,
        last_name: `${surnames[p % surnames.length]}${p}`,
        must_change_password: false,
        created_by: secretary.id,
      });
      patients.push({ user_id: id, identifier, birth_date: '1970-01-01', sex: p % 2 ? 'female' : 'male', created_by: secretary.id });
      links.push({ patient_id: id, doctor_id: doctor.id, source: 'secretary', created_by: secretary.id });
      for (let e = 0; e < shape.entriesPerPatient; e++) {
        const entryId = randomUUID();
        const sealed = sealer.seal({ title: `Visit ${e}`, content: `Seen on visit ${e}`, prescription: null }, entryId);
        entries.push({
          id: entryId,
          patient_id: id,
          type: 'note',
          recorded_at: new Date(Date.UTC(2025, 0, 1) + e * 86_400_000),
          key_id: sealed.keyId,
          payload: sealed.payload,
          author_id: doctor.id,
        });
      }
      if (p < studiesHere) {
        const uid = `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`)}`;
        studies.push({
          orthanc_id: randomUUID(),
          study_instance_uid: uid,
          patient_id: id,
          dicom_patient_id: identifier,
          doctor_id: doctor.id,
          study_date: '2025-06-01',
          modalities: ['CT'],
          dicom_description: `Scale study ${p}`,
          number_of_series: 1,
          number_of_instances: 100,
        });
      }
    }
    await insertBatches(db, 'users', users);
    await insertBatches(db, 'patients', patients);
    await insertBatches(db, 'patient_doctor_links', links);
    await insertBatches(db, 'medical_record_entries', entries);
    await insertBatches(db, 'dicom_studies', studies);
  }
  // A database in service is vacuumed: without it, the first reads after a bulk load set hint bits and fetch
  // heap pages for visibility, and autovacuum competes for the CPU while the benchmark measures.
  await db.raw('VACUUM (ANALYZE)');
  return world;
}
