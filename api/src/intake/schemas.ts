import { z } from 'zod';
import { timestamp } from '../http/fields.js';
import { studySchema } from '../dicom/schemas.js';

export const uploadResultSchema = z.object({
  patientId: z.uuid(),
  stored: z.array(z.object({ file: z.string(), instanceId: z.string(), studyId: z.uuid().nullable(), alreadyStored: z.boolean() })),
  refused: z.array(z.object({ file: z.string(), code: z.string(), reason: z.string() })),
  studies: z.array(studySchema),
});

export const unmatchedSchema = z.object({
  total: z.number().int(),
  totalInstances: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
  items: z.array(
    z.object({
      id: z.uuid(),
      studyInstanceUid: z.string(),
      dicomPatientId: z.string().nullable(),
      sourceAeTitle: z.string().nullable().describe('The registered device that pushed it, if any'),
      numberOfSeries: z.number().int(),
      numberOfInstances: z.number().int(),
      receivedAt: timestamp,
    }),
  ),
});
