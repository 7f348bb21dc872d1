import type { Deps } from '../deps.js';
import { createMailTransport, runEmailTick } from './email.js';
import { runReminderTick } from './reminders.js';

/** Runs the background ticks (reminders, e-mail outbox) on an interval; safe with many API processes. */
export function startScheduler({ db, config, logger }: Deps): { stop: () => Promise<void> } {
  const transport = createMailTransport(config);
  let running: Promise<void> | null = null;
  const tick = async () => {
    try {
      const reminders = await runReminderTick(db, config);
      const mails = transport && config.smtp ? await runEmailTick(db, transport, config.smtp.from, logger) : 0;
      if (reminders || mails) logger.info({ reminders, mails }, 'scheduler tick');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'scheduler tick failed');
    }
  };
  const timer = setInterval(() => {
    running ??= tick().finally(() => (running = null));
  }, config.scheduler.intervalSeconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      transport?.close();
    },
  };
}
