// The intake: every instance that enters MediConnect passes the same named stages, in this order, before
// Orthanc parses a byte of it — whichever door it came through (an HTTP upload's file or ZIP entry, a
// device's C-STORE):
//
//   read     every byte through the structure check and the size cap; the header read up to group 0020
//   decide   whose instance it is — the door's rule (the patient the uploader chose; the patient a device names)
//   unique   its Study, Series and SOP Instance UIDs are no other patient's
//   confirm  the door's last refusal, if it has one (a device: not into a study its hospital does not follow)
//   prepare  the door's bookkeeping before the store (a device: the receipt naming it)
//   store    streamed to Orthanc; stored only once Orthanc answered
//   record   the door's bookkeeping after the store
//
// A door supplies its rules as an IntakeDoor; the stages, the refusal codes and what an unavailable imaging
// store means are written once, here.
import type { Knex } from 'knex';
import { OrthancError, OrthancUnavailableError, type OrthancClient, type StoredInstance } from '../orthanc.js';
import { rejectionIn } from '../dicom/rejected.js';
import { DicomRejected, drain, rewritePatient, type FoundHeader, type PatientIdentity } from '../dicom/rewrite.js';
import { uidHeldElsewhere } from './ownership.js';

/** Whose an instance is: the identity written into it (null: stored as sent) and the PatientID it is stored under. */
export interface Owner {
  identity: PatientIdentity | null;
  storedPatientId: string;
}

/**
 * What differs between the doors: their rules, as functions of the header read. Each may refuse by throwing
 * DicomRejected. `O` is what the door's `decide` tells its later stages.
 */
export interface IntakeDoor<O extends Owner = Owner> {
  /** Stage `decide`. */
  decide(found: FoundHeader): Promise<O>;
  /** Stage `confirm`, after the UIDs were found to be no one else's. */
  confirm?(found: FoundHeader, owner: O): Promise<void>;
  /** Stage `prepare`, once the instance is admitted and just before it streams to Orthanc. */
  prepare?(found: FoundHeader, owner: O): Promise<void>;
  /** Stage `record`, once Orthanc stored it. */
  record?(stored: StoredInstance, found: FoundHeader, owner: O): Promise<void>;
}

/** What became of one instance. */
export type IntakeResult =
  | { outcome: 'stored'; stored: StoredInstance }
  | { outcome: 'refused'; code: string; reason: string }
  /** Orthanc or its storage could not take it: nothing of it was stored, the door decides what to answer. */
  | { outcome: 'unavailable' };

/** What the stages need. */
export interface IntakeDeps {
  db: Knex;
  orthanc: OrthancClient;
  /** Stage `read` refuses (TOO_LARGE) a file longer than this. */
  maxFileBytes: number;
}

/**
 * The intake of one upload or one association: a function that takes an instance's bytes (a Part-10 file,
 * or a raw dataset that gets its header first) through every stage. Study and series owners looked up by
 * stage `unique` are remembered for the session's other instances, which mostly share them.
 */
export function intakeSession<O extends Owner>(
  deps: IntakeDeps,
  door: IntakeDoor<O>,
): (bytes: AsyncIterable<Buffer>) => Promise<IntakeResult> {
  const { db, orthanc } = deps;
  const holders = new Map<string, Promise<string[]>>();

  const unique = async (found: FoundHeader, owner: Owner): Promise<void> => {
    const conflict = await uidHeldElsewhere(db, found, owner.storedPatientId, holders);
    if (conflict) throw new DicomRejected('UID_CONFLICT', `This ${conflict} already belongs to another patient’s images`);
  };

  return async function intake(bytes) {
    const decided: { found?: FoundHeader; owner?: O } = {};
    let rewritten;
    try {
      rewritten = await rewritePatient(
        bytes,
        async (found) => {
          decided.found = found;
          const owner = (decided.owner = await door.decide(found));
          await unique(found, owner);
          await door.confirm?.(found, owner);
          await door.prepare?.(found, owner);
          return owner.identity;
        },
        { maxFileBytes: deps.maxFileBytes },
      );
    } catch (err) {
      // rewritePatient has read a refused file to its end.
      if (err instanceof DicomRejected) return { outcome: 'refused', code: err.code, reason: err.message };
      throw err;
    }
    let stored: StoredInstance;
    try {
      stored = await orthanc.storeInstance(rewritten.output);
    } catch (err) {
      await drain(rewritten.output).catch(() => undefined);
      // A structural fault found while the bytes streamed to Orthanc: the transfer was cut, nothing stored.
      const rejected = rejectionIn(err);
      if (rejected) return { outcome: 'refused', code: rejected.code, reason: rejected.message };
      if (err instanceof OrthancError && err.status === 400) {
        return {
          outcome: 'refused',
          code: 'INVALID_DICOM',
          reason: 'The imaging store could not read this file (truncated or malformed DICOM)',
        };
      }
      if (err instanceof OrthancUnavailableError || err instanceof OrthancError) return { outcome: 'unavailable' };
      throw err;
    }
    await door.record?.(stored, decided.found!, decided.owner!);
    return { outcome: 'stored', stored };
  };
}
