import { z } from 'zod';
import { timestamp } from '../http/fields.js';
import { personRefSchema } from '../http/people.js';
import type { Deps } from '../deps.js';
import { errorSchema } from '../http/error-schema.js';
import { route, type AnyRoute } from '../http/route.js';
import { createKeyImageService, MAX_KEY_IMAGES, toKeyImageDto } from './service.js';

const tag = 'DICOM';
const uid = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)*$/, 'A DICOM UID')
  .max(64);
const keyImageSchema = z.object({
  id: z.uuid(),
  studyId: z.uuid(),
  seriesInstanceUid: z.string(),
  sopInstanceUid: z.string(),
  frame: z.number().int(),
  note: z.string().nullable(),
  createdAt: timestamp,
  createdBy: personRefSchema,
});
const studyParams = z.object({ id: z.uuid() });

/** Key images of a study: marked by its linked doctors, read by whoever may read the study, printed in reports. */
export function keyImageRoutes(deps: Deps): AnyRoute[] {
  const service = createKeyImageService(deps);
  return [
    route({
      method: 'post',
      path: '/api/dicom/studies/{id}/key-images',
      operationId: 'markKeyImage',
      summary: 'Mark a frame of the study as a key image (printed with its reports)',
      description: `A linked doctor. The instance must belong to the study and series (400 \`NOT_IN_STUDY\`); at most ${MAX_KEY_IMAGES} per study.`,
      tag,
      auth: 'user',
      action: 'dicom.write',
      params: studyParams,
      body: z.object({
        seriesInstanceUid: uid,
        sopInstanceUid: uid,
        frame: z.number().int().min(1).max(10_000).default(1),
        note: z.string().trim().min(1).max(200).optional(),
      }),
      responses: {
        201: { description: 'The key image', schema: keyImageSchema },
        409: { description: 'Already marked, or too many', schema: errorSchema },
      },
      handler: async ({ auth, params, body, meta }) => ({
        status: 201,
        body: toKeyImageDto(await service.mark(auth, params.id, body, meta)),
      }),
    }),
    route({
      method: 'get',
      path: '/api/dicom/studies/{id}/key-images',
      operationId: 'listKeyImages',
      summary: 'The key images of a study',
      tag,
      auth: 'user',
      action: 'dicom.read',
      params: studyParams,
      responses: { 200: { description: 'Key images, in marking order', schema: z.object({ items: z.array(keyImageSchema) }) } },
      handler: async ({ auth, params }) => ({ body: { items: (await service.list(auth, params.id)).map(toKeyImageDto) } }),
    }),
    route({
      method: 'delete',
      path: '/api/dicom/studies/{id}/key-images/{keyImageId}',
      operationId: 'removeKeyImage',
      summary: 'Unmark a key image',
      tag,
      auth: 'user',
      action: 'dicom.write',
      params: z.object({ id: z.uuid(), keyImageId: z.uuid() }),
      responses: { 204: { description: 'Removed' } },
      handler: async ({ auth, params, meta }) => {
        await service.remove(auth, params.id, params.keyImageId, meta);
        return { status: 204 };
      },
    }),
  ];
}
