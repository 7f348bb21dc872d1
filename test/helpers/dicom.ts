import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { OrthancClient } from '../../common/orthanc.js';
import { PYDICOM_TEST_FILES } from '../../scripts/lib/system-packages.js';

/** A sample file shipped by Debian's python3-pydicom. */
export const sample = (name: string): Buffer => readFileSync(path.join(PYDICOM_TEST_FILES, name));

/** A fresh DICOM UID under the 2.25 (UUID-derived) root. */
export const newUid = () => `2.25.${BigInt(`0x${crypto.randomUUID().replace(/-/g, '')}`).toString()}`;

function element(group: number, el: number, vr: string, value: Buffer): Buffer {
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(el, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(value.length, 8);
  else header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

const text = (s: string, pad = ' ') => Buffer.from(s.length % 2 ? s + pad : s, 'latin1');
const us = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};

/** What a synthetic CT slice carries. */
export interface SynthOptions {
  patientId: string;
  studyUid: string;
  seriesUid: string;
  sopUid?: string;
  instanceNumber?: number;
  seriesNumber?: number;
  rows?: number;
  columns?: number;
  modality?: string;
  studyDate?: string;
  studyDescription?: string;
  bodyPart?: string;
}

/** A valid, minimal CT image (explicit VR little endian) with noise as pixels: for series of any size. */
export function synthDicom(o: SynthOptions): Buffer {
  const rows = o.rows ?? 64;
  const cols = o.columns ?? 64;
  const sop = o.sopUid ?? newUid();
  const sopClass = '1.2.840.10008.5.1.4.1.1.2';
  const metaBody = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', text(sopClass, '\0')),
    element(0x0002, 0x0003, 'UI', text(sop, '\0')),
    element(0x0002, 0x0010, 'UI', text('1.2.840.10008.1.2.1', '\0')),
    element(0x0002, 0x0012, 'UI', text('1.2.826.0.1.3680043.10.1', '\0')),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(metaBody.length);
  // Noise over the full 16 bits (BitsStored 16): cheap to make, and it does not compress.
  const pixels = randomBytes(rows * cols * 2);
  const dataset = Buffer.concat([
    element(0x0008, 0x0016, 'UI', text(sopClass, '\0')),
    element(0x0008, 0x0018, 'UI', text(sop, '\0')),
    element(0x0008, 0x0020, 'DA', text(o.studyDate ?? '20260115')),
    element(0x0008, 0x0060, 'CS', text(o.modality ?? 'CT')),
    element(0x0008, 0x1030, 'LO', text(o.studyDescription ?? 'Synthetic study')),
    element(0x0010, 0x0010, 'PN', text('Other^Hospital')),
    element(0x0010, 0x0020, 'LO', text(o.patientId)),
    element(0x0018, 0x0015, 'CS', text(o.bodyPart ?? 'CHEST')),
    element(0x0020, 0x000d, 'UI', text(o.studyUid, '\0')),
    element(0x0020, 0x000e, 'UI', text(o.seriesUid, '\0')),
    element(0x0020, 0x0011, 'IS', text(String(o.seriesNumber ?? 1))),
    element(0x0020, 0x0013, 'IS', text(String(o.instanceNumber ?? 1))),
    // Geometry and display values, so that viewers place and window the slices like a real CT.
    element(0x0020, 0x0032, 'DS', text(`0\\0\\${o.instanceNumber ?? 1}`)),
    element(0x0020, 0x0037, 'DS', text('1\\0\\0\\0\\1\\0')),
    element(0x0028, 0x0002, 'US', us(1)),
    element(0x0028, 0x0004, 'CS', text('MONOCHROME2')),
    element(0x0028, 0x0010, 'US', us(rows)),
    element(0x0028, 0x0011, 'US', us(cols)),
    element(0x0028, 0x0030, 'DS', text('1\\1')),
    element(0x0028, 0x0100, 'US', us(16)),
    element(0x0028, 0x0101, 'US', us(16)),
    element(0x0028, 0x0102, 'US', us(15)),
    element(0x0028, 0x0103, 'US', us(0)),
    element(0x0028, 0x1050, 'DS', text('32768')),
    element(0x0028, 0x1051, 'DS', text('65536')),
    element(0x0028, 0x1052, 'DS', text('0')),
    element(0x0028, 0x1053, 'DS', text('1')),
    element(0x7fe0, 0x0010, 'OW', pixels),
  ]);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), element(0x0002, 0x0000, 'UL', groupLength), metaBody, dataset]);
}

