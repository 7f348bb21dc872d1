import type { OrthancClient } from '../../common/orthanc.js';
import type { Principal } from '../../common/principal.js';

/** What one authorized request works with. */
export interface ProxyContext {
  principal: Principal;
  /** DICOM PatientIDs the caller may see. */
  allowed: Set<string>;
  orthanc: OrthancClient;
  orthancUrl: string;
  publicUrl: string;
}
