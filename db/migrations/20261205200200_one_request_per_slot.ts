import type { Knex } from 'knex';

// The same patient asking the same doctor for the same time twice (a double click, a retried request) made
// two live appointments: one is enough. Duplicates already there keep their earliest request; the others are
// cancelled (without reason: nobody is told, as they repeated a live one).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    update appointments set status = 'cancelled', status_changed_at = now(), updated_at = now()
     where id in (select id from (select id, row_number() over (partition by patient_id, doctor_id, starts_at order by created_at, id) as n
                                    from appointments where status in ('requested', 'validated')) ranked where n > 1)`);
  await knex.raw(
    `create unique index appointments_one_live_per_slot on appointments (patient_id, doctor_id, starts_at) where status in ('requested', 'validated')`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index appointments_one_live_per_slot');
}
