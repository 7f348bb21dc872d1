import type { Deps } from '../deps.js';
import { idParams } from '../http/fields.js';
import { errorSchema } from '../http/error-schema.js';
import { pageSchema } from '../http/pagination.js';
import { replaceAndUpdate, route, type AnyRoute } from '../http/route.js';
import { hospitalCreateBody, hospitalListQuery, hospitalPatchBody, hospitalPutBody, hospitalSchema } from './schemas.js';
import { createHospitalService } from './service.js';
import type { Representation } from '../http/representation.js';

const tag = 'Hospitals';

/** Hospitals: managed by the super admin; staff read their own hospital. */
export function hospitalRoutes(deps: Deps): AnyRoute[] {
  const service = createHospitalService(deps);
  const hospital: Representation = {};
  return [
    route({
      method: 'get',
      path: '/api/hospitals',
      operationId: 'listHospitals',
      summary: 'List hospitals (super admin: all; staff: their own)',
      tag,
      auth: 'user',
      action: 'hospital.list',
      query: hospitalListQuery,
      responses: { 200: { description: 'A page of hospitals', schema: pageSchema(hospitalSchema) } },
      handler: async ({ auth, query }) => ({ body: await service.list(auth, query) }),
    }),
    route({
      method: 'post',
      path: '/api/hospitals',
      operationId: 'createHospital',
      summary: 'Create a hospital',
      tag,
      auth: 'user',
      action: 'hospital.create',
      body: hospitalCreateBody,
      responses: { 201: { description: 'Created', schema: hospitalSchema } },
      handler: async ({ auth, body, meta }) => ({ status: 201, body: await service.create(auth, body, meta) }),
    }),
    route({
      method: 'get',
      path: '/api/hospitals/{id}',
      operationId: 'getHospital',
      summary: 'Read a hospital',
      tag,
      auth: 'user',
      action: 'hospital.read',
      params: idParams,
      responses: { 200: { description: 'The hospital', schema: hospitalSchema } },
      representation: hospital,
      handler: async ({ auth, params }) => ({ body: await service.get(auth, params.id) }),
    }),
    ...replaceAndUpdate(
      {
        path: '/api/hospitals/{id}',
        tag,
        auth: 'user',
        action: 'hospital.update',
        params: idParams,
        representation: hospital,
        responses: { 200: { description: 'Updated', schema: hospitalSchema } },
        handler: async ({ auth, params, write, meta }) => ({ body: await service.update(auth, params.id, write, meta) }),
      },
      { operationId: 'replaceHospital', summary: 'Replace a hospital’s details', body: hospitalPutBody },
      {
        operationId: 'updateHospital',
        summary: 'Update a hospital; `{"isActive": false|true}` deactivates or reactivates it',
        description: 'A deactivated hospital’s staff cannot log in and their tokens stop working at once.',
        body: hospitalPatchBody,
      },
    ),
    route({
      method: 'delete',
      path: '/api/hospitals/{id}',
      operationId: 'deleteHospital',
      summary: 'Delete a hospital that has no live accounts left',
      tag,
      auth: 'user',
      action: 'hospital.delete',
      params: idParams,
      responses: {
        204: { description: 'Deleted' },
        409: { description: 'The hospital still has accounts', schema: errorSchema },
      },
      handler: async ({ auth, params, meta }) => {
        await service.remove(auth, params.id, meta);
        return { status: 204 };
      },
    }),
  ];
}
