import { recordAudit } from '../../../common/audit.js';
import { badRequest, conflict, notFound } from '../../../common/http/errors.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import type { Auth } from '../auth/types.js';
import { findStudy, lockStudy } from '../dicom/repository.js';
import { withOrthanc } from '../../../common/orthanc.js';
import type { Deps } from '../deps.js';

/** Key images per study, at most: a report prints them all. */
export const MAX_KEY_IMAGES = 20;

export interface KeyImageRow {
  id: string;
  study_id: string;
  series_instance_uid: string;
  sop_instance_uid: string;
  frame: number;
  orthanc_instance_id: string;
  note: string | null;
  created_at: Date;
  created_by: string;
  first_name: string;
  last_name: string;
  role: string;
}

const COLUMNS = [
  'k.id',
  'k.study_id',
  'k.series_instance_uid',
  'k.sop_instance_uid',
  'k.frame',
  'k.orthanc_instance_id',
  'k.note',
  'k.created_at',
  'k.created_by',
  'u.first_name',
  'u.last_name',
  'u.role',
];

/** The API view of a key image. */
export const toKeyImageDto = (r: KeyImageRow) => ({
  id: r.id,
  studyId: r.study_id,
  seriesInstanceUid: r.series_instance_uid,
  sopInstanceUid: r.sop_instance_uid,
  frame: r.frame,
  note: r.note,
  createdAt: r.created_at.toISOString(),
  createdBy: { id: r.created_by, firstName: r.first_name, lastName: r.last_name, role: r.role },
});

/** Key images: frames a doctor marks in a study, printed with its reports. */
export function createKeyImageService({ db, orthanc }: Deps) {
  const rows = (studyId: string): Promise<KeyImageRow[]> =>
    db('dicom_key_images as k')
      .join('users as u', 'u.id', 'k.created_by')
      .where('k.study_id', studyId)
      .orderBy('k.created_at')
      .orderBy('k.id')
      .select(COLUMNS);

  return {
    /** The key images of a study the caller may read, in the order they were marked. */
    async list(auth: Auth, studyId: string): Promise<KeyImageRow[]> {
      if (!(await findStudy(db, auth, studyId))) throw notFound('Study');
      return rows(studyId);
    },

    /** Marks a frame of an instance of the study (checked in Orthanc) as a key image. */
    async mark(
      auth: Auth,
      studyId: string,
      input: { seriesInstanceUid: string; sopInstanceUid: string; frame: number; note?: string },
      meta: RequestMeta,
    ): Promise<KeyImageRow> {
      const study = await findStudy(db, auth, studyId);
      if (!study) throw notFound('Study');
      const found = await withOrthanc(async () => {
        const res = await orthanc.fetch('/tools/find', {
          method: 'POST',
          body: JSON.stringify({
            Level: 'Instance',
            Query: {
              StudyInstanceUID: study.study_instance_uid,
              SeriesInstanceUID: input.seriesInstanceUid,
              SOPInstanceUID: input.sopInstanceUid,
            },
            Expand: true,
          }),
        });
        if (!res.ok) throw new Error(`Orthanc /tools/find answered ${res.status}`);
        return (await res.json()) as { ID: string; MainDicomTags: { NumberOfFrames?: string } }[];
      });
      if (found.length !== 1) {
        throw badRequest(
          'No such instance in this study',
          [{ field: 'sopInstanceUid', message: 'Not an instance of this study and series' }],
          'NOT_IN_STUDY',
        );
      }
      const frames = Number(found[0]!.MainDicomTags.NumberOfFrames ?? 1) || 1;
      if (input.frame > frames) throw badRequest(`The instance has ${frames} frame(s)`, [{ field: 'frame', message: `1 to ${frames}` }]);
      const id = await db.transaction(async (trx) => {
        await lockStudy(trx, studyId);
        const [{ n }] = (await trx('dicom_key_images').where({ study_id: studyId }).count({ n: '*' })) as [{ n: string }];
        if (Number(n) >= MAX_KEY_IMAGES) throw conflict('TOO_MANY_KEY_IMAGES', `At most ${MAX_KEY_IMAGES} key images per study`);
        const [row] = await trx('dicom_key_images')
          .insert({
            study_id: studyId,
            series_instance_uid: input.seriesInstanceUid,
            sop_instance_uid: input.sopInstanceUid,
            frame: input.frame,
            orthanc_instance_id: found[0]!.ID,
            note: input.note ?? null,
            created_by: auth.userId,
          })
          .onConflict(['study_id', 'sop_instance_uid', 'frame'])
          .ignore()
          .returning('id');
        if (!row) throw conflict('ALREADY_MARKED', 'This frame is already a key image of the study');
        await recordAudit(trx, meta, {
          actor: auth,
          action: 'dicom.key_image_marked',
          targetType: 'dicom_study',
          targetId: studyId,
          patientId: study.patient_id,
          details: { keyImageId: row.id },
        });
        return row.id as string;
      });
      return (await rows(studyId)).find((r) => r.id === id)!;
    },

    async remove(auth: Auth, studyId: string, keyImageId: string, meta: RequestMeta): Promise<void> {
      const study = await findStudy(db, auth, studyId);
      if (!study) throw notFound('Study');
      const deleted = await db('dicom_key_images').where({ id: keyImageId, study_id: studyId }).delete().returning('id');
      if (deleted.length === 0) throw notFound('Key image');
      await recordAudit(db, meta, {
        actor: auth,
        action: 'dicom.key_image_removed',
        targetType: 'dicom_study',
        targetId: studyId,
        patientId: study.patient_id,
        details: { keyImageId },
      });
    },

    /** Each key image rendered by Orthanc as PNG (at most `width` pixels wide), for a printed report. */
    async rendered(studyId: string, width = 1024): Promise<{ caption: string; png: Buffer }[]> {
      const out: { caption: string; png: Buffer }[] = [];
      for (const k of await rows(studyId)) {
        const png = await withOrthanc(async () => {
          const instance = `/instances/${encodeURIComponent(k.orthanc_instance_id)}`;
          // Orthanc scales up as well as down: only large images are scaled (to `width`), others printed as they are.
          const columns = Number(await (await orthanc.fetch(`${instance}/content/0028,0011`)).text());
          const scale = columns > width ? `?width=${width}` : '';
          const res = await orthanc.fetch(`${instance}/frames/${k.frame - 1}/rendered${scale}`, { headers: { accept: 'image/png' } });
          if (!res.ok) throw new Error(`Orthanc could not render key image ${k.id}: ${res.status}`);
          return Buffer.from(await res.arrayBuffer());
        });
        out.push({
          caption: `Series ${k.series_instance_uid}, instance ${k.sop_instance_uid}${k.frame > 1 ? `, frame ${k.frame}` : ''}${k.note ? ` — ${k.note}` : ''}`,
          png,
        });
      }
      return out;
    },
  };
}
