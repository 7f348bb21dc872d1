import { isUid, LONG_VRS, TRANSFER_SYNTAX } from '../dicom-syntax.js';
import { withPart10Header } from './part10.js';
import { Readable } from 'node:stream';
import { DicomRejected } from './rejected.js';
import { checkedStructure, MAX_SEQUENCE_DEPTH } from './validate.js';

export { DicomRejected };

/** The identity written into every stored instance. */
export interface PatientIdentity {
  patientId: string;
  firstName: string;
  lastName: string;
  issuer: string;
  /** YYYY-MM-DD; with `sex`, written over the file's own values (undefined: the file's are kept). */
  birthDate?: string | null;
  /** female, male, other or unknown. */
  sex?: string | null;
}

/** IssuerOfPatientID written into every stored instance. */
export const OUR_ISSUER = 'MEDICONNECT';

/** The identity every door writes into a patient's instances: ID, name, issuer, birth date and sex. */
export function patientIdentity(patient: {
  identifier: string;
  first_name: string;
  last_name: string;
  birth_date: string;
  sex: string;
}): PatientIdentity {
  return {
    patientId: patient.identifier,
    firstName: patient.first_name,
    lastName: patient.last_name,
    issuer: OUR_ISSUER,
    birthDate: patient.birth_date,
    sex: patient.sex,
  };
}

/** DICOM's PatientSex (CS) for ours; unknown is an empty value. */
const DICOM_SEX: Record<string, string> = { female: 'F', male: 'M', other: 'O', unknown: '' };

/** What a file's header says before its patient module is written: who it names, and its identifying UIDs. */
export interface FoundHeader {
  originalPatientId: string | null;
  sopInstanceUid: string | null;
  studyInstanceUid: string | null;
  seriesInstanceUid: string | null;
}

/**
 * Decides, once the header is read, whose identity the file gets (null: keep the file's own patient
 * module). May refuse the file by throwing DicomRejected: the rest is then read and dropped.
 */
export type IdentityResolver = (found: FoundHeader) => Promise<PatientIdentity | null>;

/** The rewritten file as a stream, and what the original header said. */
export interface Rewritten {
  /** The identity written (null: the file's own was kept). */
  identity: PatientIdentity | null;
  originalPatientId: string | null;
  sopInstanceUid: string | null;
  studyInstanceUid: string | null;
  seriesInstanceUid: string | null;
  transferSyntax: string;
  output: Readable;
}

const { EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE, DEFLATED } = TRANSFER_SYNTAX;
const UNDEFINED = 0xffffffff;

const tagValue = (group: number, element: number) => group * 0x10000 + element;
const PATIENT_NAME = tagValue(0x0010, 0x0010);
const PATIENT_ID = tagValue(0x0010, 0x0020);
const ISSUER = tagValue(0x0010, 0x0021);
const GROUP_0010_LENGTH = tagValue(0x0010, 0x0000);
const PATIENT_BIRTH_DATE = tagValue(0x0010, 0x0030);
const PATIENT_SEX = tagValue(0x0010, 0x0040);
const SOP_INSTANCE_UID = tagValue(0x0008, 0x0018);
const STUDY_INSTANCE_UID = tagValue(0x0020, 0x000d);
const SERIES_INSTANCE_UID = tagValue(0x0020, 0x000e);
const END_OF_GROUP_0020 = tagValue(0x0020, 0xffff);
const ORIGINAL_ATTRIBUTES = tagValue(0x0400, 0x0561);
const MODIFIED_ATTRIBUTES = tagValue(0x0400, 0x0550);
const MODIFICATION_DATETIME = tagValue(0x0400, 0x0562);
const MODIFYING_SYSTEM = tagValue(0x0400, 0x0563);
const SOURCE_OF_PREVIOUS_VALUES = tagValue(0x0400, 0x0564);
const REASON_FOR_MODIFICATION = tagValue(0x0400, 0x0565);
/** Bytes read past group 0020 to reach where the Original Attributes Sequence goes; beyond, it is not written. */
const ORIGINALS_SCAN_BYTES = 1024 * 1024;

