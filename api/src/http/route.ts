import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Principal as Auth } from '../../../common/principal.js';
import { can, concealed, type Action } from '../policy/policy.js';
import { AppError, badRequest, forbidden, notFound, type ErrorDetail } from '../../../common/http/errors.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import { localeOf, type Locale } from '../../../common/http/messages.js';
import { compareWrite, etagOf, plainWrite, type Checked, type GuardedWrite, type Representation } from './representation.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * `public`: no token. `user`: a valid token whose owner has changed the default password.
 * `pending-password-ok`: a valid token, even before the default password was changed.
 */
export type AuthMode = 'public' | 'user' | 'pending-password-ok';
type AuthFor<A extends AuthMode> = A extends 'public' ? null : Auth;

/** One documented response of a route. */
export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** A binary body (e.g. `application/zip`) instead of JSON. */
  contentType?: string;
}

/** What a handler answers; the status defaults to 200. */
export interface HandlerResult {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The validated input a handler receives. */
export interface HandlerInput<A extends AuthMode, P, Q, B> {
  params: P;
  query: Q;
  /** The validated body. A guarded write (PUT or PATCH with a `representation`) has none: it reads it from `write`. */
  body: B;
  /** The body as a write: a guarded write's service checks it against the resource it locked; otherwise `body` as is. */
  write: GuardedWrite<B>;
  auth: AuthFor<A>;
  meta: RequestMeta;
  ctx: Context;
}

/** A route: the single source of its validation, its authorization gate and its OpenAPI operation. */
export interface RouteSpec<A extends AuthMode, P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: Method;
  /** OpenAPI-style path, e.g. `/api/hospitals/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: A;
  /** Role gate from the policy table; a role without the grant gets 403. */
  action?: Action;
  params?: P;
  query?: Q;
  body?: B;
  /** A body the handler reads itself (multipart uploads), documented here. */
  rawBody?: { contentType: string; schema: Record<string, unknown>; description?: string };
  /**
   * Fields with a meaning this route must not accept (an account's hospital, a patient's identifier…):
   * refused with 400 rather than silently dropped like other unknown fields.
   */
  forbiddenFields?: string[];
  /** Only the owner's password-change and login routes take password fields. */
  acceptsPasswords?: boolean;
  /**
   * The resource this route reads or writes: a GET answers with its ETag; a PUT or PATCH is a guarded write
   * (If-Match, read-only fields sent back unchanged), which its service checks with `write.against`.
   */
  representation?: Representation;
  responses: Record<number, ResponseSpec>;
  handler: (input: HandlerInput<A, z.output<P>, z.output<Q>, z.output<B>>) => Promise<HandlerResult>;
}

export type AnyRoute = RouteSpec<AuthMode, z.ZodType, z.ZodType, z.ZodType>;

/** The input type of a route that declares no params or query. */
type NoInput = z.ZodObject<Record<never, z.ZodType>>;

/** Declares a route with full type inference of its params, query and body. */
export function route<
  A extends AuthMode,
  P extends z.ZodType = NoInput,
  Q extends z.ZodType = NoInput,
  B extends z.ZodType = z.ZodUndefined,
>(spec: RouteSpec<A, P, Q, B>): AnyRoute {
  return spec as unknown as AnyRoute;
}

/** What differs between the PUT (replace) and PATCH (update) of one resource. */
export interface UpdateVariant<B extends z.ZodType> {
  operationId: string;
  summary: string;
  description?: string;
  body: B;
}

/**
 * The PUT and PATCH of one resource: same path, gate, params, responses and handler; each its own body
 * schema, summary and operation id.
 */
export function replaceAndUpdate<A extends AuthMode, P extends z.ZodType, PutB extends z.ZodType, PatchB extends z.ZodType>(
  shared: Omit<RouteSpec<A, P, NoInput, z.ZodType>, 'method' | 'operationId' | 'summary' | 'body' | 'handler'> & {
    handler: (input: HandlerInput<A, z.output<P>, z.output<NoInput>, z.output<PutB> | z.output<PatchB>>) => Promise<HandlerResult>;
  },
  put: UpdateVariant<PutB>,
  patch: UpdateVariant<PatchB>,
): AnyRoute[] {
  const variant = (method: 'put' | 'patch', v: UpdateVariant<z.ZodType>) =>
    ({ ...shared, method, ...v, description: v.description ?? shared.description }) as unknown as AnyRoute;
  return [variant('put', put), variant('patch', patch)];
}

/** Turns zod issues into the `details` array of a 400 answer. */
const ZOD_MESSAGES = { en: z.locales.en().localeError, fr: z.locales.fr().localeError };
const textOf = (m: unknown) => (typeof m === 'string' ? m : ((m as { message?: string } | undefined)?.message ?? null));

/** An issue's message in the caller's language: zod's own ones translated; our specific ones stay as written. */
function issueMessage(issue: z.core.$ZodIssue, locale: Locale): string {
  if (locale === 'en') return issue.message;
  const raw = { ...issue, input: undefined } as unknown as Parameters<typeof ZOD_MESSAGES.en>[0];
  if (textOf(ZOD_MESSAGES.en(raw)) !== issue.message) return issue.message;
  const translated = textOf(ZOD_MESSAGES[locale](raw));
  return translated ? translated.charAt(0).toUpperCase() + translated.slice(1) : issue.message;
}

/** The fields a validation error names, with messages in the caller's language. */
export function issuesToDetails(error: z.ZodError, locale: Locale = 'en'): ErrorDetail[] {
  return error.issues.flatMap((issue): ErrorDetail[] => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: base ? `${base}.${key}` : key,
        message: locale === 'fr' ? 'Champ inconnu' : 'Unknown field',
        code: issue.code,
      }));
    }
    return [{ field: base || undefined, message: issueMessage(issue, locale), code: issue.code }];
  });
}

