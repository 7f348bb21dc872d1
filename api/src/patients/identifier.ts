import { randomBytes } from 'node:crypto';

// Crockford's base32 alphabet: no I, L, O, U, so identifiers read aloud or copied by hand stay unambiguous.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A new patient identifier: `MC` + 12 random base32 characters (60 bits). It is the DICOM PatientID
 * (≤ 64 characters, no separators) and a safe path segment of the image storage key.
 */
export function newPatientIdentifier(): string {
  const bytes = randomBytes(12);
  let out = 'MC';
  for (const byte of bytes) out += ALPHABET[byte & 31];
  return out;
}
