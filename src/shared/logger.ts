/** Structured JSON logs (pino). Secrets are redacted by path; key values are never logged. */
import { type Logger as PinoLogger, pino } from 'pino';

export type Logger = PinoLogger;

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'tollgate',
    level: options.level ?? process.env.TOLLGATE_LOG_LEVEL ?? 'info',
    redact: {
      paths: [
        'req.headers["x-api-key"]',
        'req.headers.authorization',
        'req.headers.cookie',
        '*.password',
        '*.value',
      ],
      censor: '[redacted]',
    },
  });
}

/** A logger that drops everything: the default in tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
