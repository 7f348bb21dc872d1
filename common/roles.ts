/** The five roles of the access model. */
export const ROLES = ['super_admin', 'hospital_admin', 'doctor', 'secretary', 'patient'] as const;
export type Role = (typeof ROLES)[number];

/** Roles whose accounts belong to exactly one hospital. */
export const HOSPITAL_ROLES: readonly Role[] = ['hospital_admin', 'doctor', 'secretary'];
