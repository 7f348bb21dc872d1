// DIMSE command sets (PS3.7 6.3, 9.3): group 0000 elements, always implicit VR little endian. Pure.
import { PduError } from './pdu.js';

/** Command fields (PS3.7 Table E.1-1). */
export const COMMAND = { C_STORE_RQ: 0x0001, C_STORE_RSP: 0x8001, C_ECHO_RQ: 0x0030, C_ECHO_RSP: 0x8030 } as const;
/** CommandDataSetType: no dataset follows. */
export const NO_DATASET = 0x0101;
/** Statuses answered by the gate (PS3.7 Annex C, PS3.4 B.2.3). */
export const STATUS = {
  SUCCESS: 0x0000,
  REFUSED_NOT_AUTHORIZED: 0x0124,
  OUT_OF_RESOURCES: 0xa700,
  DATASET_DOES_NOT_MATCH: 0xa900,
  CANNOT_UNDERSTAND: 0xc000,
} as const;

const tag = (group: number, element: number) => group * 0x10000 + element;
export const TAGS = {
  GROUP_LENGTH: tag(0, 0x0000),
  AFFECTED_SOP_CLASS_UID: tag(0, 0x0002),
  COMMAND_FIELD: tag(0, 0x0100),
  MESSAGE_ID: tag(0, 0x0110),
  MESSAGE_ID_BEING_RESPONDED_TO: tag(0, 0x0120),
  PRIORITY: tag(0, 0x0700),
  DATASET_TYPE: tag(0, 0x0800),
  STATUS: tag(0, 0x0900),
  ERROR_COMMENT: tag(0, 0x0902),
  AFFECTED_SOP_INSTANCE_UID: tag(0, 0x1000),
} as const;

/** A command set's elements by tag; the few it needs read through the helpers. */
export class Command {
  constructor(readonly elements: ReadonlyMap<number, Buffer>) {}

  /** An unsigned short element, or null. */
  us(t: number): number | null {
    const v = this.elements.get(t);
    return v && v.length === 2 ? v.readUInt16LE(0) : null;
  }

  /** A text element (UI, AE…), trailing padding removed, or null. */
  text(t: number): string | null {
    const v = this.elements.get(t);
    return v ? v.toString('latin1').replace(/[\0 ]+$/, '') : null;
  }
}

/** Most a command set may hold: a few elements of short values. */
const MAX_COMMAND_BYTES = 64 * 1024;

/** Reads a command set; throws PduError when it is not one. */
export function parseCommand(data: Buffer): Command {
  if (data.length > MAX_COMMAND_BYTES) throw new PduError('A command set larger than any command');
  const elements = new Map<number, Buffer>();
  let last = -1;
  for (let pos = 0; pos < data.length;) {
    if (data.length - pos < 8) throw new PduError('A command element is cut in its header');
    const t = data.readUInt16LE(pos) * 0x10000 + data.readUInt16LE(pos + 2);
    const length = data.readUInt32LE(pos + 4);
    if (t >>> 16 !== 0) throw new PduError('A command set holds an element outside group 0000');
    if (t <= last) throw new PduError('Command elements out of order or repeated');
    if (length > data.length - pos - 8) throw new PduError('A command element runs past its command set');
    elements.set(t, data.subarray(pos + 8, pos + 8 + length));
    last = t;
    pos += 8 + length;
  }
  const command = new Command(elements);
  if (command.us(TAGS.COMMAND_FIELD) === null || command.us(TAGS.MESSAGE_ID) === null)
    throw new PduError('A command without its field or message id');
  return command;
}

/** A value of a command element: an unsigned short, or text (padded to even length with a NUL for UIDs). */
export type CommandValue = { us: number } | { uid: string } | { text: string };

/** Encodes a command set (with its group length), elements in ascending order. */
export function encodeCommand(values: [number, CommandValue][]): Buffer {
  const body = values
    .sort((a, b) => a[0] - b[0])
    .map(([t, v]) => {
      let value: Buffer;
      if ('us' in v) {
        value = Buffer.alloc(2);
        value.writeUInt16LE(v.us, 0);
      } else {
        const text = 'uid' in v ? v.uid : v.text;
        value = Buffer.from(text.length % 2 ? `${text}${'uid' in v ? '\0' : ' '}` : text, 'latin1');
      }
      const header = Buffer.alloc(8);
      header.writeUInt16LE(t >>> 16, 0);
      header.writeUInt16LE(t & 0xffff, 2);
      header.writeUInt32LE(value.length, 4);
      return Buffer.concat([header, value]);
    });
  const content = Buffer.concat(body);
  const groupLength = Buffer.alloc(12);
  groupLength.writeUInt32LE(4, 4);
  groupLength.writeUInt32LE(content.length, 8);
  return Buffer.concat([groupLength, content]);
}

/** The response to a C-STORE or C-ECHO request. */
export function responseTo(request: Command, status: number, comment?: string): Buffer {
  const field = request.us(TAGS.COMMAND_FIELD) === COMMAND.C_STORE_RQ ? COMMAND.C_STORE_RSP : COMMAND.C_ECHO_RSP;
  const values: [number, CommandValue][] = [
    [TAGS.AFFECTED_SOP_CLASS_UID, { uid: request.text(TAGS.AFFECTED_SOP_CLASS_UID) ?? '' }],
    [TAGS.COMMAND_FIELD, { us: field }],
    [TAGS.MESSAGE_ID_BEING_RESPONDED_TO, { us: request.us(TAGS.MESSAGE_ID)! }],
    [TAGS.DATASET_TYPE, { us: NO_DATASET }],
    [TAGS.STATUS, { us: status }],
  ];
  if (comment && status !== STATUS.SUCCESS) values.push([TAGS.ERROR_COMMENT, { text: comment.slice(0, 64) }]);
  const instance = request.text(TAGS.AFFECTED_SOP_INSTANCE_UID);
  if (field === COMMAND.C_STORE_RSP && instance) values.push([TAGS.AFFECTED_SOP_INSTANCE_UID, { uid: instance }]);
  return encodeCommand(values);
}
