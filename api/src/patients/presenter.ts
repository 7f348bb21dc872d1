// The JSON of the patient resource, one place.
import { toPersonRef } from '../http/people.js';
import type { LinkRow, PatientRow } from './repository.js';

/** The patient as shown to the people in its scope. */
export function toPatientDto(row: PatientRow) {
  return {
    id: row.id,
    identifier: row.identifier,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    birthDate: row.birth_date,
    sex: row.sex,
    phone: row.phone,
    isActive: row.is_active,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** A care link as shown on the patient. */
export function toLinkDto(l: LinkRow) {
  return {
    doctorId: l.doctor_id,
    firstName: l.first_name,
    lastName: l.last_name,
    specialty: l.specialty,
    hospitalId: l.hospital_id,
    hospitalName: l.hospital_name,
    source: l.source,
    createdBy: toPersonRef(l.created_by, l, 'created_by'),
    createdAt: l.created_at.toISOString(),
    appointmentId: l.appointment_id,
    doctorStatus: l.doctor_status,
  };
}

/** The patient with its doctors, as GET /api/patients/{id} answers it. */
export const detail = ({ patient, links }: { patient: PatientRow; links: LinkRow[] }) => ({
  ...toPatientDto(patient),
  doctors: links.map(toLinkDto),
});
