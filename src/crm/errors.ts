// Turns what an HTTP call to a CRM produced (a thrown socket/TLS/timeout error, or a status code
// the connector does not accept) into a CrmError with one of the contract's reasons:
//
//   connection refused, DNS, reset, timeout, TLS    -> CRMUnreachable (transient; TLS permanent)
//   401, 403                                        -> CRMAuthenticationFailed (permanent)
//   429, or 503 with Retry-After                    -> CRMThrottled, retryAfterMs from the header
//   408, other 5xx                                  -> CRMError (transient)
//   other 4xx (400, 404, 409, 422, ...)             -> CRMRejected (permanent for that message)
//
// Messages name the CRM and URL and say what happened in our words, with the CRM's error code if
// it is shaped like one; they end up in Deployment/Mailbox status and Events, so the CRM's own
// words do not: they ride along as `serverText`, for debug logs.
import { errorFacts, parseRetryAfter } from '../net/error-facts.js';
import { protocolCode, redact, safeServerText } from '../util/redact.js';
import { CrmError, type CrmFailureReason } from './types.js';

export interface CrmCallContext {
  /** 'CRM webhook' or 'Dynamics 365': who we were talking to. */
  system: string;
  /** The request URL without its query (queries can hold addresses; paths are enough to locate a problem). */
  url: string;
  timeoutMs: number;
  /** Secret values that must never reach a message. */
  secrets: readonly string[];
  /** What to check when the CRM refused our credentials (401/403). */
  authHint: string;
}

/** What a CRM answered, for errorForStatus. */
export interface CrmResponseInfo {
  status: number;
  retryAfter?: string | null;
  /** The CRM's error code (webhook `error.code`, OData `error.code`). */
  code?: string;
  /** The CRM's error message, unredacted: only ever used through safeServerText(), for debug logs. */
  text?: string;
}

const TLS_DESCRIPTIONS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not yet valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'the certificate chain ends in an untrusted CA',
  UNABLE_TO_GET_ISSUER_CERT: 'the certificate was issued by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the certificate was issued by a CA that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate cannot be verified',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate does not name this host',
};

const UNREACHABLE_DESCRIPTIONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host name not found in DNS',
  EAI_AGAIN: 'DNS lookup failed temporarily',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  UND_ERR_SOCKET: 'connection closed unexpectedly',
  UND_ERR_CLOSED: 'connection closed unexpectedly',
};

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
]);

/** A request that got no HTTP answer. */
export function transportError(err: unknown, ctx: CrmCallContext, signal?: AbortSignal): CrmError {
  if (err instanceof CrmError) return err;
  const facts = errorFacts(err);
  const where = `${ctx.system} ${ctx.url}`;
  const say = (reason: CrmFailureReason, what: string, opts: { permanent?: boolean } = {}): CrmError =>
    new CrmError(reason, redact(`${where}: ${what}`, ctx.secrets), { cause: err, ...opts });

  const tlsCode = facts.codes.find(
    (c) => c in TLS_DESCRIPTIONS || c.startsWith('ERR_TLS_') || c.startsWith('ERR_SSL_') || c.startsWith('CERT_'),
  );
  if (tlsCode && !TIMEOUT_CODES.has(tlsCode)) {
    // Retrying cannot fix an untrusted certificate: someone has to add the CA or fix the server.
    return say(
      'CRMUnreachable',
      `TLS failed: ${TLS_DESCRIPTIONS[tlsCode] ?? 'the handshake did not complete'} (${tlsCode}); if the CRM's certificate is issued by a private CA, add that CA to spec.crm.caBundle`,
      { permanent: true },
    );
  }
  if (signal?.aborted && !(signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError')) {
    return say('CRMUnreachable', 'the request was cancelled before the CRM answered');
  }
  if (facts.names.includes('TimeoutError') || facts.codes.some((c) => TIMEOUT_CODES.has(c)) || facts.names.includes('AbortError')) {
    return say('CRMUnreachable', `no answer within ${ctx.timeoutMs} ms (spec.crm.timeout); it is retried with back-off`);
  }
  const code = facts.codes.find((c) => c in UNREACHABLE_DESCRIPTIONS);
  if (code)
    return say(
      'CRMUnreachable',
      `cannot reach the CRM: ${UNREACHABLE_DESCRIPTIONS[code]} (${code}); check spec.crm.url and that the CRM is running; it is retried with back-off`,
    );
  const other = facts.codes[0] ?? facts.names.find((n) => n !== 'Error') ?? 'unknown';
  return say('CRMUnreachable', `the request failed before the CRM answered (${other}); it is retried with back-off`);
}

/** A status code the connector does not accept for this request. */
export function errorForStatus(info: CrmResponseInfo, ctx: CrmCallContext): CrmError {
  const { status } = info;
  const code = protocolCode(info.code);
  const head = `${ctx.system} ${ctx.url}: HTTP ${status}${code ? ` ${code}` : ''}`;
  const serverText = safeServerText(info.text, ctx.secrets);
  const retryAfterMs = parseRetryAfter(info.retryAfter);
  const wait = retryAfterMs !== undefined ? `; retry after ${Math.ceil(retryAfterMs / 1000)} s` : '';
  const make = (reason: CrmFailureReason, what: string, opts: { permanent?: boolean; retryAfterMs?: number } = {}): CrmError =>
    new CrmError(reason, redact(`${head} (${what})${wait}`, ctx.secrets), { ...opts, serverText });

  if (status === 401 || status === 403) {
    return make(
      'CRMAuthenticationFailed',
      `${status === 401 ? 'the CRM rejected the credentials' : 'the credentials are not allowed to do this'}; ${ctx.authHint}`,
    );
  }
  if (status === 429 || (status === 503 && retryAfterMs !== undefined)) {
    return make('CRMThrottled', 'the CRM is throttling requests; retried after the back-off it asked for', { retryAfterMs });
  }
  if (status === 408 || status >= 500) return make('CRMError', 'the CRM failed; it is retried with back-off');
  return make('CRMRejected', 'the CRM refused this request; it is not retried');
}
