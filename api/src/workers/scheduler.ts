import type { Deps } from '../deps.js';
import { createMailTransport, runEmailTick } from './email.js';
import { runExpiryTick, runReminderTick } from './reminders.js';
import { indexerLag, runIndexerTick } from '../dicom/index-sync.js';

/** Runs the background ticks (reminders, expired requests, e-mail outbox) on an interval; safe with many API processes. */
export function startScheduler({ db, config, logger, orthanc, metrics }: Deps): { stop: () => Promise<void> } {
  const transport = createMailTransport(config);
  let running: Promise<void> | null = null;
  const tick = async () => {
    try {
      const reminders = await runReminderTick(db, config);
      const expired = await runExpiryTick(db, config);
      const mailer = await transport;
      const mails = mailer && config.smtp ? await runEmailTick(db, mailer, config.smtp.from, logger) : 0;
      if (reminders || expired || mails) logger.info({ reminders, expired, mails }, 'scheduler tick');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'scheduler tick failed');
    }
  };
  const timer = setInterval(() => {
    running ??= tick().finally(() => (running = null));
  }, config.scheduler.intervalSeconds * 1000);
  timer.unref();
  // The index follows Orthanc closely (C-STORE pushes): its own, shorter interval.
  let indexing: Promise<void> | null = null;
  const indexTimer = setInterval(() => {
    indexing ??= runIndexerTick(db, orthanc, logger)
      .then(async () => metrics.indexerLag.set(await indexerLag(db, orthanc)))
      .catch((err) => logger.warn({ err: (err as Error).message }, 'indexer tick failed'))
      .finally(() => (indexing = null));
  }, config.scheduler.indexerIntervalSeconds * 1000);
  indexTimer.unref();
  return {
    async stop() {
      clearInterval(timer);
      clearInterval(indexTimer);
      await indexing;
      await running;
      (await transport)?.close();
    },
  };
}
