import { z } from 'zod';
import { timestamp } from '../http/fields.js';
import { listQuerySchema } from '../http/pagination.js';

export const studyListQuery = listQuerySchema(['studyDate', 'createdAt', 'updatedAt', 'numberOfInstances'], '-studyDate').extend({
  patientId: z.uuid().optional(),
  modality: z.string().trim().min(1).max(16).optional().describe('e.g. CT, MR'),
  dateFrom: z.iso.date().optional().describe('Study date on or after (YYYY-MM-DD)'),
  dateTo: z.iso.date().optional().describe('Study date on or before (YYYY-MM-DD)'),
  label: z.string().trim().min(1).max(50).optional(),
});

export const studySchema = z.object({
  id: z.uuid(),
  studyInstanceUid: z.string(),
  patientId: z.uuid(),
  doctorId: z.uuid().nullable(),
  studyDate: z.string().nullable(),
  studyTime: z.string().nullable(),
  modalities: z.array(z.string()),
  description: z.string().nullable().describe('Edited description if any, else the DICOM StudyDescription'),
  dicomDescription: z.string().nullable(),
  labels: z.array(z.string()),
  accessionNumber: z.string().nullable(),
  bodyParts: z.array(z.string()),
  numberOfSeries: z.number().int(),
  numberOfInstances: z.number().int(),
  sizeBytes: z.number().int(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const seriesSchema = z.object({
  id: z.uuid(),
  studyId: z.uuid(),
  seriesInstanceUid: z.string(),
  modality: z.string().nullable(),
  description: z.string().nullable(),
  bodyPart: z.string().nullable(),
  seriesNumber: z.number().int().nullable(),
  numberOfInstances: z.number().int(),
  sizeBytes: z.number().int(),
});

export const studyPatchBody = z
  .object({
    description: z.string().trim().max(200).nullable().describe('null restores the DICOM description'),
    labels: z
      .array(
        z
          .string()
          .trim()
          .min(1)
          .max(50)
          .regex(/^[\p{L}\p{N} _.-]+$/u, 'Letters, digits, space, _ . - only'),
      )
      .max(20),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: 'At least one field is required' });
