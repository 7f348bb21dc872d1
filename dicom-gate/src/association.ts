// One DICOM association over one socket, as an SCP: negotiation, C-ECHO and C-STORE, release and abort.
// What is accepted and what a stored instance becomes is decided by the handlers; this module only speaks
// the protocol, and keeps going (or aborts this one association) whatever the peer sends.
import { TRANSFER_SYNTAX } from '../../common/dicom-syntax.js';
import type { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import { COMMAND, NO_DATASET, parseCommand, responseTo, STATUS, TAGS, type Command } from './dimse.js';
import {
  CONTEXT_RESULT,
  encodeAbort,
  encodeAssociateAc,
  encodeAssociateRj,
  encodePData,
  encodeReleaseRp,
  parseAssociateRq,
  parsePData,
  PDU,
  PduError,
  PduReader,
  REJECT,
  type AssociateRq,
  type ContextAnswer,
} from './pdu.js';

const VERIFICATION = '1.2.840.10008.1.1';
/** Storage SOP classes live under this root (PS3.4 B.5). */
const STORAGE_ROOT = '1.2.840.10008.5.1.4.1.1.';
const { DEFLATED, IMPLICIT_LE, EXPLICIT_LE } = TRANSFER_SYNTAX;

/** One instance a peer sends: its identifiers from the command, and its dataset's bytes as they arrive. */
export interface IncomingInstance {
  callingAe: string;
  sopClassUid: string;
  sopInstanceUid: string;
  /** The transfer syntax the dataset is encoded in (the context's). */
  transferSyntax: string;
  /** The dataset (no preamble, no meta header), streamed with backpressure on the socket. */
  dataset: Readable;
}

/** What the gate decides; the protocol is this module's. */
export interface AssociationHandlers {
  /** Whether to accept an association from this calling AE title at this address (no: A-ASSOCIATE-RJ). */
  accept(rq: AssociateRq, peer: { address: string }): Promise<boolean>;
  /** Receives one instance; must read `dataset` to its end (or destroy it); resolves with the DIMSE status to answer. */
  store(instance: IncomingInstance): Promise<{ status: number; comment?: string }>;
  /** Something to log (no patient data: AE titles, addresses, reasons). */
  log?(event: string, details: Record<string, unknown>): void;
}

/** Limits of an association. */
export interface AssociationOptions {
  /** The largest PDU we accept (advertised as our maximum length). */
  maxPduLength: number;
  implementationClassUid: string;
  implementationVersionName: string;
  /** Closes an association that sends nothing for this long (the A-ASSOCIATE-RQ included). */
  idleMs: number;
  /**
   * The whole A-ASSOCIATE-RQ must arrive within this long of the connection (PS3.8's ARTIM timer): a peer
   * trickling its request a byte at a time, which the idle timer never sees, holds nothing for long.
   */
  artimMs: number;
}

/** The answer to each proposed context: storage and verification only, any transfer syntax but deflate. */
export function answerContexts(rq: AssociateRq): ContextAnswer[] {
  return rq.contexts.map((c) => {
    const supported = c.abstractSyntax === VERIFICATION || c.abstractSyntax.startsWith(STORAGE_ROOT);
    if (!supported) return { id: c.id, result: CONTEXT_RESULT.ABSTRACT_SYNTAX_NOT_SUPPORTED, transferSyntax: c.transferSyntaxes[0]! };
    const preferred =
      c.abstractSyntax === VERIFICATION
        ? c.transferSyntaxes.find((t) => t === IMPLICIT_LE || t === EXPLICIT_LE)
        : c.transferSyntaxes.find((t) => t !== DEFLATED);
    return preferred
      ? { id: c.id, result: CONTEXT_RESULT.ACCEPTED, transferSyntax: preferred }
      : { id: c.id, result: CONTEXT_RESULT.TRANSFER_SYNTAXES_NOT_SUPPORTED, transferSyntax: c.transferSyntaxes[0]! };
  });
}

/** Serves one association on `socket` until it is released, aborted or closed. */
export function serveAssociation(socket: Socket, handlers: AssociationHandlers, options: AssociationOptions): void {
  // The association PDUs are small; a P-DATA-TF may be as long as we advertised.
  const reader = new PduReader(Math.max(options.maxPduLength, 64 * 1024));
  const log = (event: string, details: Record<string, unknown> = {}) => handlers.log?.(event, { peer: socket.remoteAddress, ...details });
  let rq: AssociateRq | null = null;
  let accepted = new Map<number, string>();
  let peerMaxPdu = 0;
  let command: Buffer[] = [];
  let message: { request: Command; contextId: number; dataset: PassThrough | null; answered: Promise<void> } | null = null;
  let queue = Promise.resolve();
  let closed = false;
  // A device waiting for our answer (Orthanc storing a large instance) is not idle.
  let answering = false;

  const send = (bytes: Buffer) => {
    if (!closed && !socket.destroyed) socket.write(bytes);
  };
  const abort = (why: string) => {
    if (closed) return;
    log('association aborted', { why });
    send(encodeAbort());
    finish(new Error(why));
  };
  const finish = (err?: Error) => {
    if (closed) return;
    closed = true;
    message?.dataset?.destroy(err ?? new Error('The association ended before the dataset'));
    socket.end();
    socket.destroy();
  };
  const artim = setTimeout(() => {
    if (rq || closed) return;
    log('association request timed out');
    finish();
  }, options.artimMs);
  socket.on('close', () => clearTimeout(artim));
  socket.setTimeout(options.idleMs, () => {
    if (!answering) abort('idle');
  });
  socket.on('error', () => finish());
  socket.on('close', () => finish());

  const startMessage = (contextId: number) => {
    const request = parseCommand(Buffer.concat(command));
    command = [];
    const field = request.us(TAGS.COMMAND_FIELD);
    const hasDataset = request.us(TAGS.DATASET_TYPE) !== NO_DATASET;
    const respond = (status: number, comment?: string) => {
      for (const bytes of encodePData(contextId, true, responseTo(request, status, comment), peerMaxPdu)) send(bytes);
    };
    if (field === COMMAND.C_ECHO_RQ && !hasDataset) return respond(STATUS.SUCCESS);
    if (field !== COMMAND.C_STORE_RQ || !hasDataset) throw new PduError(`Unsupported command 0x${(field ?? 0).toString(16)}`);
    const sopClassUid = request.text(TAGS.AFFECTED_SOP_CLASS_UID) ?? '';
    const sopInstanceUid = request.text(TAGS.AFFECTED_SOP_INSTANCE_UID) ?? '';
    // Fragments are queued with backpressure: the socket pauses while the handler has not read them.
    const dataset = new PassThrough({ highWaterMark: 1024 * 1024 });
    dataset.on('drain', () => socket.resume());
    const answered = handlers
      .store({ callingAe: rq!.callingAe, sopClassUid, sopInstanceUid, transferSyntax: accepted.get(contextId)!, dataset })
      .catch((err: Error) => {
        log('store failed', { err: err.message });
        return { status: STATUS.OUT_OF_RESOURCES, comment: 'The instance could not be stored now; retry' };
      })
      .then((outcome) => {
        // A handler that answered early (a refusal) leaves the rest of the dataset to be read and dropped.
        dataset.resume();
        answering = false;
        respond(outcome.status, outcome.comment);
      });
    message = { request, contextId, dataset, answered };
  };

  const onPdu = async (type: number, body: Buffer) => {
    if (!rq) {
      if (type !== PDU.ASSOCIATE_RQ) throw new PduError('Expected an A-ASSOCIATE-RQ');
      const request = parseAssociateRq(body);
      if (!(await handlers.accept(request, { address: socket.remoteAddress ?? '' }))) {
        log('association refused', { callingAe: request.callingAe });
        send(encodeAssociateRj(REJECT.PERMANENT, REJECT.SERVICE_USER, REJECT.CALLING_AE_NOT_RECOGNIZED));
        socket.end();
        closed = true;
        return;
      }
      rq = request;
      peerMaxPdu = request.maxPduLength;
      const answers = answerContexts(request);
      accepted = new Map(answers.filter((a) => a.result === CONTEXT_RESULT.ACCEPTED).map((a) => [a.id, a.transferSyntax]));
      send(encodeAssociateAc(request, answers, options));
      log('association accepted', { callingAe: request.callingAe, contexts: accepted.size });
      return;
    }
    if (type === PDU.P_DATA_TF) {
      for (const pdv of parsePData(body)) {
        if (!accepted.has(pdv.contextId)) throw new PduError(`Data on presentation context ${pdv.contextId}, which was not accepted`);
        if (pdv.command) {
          if (message?.dataset && !message.dataset.writableEnded) throw new PduError('A command in the middle of a dataset');
          if (message) {
            await message.answered;
            message = null;
          }
          command.push(Buffer.from(pdv.data));
          if (command.reduce((n, c) => n + c.length, 0) > 64 * 1024) throw new PduError('A command set larger than any command');
          if (pdv.last) startMessage(pdv.contextId);
        } else {
          if (!message?.dataset || message.dataset.writableEnded || pdv.contextId !== message.contextId)
            throw new PduError('Dataset fragment without its command');
          if (!message.dataset.write(Buffer.from(pdv.data))) socket.pause();
          if (pdv.last) {
            answering = true;
            message.dataset.end();
          }
        }
      }
      return;
    }
    if (type === PDU.RELEASE_RQ) {
      if (message) await message.answered;
      send(encodeReleaseRp());
      log('association released', { callingAe: rq.callingAe });
      socket.end();
      closed = true;
      return;
    }
    if (type === PDU.ABORT) return finish(new Error('aborted by the peer'));
    throw new PduError(`Unexpected PDU type 0x${type.toString(16)}`);
  };

  socket.on('data', (chunk: Buffer) => {
    let pdus;
    try {
      pdus = reader.push(chunk);
    } catch (err) {
      return abort((err as Error).message);
    }
    // PDUs are handled in order, one after the other, whatever each awaits.
    for (const { type, body } of pdus) {
      queue = queue
        .then(() => (closed ? undefined : onPdu(type, body)))
        .catch((err: Error) => abort(err instanceof PduError ? err.message : `internal: ${err.message}`));
    }
  });
}