/** Reads tags of a DICOM buffer with pydicom (an independent parser). */
export function dicomTags(data: Buffer, tags: string[]): Record<string, string> {
  const script = `import sys, io, json, pydicom
ds = pydicom.dcmread(io.BytesIO(sys.stdin.buffer.read()), force=True)
print(json.dumps({t: str(ds.get(t, "")) for t in sys.argv[1:]}))`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, ...tags], { input: data }).toString());
}

/** Builds a ZIP with arbitrary entry names (including unsafe ones) using Python's zipfile. */
export function makeZip(entries: { name: string; data: Buffer }[]): Buffer {
  const script = `import sys, io, json, zipfile, base64
entries = json.loads(sys.stdin.read())
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    for e in entries:
        z.writestr(e["name"], base64.b64decode(e["data"]))
sys.stdout.buffer.write(buf.getvalue())`;
  return execFileSync('/usr/bin/python3', ['-c', script], {
    input: JSON.stringify(entries.map((e) => ({ name: e.name, data: e.data.toString('base64') }))),
    maxBuffer: 1 << 30,
  });
}

/** Entry names of a ZIP. */
export function zipEntries(data: Buffer): string[] {
  const script = `import sys, io, json, zipfile
print(json.dumps(zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read())).namelist()))`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: data, maxBuffer: 1 << 30 }).toString());
}

/** The Orthanc of the test stack, with the harness's credentials. */
export function testOrthanc(): OrthancClient {
  return new OrthancClient({
    url: process.env.ORTHANC_URL!,
    username: process.env.ORTHANC_USERNAME!,
    password: process.env.ORTHANC_PASSWORD!,
  });
}

/** Where s3rver keeps an object's bytes on disk. */
export function s3ObjectFile(key: string): string {
  return path.join(process.env.MEDICONNECT_TEST_TMP!, 's3', process.env.MINIO_BUCKET_NAME!, `${key}._S3rver_object`);
}

/** Uploads files as multipart/form-data, `patientId` first, as a browser's drag & drop does. */
export async function upload(
  baseUrl: string,
  token: string,
  patientId: string | null,
  files: { name: string; data: Buffer; type?: string }[],
) {
  const form = new FormData();
  if (patientId) form.append('patientId', patientId);
  for (const f of files) form.append('files', new Blob([new Uint8Array(f.data)], { type: f.type ?? 'application/dicom' }), f.name);
  const res = await fetch(`${baseUrl}/api/dicom/studies/upload_dicom/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  return { status: res.status, body: await res.json() };
}

/** What a re-identified sample holds: its new UIDs and the pixel geometry pydicom reads. */
export interface ReUided {
  data: Buffer;
  study: string;
  series: string;
  sop: string;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  frames: number;
  transferSyntax: string;
}

/**
 * A copy of a sample with fresh Study/Series/SOP Instance UIDs (meta header too), written by pydicom in
 * its original transfer syntax, so the same public file can be stored many times.
 */
export function reUid(data: Buffer): ReUided {
  const script = `import sys, io, json, base64, pydicom
from pydicom.uid import generate_uid
ds = pydicom.dcmread(io.BytesIO(sys.stdin.buffer.read()), force=True)
ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = generate_uid(); ds.SOPInstanceUID = generate_uid()
ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
out = io.BytesIO()
ds.save_as(out, write_like_original=True)
print(json.dumps({"data": base64.b64encode(out.getvalue()).decode(), "study": ds.StudyInstanceUID, "series": ds.SeriesInstanceUID,
  "sop": ds.SOPInstanceUID, "rows": int(ds.get("Rows", 0)), "columns": int(ds.get("Columns", 0)),
  "samplesPerPixel": int(ds.get("SamplesPerPixel", 1)), "bitsAllocated": int(ds.get("BitsAllocated", 0)),
  "frames": int(ds.get("NumberOfFrames", 1) or 1), "transferSyntax": str(ds.file_meta.TransferSyntaxUID)}))`;
  const out = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: data, maxBuffer: 1 << 28 }).toString());
  return { ...out, data: Buffer.from(out.data, 'base64') };
}
