import { z } from 'zod';
import { idParams } from '../http/fields.js';
import type { Deps } from '../deps.js';
import { errorSchema } from '../http/error-schema.js';
import { pageQuerySchema } from '../http/pagination.js';
import { route, type AnyRoute } from '../http/route.js';
import { toStudyDto } from '../dicom/presenter.js';
import { createQuarantineService } from './quarantine.js';
import { unmatchedSchema, uploadResultSchema } from './schemas.js';
import { createIntakeService } from './service.js';

const tag = 'DICOM studies';
const writeAccess = 'A linked doctor; the patient: 403; anyone else: 404.';

/** How studies arrive through the API: the upload, and the quarantine of what devices pushed. */
export function intakeRoutes(deps: Deps): AnyRoute[] {
  const service = createIntakeService(deps);
  const quarantine = createQuarantineService(deps);
  return [
    route({
      method: 'post',
      path: '/api/dicom/studies/upload_dicom',
      operationId: 'uploadDicom',
      summary: 'Upload DICOM files and/or ZIPs of them for a linked patient (streamed)',
      description:
        `${writeAccess} Send \`patientId\` first (or as ?patientId=), then any number of files. Each instance gets the patient's ` +
        'identity (PatientID = its identifier). Files carrying another MediConnect patient’s identifier, non-DICOM, truncated or ' +
        'malformed files and unsafe ZIP entries are refused and listed; nothing of them is stored. 503 if the imaging store is down.',
      tag,
      auth: 'user',
      action: 'dicom.write',
      rawBody: {
        contentType: 'multipart/form-data',
        schema: {
          type: 'object',
          required: ['patientId'],
          properties: {
            patientId: { type: 'string', format: 'uuid' },
            files: { type: 'array', items: { type: 'string', format: 'binary' } },
          },
        },
      },
      responses: {
        201: { description: 'What was stored and what was refused, file by file', schema: uploadResultSchema },
        400: { description: 'No file could be stored (the refusals are in `details.refused`), or a malformed upload', schema: errorSchema },
        415: { description: 'Not multipart/form-data', schema: errorSchema },
        503: { description: 'Orthanc or its storage is unavailable', schema: errorSchema },
      },
      handler: async ({ auth, ctx, meta }) => {
        const { metrics } = deps;
        let result;
        try {
          result = await service.upload(auth, ctx, meta);
        } catch (err) {
          metrics.uploadFailures.inc({ code: (err as { code?: string }).code ?? 'INTERNAL_ERROR' });
          throw err;
        }
        metrics.uploadBytes.inc(Number(ctx.get('content-length')) || 0);
        for (const r of result.refused) metrics.uploadRefusedFiles.inc({ code: r.code });
        if (result.stored.length === 0) metrics.uploadFailures.inc({ code: result.refused.length === 0 ? 'NO_FILES' : 'NO_DICOM_STORED' });
        if (result.stored.length === 0 && result.refused.length === 0) {
          return {
            status: 400,
            body: {
              error: {
                code: 'NO_FILES',
                message: 'The upload holds no file (send them as multipart parts with a filename)',
                details: { refused: [] },
              },
            },
          };
        }
        if (result.stored.length === 0) {
          return {
            status: 400,
            body: {
              error: { code: 'NO_DICOM_STORED', message: 'No file of the upload could be stored', details: { refused: result.refused } },
            },
          };
        }
        return { status: 201, body: { ...result, studies: result.studies.map(toStudyDto) } };
      },
    }),
    route({
      method: 'get',
      path: '/api/dicom/unmatched',
      operationId: 'listUnmatchedStudies',
      summary: 'The quarantine: studies received (e.g. by C-STORE) that could not be filed under a patient',
      description:
        'Counts and UIDs only. The super admin sees all; a doctor sees those pushed by its hospital’s registered devices, ' +
        'and assigns or discards them. Until then they stay invisible to doctors and patients.',
      tag,
      auth: 'user',
      action: 'dicom.reconcile',
      query: pageQuerySchema(50),
      responses: { 200: { description: 'Unmatched studies', schema: unmatchedSchema } },
      handler: async ({ auth, query }) => ({ body: await service.unmatched(auth, query) }),
    }),
    route({
      method: 'post',
      path: '/api/dicom/unmatched/{id}/assign',
      operationId: 'assignUnmatchedStudy',
      summary: 'File a quarantined study under one of the caller’s patients (identity rewritten as on upload)',
      description:
        'A doctor of the hospital whose device pushed the study, for a patient it is linked to; otherwise 404. 409 ' +
        '`UID_CONFLICT` when the study UID already belongs to another patient. All or nothing: a failure removes the copies it made.',
      tag,
      auth: 'user',
      action: 'dicom.write',
      params: idParams,
      body: z.object({ patientId: z.uuid() }),
      responses: {
        200: { description: 'Filed', schema: z.object({ studyId: z.uuid().nullable(), instances: z.number().int() }) },
        409: { description: 'UID of another patient', schema: errorSchema },
      },
      handler: async ({ auth, params, body, meta }) => ({ body: await quarantine.assign(auth, params.id, body.patientId, meta) }),
    }),
    route({
      method: 'delete',
      path: '/api/dicom/unmatched/{id}',
      operationId: 'discardUnmatchedStudy',
      summary: 'Discard a quarantined study (removed from Orthanc and the object store)',
      description: 'A doctor of the hospital whose device pushed the study; otherwise 404.',
      tag,
      auth: 'user',
      action: 'dicom.write',
      params: idParams,
      responses: { 204: { description: 'Discarded' } },
      handler: async ({ auth, params, meta }) => {
        await quarantine.discard(auth, params.id, meta);
        return { status: 204 };
      },
    }),
  ];
}
