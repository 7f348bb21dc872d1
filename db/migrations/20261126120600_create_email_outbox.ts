import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // E-mails are queued in the same transaction as the change they announce, and sent by a worker:
  // a crash or an SMTP outage delays them but never loses them.
  await knex.schema.createTable('email_outbox', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('notification_id').references('id').inTable('notifications').onDelete('RESTRICT');
    t.text('to_address').notNullable();
    t.text('subject').notNullable();
    t.text('body').notNullable();
    t.text('status').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('sent_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE email_outbox ADD CONSTRAINT email_outbox_status_check CHECK (status IN ('pending', 'sent', 'failed'))`);
  await knex.raw(`CREATE INDEX email_outbox_pending_idx ON email_outbox (next_attempt_at) WHERE status = 'pending'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('email_outbox');
}
