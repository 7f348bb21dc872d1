import { principalWrite } from '../../../common/principal-cache.js';
import type { Knex } from 'knex';

/**
 * Ends share links for good — revoked, not merely refused while their creator is inactive, so that a
 * reactivated account, hospital or patient does not bring them back: the links `createdBy` made, the links to
 * `patientId`'s studies, or the links made by the staff of `hospitalId`. Returns how many were live.
 */
export async function endShares(
  trx: Knex.Transaction,
  which: { createdBy?: string; patientId?: string; hospitalId?: string },
  revokedBy: string,
): Promise<number> {
  const query = principalWrite(trx, 'study_shares').whereNull('revoked_at');
  if (which.createdBy) query.where({ created_by: which.createdBy });
  else if (which.patientId) query.where({ patient_id: which.patientId });
  else if (which.hospitalId) query.whereIn('created_by', trx('users').where({ hospital_id: which.hospitalId }).select('id'));
  else return 0;
  return query.update({ revoked_at: trx.fn.now(), revoked_by: revokedBy });
}
