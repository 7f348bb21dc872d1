import { idParams } from '../http/fields.js';
import type { Deps } from '../deps.js';
import { route, type AnyRoute } from '../http/route.js';
import { availabilityBody, availabilityQuery, availabilitySchema } from './schemas.js';
import { createAvailabilityService } from './service.js';
import type { Representation } from '../http/representation.js';

const tag = 'Appointments';

/** A doctor's weekly hours, exceptions and free slots. */
export function availabilityRoutes(deps: Deps): AnyRoute[] {
  const service = createAvailabilityService(deps);
  // The window and its free slots depend on the time of reading: not part of the ETag, ignored in a PUT.
  const availability: Representation = { volatile: ['from', 'to', 'slots'] };
  return [
    route({
      method: 'put',
      path: '/api/doctors/{id}/availability',
      operationId: 'setDoctorAvailability',
      summary: 'Set a doctor’s weekly hours (local times in `timezone`) and exceptions',
      description: 'By the doctor itself or a secretary of its hospital. Weekday 1 = Monday … 7 = Sunday.',
      tag,
      auth: 'user',
      action: 'availability.update',
      params: idParams,
      representation: availability,
      body: availabilityBody,
      responses: { 200: { description: 'The stored availability with the free slots of the next 14 days', schema: availabilitySchema } },
      handler: async ({ auth, params, write, meta }) => ({ body: await service.set(auth, params.id, write, meta) }),
    }),
    route({
      method: 'get',
      path: '/api/doctors/{id}/availability',
      operationId: 'getDoctorAvailability',
      summary: 'A doctor’s availability and free slots between `from` and `to`',
      description: 'Times are stored in UTC and shown in the doctor’s time zone, with their offset.',
      tag,
      auth: 'user',
      action: 'availability.read',
      params: idParams,
      query: availabilityQuery,
      representation: availability,
      responses: { 200: { description: 'Availability and free slots', schema: availabilitySchema } },
      handler: async ({ params, query }) => ({ body: await service.get(params.id, query) }),
    }),
  ];
}
