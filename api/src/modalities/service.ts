import type { Knex } from 'knex';
import { recordAudit } from '../../../common/audit.js';
import { conflict, notFound } from '../../../common/http/errors.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';

interface ModalityRow {
  id: string;
  hospital_id: string;
  ae_title: string;
  host: string;
  port: number;
  description: string | null;
  is_active: boolean;
  created_at: Date;
  updated_at: Date;
}

/** The JSON of a modality (the one place that shapes it). */
export const presentModality = (r: ModalityRow) => ({
  id: r.id,
  hospitalId: r.hospital_id,
  aeTitle: r.ae_title,
  host: r.host,
  port: r.port,
  description: r.description,
  isActive: r.is_active,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

/** A hospital admin's registry of its hospital's DICOM devices. */
export function createModalityService({ db }: Deps) {
  const scoped = (auth: Auth, q: Knex | Knex.Transaction = db) =>
    q('modalities').whereNull('deleted_at').where({ hospital_id: auth.hospitalId });
  const find = async (auth: Auth, id: string, trx: Knex | Knex.Transaction = db): Promise<ModalityRow> => {
    const row = await scoped(auth, trx).where({ id }).forUpdate().first('*');
    if (!row) throw notFound('Modality');
    return row;
  };
  const duplicate = () =>
    conflict('AE_TITLE_TAKEN', 'A device with this AE title is already registered', [{ field: 'aeTitle', message: 'Already registered' }]);
  const uniqueViolation = (err: unknown) => (err as { constraint?: string }).constraint === 'modalities_ae_title_unique';

  return {
    async list(auth: Auth) {
      const rows: ModalityRow[] = await scoped(auth).orderBy('ae_title').select('*');
      return { items: rows.map(presentModality) };
    },

    async get(auth: Auth, id: string) {
      return presentModality(await find(auth, id));
    },

    /** Registers a device: the device gate accepts it from its next association (it reads the registry each time). */
    async create(
      auth: Auth,
      body: { aeTitle: string; host: string; port: number; description?: string | null; isActive?: boolean },
      meta: RequestMeta,
    ) {
      try {
        return await db.transaction(async (trx) => {
          const [row]: ModalityRow[] = await trx('modalities')
            .insert({
              hospital_id: auth.hospitalId,
              ae_title: body.aeTitle,
              host: body.host,
              port: body.port,
              description: body.description ?? null,
              is_active: body.isActive ?? true,
              created_by: auth.userId,
            })
            .returning('*');
          await recordAudit(trx, meta, {
            actor: auth,
            action: 'modality.created',
            targetType: 'modality',
            targetId: row!.id,
            hospitalId: auth.hospitalId,
            details: { aeTitle: row!.ae_title },
          });
          return presentModality(row!);
        });
      } catch (err) {
        if (uniqueViolation(err)) throw duplicate();
        throw err;
      }
    },

    async update(
      auth: Auth,
      id: string,
      body: Partial<{ aeTitle: string; host: string; port: number; description: string | null; isActive: boolean }>,
      meta: RequestMeta,
    ) {
      try {
        return await db.transaction(async (trx) => {
          await find(auth, id, trx);
          const changes: Record<string, unknown> = { updated_at: trx.fn.now() };
          if (body.aeTitle !== undefined) changes.ae_title = body.aeTitle;
          if (body.host !== undefined) changes.host = body.host;
          if (body.port !== undefined) changes.port = body.port;
          if (body.description !== undefined) changes.description = body.description;
          if (body.isActive !== undefined) changes.is_active = body.isActive;
          const [row]: ModalityRow[] = await trx('modalities').where({ id }).update(changes).returning('*');
          await recordAudit(trx, meta, {
            actor: auth,
            action: 'modality.updated',
            targetType: 'modality',
            targetId: id,
            hospitalId: auth.hospitalId,
            details: { fields: Object.keys(body) },
          });
          return presentModality(row!);
        });
      } catch (err) {
        if (uniqueViolation(err)) throw duplicate();
        throw err;
      }
    },

    async remove(auth: Auth, id: string, meta: RequestMeta): Promise<void> {
      await db.transaction(async (trx) => {
        const row = await find(auth, id, trx);
        await trx('modalities').where({ id }).update({ deleted_at: trx.fn.now(), is_active: false, updated_at: trx.fn.now() });
        await recordAudit(trx, meta, {
          actor: auth,
          action: 'modality.deleted',
          targetType: 'modality',
          targetId: id,
          hospitalId: auth.hospitalId,
          details: { aeTitle: row.ae_title },
        });
      });
    },
  };
}
