import type { Role } from '../../../common/roles.js';

/**
 * Everything a role may ever do, as data. Row scope (which hospital, which patient) is not decided
 * here but in the data layer's scoped queries; this table only answers "may this role ever do X".
 */
export const GRANTS = {
  super_admin: [
    'hospital.list',
    'hospital.read',
    'hospital.create',
    'hospital.update',
    'hospital.delete',
    'hospitalAdmin.list',
    'hospitalAdmin.read',
    'hospitalAdmin.create',
    'hospitalAdmin.update',
    'hospitalAdmin.delete',
    'doctor.directory',
    'availability.read',
    'dicom.reconcile',
    // Admins may ask, but their patient scope is empty: they "see none".
    'patient.list',
    'patient.read',
  ],
  hospital_admin: [
    'hospital.list',
    'hospital.read',
    'availability.read',
    'patient.list',
    'patient.read',
    'doctor.directory',
    'doctor.create',
    'doctor.update',
    'doctor.delete',
    'secretary.list',
    'secretary.read',
    'secretary.create',
    'secretary.update',
    'secretary.delete',
    'modality.manage',
  ],
  doctor: [
    'hospital.list',
    'hospital.read',
    'doctor.directory',
    'patient.list',
    'patient.read',
    'availability.read',
    'availability.update',
    'appointment.list',
    'appointment.read',
    'appointment.complete',
    'medicalRecord.read',
    'medicalRecord.write',
    'dicom.read',
    'dicom.write',
    'dicom.reconcile',
    'dicom.share',
  ],
  secretary: [
    'hospital.list',
    'hospital.read',
    'doctor.directory',
    'patient.list',
    'patient.read',
    'patient.create',
    'patient.update',
    'patient.delete',
    'patient.link',
    'availability.read',
    'availability.update',
    'appointment.list',
    'appointment.read',
    'appointment.validate',
    'appointment.cancel',
    'appointment.reschedule',
    'appointment.complete',
  ],
  patient: [
    // Only the hospitals it has doctors or appointments in (row scope): where to go, and whom to call.
    'hospital.list',
    'hospital.read',
    'doctor.directory',
    'patient.list',
    'patient.read',
    'availability.read',
    'appointment.list',
    'appointment.read',
    'appointment.create',
    'appointment.cancel',
    'appointment.reschedule',
    'medicalRecord.read',
    'accessLog.read',
    'dicom.read',
    'dicom.share',
  ],
} as const satisfies Record<Role, readonly string[]>;

/** An action named in the grant table. */
export type Action = (typeof GRANTS)[Role][number];

/**
 * Roles refused an action with 404 rather than 403: to them even a refusal would reveal that medical
 * data exists. The patient, who knows its own record exists, gets the honest 403 on writes.
 */
export const CONCEALED: Partial<Record<Action, readonly Role[]>> = {
  'medicalRecord.read': ['super_admin', 'hospital_admin', 'secretary'],
  'medicalRecord.write': ['super_admin', 'hospital_admin', 'secretary'],
  'dicom.read': ['super_admin', 'hospital_admin', 'secretary'],
  'dicom.write': ['super_admin', 'hospital_admin', 'secretary'],
  'dicom.share': ['super_admin', 'hospital_admin', 'secretary'],
};

/** Whether a refusal of this action to this role must look like "not found". */
export function concealed(role: Role, action: Action): boolean {
  return CONCEALED[action]?.includes(role) ?? false;
}

/** Whether the role may ever perform the action. */
export function can(role: Role, action: Action): boolean {
  return (GRANTS[role] as readonly string[]).includes(action);
}

/** The roles granted an action, for the OpenAPI document. */
export function rolesFor(action: Action): Role[] {
  return (Object.keys(GRANTS) as Role[]).filter((role) => can(role, action));
}
