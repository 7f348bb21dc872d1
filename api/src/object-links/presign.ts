import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Config } from '../../../common/config.js';

// RFC 3986 encoding of path segments, as S3 expects them (encodeURIComponent leaves !'()* alone).
const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const UNSIGNED = new Set(['x-amz-content-sha256']);

/** What a presigned GET needs: credentials, region, and the object's URL parts (path already escaped). */
export interface PresignTarget {
  accessKey: string;
  secretKey: string;
  region: string;
  protocol: 'http:' | 'https:';
  /** `host[:port]` */
  host: string;
  path: string;
}

/**
 * A presigned S3 GET URL (AWS Signature V4, query-string form, unsigned payload), signed by the AWS SDK's
 * own signer (`@smithy/signature-v4`) configured as its S3 presigner configures it. Computed locally.
 */
export async function presignRequest(t: PresignTarget, ttlSeconds: number, now = new Date()): Promise<string> {
  const [hostname, port] = t.host.split(':') as [string, string | undefined];
  const signer = new SignatureV4({
    credentials: { accessKeyId: t.accessKey, secretAccessKey: t.secretKey },
    region: t.region,
    service: 's3',
    sha256: Hash.bind(null, 'sha256'),
    // S3 paths are escaped once, by the caller.
    uriEscapePath: false,
    applyChecksum: false,
  });
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: t.protocol,
      hostname,
      port: port ? Number(port) : undefined,
      path: t.path,
      query: {},
      headers: { host: t.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    },
    { expiresIn: ttlSeconds, signingDate: now, unsignableHeaders: UNSIGNED, unhoistableHeaders: UNSIGNED },
  );
  const query = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encode(k)}=${encode(String(v))}`)
    .join('&');
  return `${t.protocol}//${t.host}${t.path}?${query}`;
}

/** A presigned GET URL of one object of the bucket (path-style addressing: S3 and MinIO), valid `ttlSeconds`. */
export function presignGet(s3: NonNullable<Config['s3']>, key: string, ttlSeconds: number, now = new Date()): Promise<string> {
  return presignRequest(
    {
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      region: s3.region,
      protocol: /^https:\/\//.test(s3.endpoint) || s3.secure ? 'https:' : 'http:',
      host: s3.endpoint.replace(/^https?:\/\//, '').replace(/\/$/, ''),
      path: `/${encode(s3.bucket)}/${key.split('/').map(encode).join('/')}`,
    },
    ttlSeconds,
    now,
  );
}
