import { expect } from 'chai';

/** One part of a multipart body: its headers (lower-case names) and its exact payload bytes. */
export interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Splits a multipart body (RFC 2046) into its parts, failing the test when the framing is broken: no
 * opening delimiter, or no closing `--boundary--` (what a cut-short body looks like to OHIF).
 */
export function parseMultipart(contentType: string | null, body: Buffer): Part[] {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  expect(m, `a multipart boundary in ${contentType}`).to.not.equal(null);
  const boundary = m![1] ?? m![2]!;
  const opening = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let at = body.indexOf(opening);
  expect(at, 'opening delimiter').to.be.at.least(0);
  at += opening.length;
  const parts: Part[] = [];
  for (;;) {
    if (body.subarray(at, at + 2).toString('latin1') === '--') return parts;
    const headerEnd = body.indexOf('\r\n\r\n', at);
    expect(headerEnd, 'end of part headers').to.be.at.least(0);
    const headers: Record<string, string> = {};
    for (const line of body.subarray(at, headerEnd).toString('latin1').split('\r\n').filter(Boolean)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const next = body.indexOf(delimiter, headerEnd + 4);
    expect(next, 'terminating boundary').to.be.at.least(0);
    parts.push({ headers, body: body.subarray(headerEnd + 4, next) });
    at = next + delimiter.length;
  }
}
