import { z } from 'zod';
import type { Deps } from '../deps.js';
import { serviceUnavailable } from '../../../common/http/errors.js';
import { errorSchema } from '../http/openapi.js';
import { route, type AnyRoute } from '../http/route.js';

/** Process lifecycle shared with the server, so readiness turns false as soon as shutdown begins. */
export interface Lifecycle {
  shuttingDown: boolean;
}

/** Liveness (`/healthz`) and readiness (`/readyz`: the database answers) probes. */
export function healthRoutes({ db, orthanc }: Deps, lifecycle: Lifecycle): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/healthz',
      operationId: 'healthz',
      summary: 'Liveness: the process is running',
      tag: 'Health',
      auth: 'public',
      responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } },
      handler: async () => ({ body: { status: 'ok' } }),
    }),
    route({
      method: 'get',
      path: '/readyz',
      operationId: 'readyz',
      summary: 'Readiness: the database is reachable and the process is not shutting down',
      description: 'Orthanc is reported too, but does not decide readiness: without it only imaging answers 503.',
      tag: 'Health',
      auth: 'public',
      responses: {
        200: {
          description: 'Ready',
          schema: z.object({ status: z.literal('ready'), checks: z.object({ database: z.literal('ok'), orthanc: z.enum(['ok', 'unavailable']) }) }),
        },
        503: { description: 'Not ready', schema: errorSchema },
      },
      handler: async () => {
        if (lifecycle.shuttingDown) throw serviceUnavailable('Shutting down');
        try {
          await db.raw('select 1');
        } catch {
          throw serviceUnavailable('The database is unreachable');
        }
        const orthancOk = await Promise.race([
          orthanc.system().then(() => true, () => false),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000).unref()),
        ]);
        return { body: { status: 'ready', checks: { database: 'ok', orthanc: orthancOk ? 'ok' : 'unavailable' } } };
      },
    }),
  ];
}
