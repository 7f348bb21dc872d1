import { pino, type Logger } from 'pino';

/** For each logger {@link createLogger} made: a sibling without redaction, on the same destination and level. */
const unredacted = new WeakMap<Logger, Logger>();

/**
 * Structured logger; credentials and tokens are redacted wherever they appear. Lines go to stdout asynchronously:
 * while one write is in flight the next lines gather and leave together (a synchronous write per request line cost
 * the access log more than a cheap handler); nothing waits for a buffer to fill, and what is pending is flushed
 * synchronously when the process exits.
 */
export function createLogger(level: string, name: string): Logger {
  const destination = pino.destination({ dest: 1, sync: false });
  const logger = pino(
    {
      name,
      level,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.password',
          '*.currentPassword',
          '*.newPassword',
          '*.refreshToken',
          '*.accessToken',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
  unredacted.set(logger, pino({ name, level }, destination));
  return logger;
}

/**
 * The logger for lines whose fields are fixed and hold no secret (the access log: method, redacted path, status,
 * duration, ids): redaction's wildcard paths cost each line twice what writing it does. Any other logger is returned as is.
 */
export function fixedFieldLogger(logger: Logger): Logger {
  return unredacted.get(logger) ?? logger;
}

export type { Logger };
