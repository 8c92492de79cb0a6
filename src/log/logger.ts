// Structured JSON logs with pino. Every line is scrubbed by the one redactor (src/util/redact.ts):
// the message, error messages and every string field; child loggers carry namespace and mailbox so
// each line says what it is about.

import { pino, type Logger, type LoggerOptions } from 'pino';
import { redact } from '../util/redact.js';

export type { Logger };

/** `destination`: a file to append to instead of standard output (tests keep their logs there). */
export function createLogger(opts: { level?: string; name?: string; destination?: string } = {}): Logger {
  const options: LoggerOptions = {
    name: opts.name ?? 'mailsync',
    level: opts.level ?? 'info',
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'password',
        '*.password',
        'token',
        '*.token',
        'accessToken',
        '*.accessToken',
        'clientSecret',
        '*.clientSecret',
        'headers.authorization',
      ],
      censor: '[REDACTED]',
    },
    formatters: { level: (label) => ({ level: label }) },
    hooks: {
      // Scrubs the message and every string in the logged objects, which pino's path-based
      // redaction cannot see. What a server said (an error's serverText) is shown at debug only.
      logMethod(args, method) {
        const debug = this.isLevelEnabled('debug');
        method.apply(this, args.map((a) => redactValue(a, 0, debug)) as Parameters<typeof method>);
      },
    },
  };
  return (
    opts.destination ? pino(options, pino.destination({ dest: opts.destination, append: true, sync: true })) : pino(options)
  ) as Logger;
}

/** A logger that writes nothing, for tests and libraries that need one. */
export const silentLogger = (): Logger => pino({ level: 'silent' });

/** An Error as a log field: type, reason, message and, at debug, what the server said (MailError, CrmError). */
function errorField(e: Error & { reason?: string; serverText?: string }, debug: boolean): Record<string, unknown> {
  const field: Record<string, unknown> = { type: e.name, message: redact(e.message), reason: e.reason };
  if (debug && typeof e.serverText === 'string') field.serverText = redact(e.serverText);
  return field;
}

/** Strings redacted, Errors reduced to errorField, plain objects and arrays walked (a few levels). */
function redactValue(value: unknown, depth: number, debug: boolean): unknown {
  if (typeof value === 'string') return redact(value);
  if (value instanceof Error) return depth === 0 ? { err: errorField(value, debug) } : errorField(value, debug);
  if (depth >= 4 || !value || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1, debug));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, depth + 1, debug)]));
}
