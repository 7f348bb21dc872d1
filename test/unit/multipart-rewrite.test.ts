import { Readable } from 'node:stream';
import { expect } from 'chai';
import { MultipartHeaderRewrite, multipartBoundary } from '../../dicom-proxy/src/forward.js';

const FROM = 'http://127.0.0.1:8042/dicom-web';
const TO = 'https://pacs.example/dicom-web/t/vs_abc';

async function run(body: Buffer, chunkSize: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < body.length; i += chunkSize) chunks.push(body.subarray(i, i + chunkSize));
  const out: Buffer[] = [];
  for await (const c of Readable.from(chunks).pipe(new MultipartHeaderRewrite('b0und', FROM, TO))) out.push(c as Buffer);
  return Buffer.concat(out);
}

describe('multipart part-header rewrite (pure)', () => {
  // A payload that contains the URL and CRLFs: it must come out untouched.
  const payload = Buffer.concat([Buffer.from(`\r\n${FROM}/x\r\n\r\n`), Buffer.from([0, 255, 13, 10, 45, 45])]);
  const part = (n: number) =>
    Buffer.concat([
      Buffer.from(`Content-Type: application/octet-stream\r\nContent-Location: ${FROM}/studies/1/frames/${n}\r\n\r\n`),
      payload,
    ]);
  const body = Buffer.concat([
    Buffer.from('--b0und\r\n'),
    part(1),
    Buffer.from('\r\n--b0und\r\n'),
    part(2),
    Buffer.from('\r\n--b0und--\r\n'),
  ]);
  const expected = Buffer.from(body.toString('latin1').split(`Content-Location: ${FROM}`).join(`Content-Location: ${TO}`), 'latin1');

  for (const size of [1, 2, 3, 7, 64, body.length]) {
    it(`rewrites part headers only, payloads byte for byte (chunks of ${size})`, async () => {
      expect((await run(body, size)).equals(expected)).to.equal(true);
    });
  }

  it('passes a body cut short through unchanged (the client then sees no terminating boundary)', async () => {
    const cut = body.subarray(0, body.length - 20);
    const out = await run(cut, 5);
    expect(out.toString('latin1')).to.not.include('--b0und--');
    expect(out.toString('latin1')).to.not.include(FROM + '/studies/1');
  });

  it('reads the boundary of quoted and bare content types', () => {
    expect(multipartBoundary('multipart/related; type="application/dicom"; boundary="a b"')).to.equal('a b');
    expect(multipartBoundary('multipart/related; boundary=xyz; type=application/dicom')).to.equal('xyz');
    expect(multipartBoundary('application/dicom+json')).to.equal(null);
  });
});
