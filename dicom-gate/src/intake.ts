// What becomes of one pushed instance: the same intake as an upload through the API, before Orthanc
// parses a byte. The dataset gets its Part-10 header, streams through the structure check and the size
// cap, its header is read (only up to group 0020) to decide whose it is, its UIDs are checked against
// every other patient's images, and only then is it streamed to Orthanc. The device hears "success"
// only once Orthanc has stored it.
import type { Knex } from 'knex';
import { followedByHospital, studyOwned } from '../../common/access.js';
import { holdersOf, uidHeldElsewhere } from '../../common/dicom/ownership.js';
import { part10Header } from '../../common/dicom/part10.js';
import { rejectionIn } from '../../common/dicom/rejected.js';
import { writeReceipt } from '../../common/dicom/receipts.js';
import {
  DicomRejected,
  drain,
  patientIdentity,
  rewritePatient,
  type FoundHeader,
  type PatientIdentity,
} from '../../common/dicom/rewrite.js';
import { OrthancError, orthancInstanceId, OrthancUnavailableError, type OrthancClient } from '../../common/orthanc.js';
import type { IncomingInstance } from './association.js';
import type { Device } from './devices.js';
import { STATUS } from './dimse.js';

/** The outcome of one instance: the DIMSE status answered, and the refusal's code (none when stored). */
export interface IntakeOutcome {
  status: number;
  comment?: string;
  code?: string;
  bytes: number;
}

/** DIMSE statuses for our refusal codes: not authorized (the images of another), no room, or cannot understand. */
export function statusOf(code: string): number {
  if (code === 'UID_CONFLICT' || code === 'NOT_AUTHORIZED') return STATUS.REFUSED_NOT_AUTHORIZED;
  if (code === 'TOO_LARGE') return STATUS.OUT_OF_RESOURCES;
  return STATUS.CANNOT_UNDERSTAND;
}

/** A matched patient: its account id and the identity written into its instances. */
interface Matched {
  userId: string;
  identity: PatientIdentity;
}

/** The patient a device's PatientID names, if a live doctor of the device's hospital follows it. */
async function matchPatient(db: Knex, device: Device, dicomPatientId: string | null): Promise<{ named: boolean; matched: Matched | null }> {
  const id = dicomPatientId?.trim();
  if (!id) return { named: false, matched: null };
  const patient:
    { user_id: string; identifier: string; first_name: string; last_name: string; birth_date: string; sex: string } | undefined = await db(
    'patients as p',
  )
    .join('users as u', 'u.id', 'p.user_id')
    .where('p.identifier', id)
    .whereNull('u.deleted_at')
    .first('p.user_id', 'p.identifier', 'u.first_name', 'u.last_name', 'p.birth_date', 'p.sex');
  if (!patient) return { named: false, matched: null };
  if (!(await followedByHospital(db, device.hospitalId, patient.user_id))) return { named: true, matched: null };
  return { named: true, matched: { userId: patient.user_id, identity: patientIdentity(patient) } };
}

/** One association's intake: study and series owners are looked up once for all its instances. */
export function createIntake(deps: { db: Knex; orthanc: OrthancClient; maxFileBytes: number }, device: Device) {
  const { db, orthanc } = deps;
  const holders = new Map<string, Promise<string[]>>();

  /**
   * Whose instance this is, or why it is refused. A PatientID of a patient the device's hospital follows
   * gets that patient's identity (the whole patient module); anything else is stored as sent and waits in
   * the quarantine, except into a study that already belongs to someone: a push never changes who owns
   * an image, nor adds to another hospital's patient's study.
   */
  const decide = async (found: FoundHeader): Promise<{ identity: PatientIdentity | null; storedPatientId: string }> => {
    const { named, matched } = await matchPatient(db, device, found.originalPatientId);
    const storedPatientId = matched ? matched.identity.patientId : (found.originalPatientId ?? '').trim();
    const conflict = await uidHeldElsewhere(db, found, storedPatientId, holders);
    if (conflict) throw new DicomRejected('UID_CONFLICT', `Its ${conflict} belongs to another patient's images`);
    if (!matched && found.studyInstanceUid) {
      const owned = await studyOwned(db, found.studyInstanceUid);
      // A study indexed under a patient, or already stored under a MediConnect patient's ID (not indexed yet).
      if (owned || (named && (await holdersOf(db, 'study', found.studyInstanceUid)).length > 0)) {
        throw new DicomRejected('NOT_AUTHORIZED', 'Its study belongs to a patient this device’s hospital does not follow');
      }
    }
    return { identity: matched?.identity ?? null, storedPatientId };
  };

  /** Receives one instance from the association and answers its status; never throws for what the device sent. */
  return async function store(instance: IncomingInstance): Promise<IntakeOutcome> {
    let bytes = 0;
    const header = part10Header({
      transferSyntax: instance.transferSyntax,
      sopClassUid: instance.sopClassUid,
      sopInstanceUid: instance.sopInstanceUid,
    });
    async function* file(): AsyncGenerator<Buffer> {
      yield header;
      for await (const chunk of instance.dataset as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        yield chunk;
      }
    }
    let receipt: string | null = null;
    let storedPatientId = '';
    let rewritten;
    try {
      rewritten = await rewritePatient(
        file(),
        async (found) => {
          const decision = await decide(found);
          storedPatientId = decision.storedPatientId;
          // Written before the store, so the indexer never sees the instance without its device.
          receipt = orthancInstanceId(storedPatientId, found.studyInstanceUid!, found.seriesInstanceUid!, found.sopInstanceUid!);
          await writeReceipt(db, receipt, device);
          return decision.identity;
        },
        { maxFileBytes: deps.maxFileBytes },
      );
    } catch (err) {
      await drain(instance.dataset).catch(() => undefined);
      if (err instanceof DicomRejected) return { status: statusOf(err.code), comment: err.message, code: err.code, bytes };
      throw err;
    }
    try {
      const stored = await orthanc.storeInstance(rewritten.output);
      if (stored.ID !== receipt) {
        // Orthanc read the identifiers otherwise than we did: the receipt follows Orthanc's id.
        await writeReceipt(db, stored.ID, device);
      }
      return { status: STATUS.SUCCESS, bytes };
    } catch (err) {
      await drain(rewritten.output).catch(() => undefined);
      await drain(instance.dataset).catch(() => undefined);
      // A structural fault found while the dataset streamed to Orthanc: the transfer was cut, nothing stored.
      const rejected = rejectionIn(err);
      if (rejected) return { status: statusOf(rejected.code), comment: rejected.message, code: rejected.code, bytes };
      if (err instanceof OrthancError && err.status === 400)
        return {
          status: STATUS.CANNOT_UNDERSTAND,
          comment: 'The imaging store could not read this instance',
          code: 'INVALID_DICOM',
          bytes,
        };
      if (err instanceof OrthancUnavailableError || err instanceof OrthancError)
        return { status: STATUS.OUT_OF_RESOURCES, comment: 'The imaging store is unavailable; retry', code: 'IMAGING_UNAVAILABLE', bytes };
      throw err;
    }
  };
}
