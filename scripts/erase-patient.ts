// `npm run erase-patient -- <patientId> <identifier>`: erases one patient's data on request (right to erasure),
// against the installation the environment describes. The identifier confirms the target: nothing happens
// when it does not match. See docs/operations.md (Erasure on request).
import { randomUUID } from 'node:crypto';
import { erasePatient } from '../api/src/patients/erase.js';
import { loadConfig } from '../common/config.js';
import { createKnex } from '../common/db.js';
import { OrthancClient } from '../common/orthanc.js';
import { helpIfAsked, loadOperatorEnv } from './lib/operator-env.js';

// The configuration npm start runs with: .env, then the embedded stack's .data/secrets.json.
helpIfAsked('npm run erase-patient -- <patientId> <identifier (confirmation)>');
loadOperatorEnv();

const [patientId, identifier] = process.argv.slice(2);
if (!patientId || !identifier) {
  console.error('usage: npm run erase-patient -- <patientId> <identifier (confirmation)>');
  process.exit(2);
}
const config = loadConfig();
const db = createKnex(config);
try {
  const report = await erasePatient(db, new OrthancClient(config.orthanc), patientId, identifier, {
    requestId: `erasure-${randomUUID()}`,
    ip: 'operator',
    userAgent: 'npm run erase-patient',
  });
  console.log(JSON.stringify(report, null, 2));
  if (report.objectsLeft > 0) process.exitCode = 1;
} finally {
  await db.destroy();
}
