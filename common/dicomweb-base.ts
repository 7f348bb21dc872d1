import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header by which the API names the public root its own DICOMweb endpoints answer under. */
export const BASE_HEADER = 'x-mediconnect-dicomweb-base';
/** HMAC of that root with the shared SECRET_KEY: only the API can make the proxy write another root. */
export const BASE_SIGNATURE_HEADER = 'x-mediconnect-dicomweb-base-signature';
/** Which of the API's endpoints forwarded the request (`qido` or `wado`): `qido` serves searches only. */
export const SERVICE_HEADER = 'x-mediconnect-dicomweb-service';

/**
 * The API forwards its `/api/dicom/qido|wado` requests to the DICOMweb proxy and asks it to write URLs
 * under the API's own origin. The proxy accepts another root only when it carries this HMAC, made with
 * the SECRET_KEY both processes share.
 */
export const signDicomWebBase = (secret: string, base: string) =>
  createHmac('sha256', secret).update(`dicomweb-base:${base}`).digest('base64url');

/** Whether `signature` is the HMAC of `base`. */
export function dicomWebBaseSigned(secret: string, base: string, signature: string): boolean {
  const given = Buffer.from(signature);
  const expected = Buffer.from(signDicomWebBase(secret, base));
  return given.length === expected.length && timingSafeEqual(given, expected);
}
