import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { probeRawDataset, withPart10Header } from '../../common/dicom/part10.js';
import { PYDICOM_TEST_FILES } from '../../scripts/lib/system-packages.js';

const sample = (name: string) => readFileSync(path.join(PYDICOM_TEST_FILES, name));
/** The stream's bytes, fed in chunks of `size` (a header may straddle chunks). */
async function through(data: Buffer, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
  const out: Buffer[] = [];
  for await (const chunk of withPart10Header(Readable.from(chunks))) out.push(chunk);
  return Buffer.concat(out);
}
/** What pydicom reads: the meta header's UIDs and the dataset's, and whether its elements are the same. */
function pydicomView(file: Buffer): { syntax: string; metaSop: string; metaClass: string; sop: string; cls: string; elements: number } {
  const script = `import sys, io, json, pydicom
ds = pydicom.dcmread(io.BytesIO(sys.stdin.buffer.read()))
m = ds.file_meta
print(json.dumps({"syntax": str(m.TransferSyntaxUID), "metaSop": str(m.MediaStorageSOPInstanceUID), "metaClass": str(m.MediaStorageSOPClassUID), "sop": str(ds.SOPInstanceUID), "cls": str(ds.SOPClassUID), "elements": len(ds)}))`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: file }).toString());
}
const elementsOf = (file: Buffer) =>
  Number(
    execFileSync(
      '/usr/bin/python3',
      ['-c', 'import sys, io, pydicom; print(len(pydicom.dcmread(io.BytesIO(sys.stdin.buffer.read()), force=True)))'],
      { input: file },
    ).toString(),
  );

describe('Part-10 header for raw datasets (common/dicom/part10.ts)', () => {
  const raw: [string, string][] = [
    ['rtstruct.dcm', '1.2.840.10008.1.2'],
    ['ExplVR_LitEndNoMeta.dcm', '1.2.840.10008.1.2.1'],
  ];
  for (const [name, syntax] of raw) {
    for (const size of [7, 131, 65_536]) {
      it(`${name} (chunks of ${size}): a meta header naming its own UIDs and syntax, the dataset unchanged after it`, async () => {
        const original = sample(name);
        const out = await through(original, size);
        expect(out.toString('latin1', 128, 132)).to.equal('DICM');
        expect(out.subarray(out.length - original.length).equals(original), 'dataset bytes unchanged').to.equal(true);
        const view = pydicomView(out);
        expect(view.syntax).to.equal(syntax);
        expect(view.metaSop).to.equal(view.sop);
        expect(view.metaClass).to.equal(view.cls);
        expect(view.elements).to.equal(elementsOf(original));
      });
    }
  }
  const unchanged: [string, Buffer][] = [
    ['a Part-10 file', sample('CT_small.dcm')],
    ['a big-endian raw dataset (not vouched for)', sample('ExplVR_BigEndNoMeta.dcm')],
    ['text', Buffer.from('not a DICOM file at all, just some words\n'.repeat(10))],
    ['group 0008 without SOP UIDs', Buffer.from([0x08, 0x00, 0x05, 0x00, 0x0a, 0x00, 0x00, 0x00, ...Buffer.from('ISO_IR 100')])],
    ['empty', Buffer.alloc(0)],
  ];
  for (const [what, data] of unchanged) {
    it(`${what}: passes unchanged`, async () => {
      expect((await through(data, 1000)).equals(data)).to.equal(true);
      expect(probeRawDataset(data.subarray(0, 65_536))).to.equal(null);
    });
  }
});
