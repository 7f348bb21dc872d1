import type { Knex } from 'knex';
import type { Config } from '../../common/config.js';
import type { Logger } from '../../common/logger.js';
import type { OrthancClient } from '../../common/orthanc.js';
import type { Principal } from '../../common/principal.js';
import type { ImageAudit } from './audit.js';
import type { AccessCache } from './cache.js';
import type { FrameCache } from './frame-cache.js';
import type { PrincipalCache } from '../../common/principal-cache.js';
import type { UrlRewrite } from './forward.js';
import type { ServiceMetrics } from '../../common/metrics.js';

/** What the proxy's handlers share for its whole life. */
export interface ProxyDeps {
  config: Config;
  db: Knex;
  orthanc: OrthancClient;
  access: AccessCache;
  /** Frames, renderings and thumbnails of recently read instances. */
  frames: FrameCache;
  principals: PrincipalCache;
  audit: ImageAudit;
  logger: Logger;
  metrics: ServiceMetrics;
}

/** Who is asking, and how: an access token (a login session), a viewer session (one study or its list), or a share link. */
export interface Caller {
  principal: Principal;
  /** Set for a viewer-session token. */
  viewerSessionId: string | null;
  /** Set for a share-link token: the share (the principal is its creator, whose access still decides). */
  shareId: string | null;
  /** Set for a one-study viewer session and a share link: the one study it opens. */
  onlyStudy: string | null;
  /** How answers name DICOMweb URLs for this caller (the public root, with its viewer token if any). */
  rewrite: UrlRewrite;
}
