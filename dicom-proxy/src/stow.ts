import { forbidden } from '../../common/http/errors.js';

/**
 * STOW-RS is not opened yet: storing through DICOMweb would let instances carry any PatientID, and the
 * identity rewrite and per-file checks live in the API's upload (POST /api/dicom/studies/upload_dicom/).
 */
export function handleStow(): never {
  throw forbidden('Store images through POST /api/dicom/studies/upload_dicom/', 'STOW_NOT_AVAILABLE');
}
