import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const moduleUrl = new URL('../../scripts/lib/operator-env.ts', import.meta.url).href;
// The repository's cwd resolves tsx; the folder under test is handed over.
const KEYS = [
  'DB_HOST',
  'DB_PORT',
  'DB_USER',
  'DB_NAME',
  'DB_PASSWORD',
  'SECRET_KEY',
  'ENCRYPTION_KEYS',
  'ORTHANC_URL',
  'ORTHANC_PASSWORD',
  'MEDICONNECT_STORAGE_DIR',
];

/** What an operator command sees after loading its configuration in `dir`, from an environment holding `env` only. */
function seen(dir: string, env: Record<string, string> = {}): Record<string, string | undefined> {
  const script = `import(${JSON.stringify(moduleUrl)}).then((m) => { m.loadOperatorEnv(process.env.OPERATOR_DIR); console.log(JSON.stringify(Object.fromEntries(${JSON.stringify(KEYS)}.map((k) => [k, process.env[k]])))); })`;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: process.cwd(),
    env: { PATH: process.env.PATH!, OPERATOR_DIR: dir, ...env },
    encoding: 'utf8',
  });
  expect(res.status, res.stderr).to.equal(0);
  return JSON.parse(res.stdout.trim().split('\n').at(-1)!);
}

describe('operator commands read the configuration npm start runs with (.env, then .data/secrets.json)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'operator-env-'));
    mkdirSync(path.join(dir, '.data'));
    writeFileSync(
      path.join(dir, '.data', 'secrets.json'),
      JSON.stringify({
        SECRET_KEY: 's'.repeat(40),
        EMBEDDED_DB_PASSWORD: 'embedded-pw',
        ENCRYPTION_KEYS: 'local1:abc',
        ORTHANC_PASSWORD: 'orthanc-pw',
      }),
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the embedded stack: its database, Orthanc, keys and images directory, as npm start gives them', () => {
    expect(seen(dir)).to.deep.equal({
      DB_HOST: '127.0.0.1',
      DB_PORT: '54329',
      DB_USER: 'mediconnect',
      DB_NAME: 'mediconnect',
      DB_PASSWORD: 'embedded-pw',
      SECRET_KEY: 's'.repeat(40),
      ENCRYPTION_KEYS: 'local1:abc',
      ORTHANC_URL: 'http://127.0.0.1:8042',
      ORTHANC_PASSWORD: 'orthanc-pw',
      MEDICONNECT_STORAGE_DIR: path.join(dir, '.data', 'dicom'),
    });
  });

  it('.env and the environment win: a database of one’s own is not replaced by the embedded one', () => {
    writeFileSync(path.join(dir, '.env'), 'DB_HOST=db.example\nDB_PASSWORD=from-env-file\nDB_USER=clinic\nDB_NAME=clinic\n');
    const env = seen(dir, { ORTHANC_URL: 'http://orthanc.internal:8042', ORTHANC_PASSWORD: 'exported' });
    expect(env).to.include({
      DB_HOST: 'db.example',
      DB_PASSWORD: 'from-env-file',
      DB_USER: 'clinic',
      ORTHANC_URL: 'http://orthanc.internal:8042',
      ORTHANC_PASSWORD: 'exported',
      SECRET_KEY: 's'.repeat(40),
    });
    expect(env.DB_PORT).to.equal(undefined);
    expect(env.MEDICONNECT_STORAGE_DIR).to.equal(undefined);
  });

  it('every operator command answers --help with its usage and what it reads, touching nothing', () => {
    for (const [script, usage] of [
      ['backup', 'npm run backup'],
      ['restore', 'npm run restore'],
      ['repair', 'npm run repair'],
      ['erase-patient', 'npm run erase-patient'],
      ['db', 'npm run db:migrate'],
      ['embedded-db', 'npm run db:embedded'],
    ]) {
      const res = spawnSync(process.execPath, ['--import', 'tsx', `scripts/${script}.ts`, '--help'], {
        cwd: process.cwd(),
        env: { PATH: process.env.PATH! },
        encoding: 'utf8',
      });
      expect(res.status, `${script}: ${res.stderr}`).to.equal(0);
      expect(res.stdout, script).to.include(`usage: ${usage}`).and.include('DB_PASSWORD').and.include('.data/secrets.json');
    }
  });
});
