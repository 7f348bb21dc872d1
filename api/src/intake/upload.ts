import path from 'node:path';
import { Readable } from 'node:stream';
import busboy from 'busboy';
import type { Context } from 'koa';
import type { Entry } from 'unzipper';
import { imagingUnavailable } from '../../../common/orthanc.js';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';
import { AppError, badRequest, notFound } from '../../../common/http/errors.js';
import { findPatientInMedicalScope } from '../medical-records/repository.js';
import { DicomRejected, drain, patientIdentity, type PatientIdentity } from '../../../common/dicom/rewrite.js';
import { forgetEarlierPush } from '../../../common/intake/receipts.js';
import { intakeSession, type IntakeDoor, type IntakeResult } from '../../../common/intake/pipeline.js';
import { identifierInUse } from '../../../common/intake/patients.js';

/** One file of an upload that was stored. */
export interface StoredFile {
  file: string;
  instanceId: string;
  orthancStudyId: string;
  alreadyStored: boolean;
}

/** One file of an upload that was refused, and why. */
export interface RefusedFile {
  file: string;
  code: string;
  reason: string;
}

/** What an upload did, file by file. */
export interface UploadOutcome {
  patientId: string;
  stored: StoredFile[];
  refused: RefusedFile[];
}

/** Files of one upload stored concurrently: overlaps Orthanc's per-file work with the next transfer. */
const MAX_FILES_IN_FLIGHT = 4;
/** Bytes of files held while waiting for a `patientId` sent after them. */
const MAX_BYTES_BEFORE_PATIENT = 32 * 1024 * 1024;

function unsafeEntry(name: string): boolean {
  const normalized = name.replace(/\\/g, '/');
  return normalized.startsWith('/') || /^[A-Za-z]:/.test(normalized) || normalized.split('/').includes('..');
}

/** Inflated bytes under which an entry's ratio is not judged yet (a DICOM header alone compresses well). */
const RATIO_FLOOR_BYTES = 1024 * 1024;
/** Compressed bytes a ZIP parser may have read ahead of the entry it inflates, credited to that entry. */
const READ_AHEAD_BYTES = 256 * 1024;

/** An entry found to be a ZIP bomb while it inflated: the rest of its archive is not read. */
class ZipEntryTooLarge extends DicomRejected {
  constructor(reason: string) {
    super('TOO_LARGE', reason);
  }
}

const isZip = (filename: string, mimeType: string) => /\.zip$/i.test(filename) || /^application\/(x-)?zip(-compressed)?$/i.test(mimeType);

/**
 * Streams a multipart upload (files and/or ZIPs) into Orthanc, one file at a time: each instance's
 * patient identity is rewritten on the fly and refused files are read to their end and dropped, so
 * nothing of them is stored. Stops with 503 when Orthanc or its storage is unavailable.
 */
