import { z } from 'zod';
import { idParams, timestamp } from '../http/fields.js';
import type { Deps } from '../deps.js';
import { errorSchema } from '../http/error-schema.js';
import { route, type AnyRoute } from '../http/route.js';
import { pageQuerySchema, pageSchema } from '../http/pagination.js';
import { personRefSchema } from '../http/people.js';
import { createViewerSessionService } from './service.js';

const tag = 'Viewer sessions';

const sessionSchema = z.object({
  id: z.uuid(),
  kind: z.enum(['study', 'list']).describe('`study`: one study; `list`: the caller’s study list (every study it may read)'),
  studyId: z.uuid().nullable(),
  studyInstanceUid: z.string().nullable(),
  createdAt: timestamp,
  expiresAt: timestamp,
});
const openedSchema = sessionSchema.extend({
  token: z
    .string()
    .describe(
      'Send as `Authorization: Bearer <token>` or `?token=` to the DICOMweb proxy; valid for this study only (or the caller’s studies, for a list session)',
    ),
  dicomWebUrl: z.string(),
  viewerUrl: z.string().describe('OHIF Viewer URL opening the study with this session'),
});

const historySchema = z.object({
  studyId: z.uuid(),
  studyInstanceUid: z.string(),
  patientId: z.uuid(),
  description: z.string().nullable(),
  studyDate: z.string().nullable(),
  modalities: z.array(z.string()),
  lastOpenedAt: timestamp,
  openings: z.number().int(),
});
const viewSchema = z.object({
  at: timestamp,
  via: z.enum(['viewer_session', 'share_link', 'dicomweb']),
  actor: personRefSchema.nullable(),
  viewerSessionId: z.string().nullable(),
  shareId: z.string().nullable(),
});

/** Short-lived viewer sessions on one study or the caller's list, limited in number per user; who opened what. */
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
      handler: async ({ auth, params, meta }) => ({
        status: method === 'post' ? 201 : 200,
        body: await service.open(auth, params.id, meta),
      }),
    });
  const paging = pageQuerySchema();
  return [
    route({
      method: 'post',
      path: '/api/viewer-sessions',
      operationId: 'createViewerSession',
      summary: 'Open a viewer session: on one study (`studyId`), or on the caller’s study list (empty body)',
      description:
        'Without `studyId`, OHIF opens on its study list showing exactly the studies the caller may read (the patient its own, ' +
        'a doctor those of its linked patients). With `studyId`, as `POST /api/dicom/studies/{id}/viewer-sessions`. Same limit, ' +
        'revocation (logout, password change, deactivation) and audit for both.',
      tag,
      auth: 'user',
      action: 'dicom.read',
      body: z.object({ studyId: z.uuid().optional() }),
      responses: {
        201: { description: 'The session, its token and the viewer URL', schema: openedSchema },
        404: { description: 'No such study in the caller’s scope', schema: errorSchema },
        409: { description: 'Too many live viewer sessions', schema: errorSchema },
      },
      handler: async ({ auth, body, meta }) => ({ status: 201, body: await service.open(auth, body.studyId ?? null, meta) }),
    }),
    route({
      method: 'get',
      path: '/api/viewer-sessions/history',
      operationId: 'viewerHistory',
      summary: 'The studies the caller recently opened, newest first',
      tag,
      auth: 'user',
      action: 'dicom.read',
      query: paging,
      responses: { 200: { description: 'Studies, by last opening', schema: pageSchema(historySchema) } },
      handler: async ({ auth, query }) => ({ body: await service.history(auth, query) }),
    }),
    route({
      method: 'get',
      path: '/api/dicom/studies/{id}/views',
      operationId: 'studyViews',
      summary: 'Who opened a study’s images, when and how (viewer session, share link, DICOMweb)',
      description: 'For the linked doctors and the patient; anyone else: 404. A share link’s opening has no actor (no account).',
      tag,
      auth: 'user',
      action: 'dicom.read',
      params: idParams,
      query: paging,
      responses: { 200: { description: 'Openings, newest first', schema: pageSchema(viewSchema) } },
      handler: async ({ auth, params, query }) => ({ body: await service.views(auth, params.id, query) }),
    }),
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
