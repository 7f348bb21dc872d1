import type { ServerResponse } from 'node:http';
import { studyAllowed } from './access.js';
import { forwardToOrthanc } from './forward.js';
import { sendDicomJson, sendError } from './http.js';
import type { ProxyContext } from './context.js';

type Qido = { level: 'studies' | 'series' | 'instances'; study?: string; series?: string };
type DicomJson = Record<string, { Value?: unknown[] } | undefined>;

const PATIENT_ID = '00100020';

/**
 * QIDO-RS: results never go beyond the caller's patients, whatever the filters (missing, wildcard,
 * another patient's ID). Under a study path the study itself is checked first; at the root the query is
 * narrowed to the caller's one patient when possible, else Orthanc's answer is filtered here.
 */
export async function handleQido(ctx: ProxyContext, q: Qido, subPath: string, params: URLSearchParams, res: ServerResponse): Promise<void> {
  const { allowed } = ctx;
  if (allowed.size === 0) return sendDicomJson(res, []);
  const forward = (p: URLSearchParams) => forwardToOrthanc(ctx.orthanc, ctx.orthancUrl, ctx.publicUrl, subPath, p.size ? `?${p}` : '', 'application/dicom+json', res);
  if (ctx.onlyStudy) {
    // A viewer session sees its one study and nothing else.
    if (q.study && q.study !== ctx.onlyStudy) return sendError(res, 404, 'NOT_FOUND', 'Study not found');
    const asked = params.get('StudyInstanceUID') ?? params.get('0020000D');
    if (!q.study && asked !== null && asked !== ctx.onlyStudy) return sendDicomJson(res, []);
    if (!q.study) params.set('StudyInstanceUID', ctx.onlyStudy);
  }
  if (q.study) {
    if (!(await studyAllowed(ctx.orthanc, q.study, allowed))) return sendError(res, 404, 'NOT_FOUND', 'Study not found');
    return forward(params);
  }
  const requested = params.get('PatientID') ?? params.get(PATIENT_ID);
  const exact = requested !== null && !/[*?\\]/.test(requested);
  if (exact) return allowed.has(requested) ? forward(params) : sendDicomJson(res, []);
  if (requested === null && allowed.size === 1) {
    params.set('PatientID', [...allowed][0]!);
    return forward(params);
  }
  // Several patients, or a wildcard: ask Orthanc without paging, keep the caller's patients, page here.
  const limit = Number(params.get('limit') ?? 0);
  const offset = Number(params.get('offset') ?? 0);
  params.delete('limit');
  params.delete('offset');
  params.append('includefield', PATIENT_ID);
  const upstream = await ctx.orthanc.fetch(`/dicom-web${subPath}?${params}`, { headers: { accept: 'application/dicom+json' } });
  if (!upstream.ok) return sendError(res, upstream.status >= 500 ? 503 : upstream.status, 'ORTHANC_ERROR', 'The imaging store refused the query');
  const text = (await upstream.text()).replaceAll(`${ctx.orthancUrl}/dicom-web`, ctx.publicUrl);
  const all = (text ? JSON.parse(text) : []) as DicomJson[];
  const mine = all.filter((item) => allowed.has(String(item[PATIENT_ID]?.Value?.[0] ?? '')));
  const page = mine.slice(Math.max(0, offset), limit > 0 ? Math.max(0, offset) + limit : undefined);
  sendDicomJson(res, page);
}
