// Legacy files without the Part-10 header (a raw dataset, as older archives and some devices write them) are
// given one here, before any other check reads them, so that every door treats them as the files they are.
import { isUid, LONG_VRS, TRANSFER_SYNTAX } from '../dicom-syntax.js';

/** Our implementation class UID, written into the meta header we add. */
export const IMPLEMENTATION_CLASS_UID = '2.25.154875422145768192799980546207639400480';
const IMPLEMENTATION_VERSION = 'MEDICONNECT';
const { IMPLICIT_LE, EXPLICIT_LE } = TRANSFER_SYNTAX;
/** How much of a raw dataset is read to find its SOP Class and Instance UIDs (group 0008 comes first). */
const MAX_PROBE_BYTES = 64 * 1024;
const SOP_CLASS_UID = 0x00080016;
const SOP_INSTANCE_UID = 0x00080018;

/** What the first bytes of a raw dataset say: its syntax and the UIDs a meta header needs, or null. */
export function probeRawDataset(head: Buffer): { transferSyntax: string; sopClassUid: string; sopInstanceUid: string } | null {
  if (head.length < 8 || head.readUInt16LE(0) !== 0x0008) return null;
  const explicit = /^[A-Z]{2}$/.test(head.toString('latin1', 4, 6));
  const found = new Map<number, string>();
  for (let pos = 0; pos + 8 <= head.length;) {
    const tag = head.readUInt16LE(pos) * 0x10000 + head.readUInt16LE(pos + 2);
    // Group 0008 in ascending order, or it is not a dataset we can vouch for.
    if (tag >>> 16 !== 0x0008) break;
    let headerLength = 8;
    let length: number;
    if (explicit) {
      const vr = head.toString('latin1', pos + 4, pos + 6);
      if (!/^[A-Z]{2}$/.test(vr)) return null;
      if (LONG_VRS.has(vr)) {
        if (pos + 12 > head.length) break;
        length = head.readUInt32LE(pos + 8);
        headerLength = 12;
      } else length = head.readUInt16LE(pos + 6);
    } else length = head.readUInt32LE(pos + 4);
    // An undefined length (a sequence) before the SOP UIDs: stop looking rather than walk items here.
    if (length === 0xffffffff) break;
    if (tag === SOP_CLASS_UID || tag === SOP_INSTANCE_UID) {
      if (pos + headerLength + length > head.length) break;
      found.set(tag, head.toString('latin1', pos + headerLength, pos + headerLength + length).replace(/[\0 ]+$/, ''));
    }
    if (tag >= SOP_INSTANCE_UID) break;
    pos += headerLength + length;
  }
  const sopClassUid = found.get(SOP_CLASS_UID);
  const sopInstanceUid = found.get(SOP_INSTANCE_UID);
  if (!isUid(sopClassUid) || !isUid(sopInstanceUid)) return null;
  return { transferSyntax: explicit ? EXPLICIT_LE : IMPLICIT_LE, sopClassUid, sopInstanceUid };
}

/** One explicit-VR little-endian meta element (OB with its long header). */
function metaElement(element: number, vr: 'UI' | 'SH' | 'OB', value: Buffer): Buffer {
  const padded = value.length % 2 === 0 ? value : Buffer.concat([value, Buffer.from([vr === 'UI' ? 0 : 0x20])]);
  const head = Buffer.alloc(vr === 'OB' ? 12 : 8);
  head.writeUInt16LE(0x0002, 0);
  head.writeUInt16LE(element, 2);
  head.write(vr, 4, 'latin1');
  if (vr === 'OB') head.writeUInt32LE(padded.length, 8);
  else head.writeUInt16LE(padded.length, 6);
  return Buffer.concat([head, padded]);
}

/** The 128-byte preamble, `DICM` and a File Meta Information group (PS3.10 7.1) for a raw dataset. */
export function part10Header(raw: { transferSyntax: string; sopClassUid: string; sopInstanceUid: string }): Buffer {
  const elements = Buffer.concat([
    metaElement(0x0001, 'OB', Buffer.from([0x00, 0x01])),
    metaElement(0x0002, 'UI', Buffer.from(raw.sopClassUid, 'latin1')),
    metaElement(0x0003, 'UI', Buffer.from(raw.sopInstanceUid, 'latin1')),
    metaElement(0x0010, 'UI', Buffer.from(raw.transferSyntax, 'latin1')),
    metaElement(0x0012, 'UI', Buffer.from(IMPLEMENTATION_CLASS_UID, 'latin1')),
    metaElement(0x0013, 'SH', Buffer.from(IMPLEMENTATION_VERSION, 'latin1')),
  ]);
  const groupLength = Buffer.alloc(12);
  groupLength.writeUInt16LE(0x0002, 0);
  groupLength.writeUInt16LE(0x0000, 2);
  groupLength.write('UL', 4, 'latin1');
  groupLength.writeUInt16LE(4, 6);
  groupLength.writeUInt32LE(elements.length, 8);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), groupLength, elements]);
}

/**
 * Passes a Part-10 file through unchanged; a raw little-endian dataset that starts with group 0008 and names its
 * SOP Class and Instance UIDs gets a proper meta header in front; anything else passes unchanged, to be refused
 * (NOT_DICOM) by the checks after this. Holds at most 64 KB while it decides.
 */
export async function* withPart10Header(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const iterator = input[Symbol.asyncIterator]();
  const held: Buffer[] = [];
  let size = 0;
  let ended = false;
  while (size < MAX_PROBE_BYTES) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    held.push(next.value);
    size += next.value.length;
    if (size >= 132 && Buffer.concat(held).toString('latin1', 128, 132) === 'DICM') break;
  }
  const head = Buffer.concat(held);
  const isPart10 = head.length >= 132 && head.toString('latin1', 128, 132) === 'DICM';
  const raw = isPart10 ? null : probeRawDataset(head);
  if (raw) yield part10Header(raw);
  if (head.length > 0) yield head;
  if (ended) return;
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
}
