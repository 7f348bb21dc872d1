import { z } from 'zod';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';
import { errorSchema } from '../http/error-schema.js';
import { listQuerySchema, pageSchema } from '../http/pagination.js';
import { replaceAndUpdate, route, type AnyRoute } from '../http/route.js';
import type { Action } from '../policy/policy.js';
import type { AccountListQuery, AccountPatch, AccountRow, AccountScope, StaffRole } from './repository.js';
import { idParams } from '../http/fields.js';
import { createAccountService, type CreateAccountInput } from './service.js';
import { presenting, type Representation } from '../http/representation.js';

/** Everything that differs between the hospital-admin, doctor and secretary resources. */
export interface StaffResource {
  role: StaffRole;
  path: string;
  tag: string;
  /** Singular name for operation ids and summaries, e.g. `Doctor`. */
  noun: string;
  actions: { list: Action; read: Action; create: Action; update: Action; delete: Action };
  createBody: z.ZodType<CreateAccountInput>;
  putBody: z.ZodType<AccountPatch>;
  patchBody: z.ZodType<AccountPatch>;
  itemSchema: z.ZodType;
  listQuery?: z.ZodType<AccountListQuery>;
  toDto: (row: AccountRow, auth: Auth) => unknown;
  /** Which scope the list and the single read use; writes always use `manage`. */
  scopes: { list: (auth: Auth) => AccountScope; read: (auth: Auth) => AccountScope };
  listDescription?: string;
}

/** Shared list filters of account collections. */
export const accountListQuery = listQuerySchema(['lastName', 'firstName', 'email', 'createdAt'], 'lastName').extend({
  isActive: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .describe('Filter on active state'),
  hospitalId: z.uuid().optional().describe('Filter on hospital'),
});

/** An account's hospital and role never change; its password only through its owner. */
const ACCOUNT_IMMUTABLE = ['hospitalId', 'role', 'mustChangePassword'];

/** Reads and writes both limited to the accounts the caller manages. */
export const MANAGED_ONLY: StaffResource['scopes'] = { list: () => 'manage', read: () => 'manage' };

/** The six routes of a staff account collection: list, create, read, replace, update, delete. */
export function staffAccountRoutes(deps: Deps, r: StaffResource): AnyRoute[] {
  const service = createAccountService(deps);
  const account: Representation = {};
  const page = pageSchema(r.itemSchema);
  const itemPath = `${r.path}/{id}`;
  return [
    route({
      method: 'get',
      path: r.path,
      operationId: `list${r.noun}s`,
      summary: `List ${r.noun.toLowerCase()} accounts`,
      description: r.listDescription,
      tag: r.tag,
      auth: 'user',
      action: r.actions.list,
      query: r.listQuery ?? accountListQuery,
      responses: { 200: { description: 'A page of accounts', schema: page } },
      handler: async ({ auth, query }) => {
        const result = await service.list(auth, r.role, r.scopes.list(auth), query);
        return { body: { ...result, items: result.items.map((row) => r.toDto(row, auth)) } };
      },
    }),
    route({
      method: 'post',
      path: r.path,
      operationId: `create${r.noun}`,
      summary: `Create a ${r.noun.toLowerCase()} account (password: the default \`mediconnect\`)`,
      tag: r.tag,
      auth: 'user',
      action: r.actions.create,
      forbiddenFields: ['role', 'isActive', 'mustChangePassword'],
      body: r.createBody,
      responses: {
        201: { description: 'Created', schema: r.itemSchema },
        409: { description: 'E-mail already used by another account', schema: errorSchema },
      },
      handler: async ({ auth, body, meta }) => ({ status: 201, body: r.toDto(await service.create(auth, r.role, body, meta), auth) }),
    }),
    route({
      method: 'get',
      path: itemPath,
      operationId: `get${r.noun}`,
      summary: `Read a ${r.noun.toLowerCase()} account`,
      tag: r.tag,
      auth: 'user',
      action: r.actions.read,
      params: idParams,
      responses: { 200: { description: 'The account', schema: r.itemSchema } },
      representation: account,
      handler: async ({ auth, params }) => ({ body: r.toDto(await service.get(auth, r.role, r.scopes.read(auth), params.id), auth) }),
    }),
    ...replaceAndUpdate(
      {
        path: itemPath,
        tag: r.tag,
        auth: 'user',
        action: r.actions.update,
        forbiddenFields: ACCOUNT_IMMUTABLE,
        params: idParams,
        representation: account,
        responses: {
          200: { description: 'Updated', schema: r.itemSchema },
          409: { description: 'E-mail already used by another account', schema: errorSchema },
        },
        // What its manager reads (GET as a manager) is what a PUT or PATCH compares with.
        handler: async ({ auth, params, write, meta }) => ({
          body: r.toDto(
            await service.update(
              auth,
              r.role,
              params.id,
              presenting(write, (row: AccountRow) => r.toDto(row, auth) as object),
              meta,
            ),
            auth,
          ),
        }),
      },
      { operationId: `replace${r.noun}`, summary: `Replace a ${r.noun.toLowerCase()} account’s details`, body: r.putBody },
      {
        operationId: `update${r.noun}`,
        summary: `Update a ${r.noun.toLowerCase()} account; \`{"isActive": false|true}\` deactivates or reactivates it`,
        description: 'Deactivation ends the account’s sessions at once. No password field is accepted.',
        body: r.patchBody,
      },
    ),
    route({
      method: 'delete',
      path: itemPath,
      operationId: `delete${r.noun}`,
      summary: `Delete a ${r.noun.toLowerCase()} account`,
      description: 'The account disappears from lists and login; what it wrote and the audit trail that names it are kept.',
      tag: r.tag,
      auth: 'user',
      action: r.actions.delete,
      params: idParams,
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ auth, params, meta }) => {
        await service.remove(auth, r.role, params.id, meta);
        return { status: 204 };
      },
    }),
  ];
}

/** The management view of a staff account. */
export function toStaffDto(row: AccountRow) {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    hospitalId: row.hospital_id,
    hospitalName: row.hospital_name,
    firstName: row.first_name,
    lastName: row.last_name,
    phone: row.phone,
    isActive: row.is_active,
    mustChangePassword: row.must_change_password,
    lastLoginAt: row.last_login_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
