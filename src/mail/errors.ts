// Turns whatever a mail library, a socket or a server threw into a MailError with a FailureReason.
//
// Classification is a table of rules over "facts" pulled out of the error and its causes (codes,
// protocol response codes, HTTP status). The first matching rule wins, so the order encodes
// precedence: a server's own classification (POP3/IMAP/SMTP response codes) beats generic socket
// codes, TLS beats "connection reset" (a failed handshake often ends in a reset), and timeouts beat
// unreachability.
//
// Messages are built from our own wording and protocol codes only (each checked to be an
// identifier, not free text), never from a server's words: servers echo what they were sent (a
// login line, a SASL blob, an encoded password), and the message ends up in Kubernetes status and
// Events where anyone with read access sees it. The server's words ride along on the MailError as
// `serverText`, made safe for debug logs.
import { redact, safeServerText } from '../util/redact.js';
import { REASONS } from '../api/reasons.js';
import { errorFacts, type ErrorFacts } from '../net/error-facts.js';
import { MailError, type FailureReason } from './types.js';

export interface ErrorContext {
  /** Protocol named in the message: 'IMAP', 'POP3', 'SMTP', 'EWS', 'Graph'. */
  protocol?: string;
  /** Server named in the message: `host:port` or a URL. */
  server?: string;
  /** Secret values (passwords, tokens) that must never appear in the message. */
  secrets?: readonly string[];
}

type Rule = {
  reason: FailureReason;
  when: (f: ErrorFacts) => boolean;
  /** What happened, in our words, with the relevant codes. */
  say: (f: ErrorFacts) => string;
  /** What the user can do about it; the reason's hint in src/api/reasons.ts when absent. */
  hint?: string;
};

/** Certificate and TLS-protocol failures: configuration problems, never a passing network glitch. */
const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TLS_INVALID_PROTOCOL_VERSION',
  'STARTTLS_INJECTION',
]);

/**
 * Codes that only say "the TLS step failed" (imapflow's tlsFailed flag, nodemailer's ETLS). They
 * mean a TLS problem unless the chain also holds a socket or timeout code: a reset or a closed
 * connection during the handshake is a network problem and must stay transient.
 */
const GENERIC_TLS_CODES = new Set(['ETLS']);

const TLS_DESCRIPTIONS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the server certificate has expired',
  CERT_NOT_YET_VALID: 'the server certificate is not yet valid',
  CERT_REVOKED: 'the server certificate has been revoked',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server certificate chain ends in an untrusted self-signed CA',
  UNABLE_TO_GET_ISSUER_CERT: 'the server certificate was issued by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the server certificate was issued by a CA that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server certificate cannot be verified against a trusted CA',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server certificate does not name this host',
  HOSTNAME_MISMATCH: 'the server certificate does not name this host',
  STARTTLS_INJECTION: 'the server sent data between STARTTLS and the TLS handshake (possible attack)',
};

/** Node's certificate error texts, for errors that lost their code on the way. */
const TLS_TEXT: ReadonlyArray<[RegExp, keyof typeof TLS_DESCRIPTIONS]> = [
  [/self[- ]signed certificate in certificate chain/, 'SELF_SIGNED_CERT_IN_CHAIN'],
  [/self[- ]signed certificate/, 'DEPTH_ZERO_SELF_SIGNED_CERT'],
  [/unable to get local issuer certificate/, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'],
  [/unable to get issuer certificate/, 'UNABLE_TO_GET_ISSUER_CERT'],
  [/unable to verify the first certificate/, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
  [/certificate has expired/, 'CERT_HAS_EXPIRED'],
  [/certificate is not yet valid/, 'CERT_NOT_YET_VALID'],
  [/does not match certificate's altnames/, 'ERR_TLS_CERT_ALTNAME_INVALID'],
];

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ETIMEOUT',
  'ESOCKETTIMEDOUT',
  'CONNECT_TIMEOUT',
  'GREETING_TIMEOUT',
  'UPGRADE_TIMEOUT',
  'SOCKET_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
]);

const UNREACHABLE_DESCRIPTIONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host is down',
  ENETDOWN: 'network is down',
  ENOTFOUND: 'host name not found in DNS',
  EAI_AGAIN: 'DNS lookup failed temporarily',
  EAI_FAIL: 'DNS lookup failed',
  EDNS: 'DNS lookup failed',
  EADDRNOTAVAIL: 'address not available',
  ECONNRESET: 'connection reset by the server',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection closed while sending',
  ECONNECTION: 'connection closed unexpectedly',
  ESOCKET: 'socket error',
  NoConnection: 'connection closed unexpectedly',
  EConnectionClosed: 'connection closed unexpectedly',
  ClosedAfterConnectText: 'the server closed the connection right after connecting',
  ClosedAfterConnectTLS: 'the server closed the connection during the TLS handshake',
  ETLS: 'the connection closed during TLS negotiation',
  UND_ERR_SOCKET: 'connection closed unexpectedly',
  EPROXY: 'proxy connection failed',
  ProxyError: 'proxy connection failed',
};

