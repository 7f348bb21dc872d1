import type { Role } from '../../../common/roles.js';

/** The authenticated caller, built once per request by the authentication middleware. */
export interface Auth {
  userId: string;
  sessionId: string;
  role: Role;
  hospitalId: string | null;
  email: string;
  mustChangePassword: boolean;
}
