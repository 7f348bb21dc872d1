import { z } from 'zod';
import { idParams } from '../http/fields.js';
import type { Deps } from '../deps.js';
import { errorSchema } from '../http/error-schema.js';
import { route, type AnyRoute } from '../http/route.js';
import { modalityCreateBody, modalityPatchBody, modalitySchema } from './schemas.js';
import { createModalityService } from './service.js';

const tag = 'Modalities';
const scope = 'The hospital admin manages its own hospital’s devices; another hospital’s device answers 404.';

/** The registry of DICOM devices allowed to push images (C-STORE) into the imaging store. */
export function modalityRoutes(deps: Deps): AnyRoute[] {
  const service = createModalityService(deps);
  return [
    route({
      method: 'get',
      path: '/api/modalities',
      operationId: 'listModalities',
      summary: 'The hospital’s registered DICOM devices',
      description: scope,
      tag,
      auth: 'user',
      action: 'modality.manage',
      responses: { 200: { description: 'Devices', schema: z.object({ items: z.array(modalitySchema) }) } },
      handler: async ({ auth }) => ({ body: await service.list(auth) }),
    }),
    route({
      method: 'post',
      path: '/api/modalities',
      operationId: 'createModality',
      summary: 'Register a DICOM device (the device gate accepts only registered, active AE titles from their host)',
      description: scope,
      tag,
      auth: 'user',
      action: 'modality.manage',
      body: modalityCreateBody,
      responses: {
        201: { description: 'Registered', schema: modalitySchema },
        409: { description: 'AE title already registered (compared without case)', schema: errorSchema },
      },
      handler: async ({ auth, body, meta }) => ({ status: 201, body: await service.create(auth, body, meta) }),
    }),
    route({
      method: 'get',
      path: '/api/modalities/{id}',
      operationId: 'getModality',
      summary: 'One registered device',
      description: scope,
      tag,
      auth: 'user',
      action: 'modality.manage',
      params: idParams,
      responses: { 200: { description: 'The device', schema: modalitySchema } },
      handler: async ({ auth, params }) => ({ body: await service.get(auth, params.id) }),
    }),
    route({
      method: 'patch',
      path: '/api/modalities/{id}',
      operationId: 'updateModality',
      summary: 'Change a device (`isActive: false` stops its pushes at once)',
      description: scope,
      tag,
      auth: 'user',
      action: 'modality.manage',
      params: idParams,
      body: modalityPatchBody,
      responses: {
        200: { description: 'Updated', schema: modalitySchema },
        409: { description: 'AE title already registered (compared without case)', schema: errorSchema },
      },
      handler: async ({ auth, params, body, meta }) => ({ body: await service.update(auth, params.id, body, meta) }),
    }),
    route({
      method: 'delete',
      path: '/api/modalities/{id}',
      operationId: 'deleteModality',
      summary: 'Remove a device from the registry (its next association is refused)',
      description: scope,
      tag,
      auth: 'user',
      action: 'modality.manage',
      params: idParams,
      responses: { 204: { description: 'Removed' } },
      handler: async ({ auth, params, meta }) => {
        await service.remove(auth, params.id, meta);
        return { status: 204 };
      },
    }),
  ];
}
