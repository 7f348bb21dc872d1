// A raw storage SCU for the gate's tests: it sends a Part-10 file's dataset bytes as they are, parsing
// nothing past the meta header (dcmtk's storescu parses, and crashes on, the hostile files we push).
import net from 'node:net';
import { COMMAND, encodeCommand, TAGS } from '../../dicom-gate/src/dimse.js';
import { encodePData, parsePData, PDU, PduReader } from '../../dicom-gate/src/pdu.js';

/** SOP class, SOP instance, transfer syntax and the dataset (after the meta header) of a Part-10 file. */
export function splitPart10(file: Buffer): { sopClassUid: string; sopInstanceUid: string; transferSyntax: string; dataset: Buffer } {
  let pos = 132;
  const meta = new Map<number, string>();
  while (pos + 8 <= file.length && file.readUInt16LE(pos) === 0x0002) {
    const element = file.readUInt16LE(pos + 2);
    const vr = file.toString('latin1', pos + 4, pos + 6);
    const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
    const length = long ? file.readUInt32LE(pos + 8) : file.readUInt16LE(pos + 6);
    const start = pos + (long ? 12 : 8);
    meta.set(element, file.toString('latin1', start, start + length).replace(/[\0 ]+$/, ''));
    pos = start + length;
  }
  return {
    sopClassUid: meta.get(0x0002)!,
    sopInstanceUid: meta.get(0x0003)!,
    transferSyntax: meta.get(0x0010)!,
    dataset: file.subarray(pos),
  };
}

/** The Status (0000,0900) of a response command set, read element by element. */
function statusOf(command: Buffer): number | null {
  for (let pos = 0; pos + 8 <= command.length; pos += 8 + command.readUInt32LE(pos + 4)) {
    if (command.readUInt16LE(pos) === 0 && command.readUInt16LE(pos + 2) === 0x0900) return command.readUInt16LE(pos + 8);
  }
  return null;
}

const item = (type: number, value: Buffer) => {
  const header = Buffer.from([type, 0, 0, 0]);
  header.writeUInt16BE(value.length, 2);
  return Buffer.concat([header, value]);
};

/** An A-ASSOCIATE-RQ proposing one abstract syntax and one transfer syntax per context, as dcmtk lays it out. */
export function associateRq(callingAe: string, contexts: { id: number; sopClassUid: string; transferSyntax: string }[]): Buffer {
  const fixed = Buffer.alloc(68);
  fixed.writeUInt16BE(1, 0);
  fixed.write('MEDICONNECT'.padEnd(16), 4, 'latin1');
  fixed.write(callingAe.padEnd(16), 20, 'latin1');
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(64 * 1024, 0);
  const body = Buffer.concat([
    fixed,
    item(0x10, Buffer.from('1.2.840.10008.3.1.1.1')),
    ...contexts.map((c) =>
      item(
        0x20,
        Buffer.concat([Buffer.from([c.id, 0, 0, 0]), item(0x30, Buffer.from(c.sopClassUid)), item(0x40, Buffer.from(c.transferSyntax))]),
      ),
    ),
    item(0x50, item(0x51, maxLength)),
  ]);
  const header = Buffer.alloc(6);
  header[0] = PDU.ASSOCIATE_RQ;
  header.writeUInt32BE(body.length, 2);
  return Buffer.concat([header, body]);
}

/** What a push did: whether the association was accepted, and each instance's DIMSE status (null: no answer). */
export interface PushResult {
  accepted: boolean;
  statuses: (number | null)[];
}

/**
 * Pushes Part-10 files in one association, one C-STORE each, and releases it. `abortAfter` sends only that
 * many bytes of the last file's dataset, then an A-ABORT.
 */
export function rawPush(port: number, callingAe: string, files: Buffer[], options: { abortAfter?: number } = {}): Promise<PushResult> {
  const parts = files.map(splitPart10);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const reader = new PduReader(16 * 1024 * 1024);
    const result: PushResult = { accepted: false, statuses: [] };
    let peerMax = 16 * 1024;
    let next = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 60 s (${JSON.stringify(result)})`));
    }, 60_000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const sendNext = () => {
      if (next >= parts.length) return void socket.write(Buffer.from([PDU.RELEASE_RQ, 0, 0, 0, 0, 4, 0, 0, 0, 0]));
      const p = parts[next]!;
      const contextId = 2 * next + 1;
      const command = encodeCommand([
        [TAGS.AFFECTED_SOP_CLASS_UID, { uid: p.sopClassUid }],
        [TAGS.COMMAND_FIELD, { us: COMMAND.C_STORE_RQ }],
        [TAGS.MESSAGE_ID, { us: next + 1 }],
        [TAGS.PRIORITY, { us: 0 }],
        [TAGS.DATASET_TYPE, { us: 0 }],
        [TAGS.AFFECTED_SOP_INSTANCE_UID, { uid: p.sopInstanceUid }],
      ]);
      for (const pdu of encodePData(contextId, true, command, peerMax)) socket.write(pdu);
      const last = next === parts.length - 1;
      if (last && options.abortAfter !== undefined) {
        for (const pdu of encodePData(contextId, false, p.dataset.subarray(0, options.abortAfter), peerMax))
          socket.write(pdu.subarray(0, pdu.length));
        socket.write(Buffer.from([PDU.ABORT, 0, 0, 0, 0, 4, 0, 0, 0, 0]));
        result.statuses.push(null);
        setTimeout(finish, 200);
        return;
      }
      for (const pdu of encodePData(contextId, false, p.dataset, peerMax)) socket.write(pdu);
    };
    socket.on('connect', () =>
      socket.write(
        associateRq(
          callingAe,
          parts.map((p, i) => ({ id: 2 * i + 1, sopClassUid: p.sopClassUid, transferSyntax: p.transferSyntax })),
        ),
      ),
    );
    socket.on('data', (chunk: Buffer) => {
      for (const { type, body } of reader.push(chunk)) {
        if (type === PDU.ASSOCIATE_AC) {
          result.accepted = true;
          // The acceptor's maximum PDU length, in its user information (item 0x51), bounds what we send.
          const at = body.indexOf(Buffer.from([0x51, 0, 0, 4]));
          if (at >= 0) peerMax = body.readUInt32BE(at + 4) || peerMax;
          sendNext();
        } else if (type === PDU.P_DATA_TF) {
          for (const pdv of parsePData(body)) {
            if (!pdv.command || !pdv.last) continue;
            result.statuses.push(statusOf(Buffer.from(pdv.data)));
            next++;
            sendNext();
          }
        } else {
          // A-ASSOCIATE-RJ, A-RELEASE-RP or A-ABORT: the association is over.
          return finish();
        }
      }
    });
    socket.on('error', () => finish());
    socket.on('close', () => finish());
  });
}