interface Syntax {
  implicit: boolean;
  bigEndian: boolean;
}

/** A look-ahead ran past the bytes it may hold (`Buffered.scanLimit`); nothing was lost. */
class ScanLimitReached extends Error {}

/** Bytes read so far, kept for output, with a cursor; pulls more chunks from the source on demand. */
class Buffered {
  data = Buffer.alloc(0);
  pos = 0;
  /** Held bytes past which an optional look-ahead gives up (ScanLimitReached) rather than read on. */
  scanLimit = Number.POSITIVE_INFINITY;
  private ended = false;

  constructor(
    private readonly source: AsyncIterator<Buffer>,
    private readonly limit: number,
  ) {}

  async ensure(n: number): Promise<boolean> {
    while (this.data.length - this.pos < n) {
      if (this.ended) return false;
      if (this.data.length > this.scanLimit) throw new ScanLimitReached();
      if (this.data.length > this.limit) throw new DicomRejected('UNSUPPORTED', 'The DICOM header is larger than this server accepts');
      const next = await this.source.next();
      if (next.done) {
        this.ended = true;
        return false;
      }
      this.data = Buffer.concat([this.data, Buffer.from(next.value)]);
    }
    return true;
  }

  async need(n: number): Promise<void> {
    if (!(await this.ensure(n))) throw new DicomRejected('TRUNCATED', 'The file ends in the middle of its DICOM header');
  }

  get atEnd(): boolean {
    return this.ended && this.pos >= this.data.length;
  }

  u16(at: number, be: boolean): number {
    return be ? this.data.readUInt16BE(at) : this.data.readUInt16LE(at);
  }

  u32(at: number, be: boolean): number {
    return be ? this.data.readUInt32BE(at) : this.data.readUInt32LE(at);
  }

  ascii(at: number, length: number): string {
    return this.data.toString('latin1', at, at + length);
  }
}

interface ElementHeader {
  tag: number;
  vr: string | null;
  headerLength: number;
  valueLength: number;
}

async function readHeader(b: Buffered, syntax: Syntax): Promise<ElementHeader> {
  await b.need(8);
  const group = b.u16(b.pos, syntax.bigEndian);
  const element = b.u16(b.pos + 2, syntax.bigEndian);
  const tag = tagValue(group, element);
  // Items and delimiters never carry a VR, whatever the transfer syntax.
  if (group === 0xfffe || syntax.implicit) return { tag, vr: null, headerLength: 8, valueLength: b.u32(b.pos + 4, syntax.bigEndian) };
  const vr = b.ascii(b.pos + 4, 2);
  if (!/^[A-Z]{2}$/.test(vr)) throw new DicomRejected('MALFORMED', `Invalid value representation at byte ${b.pos + 4}`);
  if (LONG_VRS.has(vr)) {
    await b.need(12);
    return { tag, vr, headerLength: 12, valueLength: b.u32(b.pos + 8, syntax.bigEndian) };
  }
  return { tag, vr, headerLength: 8, valueLength: b.u16(b.pos + 6, syntax.bigEndian) };
}

const ITEM = tagValue(0xfffe, 0xe000);
const ITEM_END = tagValue(0xfffe, 0xe00d);
const SEQUENCE_END = tagValue(0xfffe, 0xe0dd);

// A sequence of undefined length: items until the sequence delimiter, each either sized or delimited.
async function skipUndefinedSequence(b: Buffered, syntax: Syntax, depth: number): Promise<void> {
  if (depth > MAX_SEQUENCE_DEPTH) throw new DicomRejected('MALFORMED', `Sequences are nested deeper than ${MAX_SEQUENCE_DEPTH} levels`);
  for (;;) {
    const h = await readHeader(b, { ...syntax, implicit: true });
    b.pos += 8;
    if (h.tag === SEQUENCE_END) return;
    if (h.tag !== ITEM) throw new DicomRejected('MALFORMED', 'Expected a sequence item');
    if (h.valueLength !== UNDEFINED) {
      await b.need(h.valueLength);
      b.pos += h.valueLength;
      continue;
    }
    for (;;) {
      const inner = await readHeader(b, syntax);
      if (inner.tag === ITEM_END) {
        b.pos += 8;
        break;
      }
      await skipElement(b, syntax, inner, depth + 1);
    }
  }
}

