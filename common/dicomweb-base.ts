import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The API forwards its `/api/dicom/qido|wado` requests to the DICOMweb proxy and asks it to write URLs
 * under the API's own origin. The proxy accepts another root only when it carries this HMAC, made with
 * the SECRET_KEY both processes share.
 */
export const signDicomWebBase = (secret: string, base: string) => createHmac('sha256', secret).update(`dicomweb-base:${base}`).digest('base64url');

/** Whether `signature` is the HMAC of `base`. */
export function dicomWebBaseSigned(secret: string, base: string, signature: string): boolean {
  const given = Buffer.from(signature);
  const expected = Buffer.from(signDicomWebBase(secret, base));
  return given.length === expected.length && timingSafeEqual(given, expected);
}
