import { expect } from 'chai';
import { can, concealed, GRANTS, rolesFor, type Action } from '../../api/src/policy/policy.js';
import type { Role } from '../../common/roles.js';

const ROLES: Role[] = ['super_admin', 'hospital_admin', 'doctor', 'secretary', 'patient'];

/** How each role is answered for an action: allowed, refused (403), or refused as if nothing existed (404). */
type Outcome = 'allow' | 403 | 404;

// One row per action that touches clinical data or its workflow; the columns follow ROLES.
const TABLE: [Action, Outcome[]][] = [
  ['medicalRecord.read', [404, 404, 'allow', 404, 'allow']],
  ['medicalRecord.write', [404, 404, 'allow', 404, 403]],
  ['dicom.read', [404, 404, 'allow', 404, 'allow']],
  ['dicom.write', [404, 404, 'allow', 404, 403]],
  ['dicom.share', [404, 404, 'allow', 404, 'allow']],
  ['dicom.reconcile', ['allow', 403, 'allow', 403, 403]],
  ['accessLog.read', [403, 403, 403, 403, 'allow']],
  ['appointment.create', [403, 403, 403, 403, 'allow']],
  ['appointment.validate', [403, 403, 403, 'allow', 403]],
  ['appointment.cancel', [403, 403, 403, 'allow', 'allow']],
  ['patient.create', [403, 403, 403, 'allow', 403]],
  ['patient.link', [403, 403, 403, 'allow', 403]],
  ['modality.manage', [403, 'allow', 403, 403, 403]],
  ['hospital.create', ['allow', 403, 403, 403, 403]],
  ['hospital.list', ['allow', 'allow', 'allow', 'allow', 'allow']],
  ['doctor.create', [403, 'allow', 403, 403, 403]],
];

describe('policy: GRANTS and CONCEALED', () => {
  for (const [action, outcomes] of TABLE) {
    for (const [i, role] of ROLES.entries()) {
      const expected = outcomes[i]!;
      it(`${action} for ${role}: ${expected}`, () => {
        const outcome: Outcome = can(role, action) ? 'allow' : concealed(role, action) ? 404 : 403;
        expect(outcome).to.equal(expected);
      });
    }
  }

  it('conceals only refusals: no role is both granted and concealed an action', () => {
    for (const role of ROLES) for (const action of GRANTS[role]) expect(concealed(role, action), `${role} ${action}`).to.equal(false);
  });

  it('documents the granted roles of every action (OpenAPI)', () => {
    expect(rolesFor('dicom.share').sort()).to.deep.equal(['doctor', 'patient']);
  });
});