async function skipElement(b: Buffered, syntax: Syntax, h: ElementHeader, depth: number): Promise<void> {
  b.pos += h.headerLength;
  if (h.valueLength === UNDEFINED) {
    // UN of undefined length holds an implicit little-endian sequence (PS3.5 §6.2.2).
    await skipUndefinedSequence(b, h.vr === 'UN' ? { implicit: true, bigEndian: false } : syntax, depth);
    return;
  }
  await b.need(h.valueLength);
  b.pos += h.valueLength;
}

/** ASCII only: the file's character set is unknown, and the identifier, not the name, is the identity. */
function asciiName(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/[\\^=]/g, ' ')
    .trim();
}

function encodeElement(tag: number, vr: string, value: string, syntax: Syntax): Buffer {
  const text = value.length % 2 === 0 ? value : `${value} `;
  const bytes = Buffer.from(text, 'latin1');
  const header = Buffer.alloc(syntax.implicit ? 8 : 8);
  const write16 = (v: number, at: number) => (syntax.bigEndian ? header.writeUInt16BE(v, at) : header.writeUInt16LE(v, at));
  write16(Math.floor(tag / 0x10000), 0);
  write16(tag % 0x10000, 2);
  if (syntax.implicit) header.writeUInt32LE(bytes.length, 4);
  else {
    header.write(vr, 4, 'latin1');
    write16(bytes.length, 6);
  }
  return Buffer.concat([header, bytes]);
}

/** A tag and a 32-bit length, in the syntax's byte order: an item or, in implicit VR, an element's header. */
function tagAndLength(tag: number, length: number, syntax: Syntax): Buffer {
  const out = Buffer.alloc(8);
  if (syntax.bigEndian) {
    out.writeUInt16BE(Math.floor(tag / 0x10000), 0);
    out.writeUInt16BE(tag % 0x10000, 2);
    out.writeUInt32BE(length, 4);
  } else {
    out.writeUInt16LE(Math.floor(tag / 0x10000), 0);
    out.writeUInt16LE(tag % 0x10000, 2);
    out.writeUInt32LE(length, 4);
  }
  return out;
}

/** The header of a sequence of defined length. */
function sequenceHeader(tag: number, length: number, syntax: Syntax): Buffer {
  if (syntax.implicit) return tagAndLength(tag, length, syntax);
  const out = Buffer.alloc(12);
  const head = tagAndLength(tag, length, syntax);
  head.copy(out, 0, 0, 4);
  out.write('SQ', 4, 'latin1');
  head.copy(out, 8, 4, 8);
  return out;
}

/** One item of defined length holding `content`. */
const item = (content: Buffer, syntax: Syntax) => Buffer.concat([tagAndLength(ITEM, content.length, syntax), content]);

/**
 * The item of an Original Attributes Sequence (PS3.3 C.12.1.1.9) recording that MediConnect coerced these
 * elements (their original bytes, in the file's own syntax) to the patient's identity.
 */
function originalAttributesItem(originals: Buffer[], syntax: Syntax, now: Date): Buffer {
  const modified = item(Buffer.concat(originals), syntax);
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return item(
    Buffer.concat([
      sequenceHeader(MODIFIED_ATTRIBUTES, modified.length, syntax),
      modified,
      encodeElement(MODIFICATION_DATETIME, 'DT', `${stamp}+0000`, syntax),
      encodeElement(MODIFYING_SYSTEM, 'LO', OUR_ISSUER, syntax),
      encodeElement(SOURCE_OF_PREVIOUS_VALUES, 'LO', '', syntax),
      encodeElement(REASON_FOR_MODIFICATION, 'CS', 'COERCE', syntax),
    ]),
    syntax,
  );
}

