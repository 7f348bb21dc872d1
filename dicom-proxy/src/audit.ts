import type { Knex } from 'knex';
import { recordAudit } from '../../common/audit.js';
import type { RequestMeta } from '../../common/http/request-context.js';
import type { ReadableStudy } from './cache.js';
import type { Principal } from '../../common/principal.js';

const WINDOW_MS = 10 * 60_000;

/** Who read the images, as the audit names them (a proxy `Caller` is one). */
interface Viewer {
  principal: Principal;
  viewerSessionId: string | null;
  shareId: string | null;
}

/**
 * Audits image reads: one entry per (login session, viewer session or share link, study) every ten minutes at most, since a
 * viewer fetches hundreds of frames per study. The entry names the patient, so it shows in the
 * patient's access log.
 */
export class ImageAudit {
  private readonly written = new Map<string, number>();

  constructor(
    private readonly db: Knex,
    private readonly maxEntries = 50_000,
  ) {}

  /** Records that the caller read images of the study, unless already recorded within the window. */
  async imagesViewed(caller: Viewer, study: ReadableStudy, meta: RequestMeta): Promise<void> {
    const key = `${caller.shareId ?? caller.viewerSessionId ?? caller.principal.sessionId}|${study.studyId}`;
    const last = this.written.get(key);
    if (last !== undefined && Date.now() - last < WINDOW_MS) return;
    if (this.written.size >= this.maxEntries) this.written.delete(this.written.keys().next().value!);
    this.written.set(key, Date.now());
    try {
      await recordAudit(this.db, meta, {
        // Whoever holds a share link has no account: the entry names the link and who shared it.
        actor: caller.shareId ? null : caller.principal,
        action: 'dicom.images_viewed',
        targetType: 'dicom_study',
        targetId: study.studyId,
        patientId: study.patientId,
        details: caller.shareId
          ? { via: 'share_link', shareId: caller.shareId, sharedBy: caller.principal.userId }
          : caller.viewerSessionId
            ? { via: 'viewer_session', viewerSessionId: caller.viewerSessionId }
            : { via: 'dicomweb' },
      });
    } catch (err) {
      // Not written: try again on the next request rather than losing the trace.
      this.written.delete(key);
      throw err;
    }
  }
}
