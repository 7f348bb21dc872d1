import pg from 'pg';
import { refreshStudy } from '../../api/src/dicom/index-sync.js';
import { createKnex } from '../../common/db.js';
import type { OrthancClient } from '../../common/orthanc.js';
import { indexDb, type DataLocation } from './backup.js';
import { objectStore } from './object-store.js';

/** What one repair pass found and (unless a dry run) put right. Counts only: keys name patients. */
export interface RepairReport {
  dryRun: boolean;
  /** Storage-plugin rows whose attachment Orthanc's index does not know (Orthanc died before committing). */
  orphanKeys: number;
  /** Objects no storage row names (Orthanc died between writing the object and its row), incl. `.tmp-` leftovers. */
  orphanObjects: number;
  /** Studies Orthanc holds that our index lacked (the API died before indexing its upload). */
  studiesIndexed: number;
  /** Index rows (studies or series) whose images Orthanc no longer holds. */
  studiesRefreshed: number;
  /** Cached series metadata of series Orthanc no longer holds. */
  metadataDropped: number;
  /** Device-gate receipts of instances Orthanc does not hold (deleted since, or a push that failed after its receipt). */
  receiptsDropped: number;
  /** Studies whose size or instance count differed from what Orthanc holds (e.g. files sent again after a crash). */
  sizesCorrected: number;
}

const BATCH = 500;

/**
 * Finds and removes what a process killed in the middle of an upload can leave behind, and brings the study
 * index in line with Orthanc. Anything younger than `graceSeconds` is left alone: it may belong to an upload
 * still in flight (the storage plugin writes the object, then its row, then Orthanc commits its index).
 * Refuses to run when the index database it reads is not the one Orthanc uses (it would see every row as an
 * orphan). Idempotent; safe while the services run.
 */
