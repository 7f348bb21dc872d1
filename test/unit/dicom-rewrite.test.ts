import { expect } from 'chai';
import { dicomTags, newUid, synthDicom } from '../helpers/dicom.js';
import { explicitElement, nestedSequence, withElementsBeforePixels } from '../helpers/dicom-hostile.js';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { DicomRejected, rewritePatient } from '../../common/dicom/rewrite.js';
import { DicomStructureCheck } from '../../common/dicom/validate.js';
import { PYDICOM_TEST_FILES } from '../../scripts/lib/system-packages.js';

const WHO = { patientId: 'MC0123456789AB', firstName: 'Zoé', lastName: 'Müller', issuer: 'MEDICONNECT' };
const WHOLE = { ...WHO, birthDate: '1980-01-02', sex: 'female' };

/** Reads the rewritten file back with pydicom: an independent DICOM parser. */
function readWithPydicom(file: string): { id: string; name: string; issuer: string; pixels: string; tags: number } {
  const script = `
import sys, json, hashlib, pydicom
ds = pydicom.dcmread(sys.argv[1], force=True)
px = ds.get((0x7fe0, 0x0010))
print(json.dumps({"id": str(ds.get("PatientID", "")), "name": str(ds.get("PatientName", "")), "issuer": str(ds.get("IssuerOfPatientID", "")),
  "pixels": hashlib.sha256(px.value).hexdigest() if px is not None else "", "tags": len(ds)}))`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, file]).toString());
}

