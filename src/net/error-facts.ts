// The facts error classification looks at, gathered from whatever a library, a socket or a server
// threw: codes along the `cause` chain, protocol response codes, HTTP status and Retry-After. Mail
// (mail/errors.ts: RULES + classifyError) and the CRM connectors (crm/errors.ts) classify from them.
import { protocolCode } from '../util/redact.js';

/** What classification looks at, gathered from an error and its `cause` chain. */
export interface ErrorFacts {
  /** Every `code`/`originalCode` in the chain, upper- and mixed-case as thrown (ECONNREFUSED, NoConnection, ...). */
  codes: string[];
  names: string[];
  /** Library messages, lower-cased, for matching only: never copied into MailError.message. */
  text: string;
  authenticationFailed: boolean;
  mailboxMissing: boolean;
  tlsFailed: boolean;
  /** IMAP response code of a tagged NO/BAD, e.g. AUTHENTICATIONFAILED, NONEXISTENT (RFC 5530); codes-shaped only. */
  imapCode?: string;
  /** SMTP reply code, e.g. 535. */
  smtpCode?: number;
  /** SMTP enhanced status code (RFC 3463), e.g. 5.7.8. */
  smtpEnhanced?: string;
  /** POP3 extended response code (RFC 2449/3206), e.g. AUTH, IN-USE, SYS/TEMP. */
  pop3Code?: string;
  /** The POP3 command the server answered with -ERR (POP3 client code ERESPONSE). */
  pop3Command?: string;
  httpStatus?: number;
  /** Back-off the server asked for (Retry-After, EWS BackOffMilliseconds, imapflow ETHROTTLE). */
  retryAfterMs?: number;
  /** The folder an IMAP command was about (imapflow's `path`). */
  folder?: string;
  /** The server's own words, unredacted: only ever used through safeServerText(), for debug logs. */
  serverText?: string;
}

type Loose = Record<string, unknown>;

/** Gathers ErrorFacts from an error, its `cause` chain and library-specific fields. */
export function errorFacts(err: unknown): ErrorFacts {
  const facts: ErrorFacts = { codes: [], names: [], text: '', authenticationFailed: false, mailboxMissing: false, tlsFailed: false };
  const texts: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = err;
  for (let depth = 0; current && typeof current === 'object' && !seen.has(current) && depth < 8; depth++) {
    seen.add(current);
    const e = current as Loose;
    for (const key of ['code', 'originalCode', 'errorCode', 'ErrorCode']) {
      // A code a server chose (Graph's error.code) is shown in messages: identifiers only.
      const v = protocolCode(e[key]);
      if (v && !facts.codes.includes(v)) facts.codes.push(v);
    }
    if (typeof e.name === 'string') facts.names.push(e.name);
    if (typeof e.message === 'string') texts.push(e.message);
    if (e.authenticationFailed === true) facts.authenticationFailed = true;
    if (e.mailboxMissing === true) facts.mailboxMissing = true;
    if (e.tlsFailed === true) facts.tlsFailed = true;
    facts.imapCode ??= protocolCode(e.serverResponseCode)?.toUpperCase();
    if (typeof e.path === 'string' && e.path) facts.folder ??= e.path;

    if (e.name === 'Pop3Error') {
      facts.pop3Code ??= protocolCode(e.responseCode)?.toUpperCase();
      // Only a -ERR answer (ERESPONSE) is the server refusing a command; a timeout during PASS is not.
      if (e.code === 'ERESPONSE' && typeof e.command === 'string') facts.pop3Command ??= e.command.toUpperCase();
      if (typeof e.response === 'string') facts.serverText ??= e.response;
    } else if (typeof e.responseCode === 'number') {
      facts.smtpCode ??= e.responseCode;
      if (typeof e.response === 'string') {
        facts.serverText ??= e.response;
        const enhanced = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(e.response);
        if (enhanced) facts.smtpEnhanced ??= enhanced[1];
      }
    }
    // imapflow keeps the tagged response's human text apart from its code.
    if (typeof e.responseText === 'string') facts.serverText ??= e.responseText;
    else if (typeof e.response === 'string' && facts.imapCode !== undefined) facts.serverText ??= e.response;

    const status = httpStatusOf(e);
    if (status !== undefined) facts.httpStatus ??= status;
    const retry = retryAfterOf(e);
    if (retry !== undefined) facts.retryAfterMs ??= retry;

    current = e.cause ?? e._err ?? e.parserError;
  }
  facts.text = texts.join(' | ').toLowerCase();
  return facts;
}

function httpStatusOf(e: Loose): number | undefined {
  const response = e.response && typeof e.response === 'object' ? (e.response as Loose) : undefined;
  for (const v of [e.status, e.statusCode, e.httpStatus, response?.status, response?.statusCode]) {
    if (typeof v === 'number' && v >= 100 && v <= 599) return v;
  }
  return undefined;
}

function retryAfterOf(e: Loose): number | undefined {
  for (const v of [e.retryAfterMs, e.throttleReset, e.BackOffMilliseconds]) {
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  }
  const response = e.response && typeof e.response === 'object' ? (e.response as Loose) : undefined;
  for (const headers of [e.headers, response?.headers]) {
    const value = headerValue(headers, 'retry-after');
    if (value !== undefined) {
      const ms = parseRetryAfter(value);
      if (ms !== undefined) return ms;
    }
  }
  return undefined;
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as { get?: (n: string) => unknown } & Loose;
  if (typeof h.get === 'function') {
    const v = h.get(name);
    return typeof v === 'string' ? v : undefined;
  }
  for (const [k, v] of Object.entries(h)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? String(v[0]) : String(v);
  }
  return undefined;
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
