// The entry point every service process shares: start it, stop it cleanly on SIGTERM/SIGINT, and never die of
// a stray promise rejection (it is a bug to log, not a reason to drop every request or association in flight).

/** Whether this module is the process's entry point (`node …/server.js`), not an import. */
export const isMain = (moduleUrl: string): boolean => moduleUrl === `file://${process.argv[1]}`;

/** Runs a service: exits 1 with the message if it cannot start, 0 once stopped by a signal. */
export function runService(start: () => Promise<{ stop: () => Promise<void> }>): void {
  process.on('unhandledRejection', (err) => console.error('unhandled rejection:', err instanceof Error ? err.message : err));
  start().then(
    (service) => {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void service.stop().then(() => process.exit(0)));
    },
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
