import { LONG_VRS, TRANSFER_SYNTAX } from '../dicom-syntax.js';
import { DicomRejected } from './rejected.js';

/**
 * How deep sequences may nest. Real-world objects stay far below: RT structure sets nest 3 levels,
 * TID 1500 measurement reports 6–8; Debian's pydicom and dcmtk samples at most 5. A file nested
 * thousands of levels deep crashes Orthanc 1.10, so anything past this is refused before it gets there.
 */
export const MAX_SEQUENCE_DEPTH = 32;

const UNDEFINED = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;
const PIXEL_DATA = 0x7fe00010;
const { EXPLICIT_BE, IMPLICIT_LE, DEFLATED } = TRANSFER_SYNTAX;

interface Syntax {
  implicit: boolean;
  bigEndian: boolean;
}

/** Where the walker is: a dataset (elements), a sequence (items), or encapsulated pixel data (fragments). */
interface Level {
  kind: 'dataset' | 'sequence' | 'fragments';
  /** Absolute offset where this level ends, or null for an undefined length (ended by a delimiter). */
  end: number | null;
  syntax: Syntax;
  /** The last tag seen in a dataset: tags must strictly increase. */
  lastTag: number;
  /** Sequences above this level. */
  depth: number;
}

const malformed = (reason: string) => new DicomRejected('MALFORMED', reason);

/**
 * A streaming structural check of a whole DICOM Part 10 file, fed chunk by chunk as it flows to
 * storage, holding at most one element header: tags in strictly increasing order in every dataset
 * (a duplicate or out-of-order element is refused: two readers could pick different ones), nesting no
 * deeper than {@link MAX_SEQUENCE_DEPTH}, every length inside the item, sequence or file that holds it,
 * undefined lengths only where DICOM allows them. Not DICOM, or deflated: it steps aside (the reader
 * refuses those itself).
 */
export class DicomStructureCheck {
  private carry: Buffer = Buffer.alloc(0);
  /** Absolute offset of `carry[0]`. */
  private offset = 0;
  private skip = 0;
  private phase: 'preamble' | 'meta' | 'dataset' | 'off' = 'preamble';
  private transferSyntax: string | null = null;
  private readonly stack: Level[] = [];

  /** Checks the next bytes of the file; throws DicomRejected at the first structural fault. */
  push(chunk: Buffer): void {
    if (this.phase === 'off') return;
    this.carry = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    this.run();
    // Only an undecided tail stays; more than this means a header (or meta value) that never completes.
    if (this.carry.length > 64 * 1024 * 1024) throw malformed('An element header could not be read');
  }

  /** The file has ended: it must end between elements, with every undefined-length level closed. */
  finish(): void {
    if (this.phase !== 'dataset') return;
    this.closeDefinedLevels();
    if (this.skip > 0 || this.carry.length > 0) throw new DicomRejected('TRUNCATED', 'The file ends in the middle of a DICOM element');
    const open = this.stack.length - 1;
    if (open > 0) throw new DicomRejected('TRUNCATED', 'The file ends inside a sequence or item that is never closed');
  }

  private consume(n: number): void {
    this.carry = this.carry.subarray(n);
    this.offset += n;
  }

  private u16(at: number, be: boolean): number {
    return be ? this.carry.readUInt16BE(at) : this.carry.readUInt16LE(at);
  }

  private u32(at: number, be: boolean): number {
    return be ? this.carry.readUInt32BE(at) : this.carry.readUInt32LE(at);
  }

