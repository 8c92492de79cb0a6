// The contract between protocol adapters and everything above them. Adapters know nothing of
// Kubernetes: they get plain endpoints and credentials and throw MailError with a FailureReason.
import { isPermanentReason, type Reason } from '../api/reasons.js';

export type TlsMode = 'Implicit' | 'STARTTLS' | 'None';

/** Where a server is and how to talk to it securely. */
export interface Endpoint {
  host: string;
  port: number;
  tls: TlsMode;
  /** Extra trusted CA certificates (PEM). Verification is always on; this only widens trust. */
  ca?: string;
  /** Full URL for HTTP-based protocols (EWS, Graph). */
  url?: string;
  /** Per-operation timeout in milliseconds (connect, greeting, command). */
  timeoutMs?: number;
}

/** Something that yields an OAuth access token, refreshed as needed. */
export interface TokenProvider {
  getToken(): Promise<string>;
}

export type Credentials =
  | { kind: 'password'; username: string; password: string }
  | { kind: 'oauth2'; username: string; token: TokenProvider }
  /** No sign-in: an SMTP relay that accepts mail by the sender's address (outgoing SMTP only). */
  | { kind: 'anonymous'; username?: undefined };

/** Every way a mail operation can fail, as reported on Mailbox conditions (each is in src/api/reasons.ts). */
export type FailureReason =
  | 'AuthenticationFailed'
  /** The account may not send as (or on behalf of) the From address: the outgoing direction stops. */
  | 'SendAsDenied'
  | 'ServerUnreachable'
  | 'TLSError'
  | 'MailboxNotFound'
  | 'Throttled'
  | 'Timeout'
  | 'ServerError'
  | 'ProtocolError'
  | 'UnsupportedConfiguration'
  /**
   * The server refused one outgoing message (SMTP 5xx to MAIL FROM, RCPT TO or DATA). The mailbox
   * itself works, so this is not a direction-level permanent failure: the outgoing pipeline fails
   * that one email in the CRM and goes on, instead of retrying it or disabling the mailbox.
   */
  | 'MessageRejected'
  /** Exchange refused one appointment, contact or task (HTTP 400, an EWS item error): that item is skipped. */
  | 'ItemRejected';

// Every FailureReason is a registered reason (a compile error otherwise).
const registered: FailureReason extends Reason ? true : never = true;
void registered;

/** A failure with its classification. `message` never contains credentials. */
export class MailError extends Error {
  readonly reason: FailureReason;
  readonly permanent: boolean;
  /** Server-requested back-off (EWS BackOffMilliseconds, HTTP Retry-After). */
  readonly retryAfterMs?: number;
  /**
   * What the server said, already made safe (safeServerText): for debug logs only. The message
   * never carries it, because it goes to status and Events.
   */
  readonly serverText?: string;
  constructor(reason: FailureReason, message: string, opts: { retryAfterMs?: number; cause?: unknown; serverText?: string } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'MailError';
    this.reason = reason;
    // Failures that retrying cannot fix (src/api/reasons.ts): someone has to change the
    // configuration, the credentials or the server. An untrusted certificate is one.
    this.permanent = isPermanentReason(reason);
    this.retryAfterMs = opts.retryAfterMs;
    this.serverText = opts.serverText;
  }
}

/** Tests one direction of one mailbox: the "Test" of Test and Enable. */
export interface ConnectionTester {
  /** Resolves when the test passed; rejects with MailError otherwise. Never sends mail. */
  test(signal?: AbortSignal): Promise<void>;
  /** What a passed test learnt about the server worth saying (e.g. "Exchange 2010 SP2, detected"). */
  serverDescription?(): string | undefined;
}

/** A raw message as fetched from a server, before parsing. */
export interface RawMessage {
  /** Server-side identity, stable for this mailbox: IMAP `uidValidity:uid`, POP3 UIDL, EWS/Graph item id. */
  id: string;
  source: Buffer;
  /** When the server received it (IMAP INTERNALDATE), if the protocol says. */
  receivedAt?: Date;
}

/** One message to send, already composed as RFC 5322 by nodemailer's MailComposer or equivalent. */
export interface OutgoingMessage {
  from: string;
  /** Set for SendOnBehalf: the mailbox that sends on behalf of `from`. */
  sender?: string;
  to: string[];
  cc?: string[];
  bcc?: string[];
  subject: string;
  text?: string;
  html?: string;
  messageId: string;
  inReplyTo?: string;
  references?: string[];
  headers?: Record<string, string>;
  /** Files to attach, content already fetched; `cid` marks an image the HTML body shows inline. */
  attachments?: { filename: string; contentType: string; content: Buffer; cid?: string }[];
}
