import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { synthDicom, newUid } from './helpers/dicom.js';
import { fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { sharedApi } from './helpers/server.js';

/** What a client saw of a request answered before its body was sent whole. */
interface EarlyAnswer {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string } };
  /** The error of a write made after the answer was read (null: accepted). */
  laterWrite: string | null;
  /** Whether the connection ended in an error (a reset) rather than a clean close. */
  reset: string | null;
}

/**
 * Sends a request head and the start of its body over a raw socket, reads the answer the server sends
 * before the body is complete, then keeps sending a while — as a client busy streaming a large upload
 * does before it notices the answer — and ends. The socket is half-open capable, so that a reset from
 * the server shows as a failed write rather than as a plain end of stream.
 */
function earlyAnswer(url: string, head: string, start: Buffer, more: Buffer): Promise<EarlyAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port), allowHalfOpen: true });
    let raw = Buffer.alloc(0);
    let answer: Omit<EarlyAnswer, 'laterWrite' | 'reset'> | null = null;
    let laterWrite: string | null = null;
    let reset: string | null = null;
    socket.on('error', (err: NodeJS.ErrnoException) => (reset = err.code ?? err.message));
    socket.on('close', () =>
      answer
        ? resolve({ ...answer, laterWrite, reset })
        : reject(new Error(`no answer (${reset ?? 'closed'}): ${raw.toString('latin1').slice(0, 200)}`)),
    );
    socket.on('data', (chunk: Buffer) => {
      if (answer) return;
      raw = Buffer.concat([raw, chunk]);
      const end = raw.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
      const headers = Object.fromEntries(
        lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      const length = Number(headers['content-length']);
      if (raw.length < end + 4 + length) return;
      answer = {
        status: Number(lines[0]!.split(' ')[1]),
        headers,
        body: JSON.parse(raw.subarray(end + 4, end + 4 + length).toString('utf8')),
      };
      // The answer is read; the client still had bytes on their way.
      socket.write(more, (err) => {
        laterWrite = err ? ((err as NodeJS.ErrnoException).code ?? err.message) : null;
        setTimeout(() => socket.end(), 100);
      });
    });
    socket.write(head);
    socket.write(start);
  });
}

const multipartHead = (path: string, host: string, token: string | null, boundary: string, length: number) =>
  `POST ${path} HTTP/1.1\r\nHost: ${host}\r\n${token ? `Authorization: Bearer ${token}\r\n` : ''}Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${length}\r\n\r\n`;

describe('answers before the body is read: the client gets the answer, never a reset', function () {
  this.timeout(30_000);
  let url: string;
  let host: string;
  let h: HospitalWithStaff;

  before(async () => {
    url = (await sharedApi()).url;
    host = new URL(url).host;
    h = await (await fixtures()).clinic();
  });

  const boundary = '----mediconnect-early';
  const filePart = (name: string) =>
    Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${name}"\r\nContent-Type: application/dicom\r\n\r\n`,
      ),
      synthDicom({ patientId: 'EARLY', studyUid: newUid(), seriesUid: newUid(), rows: 256, columns: 256 }),
      Buffer.from('\r\n'),
    ]);
  // A body far larger than what is sent before the answer: the server has unread bytes when it answers.
  const declared = 64 * 1024 * 1024;
  const threeFiles = () => Buffer.concat([filePart('a.dcm'), filePart('b.dcm'), filePart('c.dcm')]);

  /** The answer the client read, and a close with no reset even though it kept sending after it. */
  function expectAnswerThenCleanClose(seen: EarlyAnswer, status: number, code: string): void {
    expect(seen.status).to.equal(status);
    expect(seen.body.error.code).to.equal(code);
    expect(seen.headers.connection).to.equal('close');
    expect(seen.laterWrite, 'a write after the answer').to.equal(null);
    expect(seen.reset, 'the connection ended in a reset').to.equal(null);
  }

  it('an upload refused at the door (no token): 401, then the connection closes cleanly while the client still sends', async () => {
    const seen = await earlyAnswer(
      url,
      multipartHead('/api/dicom/studies/upload_dicom/', host, null, boundary, declared),
      threeFiles(),
      Buffer.alloc(512 * 1024),
    );
    expectAnswerThenCleanClose(seen, 401, 'AUTHENTICATION_REQUIRED');
  });

  it('an upload refused mid-body (a patient the caller cannot see): 404, then a clean close', async () => {
    const seen = await earlyAnswer(
      url,
      multipartHead(`/api/dicom/studies/upload_dicom/?patientId=${randomUUID()}`, host, h.doctor.token, boundary, declared),
      threeFiles(),
      Buffer.alloc(512 * 1024),
    );
    expectAnswerThenCleanClose(seen, 404, 'NOT_FOUND');
  });

  it('a JSON body over the limit: 413, then a clean close', async () => {
    const head = `POST /api/medical-records HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${h.doctor.token}\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`;
    const seen = await earlyAnswer(url, head, Buffer.from(`{"title":"${'x'.repeat(2 * 1024 * 1024)}`), Buffer.alloc(512 * 1024, 0x78));
    expectAnswerThenCleanClose(seen, 413, 'PAYLOAD_TOO_LARGE');
  });
});

describe('idle connections: the server waits longer than the clients in front of it', function () {
  this.timeout(30_000);

  it('a keep-alive connection idle for 6 s still serves its next request (Node’s 5 s default would have closed it under the client)', async () => {
    const { hostname, port } = new URL((await sharedApi()).url);
    const socket = net.connect({ host: hostname, port: Number(port) });
    let received = '';
    let ended = false;
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('end', () => (ended = true));
    socket.on('error', () => (ended = true));
    const answers = () => received.split('HTTP/1.1 ').length - 1;
    const waitFor = async (n: number) => {
      for (let i = 0; i < 100 && answers() < n && !ended; i++) await new Promise((r) => setTimeout(r, 50));
    };
    socket.write(`GET /healthz HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
    await waitFor(1);
    expect(answers()).to.equal(1);
    expect(received.toLowerCase()).to.include('keep-alive: timeout=65');
    await new Promise((r) => setTimeout(r, 6_000));
    expect(ended, 'the server closed the idle connection').to.equal(false);
    socket.write(`GET /healthz HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
    await waitFor(2);
    expect(answers()).to.equal(2);
    socket.destroy();
  });
});