export async function repair(
  location: DataLocation,
  orthanc: OrthancClient,
  options: { graceSeconds: number; dryRun?: boolean },
): Promise<RepairReport> {
  const report: RepairReport = {
    dryRun: options.dryRun ?? false,
    orphanKeys: 0,
    orphanObjects: 0,
    studiesIndexed: 0,
    studiesRefreshed: 0,
    metadataDropped: 0,
    receiptsDropped: 0,
    sizesCorrected: 0,
  };
  const apply = !report.dryRun;
  const clinical = new pg.Client({ ...location.db });
  const index = new pg.Client({ ...location.db, database: indexDb(location) });
  const knex = createKnex({
    db: {
      name: location.db.database,
      user: location.db.user,
      password: location.db.password,
      host: location.db.host,
      port: location.db.port,
      poolMax: 2,
    },
  });
  const store = objectStore(location.storage);
  await clinical.connect();
  await index.connect();
  try {
    await assertSameIndex(index, orthanc);
    const cutoff = new Date(Date.now() - options.graceSeconds * 1000);
    const known = async (ids: string[]) =>
      new Set(
        (await index.query<{ publicid: string }>('select publicid from resources where publicid = any($1::text[])', [ids])).rows.map(
          (r) => r.publicid,
        ),
      );

    // 1. Storage rows without an attachment in Orthanc's index, and their objects unless another row shares them.
    for (let after = ''; ;) {
      const rows = (
        await clinical.query<{ uuid: string; object_key: string | null }>(
          'select uuid, object_key from orthanc_storage_keys where uuid > $1 and created_at < $2 order by uuid limit $3',
          [after, cutoff, BATCH],
        )
      ).rows;
      if (rows.length === 0) break;
      after = rows.at(-1)!.uuid;
      const attached = new Set(
        (
          await index.query<{ uuid: string }>('select uuid from attachedfiles where uuid = any($1::text[])', [rows.map((r) => r.uuid)])
        ).rows.map((r) => r.uuid),
      );
      const orphans = rows.filter((r) => !attached.has(r.uuid));
      report.orphanKeys += orphans.length;
      if (!apply || orphans.length === 0) continue;
      await clinical.query('delete from orthanc_storage_keys where uuid = any($1::text[])', [orphans.map((r) => r.uuid)]);
      const keys = [...new Set(orphans.map((r) => r.object_key).filter((k): k is string => k !== null))];
      const shared = new Set(
        (
          await clinical.query<{ object_key: string }>('select object_key from orthanc_storage_keys where object_key = any($1::text[])', [
            keys,
          ])
        ).rows.map((r) => r.object_key),
      );
      for (const key of keys) if (!shared.has(key)) await store.delete(key);
    }

    // 2. Objects no row names (the storage plugin's half-written `.tmp-` files included).
    for await (const page of store.list(BATCH)) {
      const old = page.filter((o) => o.lastModified < cutoff);
      if (old.length === 0) continue;
      const named = new Set(
        (
          await clinical.query<{ object_key: string }>('select object_key from orthanc_storage_keys where object_key = any($1::text[])', [
            old.map((o) => o.key),
          ])
        ).rows.map((r) => r.object_key),
      );
      for (const o of old) {
        if (named.has(o.key)) continue;
        report.orphanObjects++;
        if (apply) await store.delete(o.key);
      }
    }

    // 3. Studies Orthanc holds that the index lacks (the change-feed indexer would find them too, unless its
    //    cursor already went past them).
    for (let since = 0; ; since += BATCH) {
      const res = await orthanc.fetch(`/studies?since=${since}&limit=${BATCH}`);
      if (!res.ok) throw new Error(`Orthanc /studies answered ${res.status}`);
      const ids = (await res.json()) as string[];
      if (ids.length === 0) break;
      const indexed = new Set(
        (
          await clinical.query<{ orthanc_id: string }>('select orthanc_id from dicom_studies where orthanc_id = any($1::text[])', [ids])
        ).rows.map((r) => r.orthanc_id),
      );
      for (const id of ids.filter((i) => !indexed.has(i))) {
        report.studiesIndexed++;
        if (apply) await refreshStudy(knex, orthanc, id, null);
      }
    }

    // 4. Index rows (studies, series) of images Orthanc no longer holds: refreshing the study removes them.
    for (let after = ''; ;) {
      const rows = (
        await clinical.query<{ orthanc_id: string; series: string[] }>(
          `select s.orthanc_id, coalesce(array_agg(se.orthanc_id) filter (where se.orthanc_id is not null), '{}') as series
           from dicom_studies s left join dicom_series se on se.study_id = s.id
          where s.orthanc_id > $1 group by s.orthanc_id order by s.orthanc_id limit $2`,
          [after, BATCH],
        )
      ).rows;
      if (rows.length === 0) break;
      after = rows.at(-1)!.orthanc_id;
      const present = await known(rows.flatMap((r) => [r.orthanc_id, ...r.series]));
      for (const r of rows.filter((r) => !present.has(r.orthanc_id) || r.series.some((s) => !present.has(s)))) {
        report.studiesRefreshed++;
        if (apply) await refreshStudy(knex, orthanc, r.orthanc_id, null);
      }
    }

    // 5. Cached series metadata of series that are gone.
    for (let after = ''; ;) {
      const ids = (
        await clinical.query<{ orthanc_series_id: string }>(
          'select orthanc_series_id from dicom_series_metadata where orthanc_series_id > $1 order by 1 limit $2',
          [after, BATCH],
        )
      ).rows.map((r) => r.orthanc_series_id);
      if (ids.length === 0) break;
      after = ids.at(-1)!;
      const present = await known(ids);
      const gone = ids.filter((id) => !present.has(id));
      report.metadataDropped += gone.length;
      if (apply && gone.length) await clinical.query('delete from dicom_series_metadata where orthanc_series_id = any($1::text[])', [gone]);
    }
    // 6. Receipts of the device gate for instances Orthanc does not hold: deleting a study in Orthanc leaves no
    //    change in its feed, and a receipt is written before its store, which may then fail.
    for (let after = ''; ;) {
      const rows = (
        await clinical.query<{ orthanc_instance_id: string }>(
          'select orthanc_instance_id from dicom_gate_receipts where orthanc_instance_id > $1 and received_at < $2 order by 1 limit $3',
          [after, cutoff, BATCH],
        )
      ).rows;
      if (rows.length === 0) break;
      after = rows.at(-1)!.orthanc_instance_id;
      const present = await known(rows.map((r) => r.orthanc_instance_id));
      const gone = rows.map((r) => r.orthanc_instance_id).filter((id) => !present.has(id));
      report.receiptsDropped += gone.length;
      if (apply && gone.length) await clinical.query('delete from dicom_gate_receipts where orthanc_instance_id = any($1::text[])', [gone]);
    }

    // 7. Sizes and instance counts: an upload indexes without sizes (they cost Orthanc a pass over every file) and
    //    leaves them to the indexer; files sent again after a crash can leave a study's size behind. Orthanc's index
    //    gives both per study in one query; a study that differs is refreshed from Orthanc's own statistics.
    for (let after = ''; ;) {
      const rows = (
        await clinical.query<{ orthanc_id: string; size_bytes: string; number_of_instances: number }>(
          'select orthanc_id, size_bytes, number_of_instances from dicom_studies where orthanc_id > $1 and updated_at < $2 order by orthanc_id limit $3',
          [after, cutoff, BATCH],
        )
      ).rows;
      if (rows.length === 0) break;
      after = rows.at(-1)!.orthanc_id;
      const held = new Map(
        (
          await index.query<{ publicid: string; disk: string; instances: string }>(
            `select st.publicid, coalesce(sum(a.compressedsize), 0) as disk, count(distinct i.internalid) as instances
             from resources st
             left join resources se on se.parentid = st.internalid
             left join resources i on i.parentid = se.internalid
             left join attachedfiles a on a.id = i.internalid
            where st.publicid = any($1::text[])
            group by st.publicid`,
            [rows.map((r) => r.orthanc_id)],
          )
        ).rows.map((r) => [r.publicid, r]),
      );
      for (const r of rows) {
        const h = held.get(r.orthanc_id);
        if (!h || (Number(h.disk) === Number(r.size_bytes) && Number(h.instances) === r.number_of_instances)) continue;
        report.sizesCorrected++;
        if (apply) await refreshStudy(knex, orthanc, r.orthanc_id, null);
      }
    }
    return report;
  } finally {
    await clinical.end();
    await index.end();
    await knex.destroy();
  }
}

/**
 * The index database must be Orthanc's own: a few instances Orthanc lists must be in it, and when Orthanc
 * holds none, neither may the database. Otherwise every storage row would look orphaned.
 */
async function assertSameIndex(index: pg.Client, orthanc: OrthancClient): Promise<void> {
  const tables = await index.query("select 1 from information_schema.tables where table_name in ('attachedfiles', 'resources')");
  if (tables.rowCount !== 2) throw new Error('The index database has no Orthanc tables: check ORTHANC_INDEX_DATABASE');
  const res = await orthanc.fetch('/instances?since=0&limit=5');
  if (!res.ok) throw new Error(`Orthanc /instances answered ${res.status}`);
  const sample = (await res.json()) as string[];
  if (sample.length === 0) {
    const { rows } = await index.query<{ n: string }>('select count(*) as n from attachedfiles');
    if (Number(rows[0]!.n) > 0) throw new Error('Orthanc holds no instance but the index database does: it is not this Orthanc’s index');
    return;
  }
  const { rowCount } = await index.query('select 1 from resources where publicid = any($1::text[])', [sample]);
  if (rowCount !== sample.length)
    throw new Error('Instances Orthanc lists are missing from the index database: it is not this Orthanc’s index');
}
