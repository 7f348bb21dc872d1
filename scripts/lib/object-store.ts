import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** Where the images live: an S3/MinIO bucket, or a local directory (Orthanc's storage plugin writes either). */
export type StorageLocation = { s3: S3Location } | { directory: string };
export interface S3Location {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  secure: boolean;
  region?: string;
}

/** One stored object as a listing names it. */
export interface StoredObject {
  key: string;
  lastModified: Date;
}

/** Whole-object access to the image store, the same for a bucket and a directory (operator tools only). */
export interface ObjectStore {
  get(key: string): Promise<Buffer | null>;
  put(key: string, body: Buffer): Promise<void>;
  delete(key: string): Promise<void>;
  /** Every object, a page at a time, in key order; a directory also lists the storage plugin's `.tmp-` leftovers. */
  list(pageSize?: number): AsyncGenerator<StoredObject[]>;
  createBucket(): Promise<void>;
}

const xmlDecode = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

/** A minimal S3 client signed with the AWS SDK's SigV4 signer: GET, PUT, DELETE and ListObjectsV2. */
function s3Store(o: S3Location): ObjectStore {
  const signer = new SignatureV4({
    credentials: { accessKeyId: o.accessKey, secretAccessKey: o.secretKey },
    region: o.region ?? 'us-east-1',
    service: 's3',
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
  });
  const [hostname, port] = o.endpoint.split(':') as [string, string | undefined];
  const protocol = o.secure ? 'https:' : 'http:';
  const send = async (method: 'GET' | 'PUT' | 'DELETE', key: string, body?: Buffer, query: Record<string, string> = {}) => {
    const objectPath = `/${o.bucket}${key ? `/${key.split('/').map(encodeURIComponent).join('/')}` : ''}`;
    const payloadHash = createHash('sha256')
      .update(body ?? Buffer.alloc(0))
      .digest('hex');
    const signed = await signer.sign({
      method,
      protocol,
      hostname,
      port: port ? Number(port) : undefined,
      path: objectPath,
      query,
      headers: { host: o.endpoint, 'x-amz-content-sha256': payloadHash },
      body,
    });
    const search = new URLSearchParams(query).toString();
    return fetch(`${protocol}//${o.endpoint}${objectPath}${search ? `?${search}` : ''}`, {
      method,
      headers: signed.headers as Record<string, string>,
      body: body ? new Uint8Array(body) : undefined,
    });
  };
  return {
    async get(key) {
      const res = await send('GET', key);
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`S3 GET ${key}: ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    },
    async put(key, body) {
      const res = await send('PUT', key, body);
      if (!res.ok) throw new Error(`S3 PUT ${key}: ${res.status} ${await res.text()}`);
    },
    async delete(key) {
      const res = await send('DELETE', key);
      if (!res.ok && res.status !== 404) throw new Error(`S3 DELETE ${key}: ${res.status}`);
    },
    async *list(pageSize = 1000) {
      let token: string | null = null;
      do {
        const query: Record<string, string> = {
          'list-type': '2',
          'max-keys': String(pageSize),
          ...(token ? { 'continuation-token': token } : {}),
        };
        const res = await send('GET', '', undefined, query);
        if (!res.ok) throw new Error(`S3 list ${o.bucket}: ${res.status}`);
        const xml = await res.text();
        const objects = [...xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)].map(([, c]) => ({
          key: xmlDecode(/<Key>([\s\S]*?)<\/Key>/.exec(c!)?.[1] ?? ''),
          lastModified: new Date(/<LastModified>([^<]*)<\/LastModified>/.exec(c!)?.[1] ?? 0),
        }));
        if (objects.length) yield objects;
        token = /<IsTruncated>true<\/IsTruncated>/.test(xml)
          ? xmlDecode(/<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1] ?? '') || null
          : null;
      } while (token);
    },
    async createBucket() {
      const res = await send('PUT', '');
      if (!res.ok && res.status !== 409) throw new Error(`S3 create bucket: ${res.status}`);
    },
  };
}

/** The same operations on a directory; keys are paths below it with `/` separators. */
function directoryStore(root: string): ObjectStore {
  const file = (key: string) => {
    const full = path.resolve(root, key);
    if (!full.startsWith(path.resolve(root) + path.sep)) throw new Error(`key escapes the storage root: ${key}`);
    return full;
  };
  return {
    async get(key) {
      return existsSync(file(key)) ? readFileSync(file(key)) : null;
    },
    async put(key, body) {
      mkdirSync(path.dirname(file(key)), { recursive: true });
      writeFileSync(file(key), body);
    },
    async delete(key) {
      rmSync(file(key), { force: true });
    },
    async *list(pageSize = 1000) {
      if (!existsSync(root)) return;
      const keys = readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
        .sort();
      for (let i = 0; i < keys.length; i += pageSize) {
        yield keys.slice(i, i + pageSize).map((key) => ({ key, lastModified: statSync(file(key)).mtime }));
      }
    },
    async createBucket() {
      mkdirSync(root, { recursive: true });
    },
  };
}

/** The image store a location names. */
export function objectStore(storage: StorageLocation): ObjectStore {
  return 's3' in storage ? s3Store(storage.s3) : directoryStore(storage.directory);
}
