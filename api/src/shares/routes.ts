import { z } from 'zod';
import { idParams, timestamp } from '../http/fields.js';
import { personRefSchema } from '../http/people.js';
import type { Deps } from '../deps.js';
import { errorSchema } from '../http/error-schema.js';
import { route, type AnyRoute } from '../http/route.js';
import { createShareService, MAX_LIVE_SHARES } from './service.js';

const tag = 'Share links';

const shareSchema = z.object({
  id: z.uuid(),
  studyId: z.uuid(),
  studyInstanceUid: z.string(),
  recipientEmail: z.string().nullable(),
  note: z.string().nullable(),
  createdAt: timestamp,
  expiresAt: timestamp,
  revokedAt: timestamp.nullable(),
  active: z.boolean().describe('Neither revoked nor expired'),
  createdBy: personRefSchema,
});

const createdSchema = shareSchema.extend({
  url: z.string().describe('Opens OHIF read-only on this study, with no account; shown once'),
  token: z.string().describe('The share token inside `url` (shown once; only its hash is kept)'),
  emailed: z.boolean().describe('Whether the link was queued for `recipientEmail` (needs SMTP)'),
});

const createBody = z.object({
  expiresInHours: z.number().int().min(1).max(168).default(24).describe('1–168 hours (default 24)'),
  recipientEmail: z.email().max(254).optional().describe('E-mailed the link (through the SMTP outbox)'),
  note: z.string().trim().min(1).max(500).optional(),
});

/** Share links on one study: created and listed by whoever may read it, revoked at once. */
export function shareRoutes(deps: Deps): AnyRoute[] {
  const service = createShareService(deps);
  return [
    route({
      method: 'post',
      path: '/api/dicom/studies/{id}/shares',
      operationId: 'shareStudy',
      summary: 'Share a study: a link that opens it read-only in OHIF, with no account',
      description:
        `A linked doctor or the patient; anyone else: 404. At most ${MAX_LIVE_SHARES} live links per sharer and study (409 \`TOO_MANY_SHARES\`). ` +
        'The link works until it expires or is revoked, and only while its creator may still read the study; it ends for good when its ' +
        'creator, the creator’s hospital or the patient is deactivated. Every opening is audited and shows in the patient’s access log.',
      tag,
      auth: 'user',
      action: 'dicom.share',
      params: idParams,
      body: createBody,
      responses: {
        201: { description: 'The link', schema: createdSchema },
        404: { description: 'No such study in the caller’s scope', schema: errorSchema },
        409: { description: 'Too many live links', schema: errorSchema },
      },
      handler: async ({ auth, params, body, meta }) => ({ status: 201, body: await service.create(auth, params.id, body, meta) }),
    }),
    route({
      method: 'get',
      path: '/api/dicom/studies/{id}/shares',
      operationId: 'listStudyShares',
      summary: 'The share links of a study (live first)',
      tag,
      auth: 'user',
      action: 'dicom.share',
      params: idParams,
      responses: { 200: { description: 'Links (tokens are never shown again)', schema: z.object({ items: z.array(shareSchema) }) } },
      handler: async ({ auth, params }) => ({ body: { items: await service.list(auth, params.id) } }),
    }),
    route({
      method: 'get',
      path: '/api/shares',
      operationId: 'listMyShares',
      summary: 'The caller’s own live share links, newest first',
      tag,
      auth: 'user',
      action: 'dicom.share',
      responses: {
        200: {
          description: 'Live links the caller made (tokens are never shown again)',
          schema: z.object({ items: z.array(shareSchema) }),
        },
      },
      handler: async ({ auth }) => ({ body: { items: await service.listMine(auth) } }),
    }),
    route({
      method: 'delete',
      path: '/api/shares/{id}',
      operationId: 'revokeShare',
      summary: 'Revoke a share link (refused by the proxy from the next request)',
      description: 'By the person who shared it, or by the patient for a link to its own study.',
      tag,
      auth: 'user',
      action: 'dicom.share',
      params: idParams,
      responses: {
        204: { description: 'Revoked' },
        403: { description: 'The caller may read the study but did not share this link (`NOT_YOUR_SHARE`)', schema: errorSchema },
        404: { description: 'No such link on a study the caller may read', schema: errorSchema },
      },
      handler: async ({ auth, params, meta }) => {
        await service.revoke(auth, params.id, meta);
        return { status: 204 };
      },
    }),
  ];
}
