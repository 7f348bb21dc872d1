import type { ServerResponse } from 'node:http';

/** Answers with the project's error shape. */
export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  if (status === 401) res.setHeader('www-authenticate', 'Bearer');
  res.end(JSON.stringify({ error: { code, message, details: null } }));
}

/** Answers a DICOM JSON body (a value, or text that already is JSON). */
export function sendDicomJson(res: ServerResponse, body: unknown): void {
  res.statusCode = 200;
  res.setHeader('content-type', 'application/dicom+json');
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
