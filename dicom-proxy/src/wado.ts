import { imagingUnavailable } from '../../common/orthanc.js';
import type { Context } from 'koa';
import { badRequest, notFound } from '../../common/http/errors.js';
import { orthancQuery } from './query.js';
import { forwardToOrthanc, sendCached } from './forward.js';
import { FrameCache, type Fill } from './frame-cache.js';
import { cachedSeriesMetadata } from './metadata-cache.js';
import type { Caller, ProxyDeps } from './context.js';
import type { ReadableStudy } from './cache.js';
import { sendDicomJson } from './respond.js';

/** Authorizes a study for the caller (viewer sessions: their one study), audits the read, or throws 404. */
/** The study behind a UID the caller may read, or 404. Audits nothing: what was read is audited once it was answered. */
async function authorizeStudy(deps: ProxyDeps, caller: Caller, studyUid: string): Promise<ReadableStudy> {
  if (caller.onlyStudy && studyUid !== caller.onlyStudy) throw notFound('Study');
  const study = await deps.access.readable(caller.principal, studyUid);
  if (!study) throw notFound('Study');
  return study;
}

/** Audits images the caller was answered (never a refusal, nor an error of Orthanc's: those showed nothing). */
const viewed = (ctx: Context, deps: ProxyDeps, caller: Caller, study: ReadableStudy) =>
  deps.audit.imagesViewed(caller, study, ctx.state.meta);

/**
 * WADO-RS (retrieve, metadata, frames, rendered, thumbnails, bulk data): allowed only inside a study the
 * caller may read; anything else answers 404. Bodies are Orthanc's own bytes, streamed.
 */
export async function handleWado(
  ctx: Context,
  deps: ProxyDeps,
  caller: Caller,
  target: { study: string; series?: string; instance?: string; target: string },
  subPath: string,
  search: string,
): Promise<void> {
  const study = await authorizeStudy(deps, caller, target.study);
  if (target.target === 'metadata' && target.series && !target.instance && ctx.method === 'GET' && !search) {
    const cached = await cachedSeriesMetadata(deps.db, deps.orthanc, caller.rewrite, target.study, target.series);
    if (cached) {
      ctx.set('X-MediConnect-Cache', cached.cached ? 'hit' : 'miss');
      sendDicomJson(ctx, cached.body);
      return viewed(ctx, deps, caller, study);
    }
  }
  // Images of one instance (frames, renderings, its pixel data) and thumbnails: from the frame cache when held. The
  // study was authorized above, exactly as for an answer from Orthanc.
  let fill: Fill | undefined;
  if (CACHED_TARGETS.has(target.target) && (target.instance || target.target === 'thumbnail') && deps.frames.enabled) {
    const found = deps.frames.lookup(FrameCache.key(target.study, subPath, search, ctx.get('Accept')), target.study);
    if (found.hit) {
      ctx.set('X-MediConnect-Cache', 'hit');
      sendCached(ctx, found.hit, caller.rewrite);
      return viewed(ctx, deps, caller, study);
    }
    ctx.set('X-MediConnect-Cache', 'miss');
    fill = ctx.method === 'GET' ? found.fill : undefined;
  }
  if (target.target === 'thumbnail') await thumbnail(ctx, deps, caller, target, search, fill);
  else await forwardToOrthanc(ctx, deps.orthanc, `/dicom-web${subPath}${search}`, caller.rewrite, ctx.get('Accept') || undefined, fill);
  await viewed(ctx, deps, caller, study);
}

/** What the frame cache keeps: images a viewer asks for again and again, never whole studies, series or metadata. */
const CACHED_TARGETS = new Set(['frames', 'rendered', 'thumbnail', 'bulkdata']);

/** The edge of a thumbnail when the client names no viewport. */
const THUMBNAIL_VIEWPORT = '128,128';

interface FoundInstance {
  MainDicomTags: { SOPInstanceUID?: string; InstanceNumber?: string };
}
interface FoundSeries {
  MainDicomTags: { SeriesInstanceUID?: string; SeriesNumber?: string };
}

const byNumber = (n: string | undefined) => Number.parseInt(n ?? '', 10) || 0;

/** Orthanc's answer to /tools/find at one level, or 503 when it cannot be asked. */
async function find<T>(deps: ProxyDeps, level: 'Series' | 'Instance', query: Record<string, string>): Promise<T[]> {
  const res = await deps.orthanc.fetch('/tools/find', {
    method: 'POST',
    body: JSON.stringify({ Level: level, Query: query, Expand: true }),
  });
  if (!res.ok) throw imagingUnavailable('retry once it is back');
  return (await res.json()) as T[];
}

