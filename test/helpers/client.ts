import { OpenApiChecker } from './openapi.js';

/** A response as the tests see it. */
export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

/** HTTP client for one API server; every response is checked against the server's OpenAPI document. */
export class ApiClient {
  private checker: Promise<OpenApiChecker> | null = null;

  constructor(readonly baseUrl: string) {}

  private openapi(): Promise<OpenApiChecker> {
    this.checker ??= fetch(`${this.baseUrl}/api/openapi.json`)
      .then((r) => r.json())
      .then((doc) => new OpenApiChecker(doc));
    return this.checker;
  }

  /** Sends a request and returns status, parsed body and headers. */
  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let payload: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(options.body);
    } else if (payload !== undefined) {
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, body: payload });
    const text = await res.text();
    const contentType = res.headers.get('content-type');
    const body = contentType?.includes('application/json') && text ? JSON.parse(text) : text || null;
    (await this.openapi()).check(method, path, res.status, contentType, body);
    if (res.status >= 400 && (typeof body !== 'object' || body === null || typeof body.error?.code !== 'string')) {
      throw new Error(`${method} ${path} → ${res.status} without the error shape: ${text.slice(0, 200)}`);
    }
    return { status: res.status, body: body as T, headers: res.headers };
  }

  get = <T = any>(path: string, o?: RequestOptions) => this.request<T>('GET', path, o);
  post = <T = any>(path: string, o?: RequestOptions) => this.request<T>('POST', path, o);
  put = <T = any>(path: string, o?: RequestOptions) => this.request<T>('PUT', path, o);
  patch = <T = any>(path: string, o?: RequestOptions) => this.request<T>('PATCH', path, o);
  delete = <T = any>(path: string, o?: RequestOptions) => this.request<T>('DELETE', path, o);
}
