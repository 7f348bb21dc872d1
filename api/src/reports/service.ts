import { randomUUID } from 'node:crypto';
import type { AuditAction } from '../../../common/audit.js';
import { scopeFor } from '../../../common/scope.js';
import { notFound } from '../../../common/http/errors.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';
import { findStudy } from '../dicom/repository.js';
import { createKeyImageService } from '../key-images/service.js';
import { createSealer } from '../../../common/sealer.js';
import { findPatientInMedicalScope } from '../medical-records/repository.js';
import { renderReportPdf } from './pdf.js';

interface ReportContent {
  title: string;
  findings: string;
  conclusion: string;
}

/** Reports on a study: written by its linked doctors, read by them and the patient, sealed at rest, printed as PDF. */
export function createReportService(deps: Deps) {
  const { db, config } = deps;
  const sealer = createSealer(config.encryption);

  async function mustFind(auth: Auth, id: string) {
    const study = await findStudy(db, auth, id);
    if (!study) throw notFound('Study');
    return study;
  }

  const audit = (auth: Auth, meta: RequestMeta, action: AuditAction, patientId: string, targetId: string, details = {}) =>
    scopeFor(db, auth).audit(meta, { action, targetType: 'dicom_report', targetId, patientId, details });

  async function create(auth: Auth, studyId: string, content: ReportContent, meta: RequestMeta) {
    const study = await mustFind(auth, studyId);
    const id = randomUUID();
    const sealed = sealer.seal(content, id);
    await db('dicom_reports').insert({
      id,
      study_id: studyId,
      study_instance_uid: study.study_instance_uid,
      patient_id: study.patient_id,
      author_id: auth.userId,
      key_id: sealed.keyId,
      payload: sealed.payload,
    });
    await audit(auth, meta, 'dicom.report_created', study.patient_id, id, { studyId });
    return (await list(auth, studyId)).find((r) => r.id === id)!;
  }

  async function list(auth: Auth, studyId: string) {
    await mustFind(auth, studyId);
    const rows: {
      id: string;
      key_id: string;
      payload: string;
      author_id: string;
      first_name: string;
      last_name: string;
      created_at: Date;
    }[] = await db('dicom_reports as r')
      .join('users as u', 'u.id', 'r.author_id')
      .where('r.study_id', studyId)
      .orderBy('r.created_at')
      .select('r.id', 'r.key_id', 'r.payload', 'r.author_id', 'u.first_name', 'u.last_name', 'r.created_at');
    return rows.map((r) => ({
      id: r.id,
      studyId,
      ...sealer.open<ReportContent>({ keyId: r.key_id, payload: r.payload }, r.id),
      author: { id: r.author_id, firstName: r.first_name, lastName: r.last_name },
      createdAt: r.created_at.toISOString(),
    }));
  }

  async function pdf(auth: Auth, studyId: string, reportId: string, meta: RequestMeta, withKeyImages = true) {
    const study = await mustFind(auth, studyId);
    const report = (await list(auth, studyId)).find((r) => r.id === reportId);
    if (!report) throw notFound('Report');
    const patient = await findPatientInMedicalScope(db, auth, study.patient_id);
    await audit(auth, meta, 'dicom.report_read', study.patient_id, reportId);
    return {
      filename: `report-${reportId}.pdf`,
      body: await renderReportPdf({
        title: report.title,
        findings: report.findings,
        conclusion: report.conclusion,
        patient: {
          name: `${patient!.first_name} ${patient!.last_name}`,
          identifier: patient!.identifier,
          birthDate: patient!.birth_date,
        },
        study: {
          description: study.custom_description ?? study.dicom_description,
          date: study.study_date,
          modalities: study.modalities,
          studyInstanceUid: study.study_instance_uid,
        },
        author: `Dr ${report.author.firstName} ${report.author.lastName}`,
        createdAt: new Date(report.createdAt),
        keyImages: withKeyImages ? await createKeyImageService(deps).rendered(study.id) : [],
      }),
    };
  }

  return { create, list, pdf };
}
