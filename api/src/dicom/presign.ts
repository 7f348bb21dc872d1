import { createHash, createHmac } from 'node:crypto';
import type { Config } from '../../../common/config.js';

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
// RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone).
const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * A presigned GET URL (AWS Signature V4, query-string form, path-style addressing), valid `ttlSeconds`,
 * for one object of the bucket. Works with S3 and MinIO; computed locally, no request is made.
 */
export function presignGet(s3: NonNullable<Config['s3']>, key: string, ttlSeconds: number, now = new Date()): string {
  const host = s3.endpoint.replace(/^https?:\/\//, '').replace(/\/$/, '');
  const scheme = /^https:\/\//.test(s3.endpoint) || s3.secure ? 'https' : 'http';
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${s3.region}/s3/aws4_request`;
  const path = `/${encode(s3.bucket)}/${key.split('/').map(encode).join('/')}`;
  const params: [string, string][] = [
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${s3.accessKey}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(ttlSeconds)],
    ['X-Amz-SignedHeaders', 'host'],
  ];
  const query = params
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .sort()
    .join('&');
  const canonicalRequest = ['GET', path, query, `host:${host}`, '', 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${s3.secretKey}`, day), s3.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  return `${scheme}://${host}${path}?${query}&X-Amz-Signature=${signature}`;
}
