import type { Knex } from 'knex';

// A newborn or an elderly patient may have no e-mail address: it is registered all the same and cannot log in
// until one is added. Staff accounts still need one (they log in with it).
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table users alter column email drop not null');
  await knex.raw(`alter table users add constraint users_email_required_for_staff check (email is not null or role = 'patient')`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table users drop constraint users_email_required_for_staff');
  await knex.raw('alter table users alter column email set not null');
}
