import { expect } from 'chai';
import { parseDicomWebPath, type DicomWebRequest } from '../../dicom-proxy/src/path.js';

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
  ['DELETE', `/studies/${S}`, 'denied'],
  ['PUT', '/studies', 'denied'],
  ['POST', '/studies/1/2', 'denied'],
  ['POST', '/series', 'denied'],
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
