// What becomes of one pushed instance: the device gate's door into the intake every upload through the
// API also passes (common/intake/pipeline.ts), before Orthanc parses a byte. The dataset gets its Part-10
// header; the device's rules decide whose it is; the device hears "success" only once Orthanc stored it.
import type { Knex } from 'knex';
import { followedByHospital, studyOwned } from '../../common/access.js';
import { holdersOf } from '../../common/intake/ownership.js';
import { patientByIdentifier } from '../../common/intake/patients.js';
import { intakeSession, type IntakeDoor, type Owner } from '../../common/intake/pipeline.js';
import { writeReceipt } from '../../common/intake/receipts.js';
import { part10Header } from '../../common/dicom/part10.js';
import { DicomRejected, drain, type FoundHeader } from '../../common/dicom/rewrite.js';
import { orthancInstanceId, type OrthancClient } from '../../common/orthanc.js';
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

/**
 * A device's rules. A PatientID of a patient the device's hospital follows gets that patient's identity
 * (the whole patient module); anything else is stored as sent and waits in the quarantine, except into a
 * study that already belongs to someone: a push never changes who owns an image, nor adds to another
 * hospital's patient's study. The receipt naming the device is written before the store, so the indexer
 * never sees the instance without it.
 */
function deviceDoor(db: Knex, device: Device): IntakeDoor<Owner & { named: boolean }> {
  return {
    async decide(found) {
      const id = found.originalPatientId?.trim();
      const patient = id ? await patientByIdentifier(db, id) : null;
      if (patient && (await followedByHospital(db, device.hospitalId, patient.userId))) {
        return { identity: patient.identity, storedPatientId: patient.identity.patientId, named: true };
      }
      return { identity: null, storedPatientId: id ?? '', named: patient !== null };
    },
    async confirm(found, owner) {
      if (owner.identity || !found.studyInstanceUid) return;
      // A study indexed under a patient, or already stored under a MediConnect patient's ID (not indexed yet).
      if (
        (await studyOwned(db, found.studyInstanceUid)) ||
        (owner.named && (await holdersOf(db, 'study', found.studyInstanceUid)).length > 0)
      ) {
        throw new DicomRejected('NOT_AUTHORIZED', 'Its study belongs to a patient this device’s hospital does not follow');
      }
    },
    prepare: (found, owner) => writeReceipt(db, receiptId(found, owner.storedPatientId), device),
    async record(stored, found, owner) {
      // Orthanc read the identifiers otherwise than we did: the receipt follows Orthanc's id.
      if (stored.ID !== receiptId(found, owner.storedPatientId)) await writeReceipt(db, stored.ID, device);
    },
  };
}

/** The id Orthanc gives an instance: SHA-1 of its PatientID and UIDs (stage `read` refuses a file without them). */
function receiptId(found: FoundHeader, patientId: string): string {
  return orthancInstanceId(patientId, found.studyInstanceUid!, found.seriesInstanceUid!, found.sopInstanceUid!);
}

/** One association's intake: study and series owners are looked up once for all its instances. */
export function createIntake(deps: { db: Knex; orthanc: OrthancClient; maxFileBytes: number }, device: Device) {
  const intake = intakeSession(deps, deviceDoor(deps.db, device));

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
    const result = await intake(file());
    if (result.outcome === 'stored') return { status: STATUS.SUCCESS, bytes };
    // The association reads on to the next command: whatever of this dataset is left is read and dropped.
    await drain(instance.dataset).catch(() => undefined);
    if (result.outcome === 'unavailable') {
      return { status: STATUS.OUT_OF_RESOURCES, comment: 'The imaging store is unavailable; retry', code: 'IMAGING_UNAVAILABLE', bytes };
    }
    return { status: statusOf(result.code), comment: result.reason, code: result.code, bytes };
  };
}