const PROTOCOL_CODES = new Set([
  'EPROTOCOL',
  'UnexpectedTag',
  'MissingTag',
  'InvalidResponse',
  'ResponseProcessingFailed',
  'LineTooLarge',
  'LiteralTooLarge',
  'ResponseTooLarge',
  'TooManyTokens',
  'TooManyResponses',
  'COMPRESS_TRAILING_DATA',
]);

const has = (f: ErrorFacts, ...codes: string[]): boolean => codes.some((c) => f.codes.includes(c));
const first = (f: ErrorFacts, table: Record<string, string> | Set<string>): string | undefined =>
  f.codes.find((c) => (table instanceof Set ? table.has(c) : c in table));
const smtp = (f: ErrorFacts): string => `SMTP ${f.smtpCode}${f.smtpEnhanced ? ` ${f.smtpEnhanced}` : ''}`;
const WRAPPER_CODES = new Set(['ESOCKET', 'ECONNECTION', ...GENERIC_TLS_CODES]);
/** A socket-level or timeout code other than the generic wrappers. */
const hasTransportCode = (f: ErrorFacts): boolean =>
  f.codes.some((c) => !WRAPPER_CODES.has(c) && (TIMEOUT_CODES.has(c) || c in UNREACHABLE_DESCRIPTIONS));
const hasTlsCode = (f: ErrorFacts): boolean =>
  f.codes.some((c) => TLS_CODES.has(c) || c.startsWith('ERR_SSL_') || (c.startsWith('ERR_TLS_') && c !== 'ERR_TLS_HANDSHAKE_TIMEOUT'));
const isSmtp4xx = (f: ErrorFacts, ...codes: number[]): boolean => f.smtpCode !== undefined && codes.includes(f.smtpCode);

const CHECK_CREDENTIALS = 'check the username and the password or token in the credentials Secret';
const TRANSIENT = 'the server reported a temporary problem; it is retried with back-off';

