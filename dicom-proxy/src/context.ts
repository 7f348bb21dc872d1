import type { Knex } from 'knex';
import type { OrthancClient } from '../../common/orthanc.js';
import type { Principal } from '../../common/principal.js';

/** What one authorized request works with. */
export interface ProxyContext {
  principal: Principal;
  /** DICOM PatientIDs the caller may see. */
  allowed: Set<string>;
  /** Set for a viewer-session token: the one study it opens. */
  onlyStudy: string | null;
  db: Knex;
  orthanc: OrthancClient;
  orthancUrl: string;
  publicUrl: string;
}
