import bcrypt from 'bcryptjs';
import type { Knex } from 'knex';

/** The password every account starts with; its owner must change it at first login. */
export const DEFAULT_PASSWORD = 'mediconnect';

/** Creates the super admin when no live account has that e-mail; returns whether it was created. */
export async function seedSuperAdmin(knex: Knex, email: string, bcryptRounds: number): Promise<boolean> {
  const normalized = email.trim().toLowerCase();
  const existing = await knex('users').whereRaw('lower(email) = ?', [normalized]).whereNull('deleted_at').first('id', 'role');
  if (existing) {
    if (existing.role !== 'super_admin') {
      throw new Error(`SUPERADMIN_EMAIL ${normalized} already belongs to a ${existing.role} account`);
    }
    return false;
  }
  const hash = await bcrypt.hash(DEFAULT_PASSWORD, bcryptRounds);
  // ON CONFLICT keeps two processes seeding at once from creating two super admins.
  const inserted = await knex.raw(
    `INSERT INTO users (email, password_hash, role, first_name, last_name)
     VALUES (?, ?, 'super_admin', 'Super', 'Admin')
     ON CONFLICT (lower(email)) WHERE deleted_at IS NULL DO NOTHING
     RETURNING id`,
    [normalized, hash],
  );
  return inserted.rows.length > 0;
}