/** The classification table, in order of precedence. */
export const RULES: readonly Rule[] = [
  // --- POP3 extended response codes (RFC 2449, RFC 3206): the server says what kind of failure it is.
  {
    reason: 'AuthenticationFailed',
    when: (f) => f.pop3Code === 'AUTH',
    say: () => 'the server rejected the credentials (POP3 [AUTH])',
    hint: CHECK_CREDENTIALS,
  },
  {
    reason: 'ServerError',
    when: (f) => f.pop3Code === 'IN-USE',
    say: () => 'the mailbox is locked by another POP3 session (POP3 [IN-USE])',
    hint: 'another client holds the mailbox; it is retried with back-off',
  },
  {
    reason: 'Throttled',
    when: (f) => f.pop3Code === 'LOGIN-DELAY',
    say: () => 'the server limits how often this mailbox may log in (POP3 [LOGIN-DELAY])',
    hint: 'it is retried after a longer delay',
  },
  {
    reason: 'ServerError',
    when: (f) => f.pop3Code === 'SYS/TEMP',
    say: () => 'the server had a temporary system error (POP3 [SYS/TEMP])',
    hint: TRANSIENT,
  },
  {
    reason: 'ServerError',
    when: (f) => f.pop3Code === 'SYS/PERM',
    say: () => 'the server had a system error it considers permanent (POP3 [SYS/PERM])',
    hint: 'ask the mail server administrator; it is retried with back-off meanwhile',
  },
  {
    reason: 'UnsupportedConfiguration',
    when: (f) => f.names.includes('Pop3Error') && has(f, 'ENOAUTH'),
    say: () => 'the server offers no authentication method for these credentials (POP3 SASL)',
    hint: 'use password authentication, or a server that supports XOAUTH2/OAUTHBEARER',
  },
  // Without a response code a failed login is still, in practice, a credentials problem.
  {
    reason: 'AuthenticationFailed',
    when: (f) => f.pop3Code === undefined && ['USER', 'PASS', 'AUTH', 'APOP'].includes(f.pop3Command ?? ''),
    say: (f) => `the server rejected the login (POP3 ${f.pop3Command})`,
    hint: CHECK_CREDENTIALS,
  },

  // --- IMAP response codes (RFC 5530) and imapflow flags.
  {
    reason: 'Throttled',
    when: (f) => has(f, 'ETHROTTLE'),
    say: () => 'the server is throttling requests',
    hint: 'it is retried after the back-off the server asked for',
  },
  {
    reason: 'ServerError',
    when: (f) => f.imapCode === 'UNAVAILABLE',
    say: () => 'the server is temporarily unable to log in this user (IMAP UNAVAILABLE)',
    hint: TRANSIENT,
  },
  {
    reason: 'ServerError',
    when: (f) => f.imapCode === 'INUSE',
    say: () => 'the mailbox is in use by another session (IMAP INUSE)',
    hint: TRANSIENT,
  },
  {
    reason: 'Throttled',
    when: (f) => f.imapCode === 'LIMIT',
    say: () => 'the server limit for this operation was reached (IMAP LIMIT)',
    hint: 'it is retried with back-off',
  },
  {
    reason: 'UnsupportedConfiguration',
    when: (f) => f.imapCode === 'PRIVACYREQUIRED' || (f.authenticationFailed && /login is disabled/.test(f.text)),
    say: () => 'the server refuses to log in over a connection without TLS',
    hint: 'set the TLS mode to Implicit or STARTTLS',
  },
  {
    reason: 'UnsupportedConfiguration',
    when: (f) =>
      f.authenticationFailed && f.imapCode === undefined && /no matching authentication method|no password configured/.test(f.text),
    say: () => 'the server offers no authentication method for these credentials',
    hint: 'use password authentication, or a server that supports XOAUTH2/OAUTHBEARER',
  },
  {
    reason: 'AuthenticationFailed',
    when: (f) => f.authenticationFailed || ['AUTHENTICATIONFAILED', 'AUTHORIZATIONFAILED', 'EXPIRED'].includes(f.imapCode ?? ''),
    say: (f) => `the server rejected the credentials${f.imapCode ? ` (IMAP ${f.imapCode})` : ''}`,
    hint: CHECK_CREDENTIALS,
  },
  // imapflow's STATUS throws code NotFound for a missing folder.
  {
    reason: 'MailboxNotFound',
    when: (f) => f.mailboxMissing || ['NONEXISTENT', 'TRYCREATE'].includes(f.imapCode ?? '') || has(f, 'NotFound'),
    say: (f) => `the folder${f.folder ? ` "${f.folder}"` : ''} does not exist${f.imapCode ? ` (IMAP ${f.imapCode})` : ''}`,
    hint: 'check the folder name and that the mailbox exists on this server',
  },

  // --- SMTP replies: transient 4xx first, since EAUTH also carries 454.
  {
    reason: 'ServerError',
    when: (f) => isSmtp4xx(f, 454) && has(f, 'EAUTH'),
    say: (f) => `the server could not check the credentials right now (${smtp(f)})`,
    hint: TRANSIENT,
  },
  {
    reason: 'Throttled',
    when: (f) => isSmtp4xx(f, 421),
    say: (f) => `the server is not accepting connections or mail right now (${smtp(f)})`,
    hint: 'it is retried with back-off',
  },
  {
    reason: 'ServerError',
    when: (f) => isSmtp4xx(f, 450, 451, 452),
    say: (f) => `the server deferred the request (${smtp(f)})`,
    hint: TRANSIENT,
  },
  {
    reason: 'UnsupportedConfiguration',
    when: (f) => isSmtp4xx(f, 538),
    say: (f) => `the server requires TLS before authentication (${smtp(f)})`,
    hint: 'set the TLS mode to STARTTLS or Implicit',
  },
  {
    reason: 'AuthenticationFailed',
    when: (f) => isSmtp4xx(f, 530, 534, 535) || has(f, 'EAUTH', 'ENOAUTH', 'EOAUTH2'),
    say: (f) => `the server rejected the credentials${f.smtpCode ? ` (${smtp(f)})` : ''}`,
    hint: CHECK_CREDENTIALS,
  },
  // Exchange Online: 550 5.7.60 "Client does not have permissions to send as this sender"; other
  // servers say so in words. About the account's rights, not this message: the direction stops.
  {
    reason: 'SendAsDenied',
    when: (f) =>
      f.smtpCode !== undefined &&
      f.smtpCode >= 500 &&
      (f.smtpEnhanced === '5.7.60' ||
        /send ?as ?denied|permissions? to send as|not (?:allowed|authori[sz]ed|permitted) to send (?:as|on behalf)/.test(f.text)),
    say: (f) => `the server refuses mail from this sender for this account (${smtp(f)})`,
  },
  // Exchange Online's sending quotas, mailbox-full and "sender throttled" replies are 5xx but about
  // the mailbox, not this message: the email waits (released, retried with back-off), not fails.
  {
    reason: 'Throttled',
    when: (f) => f.smtpCode !== undefined && f.smtpCode >= 500 && /quotaexceeded|sender throttled/.test(f.text),
    say: (f) => `the server refuses mail from this mailbox for now: a sending quota, a full mailbox or a sender throttle (${smtp(f)})`,
    hint: 'the email stays pending and is retried with back-off; check the mailbox in Exchange if it lasts',
  },
  {
    reason: 'MessageRejected',
    when: (f) => f.smtpCode !== undefined && f.smtpCode >= 500 && has(f, 'EENVELOPE', 'EMESSAGE'),
    say: (f) => `the server refused this message (${smtp(f)})`,
    hint: 'the message is not retried; check the recipients, size and sender rights',
  },

  // --- HTTP (EWS, Graph).
  {
    reason: 'AuthenticationFailed',
    when: (f) => f.httpStatus === 401 || f.httpStatus === 403,
    say: (f) => `the server rejected the credentials (HTTP ${f.httpStatus})`,
    hint: 'check the credentials and the application permissions',
  },
  {
    reason: 'MailboxNotFound',
    when: (f) => f.httpStatus === 404 || has(f, 'ErrorNonExistentMailbox', 'ErrorFolderNotFound', 'MailboxNotEnabledForRESTAPI'),
    say: (f) => `the mailbox or folder was not found${f.httpStatus ? ` (HTTP ${f.httpStatus})` : ''}`,
    hint: 'check the email address and that the mailbox exists on this server',
  },
  {
    reason: 'Throttled',
    when: (f) => f.httpStatus === 429 || (f.httpStatus === 503 && f.retryAfterMs !== undefined) || has(f, 'ErrorServerBusy'),
    say: (f) => `the server is throttling requests${f.httpStatus ? ` (HTTP ${f.httpStatus})` : ''}`,
    hint: 'it is retried after the back-off the server asked for',
  },
  {
    reason: 'Timeout',
    when: (f) => f.httpStatus === 408 || f.httpStatus === 504,
    say: (f) => `the server timed out (HTTP ${f.httpStatus})`,
    hint: 'it is retried with back-off',
  },
  {
    reason: 'ServerError',
    when: (f) => f.httpStatus !== undefined && f.httpStatus >= 500,
    say: (f) => `the server failed (HTTP ${f.httpStatus})`,
    hint: TRANSIENT,
  },
  {
    reason: 'ProtocolError',
    when: (f) => f.httpStatus !== undefined && f.httpStatus >= 400,
    say: (f) => `the server rejected the request (HTTP ${f.httpStatus})`,
    hint: 'this is likely a bug or an unsupported server; it is retried with back-off',
  },

  // --- TLS, before socket errors: a failed handshake often surfaces as a reset or a closed connection.
  {
    reason: 'TLSError',
    when: (f) =>
      hasTlsCode(f) ||
      (has(f, 'EPROTO') && /ssl|tls|handshake|wrong version number/.test(f.text)) ||
      ((f.tlsFailed || f.codes.some((c) => GENERIC_TLS_CODES.has(c))) &&
        !hasTransportCode(f) &&
        !/connection closed|socket disconnected|socket hang up/.test(f.text)),
    say: (f) => {
      const code =
        f.codes.find((c) => c in TLS_DESCRIPTIONS) ??
        f.codes.find((c) => TLS_CODES.has(c) || GENERIC_TLS_CODES.has(c) || c.startsWith('ERR_SSL_') || c.startsWith('ERR_TLS_'));
      if (code && code in TLS_DESCRIPTIONS) return `TLS failed: ${TLS_DESCRIPTIONS[code]} (${code})`;
      // Some wrappers (nodemailer's STARTTLS path) keep only OpenSSL's words, not the code.
      const described = TLS_TEXT.find(([pattern]) => pattern.test(f.text));
      if (described) return `TLS failed: ${TLS_DESCRIPTIONS[described[1]]} (${described[1]})`;
      if (/wrong version number|packet length too long|unknown protocol/.test(f.text) || has(f, 'ERR_SSL_WRONG_VERSION_NUMBER')) {
        return `TLS failed: the server did not answer with TLS (${code ?? 'wrong version number'})`;
      }
      if (/starttls/.test(f.text)) return 'TLS failed: the server does not offer STARTTLS or refused it';
      return `TLS failed: the handshake did not complete${code ? ` (${code})` : ''}`;
    },
    hint: 'check the TLS mode and port (Implicit TLS and STARTTLS use different ports), and add the CA that issued the server certificate to the profile if it is a private CA',
  },

  // --- Timeouts, then unreachability.
  {
    reason: 'Timeout',
    when: (f) => f.codes.some((c) => TIMEOUT_CODES.has(c)) || f.names.includes('TimeoutError'),
    say: (f) => `the server did not answer in time (${first(f, TIMEOUT_CODES) ?? 'timeout'})`,
    hint: 'it is retried with back-off; check the server load and network if this persists',
  },
  {
    reason: 'Timeout',
    when: (f) => f.names.includes('AbortError') || has(f, 'ABORT_ERR'),
    say: () => 'the operation was cancelled before it finished',
    hint: 'it is retried with back-off',
  },
  {
    reason: 'ServerUnreachable',
    when: (f) => f.codes.some((c) => c in UNREACHABLE_DESCRIPTIONS),
    say: (f) => {
      // Prefer the most specific code: ESOCKET/ECONNECTION wrap ECONNREFUSED and friends.
      const specific = f.codes.find((c) => c in UNREACHABLE_DESCRIPTIONS && !['ESOCKET', 'ECONNECTION'].includes(c));
      const code = specific ?? first(f, UNREACHABLE_DESCRIPTIONS)!;
      return `cannot reach the server: ${UNREACHABLE_DESCRIPTIONS[code]} (${code})`;
    },
    hint: 'check the host name and port and that the server is running; it is retried with back-off',
  },

  // --- What is left.
  {
    reason: 'ProtocolError',
    when: (f) => f.codes.some((c) => PROTOCOL_CODES.has(c) || c.startsWith('ParserError')),
    say: (f) =>
      `the server sent a response that could not be understood (${f.codes.find((c) => PROTOCOL_CODES.has(c) || c.startsWith('ParserError'))})`,
    hint: 'it is retried with back-off; if it persists the server may be incompatible',
  },
  {
    reason: 'UnsupportedConfiguration',
    when: (f) => has(f, 'ECONFIG', 'MissingServerExtension', 'UnsupportedTransportOption'),
    say: (f) =>
      `the configuration is not supported by this server or client (${first(f, new Set(['ECONFIG', 'MissingServerExtension', 'UnsupportedTransportOption']))})`,
    hint: 'check the server profile settings',
  },
  {
    reason: 'ServerError',
    when: (f) => f.smtpCode !== undefined && f.smtpCode >= 400,
    say: (f) => `the server refused the request (${smtp(f)})`,
    hint: 'it is retried with back-off',
  },
  {
    reason: 'ServerError',
    when: (f) => f.imapCode !== undefined || f.pop3Command !== undefined,
    say: (f) => `the server refused the request${f.imapCode ? ` (IMAP ${f.imapCode})` : f.pop3Command ? ` (POP3 ${f.pop3Command})` : ''}`,
    hint: 'it is retried with back-off',
  },
];

