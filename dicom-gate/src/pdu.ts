// The DICOM Upper Layer (PS3.8 9.3): the PDUs of an association, read and written as bytes, nothing else.
// Pure and table-tested; every length is checked against what holds it, so a hostile peer gets an error
// (and an abort), never a crash or an allocation of the size it claims.
import { isUid } from '../../common/dicom-syntax.js';

/** PDU types (PS3.8 Table 9-11). */
export const PDU = {
  ASSOCIATE_RQ: 0x01,
  ASSOCIATE_AC: 0x02,
  ASSOCIATE_RJ: 0x03,
  P_DATA_TF: 0x04,
  RELEASE_RQ: 0x05,
  RELEASE_RP: 0x06,
  ABORT: 0x07,
} as const;

/** Presentation context results (PS3.8 Table 9-18). */
export const CONTEXT_RESULT = {
  ACCEPTED: 0,
  USER_REJECTION: 1,
  NO_REASON: 2,
  ABSTRACT_SYNTAX_NOT_SUPPORTED: 3,
  TRANSFER_SYNTAXES_NOT_SUPPORTED: 4,
} as const;

/** A-ASSOCIATE-RJ values (PS3.8 Table 9-21): permanent rejection by the service user, calling AE title not recognized. */
export const REJECT = {
  PERMANENT: 1,
  TRANSIENT: 2,
  SERVICE_USER: 1,
  SERVICE_PROVIDER_PRESENTATION: 3,
  NO_REASON: 1,
  CALLED_AE_NOT_RECOGNIZED: 7,
  CALLING_AE_NOT_RECOGNIZED: 3,
} as const;

/** The DICOM application context, the only one there is. */
export const APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';

/** A malformed or hostile PDU: the association is aborted. */
export class PduError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PduError';
  }
}

/** One PDU: its type and its body (the bytes after the 6-byte header). */
export interface Pdu {
  type: number;
  body: Buffer;
}

/**
 * Cuts a byte stream into PDUs. A PDU longer than `maxPduBytes` (what we advertised, plus the association
 * PDUs' own bound) or of an unknown type is refused before its body is held.
 */
export class PduReader {
  private pending: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxPduBytes: number) {}

  /** Adds bytes; returns the PDUs they complete. */
  push(chunk: Buffer): Pdu[] {
    this.pending.push(chunk);
    this.size += chunk.length;
    // A large PDU arrives in many reads: they are joined once it is whole, not at every read.
    const head = this.pending[0]!;
    if (
      head.length >= 6 &&
      this.size < 6 + head.readUInt32BE(2) &&
      head.readUInt32BE(2) <= this.maxPduBytes &&
      head[0]! >= PDU.ASSOCIATE_RQ &&
      head[0]! <= PDU.ABORT
    )
      return [];
    const out: Pdu[] = [];
    let data = this.pending.length === 1 ? head : Buffer.concat(this.pending);
    let pos = 0;
    while (data.length - pos >= 6) {
      const type = data[pos]!;
      if (type < PDU.ASSOCIATE_RQ || type > PDU.ABORT) throw new PduError(`Unknown PDU type 0x${type.toString(16)}`);
      const length = data.readUInt32BE(pos + 2);
      if (length > this.maxPduBytes) throw new PduError(`PDU of ${length} bytes, more than the ${this.maxPduBytes} allowed`);
      if (data.length - pos - 6 < length) break;
      out.push({ type, body: Buffer.from(data.subarray(pos + 6, pos + 6 + length)) });
      pos += 6 + length;
    }
    data = data.subarray(pos);
    this.pending = data.length ? [data] : [];
    this.size = data.length;
    return out;
  }
}

/** A presentation context proposed by the requester. */
export interface ProposedContext {
  id: number;
  abstractSyntax: string;
  transferSyntaxes: string[];
}

/** What an A-ASSOCIATE-RQ asks. */
export interface AssociateRq {
  calledAe: string;
  callingAe: string;
  applicationContext: string;
  contexts: ProposedContext[];
  /** The largest P-DATA PDU the requester accepts (0: no limit). */
  maxPduLength: number;
  implementationClassUid: string;
  implementationVersionName: string | null;
}

