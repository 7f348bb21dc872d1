import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Context } from 'koa';
import { AppError } from '../../common/http/errors.js';
import type { OrthancClient } from '../../common/orthanc.js';
import type { CachedAnswer, Fill } from './frame-cache.js';

/**
 * Replaces every occurrence of `from` by `to` in a byte stream, across chunk boundaries, holding back at
 * most `from.length - 1` bytes: Orthanc's absolute URLs become the proxy's without buffering the body.
 * Only for text bodies (JSON, XML): binary payloads must never be searched.
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

const MAX_PART_HEADERS = 16 * 1024;

type PartState = 'preamble' | 'delimiter' | 'headers' | 'payload' | 'epilogue';

/**
 * Rewrites URLs in the part headers of a multipart body (Orthanc's `Content-Location`), and nothing else:
 * part payloads (pixel data, DICOM files) pass through byte for byte. A part starts after a line
 * `--boundary`; its headers end at the first empty line; `--boundary--` closes the body. Holds back at
 * most one delimiter's length of payload, or one header block.
 */
export class MultipartHeaderRewrite extends Transform {
  private buffer: Buffer = Buffer.alloc(0);
  private state: PartState = 'preamble';
  private readonly delimiter: Buffer;
  private readonly opening: Buffer;

  constructor(
    boundary: string,
    private readonly from: string,
    private readonly to: string,
  ) {
    super();
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
    this.opening = Buffer.from(`--${boundary}`);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const out: Buffer[] = [];
    try {
      this.drain(out);
    } catch (err) {
      return done(err as Error);
    }
    done(null, Buffer.concat(out));
  }

  override _flush(done: TransformCallback): void {
    // Whatever is held back (a truncated body from upstream) goes out unchanged.
    done(null, this.buffer);
  }

  /** Emits everything that can be decided now into `out`, keeping the undecided tail in the buffer. */
  private drain(out: Buffer[]): void {
    for (;;) {
      switch (this.state) {
        case 'epilogue':
          out.push(this.buffer);
          this.buffer = Buffer.alloc(0);
          return;
        case 'preamble':
        case 'payload': {
          const marker = this.state === 'preamble' ? this.opening : this.delimiter;
          const at = this.buffer.indexOf(marker);
          if (at === -1) {
            const keep = Math.max(0, this.buffer.length - (marker.length - 1));
            out.push(this.buffer.subarray(0, keep));
            this.buffer = this.buffer.subarray(keep);
            return;
          }
          out.push(this.buffer.subarray(0, at + marker.length));
          this.buffer = this.buffer.subarray(at + marker.length);
          this.state = 'delimiter';
          break;
        }
        case 'delimiter':
          if (this.buffer.length < 2) return;
          this.state = this.buffer[0] === 0x2d && this.buffer[1] === 0x2d ? 'epilogue' : 'headers';
          break;
        case 'headers': {
          const end = this.buffer.indexOf('\r\n\r\n');
          if (end === -1) {
            if (this.buffer.length > MAX_PART_HEADERS) throw new Error('multipart part headers too long');
            return;
          }
          const headers = this.buffer.subarray(0, end + 4).toString('latin1');
          out.push(Buffer.from(headers.split(this.from).join(this.to), 'latin1'));
          this.buffer = this.buffer.subarray(end + 4);
          this.state = 'payload';
          break;
        }
      }
    }
  }
}

