import { z } from 'zod';
import { idParams } from '../http/fields.js';
import type { Deps } from '../deps.js';
import { errorSchema } from '../http/error-schema.js';
import { pageSchema } from '../http/pagination.js';
import { route, type AnyRoute } from '../http/route.js';
import { toSeriesDto, toStudyDto } from './presenter.js';
import { seriesSchema, studyListQuery, studyPatchBody, studySchema } from './schemas.js';
import { createDicomService } from './service.js';
import type { Representation } from '../http/representation.js';

const tag = 'DICOM studies';
const access = 'A linked doctor (any hospital) or the patient itself; anyone else: 404. Every access is audited.';
const writeAccess = 'A linked doctor; the patient: 403; anyone else: 404.';

/** Search, organise, delete and download DICOM studies (they arrive through api/src/intake). */
export function dicomRoutes(deps: Deps): AnyRoute[] {
  const service = createDicomService(deps);
  const studyRepresentation: Representation = {};
  const study = '/api/dicom/studies/{id}';
  return [
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
      handler: async ({ auth, params, write, meta }) => ({ body: toStudyDto(await service.update(auth, params.id, write, meta)) }),
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
  ];
}
