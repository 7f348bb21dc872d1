// The resources' response schemas, named: the OpenAPI document lists them under `components.schemas` and
// references them, so a client generated from it (openapi-typescript) has one named type per resource. One
// place names them all; the route specs keep using the schemas themselves.
import { z } from 'zod';
import { personRefSchema } from '../http/people.js';
import { doctorSchema, staffAccountSchema } from '../accounts/schemas.js';
import { appointmentSchema } from '../appointments/schemas.js';
import { meSchema, tokensSchema, userSchema } from '../auth/schemas.js';
import { availabilitySchema } from '../availability/schemas.js';
import { seriesSchema, studySchema } from '../dicom/schemas.js';
import { presignedSchema } from '../object-links/schemas.js';
import { reportSchema } from '../reports/schemas.js';
import { unmatchedSchema, uploadResultSchema } from '../intake/schemas.js';
import { hospitalSchema } from '../hospitals/schemas.js';
import { accessLogSchema, entrySchema, historySchema, recordSchema } from '../medical-records/schemas.js';
import { modalitySchema } from '../modalities/schemas.js';
import { linkSchema, patientDetailSchema, patientSchema } from '../patients/schemas.js';
import { errorSchema } from '../http/error-schema.js';

const NAMED: [z.ZodType, string][] = [
  [errorSchema, 'Error'],
  [personRefSchema, 'PersonRef'],
  [userSchema, 'User'],
  [staffAccountSchema, 'StaffAccount'],
  [doctorSchema, 'Doctor'],
  [tokensSchema, 'Tokens'],
  [meSchema, 'Me'],
  [hospitalSchema, 'Hospital'],
  [patientSchema, 'Patient'],
  [patientDetailSchema, 'PatientDetail'],
  [linkSchema, 'PatientDoctorLink'],
  [availabilitySchema, 'Availability'],
  [appointmentSchema, 'Appointment'],
  [entrySchema, 'MedicalRecordEntry'],
  [historySchema, 'MedicalRecordHistory'],
  [recordSchema, 'MedicalRecord'],
  [accessLogSchema, 'AccessLogEntry'],
  [studySchema, 'Study'],
  [seriesSchema, 'Series'],
  [uploadResultSchema, 'UploadResult'],
  [reportSchema, 'StudyReport'],
  [presignedSchema, 'PresignedUrl'],
  [unmatchedSchema, 'UnmatchedStudy'],
  [modalitySchema, 'Modality'],
];

/** Names the resources' schemas (once per process; the conversion to JSON Schema then references them). */
export function registerComponents(): void {
  for (const [schema, id] of NAMED) if (!z.globalRegistry.has(schema)) z.globalRegistry.add(schema, { id });
}
