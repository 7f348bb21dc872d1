import { z } from 'zod';
import { idParams } from '../http/fields.js';
import type { Deps } from '../deps.js';
import { errorSchema } from '../http/error-schema.js';
import { pageQuerySchema, pageSchema } from '../http/pagination.js';
import { route, type AnyRoute } from '../http/route.js';
import type { SeriesRow, StudyListRow } from './repository.js';
import { createQuarantineService } from './quarantine.js';
import { seriesSchema, studyListQuery, studyPatchBody, studySchema, unmatchedSchema, uploadResultSchema } from './schemas.js';
import { createDicomService } from './service.js';
import type { Representation } from '../http/representation.js';
import type { Auth } from '../auth/types.js';

const tag = 'DICOM studies';
const access = 'A linked doctor (any hospital) or the patient itself; anyone else: 404. Every access is audited.';
const writeAccess = 'A linked doctor; the patient: 403; anyone else: 404.';

/** The API view of an indexed study. */
export function toStudyDto(s: StudyListRow) {
  return {
    id: s.id,
    studyInstanceUid: s.study_instance_uid,
    patientId: s.patient_id,
    doctorId: s.doctor_id,
    studyDate: s.study_date,
    studyTime: s.study_time,
    modalities: s.modalities,
    description: s.custom_description ?? s.dicom_description,
    dicomDescription: s.dicom_description,
    labels: s.labels,
    accessionNumber: s.accession_number,
    bodyParts: s.body_parts,
    numberOfSeries: s.number_of_series,
    numberOfInstances: s.number_of_instances,
    sizeBytes: Number(s.size_bytes),
    createdAt: s.created_at.toISOString(),
    updatedAt: s.updated_at.toISOString(),
  };
}

function toSeriesDto(s: SeriesRow) {
  return {
    id: s.id,
    studyId: s.study_id,
    seriesInstanceUid: s.series_instance_uid,
    modality: s.modality,
    description: s.description,
    bodyPart: s.body_part,
    seriesNumber: s.series_number,
    numberOfInstances: s.number_of_instances,
    sizeBytes: Number(s.size_bytes),
  };
}

/** Upload, search, organise, delete, download and report on DICOM studies. */
export function dicomRoutes(deps: Deps): AnyRoute[] {
  const service = createDicomService(deps);
  const studyRepresentation: Representation<Auth, { id: string }> = {
    load: async ({ auth, params }) => {
      const found = await service.peek(auth, params.id);
      return found ? toStudyDto(found) : null;
    },
    onUnchanged: async ({ auth, params, meta }) => void (await service.get(auth, params.id, meta)),
  };
  const quarantine = createQuarantineService(deps);
  const study = '/api/dicom/studies/{id}';
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
      path: '/api/dicom/studies',
      operationId: 'listStudies',
      summary: 'Search the studies in scope (patient, modality, date range, text)',
      description: access,
      tag,
      auth: 'user',
      action: 'dicom.read',
      query: studyListQuery,
      responses: { 200: { description: 'A page of studies', schema: pageSchema(studySchema) } },
      handler: async ({ auth, query, meta }) => {
        const page = await service.list(auth, query, meta);
        return { body: { ...page, items: page.items.map(toStudyDto) } };
      },
    }),
    route({
      method: 'get',
      path: study,
      operationId: 'getStudy',
      summary: 'Read a study',
      description: access,
      tag,
      auth: 'user',
      action: 'dicom.read',
      params: idParams,
      responses: { 200: { description: 'The study', schema: studySchema } },
      representation: studyRepresentation,
      handler: async ({ auth, params, meta }) => ({ body: toStudyDto(await service.get(auth, params.id, meta)) }),
    }),
    route({
      method: 'patch',
      path: study,
      operationId: 'updateStudy',
      summary: 'Organise a study: description and labels',
      description: writeAccess,
      tag,
      auth: 'user',
      action: 'dicom.write',
      params: idParams,
      representation: studyRepresentation,
      body: studyPatchBody,
      responses: { 200: { description: 'The study', schema: studySchema } },
      handler: async ({ auth, params, body, meta }) => ({ body: toStudyDto(await service.update(auth, params.id, body, meta)) }),
    }),
    route({
      method: 'delete',
      path: study,
      operationId: 'deleteStudy',
      summary: 'Delete a study from Orthanc, the object store and the index',
      description: writeAccess,
      tag,
      auth: 'user',
      action: 'dicom.write',
      params: idParams,
      responses: {
        204: { description: 'Deleted' },
        503: { description: 'Imaging store unavailable; nothing changed', schema: errorSchema },
      },
      handler: async ({ auth, params, meta }) => {
        await service.removeStudy(auth, params.id, meta);
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: `${study}/series`,
      operationId: 'listStudySeries',
      summary: 'The series of a study',
      description: access,
      tag,
      auth: 'user',
      action: 'dicom.read',
      params: idParams,
      responses: { 200: { description: 'Series', schema: z.object({ items: z.array(seriesSchema) }) } },
      handler: async ({ auth, params }) => ({ body: { items: (await service.series(auth, params.id)).map(toSeriesDto) } }),
    }),
    route({
      method: 'delete',
      path: '/api/dicom/series/{id}',
      operationId: 'deleteSeries',
      summary: 'Delete a series from Orthanc, the object store and the index',
      description: writeAccess,
      tag,
      auth: 'user',
      action: 'dicom.write',
      params: idParams,
      responses: {
        204: { description: 'Deleted' },
        503: { description: 'Imaging store unavailable; nothing changed', schema: errorSchema },
      },
      handler: async ({ auth, params, meta }) => {
        await service.removeSeries(auth, params.id, meta);
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: `${study}/download`,
      operationId: 'downloadStudy',
      summary: 'Download a study as a ZIP (streamed)',
      description: access,
      tag,
      auth: 'user',
      action: 'dicom.read',
      params: idParams,
      responses: {
        200: { description: 'ZIP of the DICOM files', contentType: 'application/zip' },
        503: { description: 'Imaging store unavailable', schema: errorSchema },
      },
      handler: async ({ auth, params, meta }) => {
        const { body, filename } = await service.download(auth, params.id, meta);
        return { body, headers: { 'Content-Type': 'application/zip', 'Content-Disposition': `attachment; filename="${filename}"` } };
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
