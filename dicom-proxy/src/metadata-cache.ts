import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { Knex } from 'knex';
import type { OrthancClient } from '../../common/orthanc.js';
import type { UrlRewrite } from './forward.js';

const PLACEHOLDER = '{{MEDICONNECT_DICOMWEB}}';
const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

interface SeriesInfo {
  ID: string;
  IsStable: boolean;
  LastUpdate: string;
  Instances: string[];
}

/**
 * Series metadata of stable series, computed once by Orthanc and then served from PostgreSQL. A cached
 * body is used only while the series is unchanged (same LastUpdate and instance count); the caller has
 * already authorized the study.
 */
export async function cachedSeriesMetadata(
  db: Knex,
  orthanc: OrthancClient,
  rewrite: UrlRewrite,
  study: string,
  series: string,
): Promise<{ body: string; cached: boolean } | null> {
  const res = await orthanc.fetch('/tools/find', {
    method: 'POST',
    body: JSON.stringify({ Level: 'Series', Query: { StudyInstanceUID: study, SeriesInstanceUID: series }, Expand: true, Limit: 2 }),
  });
  if (!res.ok) return null;
  const found = (await res.json()) as SeriesInfo[];
  // Unknown, ambiguous (same UIDs under two patients) or still receiving: not cacheable.
  if (found.length !== 1 || !found[0]!.IsStable) return null;
  const info = found[0]!;
  const row = await db('dicom_series_metadata').where({ orthanc_series_id: info.ID }).first('last_update', 'instances', 'body_gzip');
  if (row && row.last_update === info.LastUpdate && row.instances === info.Instances.length) {
    const text = (await gunzipAsync(row.body_gzip)).toString('utf8');
    return { body: text.replaceAll(PLACEHOLDER, rewrite.to), cached: true };
  }
  const upstream = await orthanc.fetch(`/dicom-web/studies/${study}/series/${series}/metadata`, {
    headers: { accept: 'application/dicom+json', 'accept-encoding': 'identity' },
  });
  if (!upstream.ok) return null;
  const raw = await upstream.text();
  const neutral = raw.replaceAll(rewrite.from, PLACEHOLDER);
  const values = {
    orthanc_series_id: info.ID,
    study_instance_uid: study,
    series_instance_uid: series,
    last_update: info.LastUpdate,
    instances: info.Instances.length,
    body_gzip: await gzipAsync(neutral),
    created_at: db.fn.now(),
  };
  await db('dicom_series_metadata').insert(values).onConflict('orthanc_series_id').merge();
  return { body: neutral.replaceAll(PLACEHOLDER, rewrite.to), cached: false };
}
