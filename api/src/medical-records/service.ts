import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { recordAudit, recordListRead, type AuditAction } from '../../../common/audit.js';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';
import { badRequest, notFound } from '../../../common/http/errors.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import { createSealer } from '../../../common/sealer.js';
import * as repo from './repository.js';
import { actorOf, auditTrailPage } from '../db/audit-trail.js';
import type { GuardedWrite } from '../http/representation.js';
import { matchesWords, searchWords } from '../../../common/search.js';
import { toPersonRef } from '../http/people.js';
import {
  ENTRY_TYPES,
  PRESCRIPTION_KEYS,
  type EntryContent,
  type EntryListQuery,
  type EntryPatch,
  type EntryType,
  type Prescription,
} from './schemas.js';

/** The full state of an entry at one version; what history snapshots hold. */
interface Snapshot extends EntryContent {
  type: EntryType;
  recordedAt: string;
}

/** A PATCH's prescription details over the stored ones: undefined keeps them, null removes them, others merge. */
function mergePrescription(stored: Prescription | null, patch: Partial<Prescription> | null | undefined): Prescription | null {
  if (patch === undefined) return stored;
  if (patch === null) return null;
  return { ...stored, ...patch } as Prescription;
}

/** Medical record entries: encrypted at rest, versioned on every change, every access audited. */
export function createMedicalRecordService({ db, config }: Deps) {
  const sealer = createSealer(config.encryption);

  const openEntry = (row: repo.ListedEntryRow) => sealer.open<EntryContent>({ keyId: row.key_id, payload: row.payload }, row.id);

  function toDto(row: repo.ListedEntryRow) {
    const c = openEntry(row);
    return {
      id: row.id,
      patientId: row.patient_id,
      type: row.type,
      title: c.title,
      content: c.content,
      prescription: c.prescription,
      medication: c.prescription?.medication ?? null,
      dosage: c.prescription?.dosage ?? null,
      route: c.prescription?.route ?? null,
      frequency: c.prescription?.frequency ?? null,
      duration: c.prescription?.duration ?? null,
      recordedAt: row.recorded_at.toISOString(),
      version: row.version,
      author: { id: row.author_id, firstName: row.author_first_name, lastName: row.author_last_name, role: row.author_role },
      updatedBy: toPersonRef(row.updated_by, row, 'updated_by'),
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    };
  }

  async function audit(
    trx: Knex | Knex.Transaction,
    auth: Auth,
    meta: RequestMeta,
    action: AuditAction,
    patientId: string,
    entryId: string | null,
    details: Record<string, unknown> = {},
  ) {
    await recordAudit(trx, meta, {
      actor: auth,
      action,
      targetType: entryId ? 'medical_record' : 'patient',
      targetId: entryId ?? patientId,
      patientId,
      details,
    });
  }

  async function writeVersion(
    trx: Knex.Transaction,
    auth: Auth,
    entryId: string,
    version: number,
    change: 'created' | 'updated' | 'deleted',
    fields: string[],
    snapshot: Snapshot,
  ) {
    const sealed = sealer.seal(snapshot, entryId);
    await trx('medical_record_versions').insert({
      entry_id: entryId,
      version,
      change,
      changed_fields: JSON.stringify(fields),
      changed_by: auth.userId,
      key_id: sealed.keyId,
      payload: sealed.payload,
    });
  }

  async function mustFindPatient(trx: Knex | Knex.Transaction, auth: Auth, patientId: string) {
    const patient = await repo.findPatientInMedicalScope(trx, auth, patientId);
    if (!patient) throw notFound('Patient');
    return patient;
  }

  return {
    async create(
      auth: Auth,
      input: { patientId: string; type: EntryType; title: string; content: string; recordedAt?: string; prescription?: Prescription },
      meta: RequestMeta,
    ) {
      const id = randomUUID();
      await db.transaction(async (trx) => {
        await mustFindPatient(trx, auth, input.patientId);
        const recordedAt = input.recordedAt ? new Date(input.recordedAt) : new Date();
        const content: EntryContent = { title: input.title, content: input.content, prescription: input.prescription ?? null };
        const sealed = sealer.seal(content, id);
        await trx('medical_record_entries').insert({
          id,
          patient_id: input.patientId,
          type: input.type,
          recorded_at: recordedAt,
          key_id: sealed.keyId,
          payload: sealed.payload,
          author_id: auth.userId,
          updated_by: auth.userId,
        });
        await writeVersion(
          trx,
          auth,
          id,
          1,
          'created',
          ['type', 'title', 'content', 'recordedAt', ...(input.prescription ? ['prescription'] : [])],
          {
            ...content,
            type: input.type,
            recordedAt: recordedAt.toISOString(),
          },
        );
        await audit(trx, auth, meta, 'medical_record.created', input.patientId, id, { type: input.type });
      });
      return toDto((await repo.findEntry(db, auth, id))!);
    },

    async get(auth: Auth, id: string, meta: RequestMeta) {
      const row = await repo.findEntry(db, auth, id);
      if (!row) throw notFound('Medical record entry');
      await audit(db, auth, meta, 'medical_record.read', row.patient_id, id);
      return toDto(row);
    },

    async list(auth: Auth, q: EntryListQuery, meta: RequestMeta) {
      // Entries are encrypted: `q` is matched on their decrypted text, within the caller's scope (bounded).
      const needle = q.q ? searchWords(q.q) : null;
      const matches = needle
        ? (row: repo.ListedEntryRow) => {
            const c = openEntry(row);
            return matchesWords([c.title, c.content, ...Object.values(c.prescription ?? {})].join('\n'), needle);
          }
        : undefined;
      const page = await repo.listEntries(db, auth, q, matches);
      // Rows come from the caller's scope by construction (and listEntries asks for a patient not deleted): the
      // patient is looked up only for an empty page, to tell an empty record (200) from a patient out of scope
      // (404). One round trip less for every non-empty page.
      if (q.patientId && page.items.length === 0) await mustFindPatient(db, auth, q.patientId);
      await recordListRead(db, meta, auth, 'medical_record.listed', page.items, 'entries');
      return { ...page, items: page.items.map(toDto) };
    },

    /** Applies a change; the previous state stays in the history as the prior version. */
    async update(auth: Auth, id: string, write: GuardedWrite<EntryPatch>, meta: RequestMeta) {
      return db.transaction(async (trx) => {
        const row = await repo.findEntry(trx, auth, id, { forUpdate: true });
        if (!row) throw notFound('Medical record entry');
        const checked = write.against(toDto(row));
        // Sent back as it was read: nothing to write, the answer is a read.
        if (!checked.unchanged) return toDto(await apply(trx, row, checked.body));
        await audit(trx, auth, meta, 'medical_record.read', row.patient_id, id, { unchangedWrite: true });
        return toDto(row);
      });

      async function apply(trx: Knex.Transaction, row: repo.EntryRow, patch: EntryPatch): Promise<repo.EntryRow> {
        const before = openEntry(row);
        const after: EntryContent = {
          title: patch.title ?? before.title,
          content: patch.content ?? before.content,
          prescription: mergePrescription(before.prescription, patch.prescription),
        };
        // The type may change too (versioned like the rest), with the details it requires.
        const type = patch.type ?? row.type;
        const missing = after.prescription ? PRESCRIPTION_KEYS.filter((k) => !after.prescription![k]) : [];
        if (type === 'prescription' && missing.length > 0) {
          throw badRequest(
            'A prescription needs all its details',
            missing.map((k) => ({ field: `prescription.${k}`, message: 'Required' })),
          );
        }
        if (type === 'prescription' && !after.prescription)
          throw badRequest('A prescription needs its details', [{ field: 'prescription', message: 'Required for a prescription' }]);
        if (type !== 'prescription' && after.prescription)
          throw badRequest('Only prescriptions carry prescription details', [
            { field: 'prescription', message: 'Not allowed for this type' },
          ]);
        const recordedAt = patch.recordedAt ? new Date(patch.recordedAt) : row.recorded_at;
        const changed = [
          ...(['title', 'content'] as const).filter((k) => after[k] !== before[k]),
          ...(JSON.stringify(after.prescription) !== JSON.stringify(before.prescription) ? ['prescription'] : []),
          ...(recordedAt.getTime() !== row.recorded_at.getTime() ? ['recordedAt'] : []),
          ...(type !== row.type ? ['type'] : []),
        ];
        // Nothing changed: the answer still carries the entry, so it is audited as a read.
        if (changed.length === 0) {
          await audit(trx, auth, meta, 'medical_record.read', row.patient_id, id, { unchangedWrite: true });
          return row;
        }
        const version = row.version + 1;
        const sealed = sealer.seal(after, id);
        await trx('medical_record_entries').where({ id }).update({
          type,
          key_id: sealed.keyId,
          payload: sealed.payload,
          recorded_at: recordedAt,
          version,
          updated_by: auth.userId,
          updated_at: trx.fn.now(),
        });
        await writeVersion(trx, auth, id, version, 'updated', changed, { ...after, type, recordedAt: recordedAt.toISOString() });
        await audit(trx, auth, meta, 'medical_record.updated', row.patient_id, id, { fields: changed, version });
        return (await repo.findEntry(trx, auth, id))!;
      }
    },

    /** Removes the entry from the record; its whole history stays for the linked doctors. */
    async remove(auth: Auth, id: string, meta: RequestMeta): Promise<void> {
      await db.transaction(async (trx) => {
        const row = await repo.findEntry(trx, auth, id, { forUpdate: true });
        if (!row) throw notFound('Medical record entry');
        const version = row.version + 1;
        await trx('medical_record_entries')
          .where({ id })
          .update({ deleted_at: trx.fn.now(), deleted_by: auth.userId, version, updated_by: auth.userId, updated_at: trx.fn.now() });
        await writeVersion(trx, auth, id, version, 'deleted', [], {
          ...openEntry(row),
          type: row.type,
          recordedAt: row.recorded_at.toISOString(),
        });
        await audit(trx, auth, meta, 'medical_record.deleted', row.patient_id, id, { version });
      });
    },

    /** Every version: who, when, which fields, and the state it had. Deleted entries: doctors only. */
    async history(auth: Auth, id: string, meta: RequestMeta) {
      const row = await repo.findEntry(db, auth, id, { includeDeleted: auth.role === 'doctor' });
      if (!row) throw notFound('Medical record entry');
      const versions: {
        version: number;
        change: 'created' | 'updated' | 'deleted';
        changed_fields: string[];
        changed_at: Date;
        key_id: string;
        payload: string;
        changed_by: string;
        first_name: string;
        last_name: string;
        role: string;
      }[] = await db('medical_record_versions as v')
        .join('users as u', 'u.id', 'v.changed_by')
        .where('v.entry_id', id)
        .orderBy('v.version')
        .select(
          'v.version',
          'v.change',
          'v.changed_fields',
          'v.changed_at',
          'v.key_id',
          'v.payload',
          'v.changed_by',
          'u.first_name',
          'u.last_name',
          'u.role',
        );
      await audit(db, auth, meta, 'medical_record.history_read', row.patient_id, id);
      return {
        entryId: id,
        deleted: row.deleted_at !== null,
        items: versions.map((v) => {
          const s = sealer.open<Snapshot>({ keyId: v.key_id, payload: v.payload }, id);
          return {
            version: v.version,
            change: v.change,
            changedFields: v.changed_fields,
            changedAt: v.changed_at.toISOString(),
            changedBy: { id: v.changed_by, firstName: v.first_name, lastName: v.last_name, role: v.role },
            entry: { type: s.type, title: s.title, content: s.content, prescription: s.prescription, recordedAt: s.recordedAt },
          };
        }),
      };
    },

    /** The whole record of a patient, grouped by entry type. */
    async record(auth: Auth, patientId: string, meta: RequestMeta) {
      const patient = await mustFindPatient(db, auth, patientId);
      const rows = await repo.entriesOfPatient(db, auth, patientId);
      await audit(db, auth, meta, 'medical_record.record_read', patientId, null, { entries: rows.length });
      const entries = Object.fromEntries(ENTRY_TYPES.map((t) => [t, rows.filter((r) => r.type === t).map(toDto)]));
      return {
        patient: {
          id: patient.id,
          identifier: patient.identifier,
          firstName: patient.first_name,
          lastName: patient.last_name,
          birthDate: patient.birth_date,
          sex: patient.sex,
        },
        total: rows.length,
        entries,
      };
    },

    /** Who accessed the caller's own medical data (record entries and images), newest first. */
    async accessLog(auth: Auth, patientId: string, page: { page: number; pageSize: number }) {
      if (patientId !== auth.userId) throw notFound('Patient');
      // Both shapes: an entry about this patient, and a list read that showed it among others.
      const query = db('audit_log as a')
        .where((w) => w.where('a.patient_id', patientId).orWhereRaw('a.patient_ids @> array[?]::uuid[]', [patientId]))
        .where((w) => w.where('a.action', 'like', 'medical\\_record.%').orWhere('a.action', 'like', 'dicom.%'));
      return auditTrailPage(query, page, (r) => ({
        at: r.occurred_at.toISOString(),
        action: r.action,
        entryId: r.target_type === 'medical_record' ? r.target_id : null,
        actor: actorOf(r),
      }));
    },
  };
}