describe('DICOM patient rewrite (streaming, table-tested on real files)', () => {
  let tmp: string;
  before(() => (tmp = mkdtempSync(path.join(os.tmpdir(), 'rewrite-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const cases = [
    ['CT_small.dcm', 'explicit VR little endian'],
    ['MR_small_implicit.dcm', 'implicit VR little endian'],
    ['MR_small_bigendian.dcm', 'explicit VR big endian'],
    ['rtplan.dcm', 'sequences before group 0010', 'meta and dataset SOP UIDs differ'],
    ['JPEG2000.dcm', 'encapsulated pixel data'],
    ['nested_priv_SQ.dcm', 'nested private sequences', 'no UIDs'],
    ['SC_rgb_small_odd.dcm', 'odd-sized pixel data'],
    ['meta_missing_tsyntax.dcm', 'no transfer syntax in the meta header', 'no UIDs'],
  ];
  for (const [name, what, noUids] of cases) {
    it(`${name} (${what}): new identity, everything else intact`, async () => {
      const source = path.join(PYDICOM_TEST_FILES, name!);
      const before = readWithPydicom(source);
      const result = await rewritePatient(createReadStream(source, { highWaterMark: 64 }), WHO, { requireIdentifyingUids: !noUids });
      const out = path.join(tmp, name!);
      writeFileSync(out, await buffer(result.output));
      const after = readWithPydicom(out);
      expect(after.id).to.equal(WHO.patientId);
      expect(after.name).to.equal('Muller^Zoe');
      expect(after.issuer).to.equal('MEDICONNECT');
      expect(after.pixels).to.equal(before.pixels);
      expect(result.originalPatientId).to.equal(before.id || null);
    });
  }

  for (const [name, what, noUids] of cases) {
    it(`${name} (${what}): the whole patient module — birth date and sex too — in tag order, pixels intact`, async () => {
      const source = path.join(PYDICOM_TEST_FILES, name!);
      const result = await rewritePatient(createReadStream(source, { highWaterMark: 64 }), WHOLE, { requireIdentifyingUids: !noUids });
      const data = await buffer(result.output);
      // Our own strict check: elements ascend, lengths hold.
      const check = new DicomStructureCheck();
      check.push(data);
      check.finish();
      const script = `import sys, io, json, hashlib, pydicom
ds = pydicom.dcmread(io.BytesIO(sys.stdin.buffer.read()), force=True)
px = ds.get((0x7fe0, 0x0010))
print(json.dumps([str(ds.PatientID), str(ds.PatientName), str(ds.PatientBirthDate), str(ds.PatientSex), hashlib.sha256(px.value).hexdigest() if px is not None else ""]))`;
      const [id, patientName, birthDate, sex, pixels] = JSON.parse(
        execFileSync('/usr/bin/python3', ['-c', script], { input: data }).toString(),
      );
      expect([id, patientName, birthDate, sex]).to.deep.equal([WHO.patientId, 'Muller^Zoe', '19800102', 'F']);
      expect(pixels).to.equal(readWithPydicom(source).pixels);
    });
  }

  /** The Original Attributes Sequence as pydicom reads it: per item, its reason, system and the original values. */
  function originalsOf(data: Buffer): { reason: string; system: string; when: string; values: Record<string, string> }[] {
    const script = `import sys, io, json, pydicom
ds = pydicom.dcmread(io.BytesIO(sys.stdin.buffer.read()), force=True)
out = []
for it in ds.get("OriginalAttributesSequence", []):
    mod = it.ModifiedAttributesSequence[0]
    out.append({"reason": str(it.ReasonForTheAttributeModification), "system": str(it.ModifyingSystem), "when": str(it.AttributeModificationDateTime),
      "values": {e.keyword: str(e.value) for e in mod}})
print(json.dumps(out))`;
    return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: data }).toString());
  }

  for (const [name, what, noUids] of cases) {
    it(`${name} (${what}): what the file said before is kept in its Original Attributes Sequence, read back by pydicom and dcmtk`, async () => {
      const source = path.join(PYDICOM_TEST_FILES, name!);
      const original = JSON.parse(
        execFileSync('/usr/bin/python3', [
          '-c',
          'import sys, json, pydicom\nds = pydicom.dcmread(sys.argv[1], force=True)\nprint(json.dumps({k: str(ds.get(k, "")) for k in ["PatientID", "PatientName"]}))',
          source,
        ]).toString(),
      ) as { PatientID: string; PatientName: string };
      const result = await rewritePatient(createReadStream(source, { highWaterMark: 64 }), WHOLE, { requireIdentifyingUids: !noUids });
      const data = await buffer(result.output);
      const check = new DicomStructureCheck();
      check.push(data);
      check.finish();
      const found = originalsOf(data);
      if (!original.PatientID && !original.PatientName) {
        // Nothing of the patient module was there (private test files): nothing was modified, nothing to keep.
        expect(found).to.deep.equal([]);
        return;
      }
      const [item, ...more] = found;
      expect(more).to.deep.equal([]);
      expect(item).to.include({ reason: 'COERCE', system: 'MEDICONNECT' });
      expect(item!.when).to.match(/^\d{14}\+0000$/);
      if (original.PatientID) expect(item!.values.PatientID).to.equal(original.PatientID);
      if (original.PatientName) expect(item!.values.PatientName).to.equal(original.PatientName);
      expect(Object.keys(item!.values)).to.not.include('IssuerOfPatientID');
      // dcmtk, another parser, reads the whole file without complaint.
      const file = path.join(tmp, `oas-${name}`);
      writeFileSync(file, data);
      const dump = execFileSync('dcmdump', ['-q', '+P', '0400,0561', file], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
      expect(dump).to.include('(0400,0561)');
    });
  }

  it('Original Attributes: a second coercion adds its item first and keeps the earlier one; the same identity again adds none', async () => {
    const first = await buffer(
      (
        await rewritePatient(
          (async function* () {
            yield synthDicom({ patientId: 'HOSP-7', studyUid: newUid(), seriesUid: newUid() });
          })(),
          WHOLE,
        )
      ).output,
    );
    const again = await buffer(
      (
        await rewritePatient(
          (async function* () {
            yield first;
          })(),
          WHOLE,
        )
      ).output,
    );
    expect(originalsOf(again)).to.have.length(1);
    const other = { ...WHOLE, patientId: 'MC9999', lastName: 'Autre', birthDate: '1970-05-06', sex: 'male' };
    const second = await buffer(
      (
        await rewritePatient(
          (async function* () {
            yield first;
          })(),
          other,
        )
      ).output,
    );
    const items = originalsOf(second);
    expect(items.map((i) => i.values.PatientID)).to.deep.equal([WHO.patientId, 'HOSP-7']);
    expect(items[0]!.values).to.include({ PatientBirthDate: '19800102', PatientSex: 'F' });
    const check = new DicomStructureCheck();
    check.push(second);
    check.finish();
  });

  it('Original Attributes: placed after undefined-length sequences; left out, the file intact, when reaching its place would hold more than 1 MB', async () => {
    // In 64 KB chunks, as files stream in: what is held is what the rewrite pulled.
    const chunks = async function* (file: Buffer) {
      for (let at = 0; at < file.length; at += 64 * 1024) yield file.subarray(at, at + 64 * 1024);
    };
    const rewrite = async (file: Buffer) => buffer((await rewritePatient(chunks(file), WHOLE)).output);
    const base = () => synthDicom({ patientId: 'HOSP-8', studyUid: newUid(), seriesUid: newUid() });
    const withSequences = await rewrite(withElementsBeforePixels(base(), nestedSequence(3, false)));
    expect(originalsOf(withSequences).map((i) => i.values.PatientID)).to.deep.equal(['HOSP-8']);
    const document = explicitElement(0x0042, 0x0011, 'OB', Buffer.alloc(2 * 1024 * 1024, 7));
    const source = withElementsBeforePixels(base(), document);
    const big = await rewrite(source);
    expect(originalsOf(big)).to.deep.equal([]);
    expect(dicomTags(big, ['PatientID']).PatientID).to.equal(WHO.patientId);
    expect(big.length - source.length).to.be.lessThan(200);
    for (const data of [withSequences, big]) {
      const check = new DicomStructureCheck();
      check.push(data);
      check.finish();
    }
  });

  const refusals: [string, string | Buffer, DicomRejected['code']][] = [
    ['a text file', 'hello, I am not an image', 'NOT_DICOM'],
    ['an empty file', Buffer.alloc(0), 'NOT_DICOM'],
    ['a DICOM without preamble', path.join(PYDICOM_TEST_FILES, 'no_meta.dcm'), 'NOT_DICOM'],
    ['a deflated file', path.join(PYDICOM_TEST_FILES, 'image_dfl.dcm'), 'UNSUPPORTED'],
    ['a file cut in its header', 'cut', 'TRUNCATED'],
    ['a file whose SOP Instance UID disagrees with its meta header (badVR.dcm)', path.join(PYDICOM_TEST_FILES, 'badVR.dcm'), 'MALFORMED'],
    ['a file without study and series UIDs', path.join(PYDICOM_TEST_FILES, 'nested_priv_SQ.dcm'), 'MALFORMED'],
  ];
  for (const [what, input, code] of refusals) {
    it(`refuses ${what} with ${code}`, async () => {
      let data: Buffer;
      if (input === 'cut') data = readFileSync(path.join(PYDICOM_TEST_FILES, 'rtplan.dcm')).subarray(0, 400);
      else if (typeof input === 'string' && input.startsWith('/')) data = readFileSync(input);
      else data = Buffer.from(input);
      try {
        await rewritePatient(
          (async function* () {
            yield data;
          })(),
          WHO,
        );
        expect.fail('should refuse');
      } catch (err) {
        expect(err).to.be.instanceOf(DicomRejected);
        expect((err as DicomRejected).code).to.equal(code);
      }
    });
  }

  it('holds only the header in memory: the rest streams through in the source’s chunks', async () => {
    const head = synthDicom({ patientId: 'X', studyUid: newUid(), seriesUid: newUid() });
    let pulled = 0;
    // A valid file that goes on for 64 MB: Data Set Trailing Padding (FFFC,FFFC) after the pixels.
    const padding = Buffer.concat([Buffer.from([0xfc, 0xff, 0xfc, 0xff]), Buffer.from('OB'), Buffer.alloc(2), Buffer.alloc(4)]);
    padding.writeUInt32LE(1000 * 64 * 1024, 8);
    async function* huge() {
      yield Buffer.concat([head, padding]);
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield Buffer.alloc(64 * 1024);
      }
    }
    const result = await rewritePatient(huge(), WHO, { maxHeaderBytes: 1024 * 1024 });
    expect(pulled).to.equal(0);
    let total = 0;
    for await (const chunk of result.output) total += (chunk as Buffer).length;
    expect(pulled).to.equal(1000);
    expect(total).to.be.greaterThan(64 * 1024 * 1000);
  });
});
