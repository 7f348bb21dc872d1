import { Transform, Readable, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ServerResponse } from 'node:http';
import type { OrthancClient } from '../../common/orthanc.js';

const PASSED_HEADERS = ['content-type', 'content-length', 'etag', 'last-modified', 'cache-control'];

/**
 * Replaces every occurrence of `from` by `to` in a byte stream, across chunk boundaries, holding back at
 * most `from.length - 1` bytes: Orthanc's absolute URLs become the proxy's without buffering the body.
 */
export class ReplaceStream extends Transform {
  private carry = Buffer.alloc(0);
  private readonly from: Buffer;
  private readonly to: Buffer;

  constructor(from: string, to: string) {
    super();
    this.from = Buffer.from(from);
    this.to = Buffer.from(to);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const data = Buffer.concat([this.carry, chunk]);
    const parts: Buffer[] = [];
    let start = 0;
    for (let at = data.indexOf(this.from); at !== -1; at = data.indexOf(this.from, start)) {
      parts.push(data.subarray(start, at), this.to);
      start = at + this.from.length;
    }
    const keep = Math.max(start, data.length - (this.from.length - 1));
    parts.push(data.subarray(start, keep));
    this.carry = Buffer.from(data.subarray(keep));
    done(null, Buffer.concat(parts));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.carry);
  }
}

/** Forwards a GET to Orthanc's DICOMweb and streams the answer back, URLs rewritten to the public base. */
export async function forwardToOrthanc(
  orthanc: OrthancClient,
  orthancUrl: string,
  publicUrl: string,
  subPath: string,
  search: string,
  accept: string | undefined,
  res: ServerResponse,
  method: 'GET' | 'HEAD' = 'GET',
): Promise<void> {
  const upstream = await orthanc.fetch(`/dicom-web${subPath}${search}`, { method, headers: accept ? { accept } : {} });
  res.statusCode = upstream.status;
  const type = upstream.headers.get('content-type') ?? '';
  const rewrite = /json|xml/i.test(type);
  for (const name of PASSED_HEADERS) {
    const value = upstream.headers.get(name);
    // A rewritten body changes length: let it go chunked.
    if (value && !(rewrite && name === 'content-length')) res.setHeader(name, value);
  }
  if (!upstream.body || method === 'HEAD') {
    res.end();
    return;
  }
  const body = Readable.fromWeb(upstream.body as WebReadableStream);
  const out = rewrite ? body.pipe(new ReplaceStream(`${orthancUrl}/dicom-web`, publicUrl)) : body;
  await new Promise<void>((resolve, reject) => {
    out.on('error', reject);
    res.on('close', () => {
      body.destroy();
      resolve();
    });
    out.pipe(res);
  });
}