/** The boundary of a multipart content type, or null. */
export function multipartBoundary(contentType: string): string | null {
  if (!/^multipart\//i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2] ?? null) : null;
}

/** Orthanc's refusals in the project's error envelope; its own failures are a 502, never a bare 500. */
export function upstreamError(status: number): AppError {
  if (status === 404) return new AppError(404, 'NOT_FOUND', 'Not found in the imaging store');
  if (status === 406)
    return new AppError(406, 'NOT_ACCEPTABLE', 'The imaging store cannot answer in the requested media type or transfer syntax');
  if (status === 400) return new AppError(400, 'INVALID_QUERY', 'The imaging store refused the request');
  if (status >= 400 && status < 500) return new AppError(status, 'IMAGING_REFUSED', 'The imaging store refused the request');
  return new AppError(502, 'IMAGING_ERROR', 'The imaging store failed to answer this request');
}

const PASSED_HEADERS = ['content-type', 'etag', 'last-modified'];

/** Where an answer's URLs point: Orthanc's DICOMweb root is replaced by this public root. */
export interface UrlRewrite {
  from: string;
  to: string;
}

/**
 * Forwards a GET (or HEAD) to Orthanc's DICOMweb and streams the answer back. Orthanc is asked for
 * `identity`, so pass-through bodies keep their exact bytes and length. Text bodies get their URLs
 * rewritten, multipart bodies their part headers; both are then sent chunked (their length changes).
 * Text is gzipped here when the client accepts it.
 */
export async function forwardToOrthanc(
  ctx: Context,
  orthanc: OrthancClient,
  path: string,
  rewrite: UrlRewrite,
  accept?: string,
  fill?: Fill,
): Promise<void> {
  const method = ctx.method === 'HEAD' ? 'HEAD' : 'GET';
  // A client that leaves mid-answer stops the upstream transfer too.
  const abort = new AbortController();
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) abort.abort();
  });
  const upstream = await orthanc.stream(path, {
    method,
    headers: { 'accept-encoding': 'identity', ...(accept ? { accept } : {}) },
    signal: abort.signal,
  });
  const status = upstream.statusCode ?? 502;
  if (status >= 400) {
    upstream.resume();
    throw upstreamError(status);
  }
  ctx.status = status;
  const header = (name: string) => {
    const v = upstream.headers[name];
    return Array.isArray(v) ? v.join(', ') : (v ?? null);
  };
  const type = header('content-type') ?? '';
  for (const name of PASSED_HEADERS) {
    const value = header(name);
    if (value) ctx.set(name, value);
  }
  // Orthanc was asked for identity; should it encode anyway, the encoding travels with the bytes.
  const encoding = header('content-encoding');
  const length = header('content-length');
  if (method === 'HEAD') {
    upstream.resume();
    if (length && !encoding) ctx.length = Number(length);
    ctx.type = type || 'application/octet-stream';
    return;
  }
  const isText = /json|xml|^text\//i.test(type);
  const boundary = multipartBoundary(type);
  if (encoding && (isText || boundary)) {
    // Bytes we must rewrite but cannot read: refuse rather than send Orthanc's address or broken framing.
    upstream.resume();
    throw new AppError(502, 'IMAGING_ERROR', 'The imaging store answered in an unexpected encoding');
  }
  if (isText) {
    const text = upstream.pipe(new ReplaceStream(rewrite.from, rewrite.to));
    if (ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
      ctx.set('Content-Encoding', 'gzip');
      ctx.vary('Accept-Encoding');
      ctx.body = text.pipe(createGzip({ level: 1 }));
    } else ctx.body = text;
  } else if (boundary) {
    const source = fill ? keepWhole(upstream, fill, type, header, rewrite.from) : upstream;
    ctx.body = source.pipe(new MultipartHeaderRewrite(boundary, rewrite.from, rewrite.to));
  } else {
    ctx.body = fill && !encoding ? keepWhole(upstream, fill, type, header, null) : upstream;
    if (encoding) ctx.set('Content-Encoding', encoding);
    if (length) ctx.length = Number(length);
  }
  ctx.type = type || 'application/octet-stream';
}

/**
 * Orthanc's bytes as they stream to the client, handed to the cache once the answer is whole: a stream in between
 * (a listener on the upstream would start it flowing before the client's side is attached). An answer larger than
 * the fill allows, or one that ends early or fails, is not kept, and no more of it is held.
 */
function keepWhole(
  upstream: Readable,
  fill: Fill,
  type: string,
  header: (name: string) => string | null,
  orthancRoot: string | null,
): Readable {
  const declared = Number(header('content-length') ?? Number.NaN);
  let chunks: Buffer[] | null = declared > fill.maxBytes ? null : [];
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (chunks) {
        size += chunk.length;
        if (size > fill.maxBytes) chunks = null;
        else chunks.push(chunk);
      }
      done(null, chunk);
    },
    flush(done) {
      if (chunks && (!Number.isFinite(declared) || declared === size)) {
        const body = Buffer.concat(chunks, size);
        const headers: Record<string, string> = {};
        for (const name of ['etag', 'last-modified']) {
          const value = header(name);
          if (value) headers[name] = value;
        }
        // Searched once here, not on every hit: only a multipart body's part headers may name Orthanc.
        fill.store({ type, headers, body, namesOrthanc: orthancRoot !== null && body.includes(orthancRoot) });
      }
      chunks = null;
      done();
    },
  });
  // An upstream failure fails the client's stream too (and nothing is kept: flush never runs).
  return pipeline(upstream, tap, () => (chunks = null));
}

/** Serves a cached answer as {@link forwardToOrthanc} served Orthanc's: the same bytes, URLs named for this caller. */
export function sendCached(ctx: Context, answer: CachedAnswer, rewrite: UrlRewrite): void {
  ctx.status = 200;
  for (const [name, value] of Object.entries(answer.headers)) ctx.set(name, value);
  const boundary = multipartBoundary(answer.type);
  const rewritten = boundary !== null && answer.namesOrthanc;
  if (ctx.method === 'HEAD') {
    if (!rewritten) ctx.length = answer.body.length;
  } else if (rewritten) {
    ctx.body = Readable.from([answer.body]).pipe(new MultipartHeaderRewrite(boundary, rewrite.from, rewrite.to));
  } else {
    ctx.body = answer.body;
  }
  ctx.type = answer.type || 'application/octet-stream';
}
