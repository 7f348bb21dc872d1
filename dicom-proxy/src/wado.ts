import type { ServerResponse } from 'node:http';
import { studyAllowed } from './access.js';
import { forwardToOrthanc } from './forward.js';
import { sendDicomJson, sendError } from './http.js';
import { cachedSeriesMetadata } from './metadata-cache.js';
import type { ProxyContext } from './context.js';

/**
 * WADO-RS (retrieve, metadata, frames, rendered, thumbnails, bulk data): allowed only inside a study of
 * the caller's patients; anything else answers 404. Bodies stream through; JSON has its URLs rewritten.
 */
export async function handleWado(
  ctx: ProxyContext,
  target: { study: string; series?: string; instance?: string; target: string },
  subPath: string,
  search: string,
  accept: string | undefined,
  method: 'GET' | 'HEAD',
  res: ServerResponse,
): Promise<void> {
  const { study } = target;
  if (ctx.onlyStudy && study !== ctx.onlyStudy) return sendError(res, 404, 'NOT_FOUND', 'Study not found');
  if (!(await studyAllowed(ctx.orthanc, study, ctx.allowed))) return sendError(res, 404, 'NOT_FOUND', 'Study not found');
  if (target.target === 'metadata' && target.series && !target.instance && method === 'GET' && !search) {
    const cached = await cachedSeriesMetadata(ctx.db, ctx.orthanc, ctx.orthancUrl, ctx.publicUrl, study, target.series);
    if (cached) {
      res.setHeader('x-mediconnect-cache', cached.cached ? 'hit' : 'miss');
      return sendDicomJson(res, cached.body);
    }
  }
  await forwardToOrthanc(ctx.orthanc, ctx.orthancUrl, ctx.publicUrl, subPath, search, accept, res, method);
}