/**
 * Rewrites PatientName, PatientID and IssuerOfPatientID of one DICOM Part 10 file while it streams:
 * only the header up to group 0010 is held in memory (bounded by `maxHeaderBytes`); everything after
 * it, pixel data included, passes through untouched. Resolves once the header is parsed, so the caller
 * can refuse the file before a byte reaches storage.
 */
/** Limits and checks of a rewrite. */
export interface RewriteOptions {
  maxHeaderBytes?: number;
  /**
   * Refuse files whose identifying UIDs (SOP, study, series) are missing, malformed, or whose SOP
   * Instance UID disagrees with the file meta header (PS3.10): they decide where and as what an
   * instance is stored, so a broken one must not get in.
   */
  requireIdentifyingUids?: boolean;
  /** Refuse (TOO_LARGE) a file longer than this many bytes. */
  maxFileBytes?: number;
}

export async function rewritePatient(
  input: AsyncIterable<Buffer>,
  who: PatientIdentity | IdentityResolver,
  options: RewriteOptions = {},
): Promise<Rewritten> {
  // Every byte is checked as it is read, the header here and the rest while it streams to storage.
  // A raw dataset (no Part-10 header) gets one first, so that every check below reads a proper file.
  const source = checkedStructure(withPart10Header(input)[Symbol.asyncIterator](), options.maxFileBytes);
  try {
    return await rewriteFrom(source, who, options.maxHeaderBytes ?? 16 * 1024 * 1024, options.requireIdentifyingUids ?? true);
  } catch (err) {
    // A refused file is still read to its end, so the parser around it can go on to the next file.
    if (err instanceof DicomRejected) await drain({ [Symbol.asyncIterator]: () => source }).catch(() => undefined);
    throw err;
  }
}

function checkUid(name: string, value: string | null, meta: string | null): void {
  if (!value) throw new DicomRejected('MALFORMED', `${name} is missing`);
  if (!isUid(value)) throw new DicomRejected('MALFORMED', `${name} is not a valid UID`);
  if (meta !== null && meta !== value)
    throw new DicomRejected('MALFORMED', `${name} differs from the file meta header's Media Storage SOP Instance UID`);
}

const valueOf = (b: Buffered, h: ElementHeader) =>
  b
    .ascii(b.pos + h.headerLength, h.valueLength)
    .replace(/[\0 ]+$/, '')
    .trim() || null;

