// The operator commands (backup, restore, repair, erase-patient, db:migrate, db:seed) read the configuration
// `npm start` runs with: `.env`, then — for the embedded stack — the database, Orthanc and keys it generated in
// `.data/secrets.json`. Values already in the environment win. Without this, each command failed until the
// operator exported variables the docs did not list (issue 22).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Fills `process.env` as `npm start` would (see scripts/start.ts); returns where each part came from. */
export function loadOperatorEnv(root = process.cwd()): { envFile: string | null; secretsFile: string | null } {
  const envFile = path.join(root, '.env');
  const hasEnv = existsSync(envFile);
  if (hasEnv) process.loadEnvFile(envFile);
  const dataDir = path.resolve(process.env.MEDICONNECT_DATA_DIR || path.join(root, '.data'));
  const secretsFile = path.join(dataDir, 'secrets.json');
  if (!existsSync(secretsFile)) return { envFile: hasEnv ? envFile : null, secretsFile: null };
  const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string | undefined>;
  const set = (name: string, value: string | undefined) => {
    if (!process.env[name] && value) process.env[name] = value;
  };
  set('SECRET_KEY', secrets.SECRET_KEY);
  set('ENCRYPTION_KEYS', secrets.ENCRYPTION_KEYS);
  // The embedded PostgreSQL and Orthanc, with the defaults scripts/start.ts gives them.
  if (!process.env.DB_HOST) {
    set('DB_HOST', '127.0.0.1');
    set('DB_PORT', '54329');
    set('DB_USER', 'mediconnect');
    set('DB_NAME', 'mediconnect');
    set('DB_PASSWORD', secrets.EMBEDDED_DB_PASSWORD);
  }
  if (!process.env.ORTHANC_URL) {
    set('ORTHANC_URL', `http://127.0.0.1:${process.env.ORTHANC_HTTP_PORT || 8042}`);
    set('ORTHANC_USERNAME', 'mediconnect');
    set('ORTHANC_PASSWORD', secrets.ORTHANC_PASSWORD);
    if (!process.env.MINIO_ENDPOINT) set('MEDICONNECT_STORAGE_DIR', path.join(dataDir, 'dicom'));
  }
  return { envFile: hasEnv ? envFile : null, secretsFile };
}
