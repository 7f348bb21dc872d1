import { z } from 'zod';
import { CONCEALED, rolesFor } from '../policy/policy.js';
import { registerComponents } from './components.js';
import { errorSchema } from '../http/error-schema.js';
import type { AnyRoute, ResponseSpec } from '../http/route.js';

type JsonSchema = Record<string, unknown>;

/** Converts zod schemas to JSON Schema for one document, collecting the named ones it meets. */
type Convert = ((schema: z.ZodType, io: 'input' | 'output') => JsonSchema) & { components: Record<string, JsonSchema> };

/**
 * A converter for one document: the named schemas (api/src/openapi/components.ts) a converted schema holds go to
 * `components` and are referenced. A named schema that reads differently as input (defaults, transforms) is
 * named `…Input`; convert responses first, so that the plain name is the output form.
 */
function converter(): Convert {
  const components: Record<string, JsonSchema> = {};
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
    delete out.$schema;
    const defs = (out.$defs ?? {}) as Record<string, JsonSchema>;
    delete out.$defs;
    const renamed = new Map<string, string>();
    for (const [id, def] of Object.entries(defs)) {
      const known = components[id];
      renamed.set(id, !known || JSON.stringify(known) === JSON.stringify(def) || io === 'output' ? id : `${id}Input`);
    }
    const relink = (value: JsonSchema): JsonSchema =>
      JSON.parse(
        JSON.stringify(value).replace(/"#\/\$defs\/([^"]+)"/g, (_, id: string) =>
          JSON.stringify(`#/components/schemas/${renamed.get(id) ?? id}`),
        ),
      ) as JsonSchema;
    for (const [id, def] of Object.entries(defs)) components[renamed.get(id)!] ??= relink(def);
    return relink(out);
  };
  return Object.assign(convert, { components });
}

function parametersOf(jsonSchema: Convert, schema: z.ZodType | undefined, location: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const object = jsonSchema(schema, 'input');
  const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((object.required ?? []) as string[]);
  return Object.entries(properties).map(([name, s]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
  }));
}

const errorResponse = (description: string): ResponseSpec => ({ description, schema: errorSchema });

function responsesOf(jsonSchema: Convert, route: AnyRoute): Record<string, unknown> {
  const all: Record<number, ResponseSpec> = { ...route.responses };
  // Every route refuses a NUL character anywhere in the request (common/http/refuse-nul.ts).
  all[400] ??= errorResponse(
    route.params || route.query || route.body || route.rawBody
      ? 'Invalid input; `details` lists the fields'
      : 'A NUL character in the request (`INVALID_CHARACTER`)',
  );
  if (route.auth !== 'public') {
    all[401] ??= errorResponse('Missing, invalid or expired token, revoked session, or inactive account');
    all[403] ??= errorResponse('The role may never do this, or the default password must be changed first');
  }
  if (route.params) all[404] ??= errorResponse('Not found, or outside the caller’s scope');
  // A patient named in the query or the body may be outside the caller's scope; a role the action is concealed
  // from gets 404, as if nothing were there.
  const names = (schema: unknown) => schema instanceof z.ZodObject && 'patientId' in schema.shape;
  if (names(route.query) || names(route.body) || (route.action && CONCEALED[route.action]?.length))
    all[404] ??= errorResponse('Not found, or outside the caller’s scope');
  if (route.body && ['post', 'put', 'patch'].includes(route.method))
    all[415] ??= errorResponse('The body is not JSON (`UNSUPPORTED_MEDIA_TYPE`)');
  if (route.representation && (route.method === 'put' || route.method === 'patch'))
    all[412] ??= errorResponse('`If-Match` names an older version: read the resource again');
  const out: Record<string, Record<string, unknown>> = {};
  for (const [status, spec] of Object.entries(all)) {
    out[status] = spec.contentType
      ? { description: spec.description, content: { [spec.contentType]: { schema: { type: 'string', format: 'binary' } } } }
      : spec.schema
        ? { description: spec.description, content: { 'application/json': { schema: jsonSchema(spec.schema, 'output') } } }
        : { description: spec.description };
  }
  out.default = { description: 'Unexpected error', content: { 'application/json': { schema: jsonSchema(errorSchema, 'output') } } };
  // The version a later PUT or PATCH names in If-Match.
  if (route.representation && route.method !== 'delete' && out['200']) {
    out['200'].headers = { ETag: { description: 'The version of the resource; send it back as `If-Match`', schema: { type: 'string' } } };
  }
  return out;
}

/** Builds the OpenAPI 3.1 document from the same route specs that validate requests. */
export function buildOpenApi(
  routes: AnyRoute[],
  info: { title: string; version: string; description: string; license?: { name: string } },
): JsonSchema {
  registerComponents();
  const jsonSchema = converter();
  // Responses first: a resource's name is its output form; an input differing from it gets `…Input`.
  const responses = new Map(routes.map((route) => [route, responsesOf(jsonSchema, route)]));
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const roles = route.action ? rolesFor(route.action) : null;
    const description = [
      route.description,
      roles ? `Roles: ${roles.join(', ')}.` : null,
      route.forbiddenFields?.length
        ? `Refused fields (400 FIELD_NOT_ALLOWED): ${route.forbiddenFields.join(', ')}. Other unknown fields are ignored.`
        : null,
      route.representation && route.method === 'get' ? 'Answers an `ETag`; send it back as `If-Match` with a PUT or PATCH.' : null,
      route.representation && (route.method === 'put' || route.method === 'patch')
        ? 'Takes back what GET answered: read-only fields are accepted when equal to the stored value (400 `FIELD_NOT_ALLOWED` naming the field otherwise); ' +
          'sent back unchanged, nothing is written (200). With `If-Match`, a write based on an older version answers 412.'
        : null,
    ]
      .filter(Boolean)
      .join('\n\n');
    paths[route.path] ??= {};
    paths[route.path]![route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(description ? { description } : {}),
      tags: [route.tag],
      security: route.auth === 'public' ? [] : [{ bearerAuth: [] }],
      parameters: [
        ...parametersOf(jsonSchema, route.params, 'path'),
        ...parametersOf(jsonSchema, route.query, 'query'),
        ...(route.representation && (route.method === 'put' || route.method === 'patch')
          ? [
              {
                name: 'If-Match',
                in: 'header',
                required: false,
                description: 'The `ETag` the resource was read with: a write based on an older version answers 412',
                schema: { type: 'string' },
              },
            ]
          : []),
      ],
      ...(route.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } }
        : {}),
      ...(route.rawBody
        ? {
            requestBody: {
              required: true,
              description: route.rawBody.description,
              content: { [route.rawBody.contentType]: { schema: route.rawBody.schema } },
            },
          }
        : {}),
      responses: responses.get(route),
    };
  }
  return {
    openapi: '3.1.0',
    // The package is private: its document says so (a generated client's users see it).
    info: { license: { name: 'Proprietary (MediConnect)', identifier: 'LicenseRef-MediConnect-Proprietary' }, ...info },
    servers: [{ url: '/' }],
    components: {
      schemas: Object.fromEntries(Object.entries(jsonSchema.components).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
    paths,
  };
}
