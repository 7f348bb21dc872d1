import { createHash } from 'node:crypto';
import { AppError } from './http/errors.js';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

/** Orthanc answered with an error status. */
export class OrthancError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly path: string,
  ) {
    super(`Orthanc ${path} answered ${status}`);
    this.name = 'OrthancError';
  }
}

/** Orthanc could not be reached at all (stopped, network). */
export class OrthancUnavailableError extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`Orthanc is unreachable (${path})`, { cause });
    this.name = 'OrthancUnavailableError';
  }
}

export interface StoredInstance {
  ID: string;
  ParentPatient: string;
  ParentStudy: string;
  ParentSeries: string;
  Status: 'Success' | 'AlreadyStored' | string;
}

export interface OrthancChange {
  ChangeType: string;
  ID: string;
  ResourceType: 'Patient' | 'Study' | 'Series' | 'Instance' | string;
  Seq: number;
  Date: string;
}

export interface OrthancStudy {
  ID: string;
  MainDicomTags: Record<string, string | undefined>;
  PatientMainDicomTags: Record<string, string | undefined>;
  Series: string[];
  IsStable: boolean;
  LastUpdate: string;
}

export interface OrthancSeries {
  ID: string;
  MainDicomTags: Record<string, string | undefined>;
  Instances: string[];
  ParentStudy: string;
  IsStable: boolean;
}

export interface OrthancStatistics {
  CountInstances?: number;
  CountSeries?: number;
  DiskSize: string;
  UncompressedSize: string;
}

/** Orthanc accepted the connection but did not answer in time (frozen, overloaded): treated as unreachable. */
export class OrthancTimeoutError extends Error {
  constructor(
    readonly path: string,
    readonly timeoutMs: number,
  ) {
    super(`Orthanc did not answer ${path} within ${timeoutMs / 1000} s`);
    this.name = 'OrthancTimeoutError';
  }
}

/** Connection settings of the Orthanc REST API. */
export interface OrthancSettings {
  url: string;
  username: string;
  password: string;
  /**
   * How long Orthanc may take to answer (`ORTHANC_TIMEOUT_SECONDS`): until the response headers, to read a small
   * JSON answer, or to take the next bytes of a file being stored. Past it the call fails as unreachable (503).
   */
  timeoutMs?: number;
}

/** The default of {@link OrthancSettings.timeoutMs}. */
export const ORTHANC_TIMEOUT_MS = 30_000;

/** How long an idle connection to Orthanc is kept: below Orthanc's own 1 s, so it never closes one we reuse. */
const IDLE_MS = 500;

/**
 * A keep-alive agent that really keeps connections to Orthanc. Orthanc 1.10 announces `Keep-Alive:
 * timeout=1`, which Node's agent turns into "do not reuse" (it keeps a 1 s margin): every request then
 * paid a new TCP connection.
 */
function keepAliveAgent(Base: typeof http.Agent | typeof https.Agent): http.Agent {
  const agent = new Base({ keepAlive: true, maxSockets: 64 });
  agent.keepSocketAlive = (socket) => {
    const s = socket as Socket;
    s.setKeepAlive(true, 1000);
    s.unref();
    s.setTimeout(IDLE_MS);
    return true;
  };
  return agent;
}

/** A small typed client of Orthanc's REST API; bodies in and out stay streams. */
export class OrthancClient {
  private readonly auth: string;
  private readonly agent: http.Agent;
  /** Told the latency of every request (until response headers), for metrics: operation = first path segment. */
  observe: ((operation: string, seconds: number, outcome: 'ok' | 'error' | 'unreachable') => void) | null = null;

  private readonly timeoutMs: number;

  constructor(private readonly settings: OrthancSettings) {
    this.auth = `Basic ${Buffer.from(`${settings.username}:${settings.password}`).toString('base64')}`;
    this.agent = keepAliveAgent(settings.url.startsWith('https:') ? https.Agent : http.Agent);
    this.timeoutMs = settings.timeoutMs ?? ORTHANC_TIMEOUT_MS;
  }

