import type { ServerResponse } from 'node:http';
import { sendError } from './http.js';

/**
 * STOW-RS is not opened yet: storing through DICOMweb would let instances carry any PatientID, and the
 * identity rewrite and per-file checks live in the API's upload (POST /api/dicom/studies/upload_dicom/).
 */
export function handleStow(res: ServerResponse): void {
  sendError(res, 403, 'STOW_NOT_AVAILABLE', 'Store images through POST /api/dicom/studies/upload_dicom/');
}