export async function receiveUpload(deps: Deps, auth: Auth, ctx: Context): Promise<UploadOutcome> {
  if (!ctx.is('multipart/form-data')) {
    throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the files as multipart/form-data (field `patientId`, then the files)');
  }
  const { db, orthanc, config } = deps;
  const outcome: UploadOutcome = { patientId: '', stored: [], refused: [] };
  let identity: PatientIdentity | null = null;
  let patientIdField: string | null = typeof ctx.query.patientId === 'string' ? ctx.query.patientId : null;

  async function resolvePatient(): Promise<PatientIdentity> {
    if (identity) return identity;
    if (!patientIdField || !/^[0-9a-f-]{36}$/i.test(patientIdField)) {
      throw badRequest('Send `patientId` (a patient id) before the files, or as ?patientId=', [
        { field: 'patientId', message: 'Required before the files' },
      ]);
    }
    const patient = await findPatientInMedicalScope(db, auth, patientIdField);
    if (!patient) throw notFound('Patient');
    outcome.patientId = patient.id;
    identity = patientIdentity(patient);
    return identity;
  }

  // The upload's door into the intake (common/intake/pipeline.ts): every file gets the chosen patient's
  // identity, unless it carries another MediConnect patient's identifier (a wrong patient was picked; files
  // from another hospital carry its own IDs and are rewritten).
  let intake: ((bytes: AsyncIterable<Buffer>) => Promise<IntakeResult>) | null = null;
  const uploadDoor = (who: PatientIdentity): IntakeDoor => ({
    async decide(found) {
      const named = found.originalPatientId;
      if (named && named !== who.patientId && (await identifierInUse(db, named))) {
        throw new DicomRejected('WRONG_PATIENT', 'The file belongs to another MediConnect patient');
      }
      return { identity: who, storedPatientId: who.patientId };
    },
    // A receipt left by an earlier push of this instance, deleted since, must not file the upload by that device.
    record: (stored) => forgetEarlierPush(db, stored),
  });

  async function storeOne(stream: AsyncIterable<Buffer>, file: string): Promise<void> {
    const who = await resolvePatient();
    intake ??= intakeSession({ db, orthanc, maxFileBytes: config.upload.maxFileBytes }, uploadDoor(who));
    const result = await intake(stream);
    if (result.outcome === 'refused') return void outcome.refused.push({ file, code: result.code, reason: result.reason });
    if (result.outcome === 'unavailable') {
      throw imagingUnavailable('files stored so far are kept, retry the rest', { stored: outcome.stored.map((s) => s.file) });
    }
    const { stored } = result;
    outcome.stored.push({
      file,
      instanceId: stored.ID,
      orthancStudyId: stored.ParentStudy,
      alreadyStored: stored.Status === 'AlreadyStored',
    });
  }

  /** Why a ZIP entry is refused from its declared sizes (a ZIP bomb), or null. */
  function zipEntryTooLarge(entry: Entry): string | null {
    const { compressedSize, uncompressedSize } = entry.vars as { compressedSize?: number; uncompressedSize?: number };
    if (uncompressedSize && uncompressedSize > config.upload.maxFileBytes) {
      return `The entry is larger than this server accepts (${Math.floor(config.upload.maxFileBytes / 1024 / 1024)} MB)`;
    }
    if (uncompressedSize && compressedSize && uncompressedSize / compressedSize > config.upload.maxZipRatio) {
      return `The entry is compressed more than ${config.upload.maxZipRatio}:1, as only a ZIP bomb is`;
    }
    return null;
  }

  /**
   * An entry's bytes as they inflate, capped whatever its headers say (an entry written with a data
   * descriptor declares no size before its data): past the size cap, or inflated more than the ratio cap
   * against the compressed bytes read since it began, it is refused as TOO_LARGE before more is inflated;
   * `verdict.bomb` then says so to the archive's reader (the refusal itself reaches the file's checks).
   */
  async function* inflationCapped(
    entry: Entry,
    compressedRead: () => number,
    verdict: { bomb: ZipEntryTooLarge | null },
  ): AsyncGenerator<Buffer> {
    const compressedAtStart = compressedRead();
    let inflated = 0;
    for await (const chunk of entry as AsyncIterable<Buffer>) {
      inflated += chunk.length;
      const compressed = compressedRead() - compressedAtStart + READ_AHEAD_BYTES;
      if (inflated > config.upload.maxFileBytes) {
        verdict.bomb = new ZipEntryTooLarge(
          `The entry is larger than this server accepts (${Math.floor(config.upload.maxFileBytes / 1024 / 1024)} MB)`,
        );
      } else if (inflated > RATIO_FLOOR_BYTES && inflated / compressed > config.upload.maxZipRatio) {
        verdict.bomb = new ZipEntryTooLarge(`The entry is compressed more than ${config.upload.maxZipRatio}:1, as only a ZIP bomb is`);
      }
      if (verdict.bomb) throw verdict.bomb;
      yield chunk;
    }
  }

  async function storeZip(stream: Readable, zipName: string): Promise<void> {
    // Loaded on the first ZIP only (~10 MB).
    const { default: unzipper } = await import('unzipper');
    let compressedRead = 0;
    stream.on('data', (chunk: Buffer) => (compressedRead += chunk.length));
    const entries = stream.pipe(unzipper.Parse({ forceStream: true }));
    try {
      for await (const entry of entries as AsyncIterable<Entry>) {
        const name = `${zipName}/${entry.path}`;
        if (entry.type !== 'File') {
          entry.autodrain();
        } else if (unsafeEntry(entry.path)) {
          entry.autodrain();
          outcome.refused.push({ file: name, code: 'UNSAFE_PATH', reason: 'ZIP entry with an absolute or parent (..) path' });
        } else if (/(^|\/)(__MACOSX\/|\.DS_Store$)/.test(entry.path)) {
          entry.autodrain();
        } else if (zipEntryTooLarge(entry)) {
          // Declared sizes are checked before a byte is inflated; sizes that lie are caught while counting.
          await entry.autodrain().promise();
          outcome.refused.push({ file: name, code: 'TOO_LARGE', reason: zipEntryTooLarge(entry)! });
        } else {
          const verdict: { bomb: ZipEntryTooLarge | null } = { bomb: null };
          await storeOne(
            inflationCapped(entry, () => compressedRead, verdict),
            name,
          );
          // Inflating the rest of a bomb to reach the next entry would cost what the cap saves.
          if (verdict.bomb) throw verdict.bomb;
        }
      }
    } catch (err) {
      if (err instanceof AppError) throw err;
      entries.destroy();
      await drain(stream).catch(() => undefined);
      if (err instanceof ZipEntryTooLarge) {
        outcome.refused.push({
          file: zipName,
          code: 'TOO_LARGE',
          reason: 'The archive was not read past an entry refused as a ZIP bomb; entries before it are listed',
        });
        return;
      }
      outcome.refused.push({
        file: zipName,
        code: 'INVALID_ZIP',
        reason: 'The ZIP archive is corrupt or incomplete; entries read before the damage are listed',
      });
    }
  }

  await new Promise<void>((resolve, reject) => {
    const parser = busboy({ headers: ctx.req.headers, limits: { fields: 20, fieldSize: 1024, files: 100_000 } });
    // While Orthanc parses and stores one file, the next one already streams in: a few files in flight,
    // each flowing with backpressure, so memory stays bounded whatever the upload's size.
    const inFlight = new Set<Promise<void>>();
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      // The rest of the request is not wanted: the error middleware answers, then closes the connection
      // once the client has read the answer (closeAfterAnswer).
      ctx.req.unpipe(parser);
      reject(err);
    };
    // A semaphore, not a count of `inFlight`: small files are parsed ahead of their turn, and tasks
    // waiting for a slot must not count as holding one (8 waiting files once deadlocked the upload).
    let running = 0;
    const waiting: (() => void)[] = [];
    const slotFree = (): Promise<void> => {
      if (running < MAX_FILES_IN_FLIGHT) {
        running++;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => waiting.push(resolve));
    };
    const releaseSlot = () => {
      const next = waiting.shift();
      if (next) next();
      else running--;
    };
    // Browsers' FormData keeps the order the page appended fields in; when files come before `patientId`,
    // they are held in memory up to a small bound until it arrives (large uploads must send it first).
    const pending: { name: string; mimeType: string; chunks: Buffer[] }[] = [];
    let pendingBytes = 0;
    const schedule = (file: Readable, name: string, mimeType: string) => {
      const task: Promise<void> = slotFree()
        .then(() => (failed ? drain(file) : isZip(name, mimeType) ? storeZip(file, name) : storeOne(file, name)).finally(releaseSlot))
        .catch((err) => {
          file.resume();
          fail(err);
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    };
    const flushPending = () => {
      for (const p of pending.splice(0)) schedule(Readable.from(p.chunks), p.name, p.mimeType);
    };
    parser.on('field', (name, value, info) => {
      // A part without a filename arrives as a field: if it is not ours, it is a file the client failed
      // to send as one, and the answer must say so rather than ignore it.
      if (name !== 'patientId') {
        if (info.valueTruncated || value.length > 64) {
          outcome.refused.push({
            file: name,
            code: 'NOT_A_FILE',
            reason: 'This part has no filename: it was sent as a form field, not as a file',
          });
        }
        return;
      }
      if (patientIdField) return;
      patientIdField = value.trim();
      flushPending();
    });
    parser.on('file', (_field, file, info) => {
      const name = path.basename(info.filename || 'unnamed').slice(0, 255) || 'unnamed';
      if (patientIdField) return schedule(file, name, info.mimeType);
      const held = { name, mimeType: info.mimeType, chunks: [] as Buffer[] };
      pending.push(held);
      file.on('data', (chunk: Buffer) => {
        pendingBytes += chunk.length;
        if (pendingBytes <= MAX_BYTES_BEFORE_PATIENT) return void held.chunks.push(chunk);
        held.chunks = [];
        fail(
          badRequest('Send `patientId` before the files (or as ?patientId=) for uploads of this size', [
            { field: 'patientId', message: 'Must come before the files' },
          ]),
        );
      });
    });
    parser.on('close', () => {
      if (pending.length > 0) {
        if (!patientIdField) {
          return fail(badRequest('The upload has no `patientId`', [{ field: 'patientId', message: 'Required' }]));
        }
        flushPending();
      }
      const settle = (): Promise<void> => (inFlight.size ? Promise.all(inFlight).then(settle) : Promise.resolve());
      settle().then(() => (failed ? undefined : resolve()), fail);
    });
    parser.on('error', (err) =>
      fail(badRequest(`The upload is incomplete or malformed: ${(err as Error).message}`, null, 'UPLOAD_INCOMPLETE')),
    );
    ctx.req.on('close', () => {
      if (!ctx.req.complete) fail(badRequest('The client aborted the upload', null, 'UPLOAD_INCOMPLETE'));
    });
    ctx.req.pipe(parser);
  });
  if (!identity) await resolvePatient();
  return outcome;
}
