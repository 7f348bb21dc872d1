import { execFileSync } from 'node:child_process';

/** Little-endian 16- and 32-bit values, as DICOM element headers hold them. */
export const le16 = (v: number) => Buffer.from([v & 0xff, v >> 8]);
export const le32 = (v: number) => Buffer.from([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff]);

/** One explicit-VR little-endian element (long header for OB/SQ/UN/UT). */
export const explicitElement = (group: number, elem: number, vr: string, value: Buffer) =>
  Buffer.concat([
    le16(group),
    le16(elem),
    Buffer.from(vr),
    ['OB', 'SQ', 'UN', 'UT'].includes(vr) ? Buffer.concat([Buffer.alloc(2), le32(value.length)]) : le16(value.length),
    value,
  ]);

/**
 * ContentSequence (0040,A730) nested `depth` levels deep, explicit VR little endian: each level one
 * item holding the next sequence — the shape of the public "Deeply-Nested-Sequence" file that crashes
 * Orthanc 1.10. Undefined lengths with delimiters, or defined lengths.
 */
export function nestedSequence(depth: number, definedLengths: boolean): Buffer {
  let inner = Buffer.alloc(0);
  for (let i = 0; i < depth; i++) {
    const itemBody = inner;
    const item = definedLengths
      ? Buffer.concat([le16(0xfffe), le16(0xe000), le32(itemBody.length), itemBody])
      : Buffer.concat([le16(0xfffe), le16(0xe000), le32(0xffffffff), itemBody, le16(0xfffe), le16(0xe00d), le32(0)]);
    inner = definedLengths
      ? Buffer.concat([le16(0x0040), le16(0xa730), Buffer.from('SQ'), Buffer.alloc(2), le32(item.length), item])
      : Buffer.concat([
          le16(0x0040),
          le16(0xa730),
          Buffer.from('SQ'),
          Buffer.alloc(2),
          le32(0xffffffff),
          item,
          le16(0xfffe),
          le16(0xe0dd),
          le32(0),
        ]);
  }
  return inner;
}

/** Inserts elements just before the Pixel Data of an explicit-little-endian file (after group 0028). */
export function withElementsBeforePixels(file: Buffer, elements: Buffer): Buffer {
  const at = file.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
  if (at < 0) throw new Error('no pixel data');
  return Buffer.concat([file.subarray(0, at), elements, file.subarray(at)]);
}

/** A ZIP holding one entry of `megabytes` MB of zeros, deflated to a few hundred KB: a ZIP bomb. */
export function zipBomb(megabytes: number, entryName = 'bomb.dcm'): Buffer {
  const script = `import sys, io, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    with z.open(sys.argv[2], "w", force_zip64=True) as f:
        block = bytes(1 << 20)
        for _ in range(int(sys.argv[1])):
            f.write(block)
sys.stdout.buffer.write(buf.getvalue())`;
  return execFileSync('/usr/bin/python3', ['-c', script, String(megabytes), entryName], { maxBuffer: 1 << 28 });
}

/**
 * A ZIP whose one entry is a DICOM file (`dicom`'s header) with `megabytes` MB of zero Pixel Data, written as a
 * stream would write it: the local header declares no size (a data descriptor follows the data), so only
 * counting while inflating can tell it is a bomb.
 */
export function streamedZipBomb(dicom: Buffer, megabytes: number, entryName = 'bomb.dcm'): Buffer {
  const at = dicom.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
  if (at < 0 || dicom.subarray(at + 4, at + 6).toString('latin1') !== 'OW') throw new Error('expected explicit-VR OW Pixel Data');
  const header = Buffer.concat([dicom.subarray(0, at + 8), le32(megabytes * 1024 * 1024)]);
  const script = `import sys, io, zipfile
class Unseekable(io.RawIOBase):
    def __init__(self): self.out = bytearray()
    def writable(self): return True
    def write(self, b): self.out += b; return len(b)
sink = Unseekable()
header = sys.stdin.buffer.read()
with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as z:
    with z.open(sys.argv[2], "w", force_zip64=True) as f:
        f.write(header)
        block = bytes(1 << 20)
        for _ in range(int(sys.argv[1])):
            f.write(block)
sys.stdout.buffer.write(bytes(sink.out))`;
  return execFileSync('/usr/bin/python3', ['-c', script, String(megabytes), entryName], { input: header, maxBuffer: 1 << 28 });
}
