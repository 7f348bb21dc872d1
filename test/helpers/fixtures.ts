import { randomUUID } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { expect } from 'chai';
import type { Knex } from 'knex';
import type { StaffRole } from '../../api/src/accounts/repository.js';
import type { Role } from '../../common/roles.js';
import { ApiClient } from './client.js';
import { testDb } from './db.js';
import { sharedApi, testConfig } from './server.js';

/** The password test accounts switch to after their first login. */
export const NEW_PASSWORD = 'Correct-Horse-42';

/** A logged-in account with its tokens. */
export interface Actor {
  id: string;
  email: string;
  role: Role;
  hospitalId: string | null;
  token: string;
  refreshToken: string;
  password: string;
}

/** Availability open around the clock, every day (Europe/Paris), for tests that book freely. */
export const ALL_WEEK = {
  timezone: 'Europe/Paris',
  weekly: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '24:00' })),
  exceptions: [],
};

/** A unique e-mail, so tests never depend on each other's data. */
export const randomEmail = (prefix: string) => `${prefix}-${randomUUID().slice(0, 12)}@test.example`;

/** A hospital with an active admin, doctor and secretary, all past the default-password gate. */
export interface HospitalWithStaff {
  hospital: { id: string; name: string };
  admin: Actor;
  doctor: Actor;
  secretary: Actor;
}

/**
 * Test data builders. Against the shared test stack ({@link fixtures}) hospitals, staff and patients' passwords are
 * written straight to its database (Outline's factories, Medplum's `createTestProject`): a world costs one login per
 * actor instead of ~10 requests per hospital. Built for another stack (an `npm start` of a test), they go through its
 * public API, as the authentication and accounts suites do on purpose.
 */
export class Fixtures {
  private superAdminPromise: Promise<Actor> | null = null;

  /** `superAdminEmail`: the seeded super admin of the stack `api` talks to (default: the test stack's). */
  constructor(
    readonly api: ApiClient,
    private readonly superAdminEmail = testConfig().superAdminEmail,
    /** The database of the stack `api` talks to: when given, accounts are written to it directly. */
    private readonly db: Knex | null = null,
  ) {}

  /** Writes accounts straight to the database, already activated with {@link NEW_PASSWORD}; returns them logged in. */
  private async directAccounts(hospitalId: string, roles: StaffRole[]): Promise<Actor[]> {
    const db = this.db!;
    const passwordHash = await newPasswordHash();
    const ids = await db.transaction(async (trx) => {
      const out: { id: string; email: string }[] = [];
      for (const role of roles) {
        const email = randomEmail(role);
        const [row] = await trx('users')
          .insert({
            email,
            password_hash: passwordHash,
            role,
            hospital_id: hospitalId,
            first_name: 'Test',
            last_name: role,
            must_change_password: false,
          })
          .returning('id');
        if (role === 'doctor') await trx('doctor_profiles').insert({ user_id: row.id, specialty: 'Radiology' });
        out.push({ id: row.id, email });
      }
      return out;
    });
    return Promise.all(ids.map(({ email }) => this.login(email, NEW_PASSWORD)));
  }

  /** Logs in and returns the tokens; fails the test on anything but 200. */
  async login(email: string, password: string): Promise<Actor> {
    const res = await this.api.post('/api/auth/login', { body: { email, password } });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const { user, accessToken, refreshToken } = res.body;
    return { id: user.id, email: user.email, role: user.role, hospitalId: user.hospitalId, token: accessToken, refreshToken, password };
  }

