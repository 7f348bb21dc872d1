import { z } from 'zod';
import { MANAGED_ONLY, staffAccountRoutes, toStaffDto } from '../accounts/routes.js';
import { staffAccountSchema, staffCreateFields, staffUpdateFields } from '../accounts/schemas.js';
import type { Deps } from '../deps.js';
import type { AnyRoute } from '../http/route.js';

const hospitalAdminSchema = staffAccountSchema.extend({ role: z.literal('hospital_admin') });

/** Hospital admins: created and managed by the super admin, each bound to one hospital forever. */
export function hospitalAdminRoutes(deps: Deps): AnyRoute[] {
  return staffAccountRoutes(deps, {
    role: 'hospital_admin',
    path: '/api/hospital-admins',
    tag: 'Hospital admins',
    noun: 'HospitalAdmin',
    actions: {
      list: 'hospitalAdmin.list',
      read: 'hospitalAdmin.read',
      create: 'hospitalAdmin.create',
      update: 'hospitalAdmin.update',
      delete: 'hospitalAdmin.delete',
    },
    createBody: z.object({ ...staffCreateFields, hospitalId: z.uuid().describe('The hospital the admin belongs to, forever') }),
    putBody: z.object({
      ...staffUpdateFields,
      phone: staffUpdateFields.phone.default(null),
      isActive: staffUpdateFields.isActive.optional(),
    }),
    patchBody: z.object(staffUpdateFields).partial(),
    itemSchema: hospitalAdminSchema,
    toDto: toStaffDto,
    scopes: MANAGED_ONLY,
  });
}
