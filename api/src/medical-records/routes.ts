import { idParams } from '../http/fields.js';
import type { Deps } from '../deps.js';
import type { Representation } from '../http/representation.js';
import { pageQuerySchema, pageSchema } from '../http/pagination.js';
import { replaceAndUpdate, route, type AnyRoute } from '../http/route.js';
import {
  accessLogSchema,
  entryCreateBody,
  entryListQuery,
  entryPatchBody,
  entryPutBody,
  entrySchema,
  historySchema,
  recordSchema,
} from './schemas.js';
import { createMedicalRecordService } from './service.js';

const tag = 'Medical records';
const item = '/api/medical-records/{id}';
const access =
  'Linked doctors (of any hospital) read and write; the patient reads its own (writes: 403); anyone else: 404. Every access is audited.';

/** Medical record entries, the whole record of a patient, versions and the patient's access log. */
export function medicalRecordRoutes(deps: Deps): AnyRoute[] {
  const service = createMedicalRecordService(deps);
  const entry: Representation = {};
  return [
    route({
      method: 'get',
      path: '/api/medical-records',
      operationId: 'listMedicalRecordEntries',
      summary: 'List medical record entries in scope (filter by patientId and type)',
      description: access,
      tag,
      auth: 'user',
      action: 'medicalRecord.read',
      query: entryListQuery,
      responses: { 200: { description: 'A page of entries', schema: pageSchema(entrySchema) } },
      handler: async ({ auth, query, meta }) => ({ body: await service.list(auth, query, meta) }),
    }),
    route({
      method: 'post',
      path: '/api/medical-records',
      operationId: 'createMedicalRecordEntry',
      summary: 'Add an entry to a linked patient’s record (doctor)',
      description: access,
      tag,
      auth: 'user',
      action: 'medicalRecord.write',
      body: entryCreateBody,
      responses: { 201: { description: 'Created', schema: entrySchema } },
      handler: async ({ auth, body, meta }) => ({ status: 201, body: await service.create(auth, body, meta) }),
    }),
    route({
      method: 'get',
      path: item,
      operationId: 'getMedicalRecordEntry',
      summary: 'Read an entry',
      description: access,
      tag,
      auth: 'user',
      action: 'medicalRecord.read',
      params: idParams,
      responses: { 200: { description: 'The entry', schema: entrySchema } },
      representation: entry,
      handler: async ({ auth, params, meta }) => ({ body: await service.get(auth, params.id, meta) }),
    }),
    ...replaceAndUpdate(
      {
        path: item,
        description: access,
        tag,
        auth: 'user',
        action: 'medicalRecord.write',
        forbiddenFields: ['patientId', 'authorId'],
        params: idParams,
        representation: entry,
        responses: { 200: { description: 'Updated', schema: entrySchema } },
        handler: async ({ auth, params, write, meta }) => ({ body: await service.update(auth, params.id, write, meta) }),
      },
      {
        operationId: 'replaceMedicalRecordEntry',
        summary: 'Replace an entry’s content (a new version; the previous one stays in the history)',
        body: entryPutBody,
      },
      { operationId: 'updateMedicalRecordEntry', summary: 'Change some fields of an entry (a new version)', body: entryPatchBody },
    ),
    route({
      method: 'delete',
      path: item,
      operationId: 'deleteMedicalRecordEntry',
      summary: 'Remove an entry from the record; it stays in its history for linked doctors',
      description: access,
      tag,
      auth: 'user',
      action: 'medicalRecord.write',
      params: idParams,
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ auth, params, meta }) => {
        await service.remove(auth, params.id, meta);
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: `${item}/history`,
      operationId: 'getMedicalRecordEntryHistory',
      summary: 'Every version of an entry: who, when, what changed',
      description: `${access} Deleted entries’ history: linked doctors only.`,
      tag,
      auth: 'user',
      action: 'medicalRecord.read',
      params: idParams,
      responses: { 200: { description: 'Versions, oldest first', schema: historySchema } },
      handler: async ({ auth, params, meta }) => ({ body: await service.history(auth, params.id, meta) }),
    }),
    route({
      method: 'get',
      path: '/api/patients/{id}/medical-record',
      operationId: 'getPatientMedicalRecord',
      summary: 'A patient’s whole medical record, grouped by entry type',
      description: access,
      tag,
      auth: 'user',
      action: 'medicalRecord.read',
      params: idParams,
      responses: { 200: { description: 'The record', schema: recordSchema } },
      handler: async ({ auth, params, meta }) => ({ body: await service.record(auth, params.id, meta) }),
    }),
    route({
      method: 'get',
      path: '/api/patients/{id}/access-log',
      operationId: 'getPatientAccessLog',
      summary: 'Who read or wrote the caller’s medical record (the patient itself)',
      tag,
      auth: 'user',
      action: 'accessLog.read',
      params: idParams,
      query: pageQuerySchema(50),
      responses: { 200: { description: 'Accesses, newest first', schema: accessLogSchema } },
      handler: async ({ auth, params, query }) => ({ body: await service.accessLog(auth, params.id, query) }),
    }),
  ];
}
