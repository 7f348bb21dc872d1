import { expect } from 'chai';
import { parseDicomWebPath, type DicomWebRequest } from '../../dicom-proxy/src/path.js';
import { DICOMWEB_RESOURCES, matchesResource } from '../../common/dicomweb-resources.js';

const S = '1.2.840.1';
const SE = '1.2.840.2';
const I = '1.2.840.3';

const table: [string, string, DicomWebRequest | 'denied'][] = [
  ['GET', '/studies', { kind: 'qido', level: 'studies' }],
  ['GET', '/studies/', { kind: 'qido', level: 'studies' }],
  ['GET', '/series', { kind: 'qido', level: 'series' }],
  ['GET', '/instances', { kind: 'qido', level: 'instances' }],
  ['GET', `/studies/${S}/series`, { kind: 'qido', level: 'series', study: S }],
  ['GET', `/studies/${S}/instances`, { kind: 'qido', level: 'instances', study: S }],
  ['GET', `/studies/${S}/series/${SE}/instances`, { kind: 'qido', level: 'instances', study: S, series: SE }],
  ['GET', `/studies/${S}`, { kind: 'wado', study: S, target: 'retrieve' }],
  ['HEAD', `/studies/${S}`, { kind: 'wado', study: S, target: 'retrieve' }],
  ['GET', `/studies/${S}/metadata`, { kind: 'wado', study: S, target: 'metadata' }],
  ['GET', `/studies/${S}/rendered`, { kind: 'wado', study: S, target: 'rendered' }],
  ['GET', `/studies/${S}/series/${SE}`, { kind: 'wado', study: S, series: SE, target: 'retrieve' }],
  ['GET', `/studies/${S}/series/${SE}/metadata`, { kind: 'wado', study: S, series: SE, target: 'metadata' }],
  ['GET', `/studies/${S}/series/${SE}/thumbnail`, { kind: 'wado', study: S, series: SE, target: 'thumbnail' }],
  ['GET', `/studies/${S}/series/${SE}/instances/${I}`, { kind: 'wado', study: S, series: SE, instance: I, target: 'retrieve' }],
  ['GET', `/studies/${S}/series/${SE}/instances/${I}/metadata`, { kind: 'wado', study: S, series: SE, instance: I, target: 'metadata' }],
  [
    'GET',
    `/studies/${S}/series/${SE}/instances/${I}/frames/1,2,3`,
    { kind: 'wado', study: S, series: SE, instance: I, target: 'frames', frames: [1, 2, 3] },
  ],
  [
    'GET',
    `/studies/${S}/series/${SE}/instances/${I}/frames/1/rendered`,
    { kind: 'wado', study: S, series: SE, instance: I, target: 'rendered', frames: [1] },
  ],
  [
    'GET',
    `/studies/${S}/series/${SE}/instances/${I}/bulk/7FE00010`,
    { kind: 'wado', study: S, series: SE, instance: I, target: 'bulkdata' },
  ],
  ['POST', '/studies', { kind: 'stow' }],
  ['POST', `/studies/${S}`, { kind: 'stow', study: S }],
  // Denied: anything not understood.
  ['GET', '/', 'denied'],
  ['GET', '/patients', 'denied'],
  ['GET', '/studies/abc', 'denied'],
  ['GET', '/studies/1.02.3', 'denied'],
  ['GET', `/studies/${S}/../${S}`, 'denied'],
  ['GET', `/studies/${S}//series`, 'denied'],
  ['GET', `/studies/${S}%2f..`, 'denied'],
  ['GET', `/studies/${S}/series/${SE}/instances/${I}/frames/0`, 'denied'],
  ['GET', `/studies/${S}/series/${SE}/instances/${I}/frames/a`, 'denied'],
  ['GET', `/studies/${S}/series/${SE}/instances/${I}/frames/1/other`, 'denied'],
  ['GET', `/studies/${S}/whatever`, 'denied'],
  // A resource asked with a method the proxy does not serve on it: 405 and what it does serve, as Orthanc answers.
  ['DELETE', `/studies/${S}`, { kind: 'method-not-allowed', allow: 'GET, HEAD, POST' }],
  ['PUT', '/studies', { kind: 'method-not-allowed', allow: 'GET, HEAD, POST' }],
  ['DELETE', `/studies/${S}/series/${SE}/metadata`, { kind: 'method-not-allowed', allow: 'GET, HEAD' }],
  ['POST', '/series', { kind: 'method-not-allowed', allow: 'GET, HEAD' }],
  ['POST', '/studies/1/2', 'denied'],
  ['PUT', '/patients', 'denied'],
  ['DELETE', `/studies/${S}/whatever`, 'denied'],
  ['GET', `/studies/${'1.'.repeat(40)}1`, 'denied'],
];

describe('parseDicomWebPath (pure, table-tested)', () => {
  for (const [method, path, expected] of table) {
    it(`${method} ${path}`, () => {
      const got = parseDicomWebPath(method, path);
      if (expected === 'denied') expect(got.kind).to.equal('denied');
      else expect(got).to.deep.equal(expected);
    });
  }
});

describe('the table of readable DICOMweb resources (common/dicomweb-resources.ts) and the parser agree both ways', () => {
  const concrete = (path: string) =>
    path.replace('{study}', S).replace('{series}', SE).replace('{instance}', I).replace('{frames}', '1,2').replace('{bulk}', '7FE00010');

  it('every resource of the table parses as its service and target', () => {
    for (const resource of DICOMWEB_RESOURCES) {
      for (const method of ['GET', 'HEAD']) {
        const parsed = parseDicomWebPath(method, concrete(resource.path));
        expect(parsed.kind, `${method} ${resource.path}`).to.equal(resource.service);
        if (parsed.kind === 'wado') expect(parsed.target, resource.path).to.equal(resource.target);
      }
    }
    expect(new Set(DICOMWEB_RESOURCES.map((r) => r.operationId)).size).to.equal(DICOMWEB_RESOURCES.length);
  });

  it('every path shape the parser accepts for reading (all word/UID sequences to the deepest) is in the table', () => {
    const words = ['studies', 'series', 'instances', 'metadata', 'rendered', 'thumbnail', 'frames', 'bulk'];
    const values = [S, '1,2'];
    let accepted = 0;
    const walk = (path: string, depth: number): void => {
      if (depth > 0) {
        const parsed = parseDicomWebPath('GET', path);
        if (parsed.kind !== 'denied') {
          accepted++;
          const found = DICOMWEB_RESOURCES.filter((r) => matchesResource(r, path) && r.service === parsed.kind);
          expect(found.length, `${path} (${parsed.kind}) is served but not in the table`).to.be.greaterThan(0);
        }
      }
      if (depth === 9) return;
      for (const next of depth % 2 === 0 ? words : values) walk(`${path}/${next}`, depth + 1);
    };
    walk('', 0);
    expect(accepted).to.be.greaterThan(DICOMWEB_RESOURCES.length);
  });
});