  private run(): void {
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.carry.length);
        this.consume(n);
        this.skip -= n;
        if (this.skip > 0) return;
      }
      if (this.phase === 'preamble') {
        if (this.carry.length < 132) return;
        if (this.carry.toString('latin1', 128, 132) !== 'DICM') {
          this.phase = 'off';
          return;
        }
        this.consume(132);
        this.phase = 'meta';
        this.stack.push({ kind: 'dataset', end: null, syntax: { implicit: false, bigEndian: false }, lastTag: -1, depth: 0 });
        continue;
      }
      if (this.phase === 'meta') {
        if (this.carry.length < 8) return;
        if (this.carry.readUInt16LE(0) !== 0x0002) {
          if (!this.startDataset()) return;
          continue;
        }
        if (!this.element(true)) return;
        continue;
      }
      if (this.phase !== 'dataset') return;
      this.closeDefinedLevels();
      if (!this.step()) return;
    }
  }

  /** Leaves the file meta group: the dataset's transfer syntax decides how the rest is read. */
  private startDataset(): boolean {
    const ts = this.transferSyntax;
    if (ts === DEFLATED) {
      this.phase = 'off';
      return false;
    }
    let syntax: Syntax;
    if (ts) syntax = { implicit: ts === IMPLICIT_LE, bigEndian: ts === EXPLICIT_BE };
    else {
      // No transfer syntax in the meta header: explicit if the bytes carry a VR, as the reader decides.
      if (this.carry.length < 6) return false;
      syntax = { implicit: !/^[A-Z]{2}$/.test(this.carry.toString('latin1', 4, 6)), bigEndian: false };
    }
    this.stack[0] = { kind: 'dataset', end: null, syntax, lastTag: -1, depth: 0 };
    this.phase = 'dataset';
    return true;
  }

  /** Pops every level whose defined length ends here; a level overrun by its content is malformed. */
  private closeDefinedLevels(): void {
    for (;;) {
      const top = this.stack[this.stack.length - 1]!;
      if (top.end === null || this.stack.length === 1) return;
      if (this.offset > top.end) throw malformed('An element runs past the end of the item or sequence holding it');
      if (this.offset < top.end) return;
      this.stack.pop();
    }
  }

  /** One step at the current level; false when more bytes are needed. */
  private step(): boolean {
    const top = this.stack[this.stack.length - 1]!;
    if (top.kind === 'dataset') return this.element(false);
    if (this.carry.length < 8) return false;
    const be = top.syntax.bigEndian;
    const tag = this.u16(0, be) * 0x10000 + this.u16(2, be);
    const length = this.u32(4, be);
    if (tag === SEQUENCE_END) {
      if (top.end !== null) throw malformed('A sequence delimiter closes a sequence of defined length');
      this.consume(8);
      this.stack.pop();
      return true;
    }
    if (tag !== ITEM) throw malformed('A sequence holds something other than items');
    this.consume(8);
    if (top.kind === 'fragments') {
      if (length === UNDEFINED) throw malformed('A pixel data fragment has an undefined length');
      this.within(length);
      this.skip = length;
      return true;
    }
    if (top.depth + 1 > MAX_SEQUENCE_DEPTH) throw malformed(`Sequences are nested deeper than ${MAX_SEQUENCE_DEPTH} levels`);
    if (length !== UNDEFINED) this.within(length);
    this.stack.push({
      kind: 'dataset',
      end: length === UNDEFINED ? null : this.offset + length,
      syntax: top.syntax,
      lastTag: -1,
      depth: top.depth + 1,
    });
    return true;
  }

  /** A length must fit in every enclosing level of defined length. */
  private within(length: number): void {
    for (let i = this.stack.length - 1; i >= 1; i--) {
      const end = this.stack[i]!.end;
      if (end !== null && this.offset + length > end) throw malformed('A length runs past the end of the item or sequence holding it');
    }
  }

  /** One element of a dataset (or of the meta group); false when more bytes are needed. */
  private element(meta: boolean): boolean {
    const level = this.stack[this.stack.length - 1]!;
    const syntax = level.syntax;
    if (this.carry.length < 8) return false;
    const be = syntax.bigEndian;
    const group = this.u16(0, be);
    const tag = group * 0x10000 + this.u16(2, be);
    if (group === 0xfffe) {
      if (tag !== ITEM_END || level.end !== null || this.stack.length === 1) throw malformed('An item delimiter where none belongs');
      this.consume(8);
      this.stack.pop();
      return true;
    }
    let vr: string | null = null;
    let headerLength = 8;
    let length: number;
    if (syntax.implicit) length = this.u32(4, be);
    else {
      vr = this.carry.toString('latin1', 4, 6);
      if (!/^[A-Z]{2}$/.test(vr)) throw malformed('An element has no valid value representation');
      if (LONG_VRS.has(vr)) {
        if (this.carry.length < 12) return false;
        headerLength = 12;
        length = this.u32(8, be);
      } else length = this.u16(6, be);
    }
    if (tag <= level.lastTag) throw malformed(`Element (${hex(tag)}) is duplicated or out of order`);
    if (length === UNDEFINED) {
      this.consume(headerLength);
      level.lastTag = tag;
      if (tag === PIXEL_DATA && this.stack.length === 1) {
        this.stack.push({ kind: 'fragments', end: null, syntax, lastTag: -1, depth: level.depth });
      } else if (vr === null || vr === 'SQ' || vr === 'UN') {
        this.pushSequence(level, null, vr === 'UN' ? { implicit: true, bigEndian: false } : syntax);
      } else throw malformed(`Element (${hex(tag)}) has an undefined length but is not a sequence`);
      return true;
    }
    // A sequence of defined length is walked too: a deep nest must not hide behind a length. Without a
    // VR (implicit) or as UN, a value that starts with an item is read as the sequence it is.
    let itemSyntax: Syntax | null = vr === 'SQ' ? syntax : null;
    if ((vr === null || vr === 'UN') && length >= 8 && !isBulk(tag)) {
      if (this.carry.length < headerLength + 4) return false;
      const candidate = vr === 'UN' ? { implicit: true, bigEndian: false } : syntax;
      const first = this.u16(headerLength, candidate.bigEndian) * 0x10000 + this.u16(headerLength + 2, candidate.bigEndian);
      if (first === ITEM) itemSyntax = candidate;
    }
    if (!itemSyntax) return this.skipValue(level, tag, headerLength, length, meta);
    this.consume(headerLength);
    level.lastTag = tag;
    this.within(length);
    this.pushSequence(level, this.offset + length, itemSyntax);
    return true;
  }

  private skipValue(level: Level, tag: number, headerLength: number, length: number, meta: boolean): boolean {
    if (meta && tag === 0x00020010) {
      if (this.carry.length < headerLength + length) return false;
      this.transferSyntax =
        this.carry
          .toString('latin1', headerLength, headerLength + length)
          .replace(/[\0 ]+$/, '')
          .trim() || null;
    }
    this.consume(headerLength);
    level.lastTag = tag;
    this.within(length);
    this.skip = length;
    return true;
  }

  private pushSequence(level: Level, end: number | null, syntax: Syntax): void {
    if (level.depth + 1 > MAX_SEQUENCE_DEPTH) throw malformed(`Sequences are nested deeper than ${MAX_SEQUENCE_DEPTH} levels`);
    this.stack.push({ kind: 'sequence', end, syntax, lastTag: -1, depth: level.depth + 1 });
  }
}

