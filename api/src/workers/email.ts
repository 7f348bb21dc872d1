import type { Knex } from 'knex';
import type { Transporter } from 'nodemailer';
import type { Config } from '../../../common/config.js';
import type { Logger } from '../../../common/logger.js';

const MAX_ATTEMPTS = 8;

/** An SMTP transport for the configured server, or null when e-mail is off (nodemailer is then never loaded). */
export async function createMailTransport(config: Pick<Config, 'smtp'>): Promise<Transporter | null> {
  if (!config.smtp) return null;
  const { default: nodemailer } = await import('nodemailer');
  const { host, port, secure, user, password } = config.smtp;
  return nodemailer.createTransport({
    host,
    port,
    secure,
    auth: user ? { user, pass: password ?? '' } : undefined,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
  });
}

/**
 * Sends queued e-mails. Rows are claimed with SKIP LOCKED inside a transaction, so two processes never
 * send the same one; a failed send is retried with exponential backoff, then marked failed.
 */
export async function runEmailTick(db: Knex, transport: Transporter, from: string, logger?: Logger, batch = 20): Promise<number> {
  return db.transaction(async (trx) => {
    const rows: { id: number; to_address: string; subject: string; body: string; attempts: number }[] = await trx('email_outbox')
      .where('status', 'pending')
      .where('next_attempt_at', '<=', trx.fn.now())
      .orderBy('id')
      .limit(batch)
      .forUpdate()
      .skipLocked()
      .select('id', 'to_address', 'subject', 'body', 'attempts');
    let sent = 0;
    for (const row of rows) {
      try {
        await transport.sendMail({ from, to: row.to_address, subject: row.subject, text: row.body });
        await trx('email_outbox')
          .where({ id: row.id })
          .update({ status: 'sent', sent_at: trx.fn.now(), attempts: row.attempts + 1 });
        sent++;
      } catch (err) {
        const attempts = row.attempts + 1;
        logger?.warn({ outboxId: row.id, attempts, err: (err as Error).message }, 'e-mail send failed');
        await trx('email_outbox')
          .where({ id: row.id })
          .update({
            attempts,
            last_error: String((err as Error).message).slice(0, 500),
            status: attempts >= MAX_ATTEMPTS ? 'failed' : 'pending',
            next_attempt_at: trx.raw(`now() + make_interval(secs => ?)`, [Math.min(3600, 30 * 2 ** attempts)]),
          });
      }
    }
    return sent;
  });
}
