import { appendFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';

type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>;
  components?: { schemas?: Record<string, object> };
};

/** A schema whose references to `components.schemas` point into its own `$defs` (Ajv compiles one schema at a time). */
const local = (schema: object): object => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"#/$defs/'));

/** Checks responses against the API's own OpenAPI document, so the document cannot drift from the code. */
export class OpenApiChecker {
  private readonly ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly templates: { regex: RegExp; path: string }[];
  private readonly defs: object;

  constructor(private readonly doc: Doc) {
    this.defs = local(doc.components?.schemas ?? {});
    this.templates = Object.keys(doc.paths).map((path) => ({
      path,
      regex: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`),
    }));
  }

  /** Throws when the status is undocumented for the operation or the body does not match its schema. */
  check(method: string, url: string, status: number, contentType: string | null, body: unknown): void {
    const path = new URL(url, 'http://x').pathname.replace(/(.)\/$/, '$1');
    const template = this.templates.find((t) => t.regex.test(path));
    if (!template) {
      // Unrouted paths must still answer with the error shape.
      if (status === 404 || status === 405) return;
      throw new Error(`${method} ${path}: path not in the OpenAPI document`);
    }
    const operation = this.doc.paths[template.path]?.[method.toLowerCase()];
    if (!operation) {
      if (status === 404 || status === 405) return;
      throw new Error(`${method} ${template.path}: method not in the OpenAPI document (status ${status})`);
    }
    // Every 2xx-4xx a route answers is declared by its status: `default` stands for unexpected 5xx only.
    if (status < 500 && !operation.responses[String(status)]) {
      if (process.env.OPENAPI_UNDECLARED_LOG) {
        appendFileSync(process.env.OPENAPI_UNDECLARED_LOG, `${method.toLowerCase()} ${template.path} ${status}\n`);
      } else {
        throw new Error(`${method} ${template.path}: status ${status} is answered but not declared in the OpenAPI document`);
      }
    }
    const response = operation.responses[String(status)] ?? operation.responses.default;
    if (!response) throw new Error(`${method} ${template.path}: status ${status} is not documented`);
    const schema = response.content?.['application/json']?.schema;
    if (!schema) {
      if (body !== null && body !== undefined && body !== '') throw new Error(`${method} ${template.path} ${status}: undocumented body`);
      return;
    }
    if (!contentType?.includes('application/json'))
      throw new Error(`${method} ${template.path} ${status}: expected JSON, got ${contentType}`);
    const key = `${method} ${template.path} ${status}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile({ ...local(schema), $defs: this.defs });
      this.compiled.set(key, validate);
    }
    if (!validate(body)) {
      throw new Error(
        `${key}: response does not match the OpenAPI document: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`,
      );
    }
  }
}
