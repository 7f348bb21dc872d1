import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { part10Header } from '../common/dicom/part10.js';
import { serveAssociation, type AssociationHandlers, type IncomingInstance } from '../dicom-gate/src/association.js';
import { parseCommand } from '../dicom-gate/src/dimse.js';
import { encodePData, parseAssociateRq, PDU, PduError, PduReader } from '../dicom-gate/src/pdu.js';
import { PYDICOM_TEST_FILES } from '../scripts/lib/system-packages.js';
import { newUid, synthDicom } from './helpers/dicom.js';
import { associateRq as buildAssociateRq } from './helpers/scu.js';

/** pydicom's view of a Part-10 file: SOP Instance UID and a hash of the pixel data. */
function pydicomView(file: Buffer): { sop: string; pixels: string } {
  const script = `import sys, io, json, hashlib, pydicom
d = pydicom.dcmread(io.BytesIO(sys.stdin.buffer.read()))
px = d.get((0x7fe0, 0x0010))
print(json.dumps({"sop": str(d.SOPInstanceUID), "pixels": hashlib.sha256(px.value).hexdigest() if px is not None else ""}))`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: file, maxBuffer: 1 << 26 }).toString());
}

/** An A-ASSOCIATE-RQ with `contexts` Verification contexts (implicit little endian). */
const associateRq = (callingAe: string, contexts: number) =>
  buildAssociateRq(
    callingAe,
    Array.from({ length: contexts }, (_, i) => ({ id: 2 * i + 1, sopClassUid: '1.2.840.10008.1.1', transferSyntax: '1.2.840.10008.1.2' })),
  );

/** Sends raw bytes and resolves with what came back once the server closed (or after 5 s). */
function raw(port: number, bytes: Buffer): Promise<{ received: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closed: false });
    }, 5_000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks), closed: true });
    });
    socket.write(bytes);
  });
}

