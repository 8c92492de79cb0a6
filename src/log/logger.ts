// Structured JSON logs with pino. Every line is scrubbed of registered secret values; child
// loggers carry namespace and mailbox so each line says what it is about.

import { pino, type Logger, type LoggerOptions } from 'pino';
import { redact } from './redact.js';

export type { Logger };

/** `destination`: a file to append to instead of standard output (tests keep their logs there). */
export function createLogger(opts: { level?: string; name?: string; destination?: string } = {}): Logger {
  const options: LoggerOptions = {
    name: opts.name ?? 'mailsync',
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['password', '*.password', 'token', '*.token', 'accessToken', '*.accessToken', 'clientSecret', '*.clientSecret', 'headers.authorization'], censor: '[REDACTED]' },
    formatters: { level: (label) => ({ level: label }) },
    hooks: {
      // Scrubs the serialized message and error strings, which pino's path-based redaction cannot see.
      logMethod(args, method) {
        method.apply(
          this,
          args.map((a) => {
            if (typeof a === 'string') return redact(a);
            if (a instanceof Error) return { err: { type: a.name, message: redact(a.message), reason: (a as { reason?: string }).reason } };
            if (a && typeof a === 'object' && 'err' in a && (a as { err: unknown }).err instanceof Error) {
              const e = (a as { err: Error & { reason?: string } }).err;
              return { ...a, err: { type: e.name, message: redact(e.message), reason: e.reason } };
            }
            return a;
          }) as Parameters<typeof method>,
        );
      },
    },
  };
  return (opts.destination ? pino(options, pino.destination({ dest: opts.destination, append: true, sync: true })) : pino(options)) as Logger;
}

/** A logger that writes nothing, for tests and libraries that need one. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