/** Items of a PDU body or of a parent item: type, and the bytes of each. */
function* items(body: Buffer, start: number, headerLength = 4): Generator<{ type: number; value: Buffer }> {
  for (let pos = start; pos < body.length;) {
    if (body.length - pos < headerLength) throw new PduError('An item is cut in its header');
    const type = body[pos]!;
    const length = body.readUInt16BE(pos + 2);
    if (pos + headerLength + length > body.length) throw new PduError(`An item of type 0x${type.toString(16)} runs past its PDU`);
    yield { type, value: body.subarray(pos + headerLength, pos + headerLength + length) };
    pos += headerLength + length;
  }
}

/** AE titles: up to 16 characters of the Default Character Repertoire, no control characters, no backslash. */
const AE = /^[\x20-\x5b\x5d-\x7e]{0,16}$/;

function uid(value: Buffer, what: string): string {
  const text = value.toString('latin1').replace(/\0+$/, '').trim();
  if (!isUid(text)) throw new PduError(`${what} is not a valid UID`);
  return text;
}

function aeTitle(value: Buffer, what: string): string {
  const text = value.toString('latin1');
  if (!AE.test(text)) throw new PduError(`${what} holds characters an AE title may not`);
  const trimmed = text.trim();
  if (!trimmed) throw new PduError(`${what} is empty`);
  return trimmed;
}

/** Reads an A-ASSOCIATE-RQ body; throws PduError on anything malformed. */
export function parseAssociateRq(body: Buffer): AssociateRq {
  if (body.length < 68) throw new PduError('A-ASSOCIATE-RQ shorter than its fixed fields');
  const version = body.readUInt16BE(0);
  if ((version & 0x0001) === 0) throw new PduError('Unsupported protocol version');
  const rq: AssociateRq = {
    calledAe: aeTitle(body.subarray(4, 20), 'Called AE title'),
    callingAe: aeTitle(body.subarray(20, 36), 'Calling AE title'),
    applicationContext: '',
    contexts: [],
    maxPduLength: 0,
    implementationClassUid: '',
    implementationVersionName: null,
  };
  const ids = new Set<number>();
  for (const item of items(body, 68)) {
    if (item.type === 0x10) rq.applicationContext = uid(item.value, 'Application context');
    else if (item.type === 0x20) {
      if (item.value.length < 4) throw new PduError('A presentation context is cut');
      const id = item.value[0]!;
      if (id % 2 === 0 || ids.has(id)) throw new PduError(`Presentation context id ${id} is even or repeated`);
      ids.add(id);
      const context: ProposedContext = { id, abstractSyntax: '', transferSyntaxes: [] };
      for (const sub of items(item.value, 4)) {
        if (sub.type === 0x30) context.abstractSyntax = uid(sub.value, 'Abstract syntax');
        else if (sub.type === 0x40) context.transferSyntaxes.push(uid(sub.value, 'Transfer syntax'));
      }
      if (!context.abstractSyntax || context.transferSyntaxes.length === 0)
        throw new PduError(`Presentation context ${id} lacks its syntaxes`);
      rq.contexts.push(context);
      if (rq.contexts.length > 128) throw new PduError('More than 128 presentation contexts');
    } else if (item.type === 0x50) {
      for (const sub of items(item.value, 0)) {
        if (sub.type === 0x51) {
          if (sub.value.length !== 4) throw new PduError('Maximum length item of the wrong size');
          rq.maxPduLength = sub.value.readUInt32BE(0);
        } else if (sub.type === 0x52) rq.implementationClassUid = uid(sub.value, 'Implementation class UID');
        else if (sub.type === 0x55) rq.implementationVersionName = sub.value.toString('latin1').trim().slice(0, 16) || null;
      }
    }
  }
  if (rq.applicationContext !== APPLICATION_CONTEXT) throw new PduError('Unknown application context');
  if (rq.contexts.length === 0) throw new PduError('No presentation context proposed');
  return rq;
}

/** A PDU: header (type, reserved, length) and body. */
function pdu(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(6);
  header[0] = type;
  header.writeUInt32BE(body.length, 2);
  return Buffer.concat([header, body]);
}

/** A variable item: type, reserved, 16-bit length, value. */
function item(type: number, value: Buffer): Buffer {
  if (value.length > 0xffff) throw new PduError('Item too long');
  const header = Buffer.alloc(4);
  header[0] = type;
  header.writeUInt16BE(value.length, 2);
  return Buffer.concat([header, value]);
}

