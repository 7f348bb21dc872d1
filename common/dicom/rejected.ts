/** Why a file cannot be stored; `code` is stable for clients, `message` readable by people. */
export class DicomRejected extends Error {
  constructor(
    /** The first five say what the bytes are; the last three, whose images they would touch. */
    readonly code:
      'NOT_DICOM' | 'TRUNCATED' | 'MALFORMED' | 'UNSUPPORTED' | 'TOO_LARGE' | 'UID_CONFLICT' | 'NOT_AUTHORIZED' | 'WRONG_PATIENT',
    message: string,
  ) {
    super(message);
    this.name = 'DicomRejected';
  }
}

/** The DicomRejected behind an error, if any (fetch wraps a failing request body in its `cause`). */
export function rejectionIn(err: unknown): DicomRejected | null {
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) if (e instanceof DicomRejected) return e;
  return null;
}
