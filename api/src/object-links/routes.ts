import type { Deps } from '../deps.js';
import { presignedSchema } from './schemas.js';
import { errorSchema } from '../http/error-schema.js';
import { idParams } from '../http/fields.js';
import { route, type AnyRoute } from '../http/route.js';
import { createObjectLinkService } from './service.js';

const tag = 'DICOM studies';
const access = 'A linked doctor (any hospital) or the patient itself; anyone else: 404. Every access is audited.';

/** Presigned links to a study's stored objects (under the study's path). */
export function objectLinkRoutes(deps: Deps): AnyRoute[] {
  const service = createObjectLinkService(deps);
  const study = '/api/dicom/studies/{id}';
  return [
    route({
      method: 'get',
      path: `${study}/presigned-urls`,
      operationId: 'presignStudy',
      summary: 'Short-lived presigned URLs of the study’s original objects (S3/MinIO storage only)',
      description: access,
      tag,
      auth: 'user',
      action: 'dicom.read',
      params: idParams,
      responses: {
        200: { description: 'One URL per instance', schema: presignedSchema },
        409: { description: 'Local storage: no presigned URLs', schema: errorSchema },
      },
      handler: async ({ auth, params, meta }) => ({ body: await service.studyLinks(auth, params.id, meta) }),
    }),
  ];
}
