import type { ServerResponse } from 'node:http';
import { studyAllowed } from './access.js';
import { forwardToOrthanc } from './forward.js';
import { sendError } from './http.js';
import type { ProxyContext } from './context.js';

/**
 * WADO-RS (retrieve, metadata, frames, rendered, thumbnails, bulk data): allowed only inside a study of
 * the caller's patients; anything else answers 404. Bodies stream through; JSON has its URLs rewritten.
 */
export async function handleWado(ctx: ProxyContext, study: string, subPath: string, search: string, accept: string | undefined, method: 'GET' | 'HEAD', res: ServerResponse): Promise<void> {
  if (ctx.onlyStudy && study !== ctx.onlyStudy) return sendError(res, 404, 'NOT_FOUND', 'Study not found');
  if (!(await studyAllowed(ctx.orthanc, study, ctx.allowed))) return sendError(res, 404, 'NOT_FOUND', 'Study not found');
  await forwardToOrthanc(ctx.orthanc, ctx.orthancUrl, ctx.publicUrl, subPath, search, accept, res, method);
}
