import { z } from 'zod';
import { accountListQuery, staffAccountRoutes, toStaffDto } from '../accounts/routes.js';
import { manages, type AccountRow } from '../accounts/repository.js';
import {
  doctorProfileCreateFields,
  doctorProfileUpdateFields,
  doctorSchema,
  staffCreateFields,
  staffUpdateFields,
} from '../accounts/schemas.js';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';
import { listQuerySchema } from '../http/pagination.js';
import type { AnyRoute } from '../http/route.js';

/** Managers see the whole account; everyone else sees the public directory entry. */
function toDoctorDto(row: AccountRow, auth: Auth) {
  const entry = {
    id: row.id,
    role: 'doctor' as const,
    firstName: row.first_name,
    lastName: row.last_name,
    specialty: row.specialty ?? '',
    hospitalId: row.hospital_id,
    hospitalName: row.hospital_name,
  };
  if (!manages(auth, 'doctor', row.hospital_id)) return entry;
  const { role: _role, ...account } = toStaffDto(row);
  return { ...entry, ...account, role: 'doctor' as const, licenseNumber: row.license_number };
}

/** Doctors: a directory readable by every logged-in user; managed by the admins of their hospital. */
export function doctorRoutes(deps: Deps): AnyRoute[] {
  return staffAccountRoutes(deps, {
    role: 'doctor',
    path: '/api/doctors',
    tag: 'Doctors',
    noun: 'Doctor',
    actions: {
      list: 'doctor.directory',
      read: 'doctor.directory',
      create: 'doctor.create',
      update: 'doctor.update',
      delete: 'doctor.delete',
    },
    createBody: z.object({
      ...staffCreateFields,
      ...doctorProfileCreateFields,
      hospitalId: z.uuid().optional().describe('Ignored if equal to your own; any other value is refused'),
    }),
    putBody: z.object({
      ...staffUpdateFields,
      ...doctorProfileUpdateFields,
      phone: staffUpdateFields.phone.default(null),
      licenseNumber: doctorProfileUpdateFields.licenseNumber.default(null),
      isActive: staffUpdateFields.isActive.optional(),
    }),
    patchBody: z.object({ ...staffUpdateFields, ...doctorProfileUpdateFields }).partial(),
    itemSchema: doctorSchema,
    listQuery: listQuerySchema(['lastName', 'firstName', 'specialty', 'createdAt'], 'lastName').extend({
      isActive: accountListQuery.shape.isActive,
      hospitalId: accountListQuery.shape.hospitalId,
      specialty: z.string().trim().min(1).max(100).optional().describe('Filter on specialty (substring)'),
    }),
    toDto: toDoctorDto,
    scopes: {
      list: () => 'directory',
      // A hospital admin reads a single doctor as its manager: another hospital's doctor answers 404.
      read: (auth) => (auth.role === 'hospital_admin' ? 'manage' : 'directory'),
    },
    listDescription:
      'The doctor directory (name, specialty, hospital), readable by every logged-in user. ' +
      'Admins of a doctor’s hospital also see its e-mail, state and inactive doctors.',
  });
}