async function rewriteFrom(
  source: AsyncIterator<Buffer>,
  whom: PatientIdentity | IdentityResolver,
  maxHeaderBytes: number,
  requireUids: boolean,
): Promise<Rewritten> {
  const b = new Buffered(source, maxHeaderBytes);
  if (!(await b.ensure(132)) || b.ascii(128, 4) !== 'DICM') {
    throw new DicomRejected('NOT_DICOM', 'Not a DICOM file (no DICM marker after the 128-byte preamble)');
  }
  b.pos = 132;
  let transferSyntax: string | null = null;
  let metaSopInstanceUid: string | null = null;
  // File meta information: always explicit VR little endian, group 0002.
  const meta: Syntax = { implicit: false, bigEndian: false };
  while ((await b.ensure(8)) && b.u16(b.pos, false) === 0x0002) {
    const h = await readHeader(b, meta);
    await b.need(h.headerLength + h.valueLength);
    if (h.tag === tagValue(0x0002, 0x0010)) transferSyntax = valueOf(b, h);
    if (h.tag === tagValue(0x0002, 0x0003)) metaSopInstanceUid = valueOf(b, h);
    b.pos += h.headerLength + h.valueLength;
  }
  if (transferSyntax === DEFLATED)
    throw new DicomRejected('UNSUPPORTED', 'Deflated transfer syntax is not supported; send the file uncompressed');
  if (!transferSyntax) {
    // No transfer syntax in the meta header: tell explicit from implicit by the bytes themselves.
    transferSyntax = (await b.ensure(6)) && /^[A-Z]{2}$/.test(b.ascii(b.pos + 4, 2)) ? EXPLICIT_LE : IMPLICIT_LE;
  }
  const syntax: Syntax = { implicit: transferSyntax === IMPLICIT_LE, bigEndian: transferSyntax === EXPLICIT_BE };

  // Every element up to PatientSex is noted; which of them the identity replaces is known once it is decided.
  const scanned: { tag: number; start: number; end: number; headerLength: number }[] = [];
  const datasetStart = b.pos;
  const uids = new Map<number, string | null>();
  let originalPatientId: string | null = null;
  let insertAt = -1;
  while (insertAt < 0) {
    if (!(await b.ensure(8))) {
      if (b.data.length - b.pos > 0) throw new DicomRejected('TRUNCATED', 'The file ends in the middle of a DICOM element');
      insertAt = b.pos;
      break;
    }
    const h = await readHeader(b, syntax);
    if (h.tag > PATIENT_SEX) {
      insertAt = b.pos;
      break;
    }
    const start = b.pos;
    if ((h.tag === PATIENT_ID || h.tag === SOP_INSTANCE_UID) && h.valueLength !== UNDEFINED) {
      await b.need(h.headerLength + h.valueLength);
      if (h.tag === PATIENT_ID) originalPatientId = valueOf(b, h);
      else uids.set(h.tag, valueOf(b, h));
    }
    await skipElement(b, syntax, h, 0);
    scanned.push({ tag: h.tag, start, end: b.pos, headerLength: h.headerLength });
  }

  // Read on to the end of group 0020 (still header, before the pixels) for the study and series UIDs.
  while (await b.ensure(8)) {
    const h = await readHeader(b, syntax);
    if (h.tag > END_OF_GROUP_0020) break;
    if ((h.tag === STUDY_INSTANCE_UID || h.tag === SERIES_INSTANCE_UID || h.tag === SOP_INSTANCE_UID) && h.valueLength !== UNDEFINED) {
      await b.need(h.headerLength + h.valueLength);
      uids.set(h.tag, valueOf(b, h));
    }
    await skipElement(b, syntax, h, 0);
  }
  if (requireUids) {
    checkUid('SOP Instance UID', uids.get(SOP_INSTANCE_UID) ?? null, metaSopInstanceUid);
    checkUid('Study Instance UID', uids.get(STUDY_INSTANCE_UID) ?? null, null);
    checkUid('Series Instance UID', uids.get(SERIES_INSTANCE_UID) ?? null, null);
  }

  const found: FoundHeader = {
    originalPatientId,
    sopInstanceUid: uids.get(SOP_INSTANCE_UID) ?? null,
    studyInstanceUid: uids.get(STUDY_INSTANCE_UID) ?? null,
    seriesInstanceUid: uids.get(SERIES_INSTANCE_UID) ?? null,
  };
  const who = typeof whom === 'function' ? await whom(found) : whom;
  const output = (head: Buffer) => {
    async function* rest(): AsyncGenerator<Buffer> {
      yield head;
      for (;;) {
        const next = await source.next();
        if (next.done) return;
        yield next.value;
      }
    }
    return Readable.from(rest(), { objectMode: false });
  };
  if (!who) return { identity: null, ...found, transferSyntax, output: output(b.data) };

  // The patient module is replaced as one: our identity, and birth date and sex when we know them.
  const replaceProfile = who.birthDate !== undefined || who.sex !== undefined;
  const replacedTags = new Set([
    GROUP_0010_LENGTH,
    PATIENT_NAME,
    PATIENT_ID,
    ISSUER,
    ...(replaceProfile ? [PATIENT_BIRTH_DATE, PATIENT_SEX] : []),
  ]);
  const kept = scanned.filter((e) => !replacedTags.has(e.tag));
  // Our elements merged into the kept ones in tag order (a dataset's elements must ascend).
  const ours: { tag: number; data: Buffer }[] = [
    {
      tag: PATIENT_NAME,
      data: encodeElement(PATIENT_NAME, 'PN', `${asciiName(who.lastName)}^${asciiName(who.firstName)}`.slice(0, 64), syntax),
    },
    { tag: PATIENT_ID, data: encodeElement(PATIENT_ID, 'LO', who.patientId, syntax) },
    { tag: ISSUER, data: encodeElement(ISSUER, 'LO', who.issuer, syntax) },
    ...(replaceProfile
      ? [
          {
            tag: PATIENT_BIRTH_DATE,
            data: encodeElement(PATIENT_BIRTH_DATE, 'DA', (who.birthDate ?? '').replace(/-/g, '').slice(0, 8), syntax),
          },
          { tag: PATIENT_SEX, data: encodeElement(PATIENT_SEX, 'CS', DICOM_SEX[who.sex ?? 'unknown'] ?? '', syntax) },
        ]
      : []),
  ];
  const parts: Buffer[] = [b.data.subarray(0, datasetStart)];
  let next = 0;
  for (const element of kept) {
    while (next < ours.length && ours[next]!.tag < element.tag) parts.push(ours[next++]!.data);
    parts.push(b.data.subarray(element.start, element.end));
  }
  while (next < ours.length) parts.push(ours[next++]!.data);

  // What the file said before, where DICOM keeps it: the Original Attributes Sequence, one item per coercion.
  const valueText = (bytes: Buffer) =>
    bytes
      .toString('latin1')
      .replace(/[\0 ]+$/, '')
      .trim();
  const originals = scanned.filter((e) => {
    if (e.tag === GROUP_0010_LENGTH || !replacedTags.has(e.tag)) return false;
    const mine = ours.find((o) => o.tag === e.tag)!;
    return valueText(b.data.subarray(e.start + e.headerLength, e.end)) !== valueText(mine.data.subarray(8));
  });
  const place = originals.length > 0 ? await originalsPlace(b, syntax) : null;
  if (!place) {
    parts.push(b.data.subarray(insertAt));
  } else {
    const ourItem = originalAttributesItem(
      originals.map((e) => b.data.subarray(e.start, e.end)),
      syntax,
      new Date(),
    );
    parts.push(b.data.subarray(insertAt, place.at));
    if (!place.existing) {
      parts.push(sequenceHeader(ORIGINAL_ATTRIBUTES, ourItem.length, syntax), ourItem, b.data.subarray(place.at));
    } else {
      // Earlier coercions stay; ours is added first. A defined length grows by our item.
      const h = place.existing;
      const header = Buffer.from(b.data.subarray(place.at, place.at + h.headerLength));
      if (h.valueLength !== UNDEFINED) {
        const lengthAt = h.headerLength - 4;
        if (syntax.bigEndian) header.writeUInt32BE(h.valueLength + ourItem.length, lengthAt);
        else header.writeUInt32LE(h.valueLength + ourItem.length, lengthAt);
      }
      parts.push(header, ourItem, b.data.subarray(place.at + h.headerLength));
    }
  }
  return { identity: who, ...found, transferSyntax, output: output(Buffer.concat(parts)) };
}

