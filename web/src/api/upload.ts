// The one request not made through openapi-fetch: a browser reports upload progress only for XMLHttpRequest. Its
// answer is still the API's own type (UploadResult), and its errors the API's error body.
import { ApiError, type ApiErrorBody } from './client';
import type { UploadResult } from './types';
import { session } from '../auth/session';

/** How far an upload is: bytes sent in total, and per file (files travel one after the other in the body). */
export interface UploadProgress {
  sent: number;
  total: number;
  perFile: number[];
}

/** Uploads files (DICOM, folders' contents, ZIPs) for a patient, reporting progress; resolves with what was stored and refused. */
export async function uploadStudies(patientId: string, files: File[], onProgress: (p: UploadProgress) => void): Promise<UploadResult> {
  const token = await session.accessToken();
  const form = new FormData();
  // The patient first: the server then streams each file straight on (it holds files sent before it).
  form.append('patientId', patientId);
  for (const f of files) form.append('files', f, (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name);
  const sizes = files.map((f) => f.size);
  const total = sizes.reduce((a, b) => a + b, 0);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/dicom/studies/upload_dicom');
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Accept-Language', session.language());
    xhr.upload.onprogress = (e) => {
      // The body is the files in order plus a little framing: what was sent fills them one after the other.
      const sent = Math.min(e.loaded, total);
      let offset = 0;
      const perFile = sizes.map((size) => {
        const done = Math.min(Math.max(sent - offset, 0), size);
        offset += size;
        return size === 0 ? (sent >= offset ? 1 : 0) : done / size;
      });
      onProgress({ sent, total, perFile });
    };
    xhr.onload = () => {
      const body = (() => {
        try {
          return JSON.parse(xhr.responseText) as unknown;
        } catch {
          return null;
        }
      })();
      if (xhr.status === 201) resolve(body as UploadResult);
      else
        reject(
          new ApiError(
            xhr.status,
            (body as ApiErrorBody) ?? { error: { code: `HTTP_${xhr.status}`, message: xhr.statusText, details: null } },
          ),
        );
    };
    xhr.onerror = () => reject(new Error('network'));
    xhr.send(form);
  });
}

/** Saves an authorized download (a report's PDF, a study's ZIP) under its name. */
export async function saveBlob(blob: Blob, filename: string): Promise<void> {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