describe('DICOM gate, protocol: one association as dcmtk speaks it, and as an attacker would (dicom-gate/src)', function () {
  this.timeout(60_000);
  let server: net.Server;
  let port: number;
  let dir: string;
  const received: (Omit<IncomingInstance, 'dataset'> & { data: Buffer })[] = [];
  const refuseSop = newUid();
  const events: string[] = [];
  const handlers: AssociationHandlers = {
    accept: async (rq) => rq.callingAe === 'GOODDEVICE',
    store: async (instance) => {
      const { dataset, ...rest } = instance;
      if (instance.sopInstanceUid === refuseSop) {
        dataset.resume();
        return { status: 0x0124, comment: 'Not yours' };
      }
      received.push({ ...rest, data: await buffer(dataset) });
      return { status: 0 };
    },
    log: (event) => events.push(event),
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gate-protocol-'));
    server = net.createServer((socket) =>
      serveAssociation(socket, handlers, {
        maxPduLength: 65_536,
        implementationClassUid: '2.25.1',
        implementationVersionName: 'TEST',
        idleMs: 10_000,
        artimMs: 1_000,
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  // Asynchronous: the gate answers from this very process.
  const run = (command: string, args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(command, args);
      let [stdout, stderr] = ['', ''];
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  const echo = (aet: string) => run('echoscu', ['-v', '-aet', aet, '-aec', 'MEDICONNECT', '127.0.0.1', String(port)]);
  const store = (aet: string, files: string[], options: string[] = []) =>
    run('storescu', ['-v', ...options, '-aet', aet, '-aec', 'MEDICONNECT', '127.0.0.1', String(port), ...files]);

  it('C-ECHO: a known calling AE title is answered; another is rejected at association', async () => {
    const ok = await echo('GOODDEVICE');
    expect(ok.status, ok.stderr + ok.stdout).to.equal(0);
    expect(ok.stdout + ok.stderr).to.match(/Received Echo Response \(Success\)/);
    const refused = await echo('STRANGER');
    expect(refused.status).to.not.equal(0);
    expect(refused.stdout + refused.stderr).to.match(/Association Rejected/);
    expect(events).to.include('association refused');
  });

  it('C-STORE: each dataset arrives whole, in the negotiated syntax, with backpressure; a refusal is answered with its status', async () => {
    received.length = 0;
    const refused = path.join(dir, 'refused.dcm');
    writeFileSync(refused, synthDicom({ patientId: 'X', studyUid: newUid(), seriesUid: newUid(), sopUid: refuseSop }));
    const big = path.join(dir, 'big.dcm');
    writeFileSync(big, synthDicom({ patientId: 'X', studyUid: newUid(), seriesUid: newUid(), rows: 2048, columns: 2048 }));
    // The refused file last: dcmtk's storescu stops its run at a status it does not know (0x0124, "not authorized").
    const files = [path.join(PYDICOM_TEST_FILES, 'CT_small.dcm'), path.join(PYDICOM_TEST_FILES, 'MR_small_implicit.dcm'), big, refused];
    const result = await store('GOODDEVICE', files);
    expect(result.stdout + result.stderr).to.match(/Received Store Response \(.*0x0?124\)/);
    // A JPEG file, proposed as JPEG (dcmtk's storescu proposes uncompressed syntaxes unless told), travels as JPEG.
    const jpeg = path.join(PYDICOM_TEST_FILES, 'SC_rgb_jpeg_dcmtk.dcm');
    const compressed = await store('GOODDEVICE', [jpeg], ['-xy']);
    expect(compressed.status, compressed.stderr).to.equal(0);
    expect(received.map((r) => r.callingAe)).to.deep.equal(['GOODDEVICE', 'GOODDEVICE', 'GOODDEVICE', 'GOODDEVICE']);
    expect(received[3]!.transferSyntax).to.equal('1.2.840.10008.1.2.4.50');
    for (const [i, file] of [files[0]!, files[1]!, big, jpeg].entries()) {
      const original = pydicomView(readFileSync(file));
      const got = received[i]!;
      expect(got.sopInstanceUid, file).to.equal(original.sop);
      // The dataset as received, given a meta header, is the same instance with the same pixels.
      const rebuilt = Buffer.concat([
        part10Header({ transferSyntax: got.transferSyntax, sopClassUid: got.sopClassUid, sopInstanceUid: got.sopInstanceUid }),
        got.data,
      ]);
      expect(pydicomView(rebuilt), file).to.deep.equal(original);
    }
    expect(received[2]!.data.length).to.be.greaterThan(2048 * 2048 * 2);
  });

  const hostile: [string, () => Buffer][] = [
    ['bytes that are no PDU', () => Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['a PDU claiming 4 GB', () => Buffer.from([PDU.ASSOCIATE_RQ, 0, 0xff, 0xff, 0xff, 0xf0, 0, 1])],
    ['an association with 200 presentation contexts', () => associateRq('GOODDEVICE', 200)],
    ['data before any association', () => Buffer.concat(encodePData(1, true, Buffer.alloc(20), 0))],
    [
      'an item running past its PDU',
      () => {
        const rq = associateRq('GOODDEVICE', 1);
        rq.writeUInt16BE(0xffff, 6 + 68 + 2);
        return rq;
      },
    ],
    ['a control character in the calling AE title', () => associateRq('GOOD\u0001DEVICE', 1)],
  ];
  for (const [what, bytes] of hostile) {
    it(`${what}: that association ends, the gate goes on`, async () => {
      const { received: answer, closed } = await raw(port, bytes());
      expect(closed, 'closed by the gate').to.equal(true);
      // Nothing but an A-ABORT (or an A-ASSOCIATE-RJ) ever comes back.
      if (answer.length) expect([PDU.ABORT, PDU.ASSOCIATE_RJ]).to.include(answer[0]);
      expect((await echo('GOODDEVICE')).status).to.equal(0);
    });
  }

  it('a peer trickling its A-ASSOCIATE-RQ a byte at a time (never idle) is cut when the request is not whole in time; the gate goes on', async () => {
    const request = associateRq('GOODDEVICE', 1);
    const closed = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      let sent = 0;
      const trickle = setInterval(() => {
        // The whole request would take 100 ms × its length: far past the gate's 1 s in this test.
        if (sent < request.length && !socket.destroyed) socket.write(request.subarray(sent, ++sent));
      }, 100);
      const giveUp = setTimeout(() => {
        clearInterval(trickle);
        socket.destroy();
        resolve(false);
      }, 10_000);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(trickle);
        clearTimeout(giveUp);
        resolve(true);
      });
    });
    expect(closed, 'closed by the gate before the request was whole').to.equal(true);
    expect(events).to.include('association request timed out');
    expect((await echo('GOODDEVICE')).status).to.equal(0);
  });

  it('the codec refuses by itself: an oversized PDU before its body, an even context id, a command outside group 0000', () => {
    expect(() => new PduReader(1024).push(Buffer.from([PDU.P_DATA_TF, 0, 0, 0, 0x10, 0]))).to.throw(PduError, /more than the 1024/);
    const evenId = associateRq('A', 1);
    // The first presentation context's id: after the PDU header, the fixed fields and the application context item.
    evenId[6 + 68 + 25 + 4] = 2;
    expect(() => parseAssociateRq(evenId.subarray(6))).to.throw(PduError);
    const outside = Buffer.alloc(10);
    outside.writeUInt16LE(0x0008, 0);
    expect(() => parseCommand(outside)).to.throw(PduError);
  });
});
