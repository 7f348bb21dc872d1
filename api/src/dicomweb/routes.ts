import { z } from 'zod';
import { errorSchema } from '../http/error-schema.js';
import { route, type AnyRoute } from '../http/route.js';

const tag = 'DICOMweb';
const uid = z
  .string()
  .regex(/^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/)
  .max(64);
const description =
  'Served by the authorizing DICOMweb proxy, forwarded byte for byte: send `Authorization: Bearer` with an access token or ' +
  'a viewer-session token (`vs_…`), or put the viewer token in the path (`/t/{token}/…`) or as `?token=`. Only the ' +
  'caller’s studies are visible; anything else answers 404 (WADO) or an empty list (QIDO). A query key given twice under ' +
  'any spelling (keyword, `ggggeeee`, `gggg,eeee`) answers 400 `INVALID_QUERY`.';

/**
 * OpenAPI entries of the DICOMweb endpoints on the API origin. They are documentation only: the gateway
 * middleware (gateway.ts) answers every path under `/api/dicom/qido` and `/api/dicom/wado`.
 */
export function dicomWebDocs(): AnyRoute[] {
  const doc = (path: string, operationId: string, summary: string, params: z.ZodObject, ok: { description: string; contentType: string }) =>
    route({
      method: 'get',
      path,
      operationId,
      summary,
      description,
      tag,
      auth: 'public',
      params,
      responses: {
        200: ok,
        400: { description: 'Invalid query', schema: errorSchema },
        401: { description: 'No valid token', schema: errorSchema },
        404: { description: 'Not found or not the caller’s', schema: errorSchema },
      },
      handler: async () => {
        throw new Error('served by the DICOMweb gateway');
      },
    });
  const json = { description: 'DICOM JSON', contentType: 'application/dicom+json' };
  const multipart = { description: 'multipart/related parts, exactly as Orthanc serves them', contentType: 'multipart/related' };
  const none = z.object({});
  return [
    doc('/api/dicom/qido/studies', 'qidoStudies', 'QIDO-RS: search the caller’s studies (paged in the study index)', none, json),
    doc('/api/dicom/qido/studies/{study}/series', 'qidoSeries', 'QIDO-RS: the series of a study', z.object({ study: uid }), json),
    doc(
      '/api/dicom/qido/studies/{study}/series/{series}/instances',
      'qidoInstances',
      'QIDO-RS: the instances of a series',
      z.object({ study: uid, series: uid }),
      json,
    ),
    doc(
      '/api/dicom/wado/studies/{study}/series/{series}/metadata',
      'wadoSeriesMetadata',
      'WADO-RS: series metadata',
      z.object({ study: uid, series: uid }),
      json,
    ),
    doc(
      '/api/dicom/wado/studies/{study}/series/{series}/instances/{instance}',
      'wadoInstance',
      'WADO-RS: one instance (DICOM)',
      z.object({ study: uid, series: uid, instance: uid }),
      multipart,
    ),
    doc(
      '/api/dicom/wado/studies/{study}/series/{series}/instances/{instance}/frames/{frames}',
      'wadoFrames',
      'WADO-RS: frames (e.g. `1` or `1,2,3`)',
      z.object({ study: uid, series: uid, instance: uid, frames: z.string().regex(/^\d+(,\d+)*$/) }),
      multipart,
    ),
    doc('/api/dicom/wado', 'wadoUri', 'WADO-URI: `?requestType=WADO&studyUID&seriesUID&objectUID&contentType`', none, {
      description: 'The object (DICOM, JPEG…)',
      contentType: 'application/dicom',
    }),
  ];
}
