import { z } from 'zod';
import type { Deps } from '../deps.js';
import { LIVENESS_BODY } from '../../../common/http/liveness.js';
import { serviceUnavailable } from '../../../common/http/errors.js';
import { errorSchema } from '../http/error-schema.js';
import { route, type AnyRoute } from '../http/route.js';
import type { KeyWatch } from '../../../common/key-registry.js';

/** Process lifecycle shared with the server, so readiness turns false as soon as shutdown begins. */
export interface Lifecycle {
  shuttingDown: boolean;
  /** Requests being handled now: a stop waits for them before closing the database pool. */
  inFlight?: number;
  /** The encryption key check (absent in apps built without a server, e.g. some tests). */
  keys?: KeyWatch;
}

/** Liveness (`/healthz`) and readiness (`/readyz`: the database answers) probes. */
export function healthRoutes({ db, orthanc, config }: Deps, lifecycle: Lifecycle): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/healthz',
      operationId: 'healthz',
      summary: 'Liveness: the process is running',
      tag: 'Health',
      auth: 'public',
      responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } },
      // Answered by the liveness middleware before the router; documented here.
      handler: async () => ({ body: LIVENESS_BODY }),
    }),
    route({
      method: 'get',
      path: '/readyz',
      operationId: 'readyz',
      summary: 'Readiness: the database is reachable and the process is not shutting down',
      description:
        'Orthanc and the DICOMweb proxy are reported too (which part is down), but do not decide readiness: without them only imaging answers 503.',
      tag: 'Health',
      auth: 'public',
      responses: {
        200: {
          description: 'Ready',
          schema: z.object({
            status: z.literal('ready'),
            checks: z.object({
              database: z.literal('ok'),
              orthanc: z.enum(['ok', 'unavailable']),
              dicomProxy: z.enum(['ok', 'unavailable']),
            }),
          }),
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
        if (lifecycle.keys?.problem) throw serviceUnavailable(lifecycle.keys.problem);
        if (lifecycle.keys && !lifecycle.keys.verified) throw serviceUnavailable('The encryption keys are not verified yet');
        const within2s = (check: Promise<boolean>) =>
          Promise.race([check, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000).unref())]);
        const [orthancOk, proxyOk] = await Promise.all([
          within2s(
            orthanc.system().then(
              () => true,
              () => false,
            ),
          ),
          within2s(
            fetch(`${config.proxy.internalUrl}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
              (r) => r.ok,
              () => false,
            ),
          ),
        ]);
        const state = (ok: boolean) => (ok ? 'ok' : 'unavailable') as 'ok' | 'unavailable';
        return { body: { status: 'ready', checks: { database: 'ok', orthanc: state(orthancOk), dicomProxy: state(proxyOk) } } };
      },
    }),
  ];
}
