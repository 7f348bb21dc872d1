import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { AppError, badRequest } from '../../../common/http/errors.js';

/**
 * The resource a GET answers and a PUT or PATCH changes: single-resource GETs answer its ETag, and writes get a
 * {@link GuardedWrite}, checked by the service against the representation it reads under the write's row lock.
 */
export interface Representation {
  /** Fields computed at read time (e.g. free slots from now): left out of the ETag and ignored in writes. */
  volatile?: string[];
}

/** What a guarded write turns out to be, once compared with the stored representation. */
export type Checked<B> = { unchanged: true } | { unchanged: false; body: B };

/**
 * A PUT or PATCH whose preconditions are checked by the service that writes it, in its transaction, against the
 * representation GET would answer, read once after the row was locked: so If-Match cannot pass for a version
 * another write replaces meanwhile, and the resource is loaded once.
 */
export interface GuardedWrite<B, C = object> {
  /**
   * A stale If-Match is 412; read-only fields sent back unchanged are dropped, changed ones refused; then the
   * body is validated. `unchanged`: the write would change nothing (answer `current`, audited as a read).
   */
  against(current: C): Checked<B>;
}

/** A write from inside the API, with nothing to check: what it is given is what it writes. */
export function plainWrite<B, C = object>(body: B): GuardedWrite<B, C> {
  return { against: () => ({ unchanged: false, body }) };
}

/** The guarded write of a service that hands over its row: the route presents it as GET would answer it. */
export function presenting<B, C>(write: GuardedWrite<B>, present: (current: C) => object): GuardedWrite<B, C> {
  return { against: (current) => write.against(present(current)) };
}

/** A strong ETag of a representation: a hash of its JSON, volatile fields left out. */
export function etagOf(body: unknown, volatile: string[] = []): string {
  const stable =
    body && typeof body === 'object' && !Array.isArray(body)
      ? Object.fromEntries(Object.entries(body).filter(([k]) => !volatile.includes(k)))
      : body;
  return `"${createHash('sha256').update(JSON.stringify(stable)).digest('base64url').slice(0, 27)}"`;
}

const writable = new WeakMap<z.ZodType, Set<string>>();

/**
 * The top-level field names a body schema accepts (through transforms and refinements), read from its JSON Schema
 * as the OpenAPI document publishes it (zod's public `toJSONSchema`, input side), not from zod's internals. Computed
 * once per schema.
 */
export function writableKeys(schema: z.ZodType | undefined): Set<string> {
  if (!schema) return new Set();
  let keys = writable.get(schema);
  if (!keys) {
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, unknown> };
    keys = new Set(Object.keys(json.properties ?? {}));
    writable.set(schema, keys);
  }
  return keys;
}

/** What a write keeps of its body once compared with the stored representation. */
export interface RoundTrip {
  body: Record<string, unknown>;
  /** Nothing would change: answer the stored representation without writing. */
  unchanged: boolean;
}

/**
 * Checks a PUT or PATCH against the stored representation: a stale If-Match is 412; read-only and
 * server-set fields equal to the stored value are dropped, different ones refused (FIELD_NOT_ALLOWED);
 * volatile fields are ignored. `unchanged` when every field the write would set already has its value.
 */
export function compareWrite(
  method: 'put' | 'patch',
  requestBody: unknown,
  current: object,
  schema: z.ZodType | undefined,
  ifMatch: string,
  volatile: string[] = [],
): RoundTrip {
  const tag = etagOf(current, volatile);
  if (
    ifMatch &&
    ifMatch.trim() !== '*' &&
    !ifMatch
      .split(',')
      .map((t) => t.trim().replace(/^W\//, ''))
      .includes(tag)
  ) {
    throw new AppError(412, 'PRECONDITION_FAILED', 'The resource changed since you read it: read it again, then retry', { etag: tag });
  }
  const body =
    requestBody && typeof requestBody === 'object' && !Array.isArray(requestBody) ? { ...(requestBody as Record<string, unknown>) } : {};
  const stored = current as Record<string, unknown>;
  const writable = writableKeys(schema);
  const differing: string[] = [];
  for (const key of Object.keys(body)) {
    if (volatile.includes(key)) delete body[key];
    else if (Object.hasOwn(stored, key) && !writable.has(key)) {
      if (isDeepStrictEqual(body[key], stored[key])) delete body[key];
      else differing.push(key);
    }
  }
  if (differing.length > 0) {
    throw badRequest(
      'These fields are read-only: send them unchanged or leave them out',
      differing.map((field) => ({ field, message: 'Read-only; differs from the stored value' })),
      'FIELD_NOT_ALLOWED',
    );
  }
  const sent = [...writable].filter((k) => Object.hasOwn(body, k));
  const same = sent.every((k) => Object.hasOwn(stored, k) && isDeepStrictEqual(body[k], stored[k]));
  // A PUT replaces: it is a no-op only when it names every writable field the representation has.
  const complete = method === 'patch' || [...writable].every((k) => !Object.hasOwn(stored, k) || Object.hasOwn(body, k));
  return { body, unchanged: sent.length > 0 && same && complete };
}