/**
 * Thumbnails (PS3.18 10.4.1.1.4), which Orthanc 1.10's DICOMweb does not offer: the rendered image of the
 * instance — for a series its middle instance, for a study its first series' — scaled to the viewport asked
 * (default 128×128). Authorization happened before; the instance is looked up inside the authorized study.
 */
async function thumbnail(
  ctx: Context,
  deps: ProxyDeps,
  caller: Caller,
  target: { study: string; series?: string; instance?: string },
  search: string,
  fill?: Fill,
): Promise<void> {
  let series = target.series;
  let instance = target.instance;
  if (!series) {
    const all = await find<FoundSeries>(deps, 'Series', { StudyInstanceUID: target.study });
    series = all.sort((a, b) => byNumber(a.MainDicomTags.SeriesNumber) - byNumber(b.MainDicomTags.SeriesNumber))[0]?.MainDicomTags
      .SeriesInstanceUID;
    if (!series) throw notFound('Study');
  }
  if (!instance) {
    const all = (await find<FoundInstance>(deps, 'Instance', { StudyInstanceUID: target.study, SeriesInstanceUID: series })).sort(
      (a, b) => byNumber(a.MainDicomTags.InstanceNumber) - byNumber(b.MainDicomTags.InstanceNumber),
    );
    instance = all[Math.floor(all.length / 2)]?.MainDicomTags.SOPInstanceUID;
    if (!instance) throw notFound('Series');
  }
  const query = new URLSearchParams(search.startsWith('?') ? search.slice(1) : search);
  if (!query.has('viewport')) query.set('viewport', THUMBNAIL_VIEWPORT);
  const path = `/dicom-web/studies/${encodeURIComponent(target.study)}/series/${encodeURIComponent(series)}/instances/${encodeURIComponent(instance)}/rendered?${orthancQuery(query)}`;
  await forwardToOrthanc(ctx, deps.orthanc, path, caller.rewrite, ctx.get('Accept') || undefined, fill);
}

const WADO_URI_KEYS = new Set([
  'requesttype',
  'studyuid',
  'seriesuid',
  'objectuid',
  'contenttype',
  'charset',
  'anonymize',
  'annotation',
  'rows',
  'columns',
  'region',
  'windowcenter',
  'windowwidth',
  'framenumber',
  'imagequality',
  'presentationuid',
  'presentationseriesuid',
  'transfersyntax',
]);
const UID = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/;

/**
 * WADO-URI (`?requestType=WADO&studyUID&seriesUID&objectUID&contentType`): each parameter once, the three
 * UIDs required; the instance must lie in that series of that study, which the caller may read.
 */
export async function handleWadoUri(ctx: Context, deps: ProxyDeps, caller: Caller, params: URLSearchParams): Promise<void> {
  const seen = new Map<string, string>();
  const spelled = new Map<string, string>();
  const problems: { field: string; message: string }[] = [];
  for (const [key, value] of params) {
    const k = key.toLowerCase();
    if (!WADO_URI_KEYS.has(k)) problems.push({ field: key, message: 'Unknown WADO-URI parameter' });
    else if (seen.has(k)) problems.push({ field: key, message: 'Given more than once' });
    else {
      seen.set(k, value);
      spelled.set(k, key);
    }
  }
  if (seen.get('requesttype') !== 'WADO') problems.push({ field: 'requestType', message: 'Must be WADO' });
  for (const k of ['studyUID', 'seriesUID', 'objectUID']) {
    const v = seen.get(k.toLowerCase());
    if (!v || v.length > 64 || !UID.test(v)) problems.push({ field: k, message: 'A valid UID is required' });
  }
  if (problems.length) throw badRequest('Invalid WADO-URI request', problems, 'INVALID_QUERY');
  const [study, series, instance] = ['studyuid', 'seriesuid', 'objectuid'].map((k) => seen.get(k)!) as [string, string, string];
  const readable = await authorizeStudy(deps, caller, study);
  const found = await deps.orthanc.fetch('/tools/find', {
    method: 'POST',
    body: JSON.stringify({
      Level: 'Instance',
      Query: { StudyInstanceUID: study, SeriesInstanceUID: series, SOPInstanceUID: instance },
      Limit: 2,
    }),
  });
  if (!found.ok) throw imagingUnavailable('retry once it is back');
  if (((await found.json()) as unknown[]).length !== 1) throw notFound('Instance');
  const canonical = orthancQuery([...seen].map(([k, v]): [string, string] => [spelled.get(k)!, v]));
  await forwardToOrthanc(ctx, deps.orthanc, `/wado?${canonical}`, caller.rewrite, ctx.get('Accept') || undefined);
  await viewed(ctx, deps, caller, readable);
}
