// Classification of a refused HTTP request (Graph, EWS, the OAuth token endpoint) as a MailError.
import { HttpResponseError } from '../net/http.js';
import { protocolCode, redact } from '../util/redact.js';
import { classifyError, type ErrorContext } from './errors.js';
import { MailError } from './types.js';

/**
 * classifyError, plus the service's error code in our own words: "(HTTP 401)" becomes
 * "(HTTP 401 InvalidAuthenticationToken)". The code is the most useful part of a Graph or OAuth
 * refusal. Only a code shaped like an identifier is shown: anything else is free text.
 */
export function classifyHttpError(err: unknown, ctx: ErrorContext): MailError {
  const classified = classifyError(err, ctx);
  const code = err instanceof HttpResponseError ? protocolCode(err.code) : undefined;
  if (!code || !/\(HTTP \d{3}\)/.test(classified.message)) return classified;
  const message = redact(classified.message.replace(/\(HTTP (\d{3})\)/, `(HTTP $1 ${code})`), ctx.secrets);
  return new MailError(classified.reason, message, {
    retryAfterMs: classified.retryAfterMs,
    cause: classified.cause,
    serverText: classified.serverText,
  });
}
