import { z } from 'zod';
import { MANAGED_ONLY, staffAccountRoutes, toStaffDto } from '../accounts/routes.js';
import { staffAccountSchema, staffCreateFields, staffUpdateFields } from '../accounts/schemas.js';
import type { Deps } from '../deps.js';
import type { AnyRoute } from '../http/route.js';

const secretarySchema = staffAccountSchema.extend({ role: z.literal('secretary') });

/** Secretaries: created and managed by the admins of their hospital. */
export function secretaryRoutes(deps: Deps): AnyRoute[] {
  return staffAccountRoutes(deps, {
    role: 'secretary',
    path: '/api/secretaries',
    tag: 'Secretaries',
    noun: 'Secretary',
    actions: {
      list: 'secretary.list',
      read: 'secretary.read',
      create: 'secretary.create',
      update: 'secretary.update',
      delete: 'secretary.delete',
    },
    createBody: z.object({
      ...staffCreateFields,
      hospitalId: z.uuid().optional().describe('Ignored if equal to your own; any other value is refused'),
    }),
    putBody: z.object({
      ...staffUpdateFields,
      phone: staffUpdateFields.phone.default(null),
      isActive: staffUpdateFields.isActive.optional(),
    }),
    patchBody: z.object(staffUpdateFields).partial(),
    itemSchema: secretarySchema,
    toDto: toStaffDto,
    scopes: MANAGED_ONLY,
  });
}
