import type { Principal } from '../../../common/principal.js';

/** The authenticated caller, built once per request by the authentication middleware. */
export type Auth = Principal;