  /** A signal that aborts after the timeout (joined with the caller's), and the function that disarms it. */
  private deadline(path: string, signal?: AbortSignal | null): { signal: AbortSignal; clear: () => void } {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new OrthancTimeoutError(path, this.timeoutMs)), this.timeoutMs);
    return { signal: signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal, clear: () => clearTimeout(timer) };
  }

  /**
   * A GET or HEAD answered as Node's raw response: bytes exactly as Orthanc sent them (no decoding, no
   * web-stream layer), for pass-through of images. Throws OrthancUnavailableError when unreachable.
   */
  stream(
    path: string,
    options: { method?: 'GET' | 'HEAD'; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<http.IncomingMessage> {
    const url = new URL(`${this.settings.url}${path}`);
    const transport = url.protocol === 'https:' ? https : http;
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method: options.method ?? 'GET',
          agent: this.agent,
          headers: { ...options.headers, authorization: this.auth },
          signal: options.signal,
        },
        (res) => {
          // Until the headers only: past them the body follows the client's pace, which may pause it for long.
          clearTimeout(timer);
          this.timed(path, started, (res.statusCode ?? 500) < 500 ? 'ok' : 'error');
          resolve(res);
        },
      );
      const timer = setTimeout(() => req.destroy(new OrthancTimeoutError(path, this.timeoutMs)), this.timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        this.timed(path, started, 'unreachable');
        reject(new OrthancUnavailableError(path, err));
      });
      req.end();
    });
  }

  /**
   * A raw request; throws OrthancUnavailableError when Orthanc cannot be reached or sends no response headers within
   * the timeout (the body is the caller's to read: a ZIP may take long; {@link text} bounds small ones).
   */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const started = performance.now();
    const deadline = this.deadline(path, init.signal);
    try {
      const res = await fetch(`${this.settings.url}${path}`, {
        ...init,
        signal: deadline.signal,
        headers: { ...(init.headers as Record<string, string>), authorization: this.auth },
      });
      this.timed(path, started, res.status < 500 ? 'ok' : 'error');
      return res;
    } catch (err) {
      this.timed(path, started, 'unreachable');
      throw new OrthancUnavailableError(path, deadline.signal.reason instanceof OrthancTimeoutError ? deadline.signal.reason : err);
    } finally {
      deadline.clear();
    }
  }

  /** A request whose whole (small) answer is read within the timeout: status and text. */
  async text(path: string, init: RequestInit = {}): Promise<{ status: number; ok: boolean; text: string }> {
    const whole = this.deadline(path, init.signal);
    try {
      const res = await this.fetch(path, { ...init, signal: whole.signal });
      return { status: res.status, ok: res.ok, text: await res.text() };
    } catch (err) {
      if (err instanceof OrthancUnavailableError) throw err;
      throw new OrthancUnavailableError(path, whole.signal.reason instanceof OrthancTimeoutError ? whole.signal.reason : err);
    } finally {
      whole.clear();
    }
  }

  private timed(path: string, started: number, outcome: 'ok' | 'error' | 'unreachable'): void {
    this.observe?.(/^\/([a-z-]+)/.exec(path)?.[1] ?? 'other', (performance.now() - started) / 1000, outcome);
  }

  private async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.text(path, init);
    if (!res.ok) throw new OrthancError(res.status, res.text, path);
    return JSON.parse(res.text) as T;
  }

  /** Orthanc's /system: version and name; used as a health check. */
  system(): Promise<{ Version: string; Name: string }> {
    return this.json('/system');
  }

  /**
   * Stores one DICOM file, streamed from `body` (never buffered here). The body comes at its sender's pace, so the
   * timeout runs only while Orthanc is the one waited for: a chunk it does not take, or its answer once all is sent.
   */
  storeInstance(body: Readable, signal?: AbortSignal): Promise<StoredInstance> {
    const path = '/instances';
    const url = new URL(`${this.settings.url}${path}`);
    const transport = url.protocol === 'https:' ? https : http;
    const started = performance.now();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const fail = (err: unknown) => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        this.timed(path, started, 'unreachable');
        body.off('data', write);
        reject(err instanceof OrthancError ? err : new OrthancUnavailableError(path, err));
      };
      const waitForOrthanc = () => {
        clearTimeout(timer);
        timer = setTimeout(() => req.destroy(new OrthancTimeoutError(path, this.timeoutMs)), this.timeoutMs);
      };
      const req = transport.request(
        url,
        { method: 'POST', agent: this.agent, headers: { 'content-type': 'application/dicom', authorization: this.auth }, signal },
        (res) => {
          waitForOrthanc();
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            clearTimeout(timer);
            if (settled) return;
            settled = true;
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 500;
            this.timed(path, started, status < 500 ? 'ok' : 'error');
            if (status < 200 || status >= 300) return reject(new OrthancError(status, text, path));
            try {
              resolve(JSON.parse(text) as StoredInstance);
            } catch {
              reject(new OrthancError(status, text, path));
            }
          });
        },
      );
      req.on('error', fail);
      const write = (chunk: Buffer) => {
        if (req.write(chunk)) return;
        body.pause();
        waitForOrthanc();
        req.once('drain', () => {
          clearTimeout(timer);
          body.resume();
        });
      };
      body.on('data', write);
      body.once('end', () => {
        req.end();
        waitForOrthanc();
      });
      body.once('error', (err) => {
        req.destroy();
        fail(err);
      });
    });
  }

  /** One page of the change feed after `since`. */
  changes(since: number, limit = 100): Promise<{ Changes: OrthancChange[]; Done: boolean; Last: number }> {
    return this.json(`/changes?since=${since}&limit=${limit}`);
  }

  study(id: string): Promise<OrthancStudy> {
    return this.json(`/studies/${encodeURIComponent(id)}`);
  }

  series(id: string): Promise<OrthancSeries> {
    return this.json(`/series/${encodeURIComponent(id)}`);
  }

  statistics(level: 'studies' | 'series', id: string): Promise<OrthancStatistics> {
    return this.json(`/${level}/${encodeURIComponent(id)}/statistics`);
  }

  /** One metadata item of an instance (e.g. `Origin`, `RemoteAET`), or null when absent. */
  async instanceMetadata(instanceId: string, name: string): Promise<string | null> {
    const res = await this.fetch(`/instances/${encodeURIComponent(instanceId)}/metadata/${encodeURIComponent(name)}`);
    if (res.status === 404) return null;
    if (!res.ok) throw new OrthancError(res.status, await res.text(), '/instances/metadata');
    return (await res.text()).trim();
  }

  /** Deletes a study, series or instance (Orthanc's storage plugin removes the objects). */
  async delete(level: 'studies' | 'series' | 'instances', id: string): Promise<void> {
    const res = await this.fetch(`/${level}/${encodeURIComponent(id)}`, { method: 'DELETE' });
    if (!res.ok && res.status !== 404) throw new OrthancError(res.status, await res.text(), `/${level}`);
  }

  /** The study as a ZIP stream (Orthanc builds it; we pass it through). */
  async archive(studyId: string, signal?: AbortSignal): Promise<Response> {
    const res = await this.fetch(`/studies/${encodeURIComponent(studyId)}/archive`, { signal });
    if (!res.ok) throw new OrthancError(res.status, await res.text(), '/studies/archive');
    return res;
  }
}

