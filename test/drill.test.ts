import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopLeftovers } from '../scripts/lib/stack.js';
import { ApiClient } from './helpers/client.js';
import { newUid, synthDicom, upload } from './helpers/dicom.js';
import { Fixtures } from './helpers/fixtures.js';
import { exited, npmStartEnv, spawnTs, stopAfterTest, waitFor } from './helpers/processes.js';

/**
 * The drill an operator runs from README.md and docs/operations.md alone, on `npm start`'s embedded stack:
 * back up, lose `.data`, start afresh, restore, and find the same accounts, records and image bytes.
 */
describe('operations drill (issue 22): backup, lose .data, fresh start, restore', function () {
  this.timeout(900_000);

  it('restores into a fresh installation as documented, refusing keys that cannot open the data, a running stack and a database holding data', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'mediconnect-drill-'));
    const dataDir = path.join(root, 'data');
    const backupDir = path.join(root, 'backup');
    const keptSecrets = path.join(root, 'kept-secrets.json');
    stopAfterTest(() => rmSync(root, { recursive: true, force: true }));
    stopAfterTest(() => stopLeftovers(dataDir));
    const { env, ports } = await npmStartEnv(dataDir, 'chief@drill.test');
    const base = `http://127.0.0.1:${ports.api}`;
    const start = async () => {
      const run = spawnTs('scripts/start.ts', env);
      await waitFor(() => run.output().includes('Press Ctrl-C to stop.'), 'npm start', run.output, 180_000);
      return run;
    };
    const stop = async (run: ReturnType<typeof spawnTs>) => {
      const done = exited(run.child);
      run.child.kill('SIGINT');
      expect(await done, run.output().slice(-2000)).to.equal(0);
    };
    /** An operator command, as `npm run <name> -- args` runs it: its exit code and everything it printed. */
    const command = async (script: string, args: string[]) => {
      const run = spawnTs(script, env, args);
      const code = await new Promise<number | null>((resolve) => run.child.once('close', resolve));
      return { code, output: run.output() };
    };
    const frame = async (token: string, study: string, series: string, sop: string) => {
      const res = await fetch(`http://127.0.0.1:${ports.proxy}/dicom-web/studies/${study}/series/${series}/instances/${sop}/frames/1`, {
        headers: { authorization: `Bearer ${token}`, accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' },
      });
      expect(res.status).to.equal(200);
      const body = Buffer.from(await res.arrayBuffer());
      // The multipart boundaries differ from answer to answer; the frame bytes between them must not.
      return body.subarray(body.indexOf('\r\n\r\n') + 4, body.lastIndexOf('\r\n--'));
    };

    // A working installation: a hospital, its staff, a patient, an encrypted record, two images.
    let run = await start();
    const f = new Fixtures(new ApiClient(base), 'chief@drill.test');
    const h = await f.hospitalWithStaff();
    const patient = await f.patient(h.secretary, [h.doctor.id]);
    const entry = await f.api.post('/api/medical-records', {
      token: h.doctor.token,
      body: { patientId: patient.id, type: 'allergy', title: 'Latex', content: 'Urticaria in 2021' },
    });
    expect(entry.status).to.equal(201);
    const [studyUid, seriesUid, sops] = [newUid(), newUid(), [newUid(), newUid()]];
    const files = sops.map((sopUid, i) => ({
      name: `${i}.dcm`,
      data: synthDicom({ patientId: 'DRILL', studyUid, seriesUid, sopUid, instanceNumber: i + 1, rows: 32, columns: 32 }),
    }));
    expect((await upload(base, h.doctor.token, patient.id, files)).status).to.equal(201);
    const before = await Promise.all(sops.map((sop) => frame(h.doctor.token, studyUid, seriesUid, sop)));
    await stop(run);

    // The backup, and the secrets kept apart as docs/operations.md says (npm start is stopped: the command starts
    // the embedded PostgreSQL for itself).
    const backedUp = await command('scripts/backup.ts', [backupDir]);
    expect(backedUp.code, backedUp.output).to.equal(0);
    expect(backedUp.output).to.match(/It opens only with key local1 \(fingerprint [0-9a-f]{16}\)/);
    copyFileSync(path.join(dataDir, 'secrets.json'), keptSecrets);

    // .data is lost; a fresh start generates other keys. Restoring now would leave records nobody can read: refused,
    // naming the key, before anything changes.
    rmSync(dataDir, { recursive: true, force: true });
    await stop(await start());
    const wrongKeys = await command('scripts/restore.ts', [backupDir, '--into-fresh']);
    expect(wrongKeys.code, wrongKeys.output).to.equal(1);
    expect(wrongKeys.output).to.match(
      /Restore refused, nothing changed: ENCRYPTION_KEY_MISMATCH[^]*key "local1" in ENCRYPTION_KEYS has fingerprint [0-9a-f]{16}, but the data in this backup was sealed with fingerprint/,
    );
    const checked = await command('scripts/restore.ts', ['--check-keys', backupDir]);
    expect(checked.code).to.equal(1);
    expect(checked.output).to.include('Keys of this backup: local1 ');

    // As documented: the kept secrets back first, then a fresh start (it migrates and seeds both databases).
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { mode: 0o700 });
    copyFileSync(keptSecrets, path.join(dataDir, 'secrets.json'));
    run = await start();
    expect((await command('scripts/restore.ts', ['--check-keys', backupDir])).output).to.include('The configured keys open this backup.');
    // Not while the stack runs on those databases.
    const busy = await command('scripts/restore.ts', [backupDir, '--into-fresh']);
    expect(busy.code, busy.output).to.equal(1);
    expect(busy.output).to.match(/open connection\(s\): stop npm start/);
    await stop(run);
    // Not over what a first start created unless told so…
    const notEmpty = await command('scripts/restore.ts', [backupDir]);
    expect(notEmpty.code, notEmpty.output).to.equal(1);
    expect(notEmpty.output).to.include('restore with --into-fresh to replace it');
    // …and with --into-fresh, the databases are replaced and the images put back.
    const restored = await command('scripts/restore.ts', [backupDir, '--into-fresh']);
    expect(restored.code, restored.output).to.equal(0);
    expect(restored.output).to.include('2 databases, 2 objects');

    // The same installation: the doctor logs in with its password, reads the record, sees the study, and the
    // viewer gets the same bytes.
    run = await start();
    expect(run.output()).to.include('Migrations     up to date');
    const login = await new ApiClient(base).post('/api/auth/login', { body: { email: h.doctor.email, password: h.doctor.password } });
    expect(login.status).to.equal(200);
    const token = login.body.accessToken as string;
    const read = await new ApiClient(base).get(`/api/medical-records/${entry.body.id}`, { token });
    expect(read.status).to.equal(200);
    expect(read.body).to.include({ title: 'Latex', content: 'Urticaria in 2021', patientId: patient.id });
    const studies = await new ApiClient(base).get(`/api/dicom/studies?patientId=${patient.id}`, { token });
    expect(
      studies.body.items.map((s: { studyInstanceUid: string; numberOfInstances: number }) => [s.studyInstanceUid, s.numberOfInstances]),
    ).to.deep.equal([[studyUid, 2]]);
    const after = await Promise.all(sops.map((sop) => frame(token, studyUid, seriesUid, sop)));
    expect(after.map((b) => b.length)).to.deep.equal([32 * 32 * 2, 32 * 32 * 2]);
    after.forEach((b, i) => expect(b.equals(before[i]!), `frame of instance ${i}`).to.equal(true));
    await stop(run);

    // The embedded PostgreSQL alone, as docs/operations.md has the operator run it (e.g. to rotate its password).
    expect((await command('scripts/embedded-db.ts', ['status'])).code).to.equal(3);
    expect((await command('scripts/embedded-db.ts', ['start'])).code).to.equal(0);
    stopAfterTest(async () => void (await command('scripts/embedded-db.ts', ['stop'])));
    const psql = await command('scripts/embedded-db.ts', ['psql', '-At', '-c', 'select count(*) from patients']);
    expect([psql.code, psql.output.trim()]).to.deep.equal([0, '1']);
    expect((await command('scripts/embedded-db.ts', ['stop'])).code).to.equal(0);
    expect((await command('scripts/embedded-db.ts', ['status'])).code).to.equal(3);

    // A wrong embedded database password (an edited secrets.json) fails the start clearly and leaves no PostgreSQL running.
    const secretsFile = path.join(dataDir, 'secrets.json');
    const kept = readFileSync(secretsFile, 'utf8');
    writeFileSync(secretsFile, JSON.stringify({ ...JSON.parse(kept), EMBEDDED_DB_PASSWORD: 'not-the-password' }));
    const failed = spawnTs('scripts/start.ts', env);
    expect(await exited(failed.child)).to.equal(1);
    expect(failed.output()).to.include('password authentication failed');
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), 'PostgreSQL left running').to.equal(false);
    writeFileSync(secretsFile, kept);

    // A database holding clinical data is never replaced by --into-fresh alone.
    const holding = await command('scripts/restore.ts', [backupDir, '--into-fresh']);
    expect(holding.code, holding.output).to.equal(1);
    expect(holding.output).to.match(/holds data a restore would lose \(1 hospitals, \d+ accounts, 1 patients, 1 records, 1 studies\)/);
  });
});