const ae16 = (title: string) => Buffer.from(title.padEnd(16, ' ').slice(0, 16), 'latin1');

/** The answer to each proposed context. */
export interface ContextAnswer {
  id: number;
  result: number;
  /** The transfer syntax accepted (any of the proposed ones when refused: ignored by the peer). */
  transferSyntax: string;
}

/** An A-ASSOCIATE-AC echoing the request's AE titles, with our answers and our limits. */
export function encodeAssociateAc(
  rq: AssociateRq,
  answers: ContextAnswer[],
  ours: { maxPduLength: number; implementationClassUid: string; implementationVersionName: string },
): Buffer {
  const fixed = Buffer.alloc(68);
  fixed.writeUInt16BE(1, 0);
  ae16(rq.calledAe).copy(fixed, 4);
  ae16(rq.callingAe).copy(fixed, 20);
  const contexts = answers.map((a) => {
    const head = Buffer.from([a.id, 0, a.result, 0]);
    return item(0x21, Buffer.concat([head, item(0x40, Buffer.from(a.transferSyntax, 'latin1'))]));
  });
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(ours.maxPduLength, 0);
  const userInfo = item(
    0x50,
    Buffer.concat([
      item(0x51, maxLength),
      item(0x52, Buffer.from(ours.implementationClassUid, 'latin1')),
      item(0x55, Buffer.from(ours.implementationVersionName.slice(0, 16), 'latin1')),
    ]),
  );
  return pdu(PDU.ASSOCIATE_AC, Buffer.concat([fixed, item(0x10, Buffer.from(APPLICATION_CONTEXT, 'latin1')), ...contexts, userInfo]));
}

/** An A-ASSOCIATE-RJ. */
export function encodeAssociateRj(result: number, source: number, reason: number): Buffer {
  return pdu(PDU.ASSOCIATE_RJ, Buffer.from([0, result, source, reason]));
}

/** A-RELEASE-RP, and A-ABORT from the service provider or user. */
export const encodeReleaseRp = (): Buffer => pdu(PDU.RELEASE_RP, Buffer.alloc(4));
export const encodeAbort = (source = 2, reason = 0): Buffer => pdu(PDU.ABORT, Buffer.from([0, 0, source, reason]));

/** One presentation data value: a fragment of a command or of a dataset, in one context. */
export interface Pdv {
  contextId: number;
  command: boolean;
  last: boolean;
  data: Buffer;
}

/** The PDVs of a P-DATA-TF body. */
export function parsePData(body: Buffer): Pdv[] {
  const out: Pdv[] = [];
  for (let pos = 0; pos < body.length;) {
    if (body.length - pos < 6) throw new PduError('A PDV is cut in its header');
    const length = body.readUInt32BE(pos);
    if (length < 2 || pos + 4 + length > body.length) throw new PduError('A PDV length runs past its PDU');
    const control = body[pos + 5]!;
    if (control & 0xfc) throw new PduError('Unknown bits in a PDV message control header');
    out.push({
      contextId: body[pos + 4]!,
      command: (control & 1) === 1,
      last: (control & 2) === 2,
      data: body.subarray(pos + 6, pos + 4 + length),
    });
    pos += 4 + length;
  }
  if (out.length === 0) throw new PduError('A P-DATA-TF without data');
  return out;
}

/** P-DATA-TF PDUs carrying `data` in one context, each at most `maxPduLength` long (0: one PDU). */
export function encodePData(contextId: number, command: boolean, data: Buffer, maxPduLength: number): Buffer[] {
  // A PDV header is 6 bytes; the PDU's own header is not counted in its length.
  const room = maxPduLength > 0 ? Math.max(maxPduLength - 6, 1) : Math.max(data.length, 1);
  const out: Buffer[] = [];
  for (let pos = 0; pos < data.length || out.length === 0; pos += room) {
    const fragment = data.subarray(pos, pos + room);
    const last = pos + room >= data.length;
    const header = Buffer.alloc(6);
    header.writeUInt32BE(fragment.length + 2, 0);
    header[4] = contextId;
    header[5] = (command ? 1 : 0) | (last ? 2 : 0);
    out.push(pdu(PDU.P_DATA_TF, Buffer.concat([header, fragment])));
  }
  return out;
}
