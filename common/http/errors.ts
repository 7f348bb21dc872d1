/** One field-level problem in a rejected request. */
export interface ErrorDetail {
  field?: string;
  message: string;
  [key: string]: unknown;
}

/** The single error family of the API: every failure the client sees is one of these. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] | Record<string, unknown> | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** 400: the request is malformed or breaks a validation rule. */
export const badRequest = (message: string, details: ErrorDetail[] | null = null, code = 'VALIDATION_ERROR') =>
  new AppError(400, code, message, details);

/** 401: no valid credentials. */
export const unauthorized = (code: string, message: string) => new AppError(401, code, message, null, { 'WWW-Authenticate': 'Bearer' });

/** 403: the caller's role may never perform this action. */
export const forbidden = (message = 'Your role is not allowed to perform this action', code = 'FORBIDDEN') =>
  new AppError(403, code, message);

/** 404: the resource does not exist or lies outside the caller's scope (which is not revealed). */
export const notFound = (what = 'Resource') => new AppError(404, 'NOT_FOUND', `${what} not found`);

/** 409: the request conflicts with the current state. */
export const conflict = (code: string, message: string, details: ErrorDetail[] | null = null) => new AppError(409, code, message, details);

/** 429: too many attempts; retry after the given number of seconds. */
export const tooManyRequests = (message: string, retryAfterSeconds: number) =>
  new AppError(429, 'TOO_MANY_ATTEMPTS', message, { retryAfterSeconds }, { 'Retry-After': String(retryAfterSeconds) });

/** 503: a dependency is unavailable. */
export const serviceUnavailable = (message: string) => new AppError(503, 'SERVICE_UNAVAILABLE', message);
