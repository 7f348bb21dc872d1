import { z } from 'zod';
import type { Deps } from '../deps.js';
import { reportBody, reportSchema } from './schemas.js';
import { idParams } from '../http/fields.js';
import { route, type AnyRoute } from '../http/route.js';
import { createReportService } from './service.js';

const tag = 'DICOM studies';
const access = 'A linked doctor (any hospital) or the patient itself; anyone else: 404. Every access is audited.';
const writeAccess = 'A linked doctor; the patient: 403; anyone else: 404.';
const reportParams = z.object({ id: z.uuid(), reportId: z.uuid() });

/** The reports of a study (under the study's path). */
export function reportRoutes(deps: Deps): AnyRoute[] {
  const service = createReportService(deps);
  const study = '/api/dicom/studies/{id}';
  return [
    route({
      method: 'post',
      path: `${study}/reports`,
      operationId: 'createReport',
      summary: 'Write a report on a study',
      description: writeAccess,
      tag,
      auth: 'user',
      action: 'dicom.write',
      params: idParams,
      body: reportBody,
      responses: { 201: { description: 'The report', schema: reportSchema } },
      handler: async ({ auth, params, body, meta }) => ({ status: 201, body: await service.create(auth, params.id, body, meta) }),
    }),
    route({
      method: 'get',
      path: `${study}/reports`,
      operationId: 'listReports',
      summary: 'The reports of a study',
      description: access,
      tag,
      auth: 'user',
      action: 'dicom.read',
      params: idParams,
      responses: { 200: { description: 'Reports', schema: z.object({ items: z.array(reportSchema) }) } },
      handler: async ({ auth, params }) => ({ body: { items: await service.list(auth, params.id) } }),
    }),
    route({
      method: 'get',
      path: `${study}/reports/{reportId}/pdf`,
      operationId: 'reportPdf',
      summary: 'A report as PDF',
      description: access,
      tag,
      auth: 'user',
      action: 'dicom.read',
      params: reportParams,
      query: z.object({
        keyImages: z
          .enum(['true', 'false'])
          .default('true')
          .transform((v) => v === 'true')
          .describe('Print the study’s key images after the text (rendered by Orthanc); default true'),
      }),
      responses: { 200: { description: 'The PDF', contentType: 'application/pdf' } },
      handler: async ({ auth, params, query, meta }) => {
        const { body, filename } = await service.pdf(auth, params.id, params.reportId, meta, query.keyImages);
        return { body, headers: { 'Content-Type': 'application/pdf', 'Content-Disposition': `attachment; filename="${filename}"` } };
      },
    }),
  ];
}