/**
 * Where the Original Attributes Sequence goes (the first top-level element at or after it), and the one the
 * file already has there; null when it cannot be written: reaching it would hold more than a bounded part
 * of the file (an encapsulated document before it), or the file's own is not a plain sequence.
 */
async function originalsPlace(b: Buffered, syntax: Syntax): Promise<{ at: number; existing: ElementHeader | null } | null> {
  b.scanLimit = b.data.length + ORIGINALS_SCAN_BYTES;
  try {
    // A fault in the file met here is refused like any other (the structure check would refuse it too).
    for (;;) {
      if (!(await b.ensure(8))) return b.atEnd ? { at: b.pos, existing: null } : null;
      const h = await readHeader(b, syntax);
      if (h.tag >= ORIGINAL_ATTRIBUTES) {
        if (h.tag !== ORIGINAL_ATTRIBUTES) return { at: b.pos, existing: null };
        return syntax.implicit || h.vr === 'SQ' ? { at: b.pos, existing: h } : null;
      }
      await skipElement(b, syntax, h, 0);
    }
  } catch (err) {
    if (err instanceof ScanLimitReached) return null;
    throw err;
  } finally {
    b.scanLimit = Number.POSITIVE_INFINITY;
  }
}

/** Reads and discards what is left of a source, so a multipart or ZIP parser can move on. */
export async function drain(input: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of input) {
    // discard
  }
}