  /** Logs in with the default password and changes it, as every new user must. */
  async activate(email: string): Promise<Actor> {
    const actor = await this.login(email, 'mediconnect');
    const res = await this.api.post('/api/auth/change-password', {
      token: actor.token,
      body: { currentPassword: 'mediconnect', newPassword: NEW_PASSWORD },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return { ...actor, password: NEW_PASSWORD };
  }

  /** The seeded super admin, activated once per run. */
  superAdmin(): Promise<Actor> {
    this.superAdminPromise ??= (async () => {
      const email = this.superAdminEmail;
      const first = await this.api.post('/api/auth/login', { body: { email, password: 'mediconnect' } });
      if (first.status === 200 && first.body.user.mustChangePassword) return this.activate(email);
      return this.login(email, NEW_PASSWORD);
    })();
    return this.superAdminPromise;
  }

  /** A new hospital with a random name. */
  async hospital(extra: Record<string, unknown> = {}): Promise<{ id: string; name: string }> {
    const admin = await this.superAdmin();
    const res = await this.api.post('/api/hospitals', {
      token: admin.token,
      body: { name: `Hospital ${randomUUID().slice(0, 8)}`, city: 'Lyon', ...extra },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body;
  }

  /** Creates a staff account through the API as its rightful creator; returns the created account. */
  async account(role: StaffRole, hospitalId: string, creatorToken?: string, extra: Record<string, unknown> = {}): Promise<any> {
    const path = { hospital_admin: '/api/hospital-admins', doctor: '/api/doctors', secretary: '/api/secretaries' }[role];
    const token = creatorToken ?? (await this.superAdmin()).token;
    const body: Record<string, unknown> = { email: randomEmail(role), firstName: 'Test', lastName: role, ...extra };
    if (role === 'hospital_admin') body.hospitalId = hospitalId;
    if (role === 'doctor') body.specialty ??= 'Radiology';
    const res = await this.api.post(path, { token, body });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body;
  }

  /** A hospital with an activated admin, doctor and secretary. */
  async hospitalWithStaff(): Promise<HospitalWithStaff> {
    if (this.db) {
      const [row] = await this.db('hospitals')
        .insert({ name: `Hospital ${randomUUID().slice(0, 8)}`, city: 'Lyon' })
        .returning(['id', 'name']);
      const [admin, doctor, secretary] = await this.directAccounts(row.id, ['hospital_admin', 'doctor', 'secretary']);
      return { hospital: { id: row.id, name: row.name }, admin: admin!, doctor: doctor!, secretary: secretary! };
    }
    const hospital = await this.hospital();
    const admin = await this.activate((await this.account('hospital_admin', hospital.id)).email);
    const doctor = await this.activate((await this.account('doctor', hospital.id, admin.token)).email);
    const secretary = await this.activate((await this.account('secretary', hospital.id, admin.token)).email);
    return { hospital, admin, doctor, secretary };
  }

  private defaultClinic: Promise<HospitalWithStaff> | null = null;

  /** A shared hospital for tests that only need "some" secretary and doctor. */
  clinic(): Promise<HospitalWithStaff> {
    this.defaultClinic ??= this.hospitalWithStaff();
    return this.defaultClinic;
  }

  /** Creates a patient through a secretary (default: the shared clinic's, linked to its doctor). */
  async createPatient(secretary?: Actor, doctorIds?: string[], extra: Record<string, unknown> = {}): Promise<any> {
    const clinic = secretary && doctorIds ? null : await this.clinic();
    const res = await this.api.post('/api/patients', {
      token: (secretary ?? clinic!.secretary).token,
      body: {
        email: randomEmail('patient'),
        firstName: 'Pat',
        lastName: `Ient${randomUUID().slice(0, 6)}`,
        birthDate: '1980-05-17',
        sex: 'female',
        doctorIds: doctorIds ?? [clinic!.doctor.id],
        ...extra,
      },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body;
  }

  /** An activated patient account (with its identifier): created by a secretary through the API, as the rule wants. */
  async patient(secretary?: Actor, doctorIds?: string[]): Promise<Actor & { identifier: string }> {
    const created = await this.createPatient(secretary, doctorIds);
    if (this.db) {
      await this.db('users')
        .where({ id: created.id })
        .update({ password_hash: await newPasswordHash(), must_change_password: false });
      return { ...(await this.login(created.email, NEW_PASSWORD)), identifier: created.identifier };
    }
    return { ...(await this.activate(created.email)), identifier: created.identifier };
  }
}

/** Two hospitals with their staff, the super admin and a patient of the first hospital: most suites' world. */
export interface TwoHospitals {
  f: Fixtures;
  api: ApiClient;
  sa: Actor;
  a: HospitalWithStaff;
  b: HospitalWithStaff;
  patient: Actor & { identifier: string };
}

/** Builds a fresh {@link TwoHospitals} world with random names. */
export async function twoHospitals(): Promise<TwoHospitals> {
  const f = await fixtures();
  const [a, b] = [await f.hospitalWithStaff(), await f.hospitalWithStaff()];
  return { f, api: f.api, sa: await f.superAdmin(), a, b, patient: await f.patient(a.secretary, [a.doctor.id]) };
}

let shared: Promise<Fixtures> | null = null;

/** Fixtures bound to the shared API server, writing accounts straight to its database. */
export function fixtures(): Promise<Fixtures> {
  shared ??= sharedApi().then((api) => new Fixtures(new ApiClient(api.url), testConfig().superAdminEmail, testDb()));
  return shared;
}

let passwordHash: Promise<string> | null = null;
/** The hash of {@link NEW_PASSWORD} at the stack's cost, computed once. */
const newPasswordHash = () => (passwordHash ??= bcrypt.hash(NEW_PASSWORD, testConfig().auth.bcryptRounds));