/**
 * Orthanc's id of an instance, known before it is stored: the SHA-1 of its PatientID and its Study, Series
 * and SOP Instance UIDs joined by `|`, in five groups of 8 hex digits (Orthanc's DicomInstanceHasher).
 */
export function orthancInstanceId(patientId: string, studyUid: string, seriesUid: string, sopUid: string): string {
  return createHash('sha1').update(`${patientId}|${studyUid}|${seriesUid}|${sopUid}`).digest('hex').match(/.{8}/g)!.join('-');
}

/**
 * The one answer for "the imaging store cannot answer" (Orthanc down, frozen past its timeout, failing): 503
 * `IMAGING_UNAVAILABLE`, with what the client should know (`outcome`, e.g. what an upload stored before) in its details.
 */
export function imagingUnavailable(outcome = 'nothing was changed', details: Record<string, unknown> | null = null): AppError {
  return new AppError(503, 'IMAGING_UNAVAILABLE', `The imaging store is unavailable; ${outcome}`, details);
}

/**
 * Runs a call to Orthanc for a change or a read the caller answers itself: Orthanc down, frozen (timeout) or failing
 * becomes the one clear 503 `IMAGING_UNAVAILABLE` ("nothing was changed"); anything else passes through.
 */
export async function withOrthanc<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof OrthancUnavailableError || (err instanceof OrthancError && err.status >= 500)) {
      throw imagingUnavailable();
    }
    throw err;
  }
}
