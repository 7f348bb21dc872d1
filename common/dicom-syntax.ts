// DICOM's encoding constants, written once for every part that reads or writes DICOM bytes (the upload's
// checks and rewrite, the DICOM gate, the proxy's path parser).

/** Transfer syntaxes by name (PS3.5 Annex A). */
export const TRANSFER_SYNTAX = {
  IMPLICIT_LE: '1.2.840.10008.1.2',
  EXPLICIT_LE: '1.2.840.10008.1.2.1',
  EXPLICIT_BE: '1.2.840.10008.1.2.2',
  DEFLATED: '1.2.840.10008.1.2.1.99',
} as const;

/** VRs whose explicit header has a 32-bit length after two reserved bytes (PS3.5 7.1.2). */
export const LONG_VRS: ReadonlySet<string> = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);

/** A UID's syntax (PS3.5 9.1): dot-separated numbers without leading zeros. */
export const UID_PATTERN = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/;

/** Whether `value` is a UID of at most 64 characters. */
export const isUid = (value: string | undefined): value is string => value !== undefined && value.length <= 64 && UID_PATTERN.test(value);