const FALLBACK: Rule = {
  reason: 'ServerError',
  when: () => true,
  say: (f) => `unexpected error${f.codes.length ? ` (${f.codes[0]})` : ''}`,
  hint: 'it is retried with back-off',
};

/** Classifies any thrown value into a MailError whose message is safe to show and store. */
export function classifyError(err: unknown, ctx: ErrorContext = {}): MailError {
  const secrets = ctx.secrets ?? [];
  if (err instanceof MailError) {
    const message = redact(err.message, secrets);
    return message === err.message
      ? err
      : new MailError(err.reason, message, { retryAfterMs: err.retryAfterMs, cause: err.cause, serverText: err.serverText });
  }
  const facts = errorFacts(err);
  const rule = RULES.find((r) => r.when(facts)) ?? FALLBACK;
  return new MailError(rule.reason, composeMessage(rule, facts, ctx), {
    retryAfterMs: facts.retryAfterMs,
    cause: err,
    serverText: safeServerText(facts.serverText, secrets),
  });
}

function composeMessage(rule: Rule, facts: ErrorFacts, ctx: ErrorContext): string {
  const where = [ctx.protocol, ctx.server].filter(Boolean).join(' ');
  let message = `${where ? `${where}: ` : ''}${rule.say(facts)}`;
  if (facts.retryAfterMs !== undefined) message += `; retry after ${Math.ceil(facts.retryAfterMs / 1000)} s`;
  message += `; ${rule.hint ?? REASONS[rule.reason].hint}`;
  // Our own wording holds no secrets, but a user-supplied host name or a code could.
  return redact(message, ctx.secrets ?? []);
}
