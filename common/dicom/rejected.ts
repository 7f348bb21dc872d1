/** Why a file cannot be stored; `code` is stable for clients, `message` readable by people. */
export class DicomRejected extends Error {
  constructor(
    readonly code: 'NOT_DICOM' | 'TRUNCATED' | 'MALFORMED' | 'UNSUPPORTED' | 'TOO_LARGE',
    message: string,
  ) {
    super(message);
    this.name = 'DicomRejected';
  }
}

