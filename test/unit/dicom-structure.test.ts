import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { DicomRejected } from '../../common/dicom/rejected.js';
import { DicomStructureCheck, MAX_SEQUENCE_DEPTH } from '../../common/dicom/validate.js';
import { PYDICOM_TEST_FILES } from '../../scripts/lib/system-packages.js';
import { explicitElement, le16, le32, nestedSequence, withElementsBeforePixels } from '../helpers/dicom-hostile.js';
import { newUid, synthDicom } from '../helpers/dicom.js';

/** Runs the check over a file in chunks of `size`; returns the refusal, or null. */
function check(data: Buffer, size: number): DicomRejected | null {
  const c = new DicomStructureCheck();
  try {
    for (let i = 0; i < data.length; i += size) c.push(data.subarray(i, i + size));
    c.finish();
    return null;
  } catch (err) {
    if (err instanceof DicomRejected) return err;
    throw err;
  }
}

const base = () => synthDicom({ patientId: 'X', studyUid: newUid(), seriesUid: newUid() });
const element = explicitElement;

describe('DICOM structure check (pure, streaming)', () => {
  it('accepts every well-formed sample of Debian’s pydicom, whatever the chunking', () => {
    const refusedOnPurpose = new Set(['MR_truncated.dcm', 'rtplan_truncated.dcm', 'SC_rgb_jpeg.dcm']);
    const files = readdirSync(PYDICOM_TEST_FILES).filter((f) => f.endsWith('.dcm'));
    expect(files.length).to.be.greaterThan(40);
    for (const f of files) {
      const data = readFileSync(path.join(PYDICOM_TEST_FILES, f));
      for (const size of [1_000_003, 4096, 7]) {
        const refused = check(data, size);
        if (refusedOnPurpose.has(f)) expect(refused, f).to.not.equal(null);
        else expect(refused?.message ?? null, `${f} in chunks of ${size}`).to.equal(null);
      }
    }
  });

  const table: [string, () => Buffer, DicomRejected['code'], RegExp][] = [
    [
      '5,000 nested sequences (undefined lengths)',
      () => withElementsBeforePixels(base(), nestedSequence(5000, false)),
      'MALFORMED',
      /nested deeper/,
    ],
    [
      '5,000 nested sequences (defined lengths)',
      () => withElementsBeforePixels(base(), nestedSequence(5000, true)),
      'MALFORMED',
      /nested deeper/,
    ],
    [
      `${MAX_SEQUENCE_DEPTH + 1} nested sequences`,
      () => withElementsBeforePixels(base(), nestedSequence(MAX_SEQUENCE_DEPTH + 1, false)),
      'MALFORMED',
      /nested deeper/,
    ],
    [
      'a duplicate element',
      () =>
        withElementsBeforePixels(
          base(),
          Buffer.concat([element(0x0040, 0x0001, 'AE', Buffer.from('AB')), element(0x0040, 0x0001, 'AE', Buffer.from('CD'))]),
        ),
      'MALFORMED',
      /duplicated or out of order/,
    ],
    [
      'an element out of order (a second StudyInstanceUID late)',
      () => withElementsBeforePixels(base(), element(0x0020, 0x000d, 'UI', Buffer.from('1.2.3.4\0'))),
      'MALFORMED',
      /out of order/,
    ],
    [
      'an item longer than its sequence',
      () =>
        withElementsBeforePixels(
          base(),
          Buffer.concat([le16(0x0040), le16(0xa730), Buffer.from('SQ'), Buffer.alloc(2), le32(8), le16(0xfffe), le16(0xe000), le32(1000)]),
        ),
      'MALFORMED',
      /past the end/,
    ],
    [
      'an undefined length on a plain value',
      () =>
        withElementsBeforePixels(base(), Buffer.concat([le16(0x0040), le16(0x0002), Buffer.from('UT'), Buffer.alloc(2), le32(0xffffffff)])),
      'MALFORMED',
      /undefined length/,
    ],
    [
      'a value length past the end of the file',
      () => Buffer.concat([base(), element(0x7fe1, 0x0010, 'OB', Buffer.alloc(0)).subarray(0, 8), le32(0x7ffffff0)]),
      'TRUNCATED',
      /ends/,
    ],
  ];
  for (const [label, make, code, reason] of table) {
    it(`refuses ${label}`, () => {
      const data = make();
      for (const size of [data.length, 4096, 5]) {
        const refused = check(data, size);
        expect(refused?.code, `${label}, chunks of ${size}`).to.equal(code);
        expect(refused!.message).to.match(reason);
      }
    });
  }
});