/** Pixel, overlay and waveform data: raw values that may start with any bytes, never items. */
const isBulk = (tag: number) => tag >>> 16 === 0x7fe0 || ((tag >>> 16) & 0xff00) === 0x6000 || tag === 0x54001010;

const hex = (tag: number) => `${(tag >>> 16).toString(16).padStart(4, '0')},${(tag & 0xffff).toString(16).padStart(4, '0')}`.toUpperCase();

/**
 * Passes a file's chunks through unchanged, checking its structure on the way (see DicomStructureCheck)
 * and its size against `maxBytes` (TOO_LARGE).
 */
export function checkedStructure(source: AsyncIterator<Buffer>, maxBytes = Number.POSITIVE_INFINITY): AsyncIterator<Buffer> {
  const check = new DicomStructureCheck();
  let total = 0;
  return {
    async next() {
      const next = await source.next();
      try {
        if (next.done) check.finish();
        else {
          total += next.value.length;
          if (total > maxBytes)
            throw new DicomRejected('TOO_LARGE', `The file is larger than this server accepts (${Math.floor(maxBytes / 1024 / 1024)} MB)`);
          // Read in place: the check keeps no chunk beyond the few bytes of an unfinished header.
          check.push(Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value));
        }
      } catch (err) {
        // The file is refused, but the rest of it must still be read: a multipart upload only reaches
        // the next file once this one has been consumed to its end.
        for (let rest = await source.next(); !rest.done; rest = await source.next());
        throw err;
      }
      return next;
    },
    async return(value?: unknown) {
      return source.return ? source.return(value) : { done: true, value: undefined };
    },
  };
}
