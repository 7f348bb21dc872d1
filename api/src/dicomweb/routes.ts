import { z } from 'zod';
import { errorSchema } from '../http/error-schema.js';
import { route, type AnyRoute } from '../http/route.js';
import { DICOMWEB_RESOURCES, type DicomWebAnswer } from '../../../common/dicomweb-resources.js';

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
 * OpenAPI entries of the DICOMweb endpoints on the API origin, made from the one table of readable resources
 * (common/dicomweb-resources.ts, which the proxy's parser is tested against). Documentation only: the gateway
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
  const none = z.object({});
  const answers: Record<DicomWebAnswer, { description: string; contentType: string }> = {
    json: { description: 'DICOM JSON', contentType: 'application/dicom+json' },
    multipart: { description: 'multipart/related parts, exactly as Orthanc serves them', contentType: 'multipart/related' },
    image: { description: 'The rendered image (JPEG or PNG, as asked)', contentType: 'image/jpeg' },
  };
  // The params a resource's path names, each as its syntax.
  const paramsOf = (path: string) =>
    z.object(
      Object.fromEntries(
        [...path.matchAll(/\{([a-z]+)\}/g)].map(([, name]) => [
          name!,
          name === 'frames' ? z.string().regex(/^\d+(,\d+)*$/) : name === 'bulk' ? z.string() : uid,
        ]),
      ),
    );
  return [
    ...DICOMWEB_RESOURCES.map((resource) =>
      doc(
        `/api/dicom/${resource.service}${resource.path}`,
        resource.operationId,
        resource.summary,
        paramsOf(resource.path),
        answers[resource.answers],
      ),
    ),
    doc('/api/dicom/wado', 'wadoUri', 'WADO-URI: `?requestType=WADO&studyUID&seriesUID&objectUID&contentType`', none, {
      description: 'The object (DICOM, JPEG…)',
      contentType: 'application/dicom',
    }),
  ];
}
