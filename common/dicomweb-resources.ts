// Every DICOMweb resource MediConnect serves for reading, described once. The proxy's parser
// (dicom-proxy/src/path.ts) reads GET and HEAD paths by matching this table, and the API origin's OpenAPI entries are
// made from it (api/src/dicomweb/routes.ts), so the documentation cannot drift from what is served
// (`test/unit/dicomweb-path.test.ts` also walks every path shape up to the deepest and checks both ways).

/** What a resource answers. */
export type DicomWebAnswer = 'json' | 'multipart' | 'image';

/** One readable DICOMweb resource: its path under the root (`{study}`, `{series}`, `{instance}`: UIDs). */
export interface DicomWebResource {
  path: string;
  service: 'qido' | 'wado';
  /** What the parser reads it as (`retrieve`: the DICOM files; QIDO: a search). */
  target: 'search' | 'retrieve' | 'metadata' | 'rendered' | 'thumbnail' | 'frames' | 'bulkdata';
  operationId: string;
  summary: string;
  answers: DicomWebAnswer;
}

const r = (
  path: string,
  service: DicomWebResource['service'],
  target: DicomWebResource['target'],
  operationId: string,
  summary: string,
  answers: DicomWebAnswer,
): DicomWebResource => ({ path, service, target, operationId, summary, answers });

const study = '/studies/{study}';
const series = `${study}/series/{series}`;
const instance = `${series}/instances/{instance}`;

/** The table (see the file comment). */
export const DICOMWEB_RESOURCES: readonly DicomWebResource[] = [
  r('/studies', 'qido', 'search', 'qidoStudies', 'QIDO-RS: search the caller’s studies (paged in the study index)', 'json'),
  r('/series', 'qido', 'search', 'qidoAllSeries', 'QIDO-RS: search the series of the caller’s studies', 'json'),
  r('/instances', 'qido', 'search', 'qidoAllInstances', 'QIDO-RS: search the instances of the caller’s studies', 'json'),
  r(`${study}/series`, 'qido', 'search', 'qidoSeries', 'QIDO-RS: the series of a study', 'json'),
  r(`${study}/instances`, 'qido', 'search', 'qidoStudyInstances', 'QIDO-RS: the instances of a study', 'json'),
  r(`${series}/instances`, 'qido', 'search', 'qidoInstances', 'QIDO-RS: the instances of a series', 'json'),
  r(study, 'wado', 'retrieve', 'wadoStudy', 'WADO-RS: a whole study (DICOM)', 'multipart'),
  r(`${study}/metadata`, 'wado', 'metadata', 'wadoStudyMetadata', 'WADO-RS: study metadata', 'json'),
  r(`${study}/rendered`, 'wado', 'rendered', 'wadoStudyRendered', 'WADO-RS: a study rendered', 'image'),
  r(`${study}/thumbnail`, 'wado', 'thumbnail', 'wadoStudyThumbnail', 'WADO-RS: a study’s thumbnail', 'image'),
  r(series, 'wado', 'retrieve', 'wadoSeries', 'WADO-RS: a whole series (DICOM)', 'multipart'),
  r(`${series}/metadata`, 'wado', 'metadata', 'wadoSeriesMetadata', 'WADO-RS: series metadata', 'json'),
  r(`${series}/rendered`, 'wado', 'rendered', 'wadoSeriesRendered', 'WADO-RS: a series rendered', 'image'),
  r(`${series}/thumbnail`, 'wado', 'thumbnail', 'wadoSeriesThumbnail', 'WADO-RS: a series’ thumbnail', 'image'),
  r(instance, 'wado', 'retrieve', 'wadoInstance', 'WADO-RS: one instance (DICOM)', 'multipart'),
  r(`${instance}/metadata`, 'wado', 'metadata', 'wadoInstanceMetadata', 'WADO-RS: instance metadata', 'json'),
  r(`${instance}/rendered`, 'wado', 'rendered', 'wadoInstanceRendered', 'WADO-RS: an instance rendered', 'image'),
  r(`${instance}/thumbnail`, 'wado', 'thumbnail', 'wadoInstanceThumbnail', 'WADO-RS: an instance’s thumbnail', 'image'),
  r(`${instance}/frames/{frames}`, 'wado', 'frames', 'wadoFrames', 'WADO-RS: frames (e.g. `1` or `1,2,3`)', 'multipart'),
  r(`${instance}/frames/{frames}/rendered`, 'wado', 'rendered', 'wadoFramesRendered', 'WADO-RS: frames rendered', 'image'),
  r(`${instance}/bulk/{bulk}`, 'wado', 'bulkdata', 'wadoBulkdata', 'WADO-RS: bulk data of an instance', 'multipart'),
];

/** Whether a concrete path (under the root) is one of a resource's (`{bulk}` takes the rest of the path). */
export function matchesResource(resource: DicomWebResource, path: string): boolean {
  const pattern = resource.path.replace(/\{bulk\}/, '.+').replace(/\{[a-z]+\}/g, '[^/]+');
  return new RegExp(`^${pattern}/?$`).test(path);
}
