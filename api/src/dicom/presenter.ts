// The JSON of the study resource, one place (typed against the response schemas by the routes that answer it).
import type { SeriesRow, StudyListRow } from './repository.js';

/** The API view of an indexed study. */
export function toStudyDto(s: StudyListRow) {
  return {
    id: s.id,
    studyInstanceUid: s.study_instance_uid,
    patientId: s.patient_id,
    doctorId: s.doctor_id,
    studyDate: s.study_date,
    studyTime: s.study_time,
    modalities: s.modalities,
    description: s.custom_description ?? s.dicom_description,
    dicomDescription: s.dicom_description,
    labels: s.labels,
    accessionNumber: s.accession_number,
    bodyParts: s.body_parts,
    numberOfSeries: s.number_of_series,
    numberOfInstances: s.number_of_instances,
    sizeBytes: Number(s.size_bytes),
    createdAt: s.created_at.toISOString(),
    updatedAt: s.updated_at.toISOString(),
  };
}

/** The API view of an indexed series. */
export function toSeriesDto(s: SeriesRow) {
  return {
    id: s.id,
    studyId: s.study_id,
    seriesInstanceUid: s.series_instance_uid,
    modality: s.modality,
    description: s.description,
    bodyPart: s.body_part,
    seriesNumber: s.series_number,
    numberOfInstances: s.number_of_instances,
    sizeBytes: Number(s.size_bytes),
  };
}
