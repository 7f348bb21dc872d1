import { z } from 'zod';
import { idParams, timestamp } from '../accounts/schemas.js';
import type { Deps } from '../deps.js';
import { errorSchema } from '../http/openapi.js';
import { route, type AnyRoute } from '../http/route.js';
import { createViewerSessionService } from './service.js';

const tag = 'Viewer sessions';

const sessionSchema = z.object({ id: z.uuid(), studyId: z.uuid().nullable(), studyInstanceUid: z.string(), createdAt: timestamp, expiresAt: timestamp });
const openedSchema = sessionSchema.extend({
  token: z.string().describe('Send as `Authorization: Bearer <token>` or `?token=` to the DICOMweb proxy; valid for this study only'),
  dicomWebUrl: z.string(),
  viewerUrl: z.string().describe('OHIF Viewer URL opening the study with this session'),
});

/** Short-lived viewer sessions on one study, limited in number per user. */
export function viewerSessionRoutes(deps: Deps): AnyRoute[] {
  const service = createViewerSessionService(deps);
  const open = (path: string, method: 'post' | 'get', operationId: string, summary: string) =>
    route({
      method,
      path,
      operationId,
      summary,
      description:
        `A linked doctor or the patient; anyone else: 404. Reopening the same study replaces the previous session; ` +
        `at most VIEWER_MAX_SESSIONS (default 3) live sessions per user (409 beyond).`,
      tag,
      auth: 'user',
      action: 'dicom.read',
      params: idParams,
      responses: {
        [method === 'post' ? 201 : 200]: { description: 'The session, its token and the viewer URL', schema: openedSchema },
        409: { description: 'Too many live viewer sessions', schema: errorSchema },
      },
      handler: async ({ auth, params, meta }) => ({ status: method === 'post' ? 201 : 200, body: await service.open(auth, params.id, meta) }),
    });
  return [
    open('/api/dicom/studies/{id}/viewer-sessions', 'post', 'openViewerSession', 'Open a viewer session on a study'),
    open('/api/dicom/studies/{id}/viewer_url', 'get', 'getViewerUrl', 'The OHIF Viewer URL of a study (opens a viewer session)'),
    route({
      method: 'get',
      path: '/api/viewer-sessions',
      operationId: 'listViewerSessions',
      summary: 'The caller’s live viewer sessions',
      tag,
      auth: 'user',
      responses: { 200: { description: 'Sessions', schema: z.object({ items: z.array(sessionSchema) }) } },
      handler: async ({ auth }) => ({ body: { items: await service.list(auth) } }),
    }),
    route({
      method: 'delete',
      path: '/api/viewer-sessions/{id}',
      operationId: 'closeViewerSession',
      summary: 'End one of the caller’s viewer sessions',
      tag,
      auth: 'user',
      params: idParams,
      responses: { 204: { description: 'Ended' } },
      handler: async ({ auth, params, meta }) => {
        await service.close(auth, params.id, meta);
        return { status: 204 };
      },
    }),
  ];
}