const PASSWORD_FIELDS = ['password', 'newPassword', 'currentPassword', 'passwordHash', 'password_hash'];

// Accounts are created with the default password and only their owner changes it: any write that
// carries a password field anywhere else is refused outright, before it can reach a handler.
function rejectPasswordFields(body: unknown): void {
  if (body === null || typeof body !== 'object') return;
  const offending = PASSWORD_FIELDS.filter((f) => Object.hasOwn(body, f));
  if (offending.length > 0) {
    throw badRequest(
      'Passwords cannot be set here: every account starts with the default password and only its owner changes it (POST /api/auth/change-password)',
      offending.map((field) => ({ field, message: 'Password fields are not accepted on this endpoint' })),
      'PASSWORD_NOT_ACCEPTED',
    );
  }
}

function rejectForbiddenFields(body: unknown, fields: string[]): void {
  if (body === null || typeof body !== 'object' || fields.length === 0) return;
  const offending = fields.filter((f) => Object.hasOwn(body, f));
  if (offending.length > 0) {
    throw badRequest(
      `These fields cannot be set here: ${offending.join(', ')}`,
      offending.map((field) => ({ field, message: 'Not allowed on this endpoint' })),
      'FIELD_NOT_ALLOWED',
    );
  }
}

/** A query without its empty parameters: `?q=&pageSize=`, as every search form sends them, means "not set". */
function withoutEmpty(query: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== '' && !(Array.isArray(v) && v.every((x) => x === ''))));
}

function parsePart<T extends z.ZodType>(
  schema: T | undefined,
  value: unknown,
  part: 'params' | 'query' | 'body',
  locale: Locale = 'en',
): z.output<T> | undefined {
  if (!schema) return undefined;
  const result = schema.safeParse(part === 'query' ? withoutEmpty(value as Record<string, unknown>) : value);
  if (result.success) return result.data;
  // A path id that cannot exist names no resource.
  if (part === 'params') throw notFound();
  throw badRequest(part === 'query' ? 'Invalid query parameters' : 'Invalid request body', issuesToDetails(result.error, locale));
}

/** Converts `/a/{id}` to the router's `/a/:id`. */
export function toRouterPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}

/** Registers routes on the router, wrapping each with authentication, the role gate and validation. */
export function mountRoutes(router: Router, routes: AnyRoute[], authenticate: (ctx: Context) => Promise<Auth>): void {
  for (const spec of routes) {
    router[spec.method](toRouterPath(spec.path), async (ctx: Context) => {
      let auth: Auth | null = null;
      if (spec.auth !== 'public') {
        auth = await authenticate(ctx);
        ctx.state.auth = auth;
        if (auth.mustChangePassword && spec.auth !== 'pending-password-ok') {
          throw new AppError(403, 'PASSWORD_CHANGE_REQUIRED', 'Change the default password first (POST /api/auth/change-password)');
        }
        if (spec.action && !can(auth.role, spec.action)) throw concealed(auth.role, spec.action) ? notFound() : forbidden();
      }
      // A body in another format than JSON (text, a form) is refused as such, not as a JSON missing every field.
      if (
        spec.body &&
        ['post', 'put', 'patch'].includes(spec.method) &&
        (ctx.request.length || ctx.get('Transfer-Encoding')) &&
        !ctx.is('json', '+json')
      ) {
        throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as JSON (Content-Type: application/json)');
      }
      const requestBody: unknown = ctx.request.body;
      const params = parsePart(spec.params, ctx.params, 'params');
      const locale = localeOf(ctx);
      const query = parsePart(spec.query, ctx.query, 'query', locale);
      if (!spec.acceptsPasswords) rejectPasswordFields(requestBody);
      const volatile = spec.representation?.volatile ?? [];
      let result: HandlerResult;
      if (spec.representation && (spec.method === 'put' || spec.method === 'patch')) {
        const method = spec.method;
        const ifMatch = ctx.get('If-Match');
        let checks = 0;
        const write: GuardedWrite<unknown> = {
          against(current: object): Checked<unknown> {
            checks++;
            const compared = compareWrite(method, requestBody, current, spec.body, ifMatch, volatile);
            if (compared.unchanged) return { unchanged: true };
            rejectForbiddenFields(compared.body, spec.forbiddenFields ?? []);
            return { unchanged: false, body: parsePart(spec.body, compared.body, 'body', locale) };
          },
        };
        const input = { params, query, write, auth, meta: ctx.state.meta, ctx };
        result = await spec.handler(
          Object.defineProperty(input, 'body', {
            get() {
              throw new Error(`${spec.operationId} is a guarded write: its service reads the body from write.against`);
            },
          }) as typeof input & { body: never },
        );
        // A service that wrote without checking would skip If-Match and the read-only fields: refused loudly.
        if (checks === 0) throw new Error(`${spec.operationId}: answered a guarded write without write.against`);
      } else {
        rejectForbiddenFields(requestBody, spec.forbiddenFields ?? []);
        const body = parsePart(spec.body, requestBody ?? {}, 'body', locale);
        result = await spec.handler({ params, query, body, write: plainWrite(body), auth, meta: ctx.state.meta, ctx });
      }
      for (const [name, value] of Object.entries(result.headers ?? {})) ctx.set(name, value);
      ctx.status = result.status ?? 200;
      if (result.body !== undefined) ctx.body = result.body;
      if (spec.representation && spec.method !== 'delete' && ctx.status === 200 && result.body && typeof result.body === 'object')
        ctx.set('ETag', etagOf(result.body, volatile));
    });
  }
}
