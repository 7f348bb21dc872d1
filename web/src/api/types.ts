import type { components } from './schema';

type S = components['schemas'];
export type Patient = S['Patient'];
export type PatientDetail = S['PatientDetail'];
export type Appointment = S['Appointment'];
export type Entry = S['MedicalRecordEntry'];
export type Study = S['Study'];
export type Doctor = S['Doctor'];
export type UploadResult = S['UploadResult'];
