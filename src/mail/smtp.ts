// SMTP outgoing adapter on nodemailer's pooled transport.
//
// test() is transporter.verify(): connect, TLS, authenticate, quit, without sending anything.
// send() composes and sends one CRM email. The send mode lives in the message: for SendAs the From
// is the mailbox; for SendOnBehalf the From is the owner and `sender` is the mailbox, which becomes
// the Sender header and the envelope MAIL FROM (the account that is authenticated and accountable).
import nodemailer, { type SendMailOptions, type SMTPPoolOptions, type Transporter } from 'nodemailer';
import { mailOptions } from './compose.js';
import { withTimeout } from './deadline.js';
import { classifyError, type ErrorContext } from './errors.js';
import { DEFAULT_TIMEOUT_MS, describeEndpoint, tlsOptionsFor } from '../net/tls.js';
import { connectionSlots, type SlotClaim } from './connection-slots.js';
import type { ConnectionTester, Credentials, Endpoint, OutgoingMessage } from './types.js';

export interface SmtpOptions {
  /** Pooled connections per adapter (one adapter per mailbox). */
  maxConnections?: number;
  /** Host name sent in EHLO; nodemailer uses the machine's name when unset. */
  clientName?: string;
  /**
   * Connections at once per server and identity (the profile's maxConcurrentConnections): the pool
   * has no more than its limit, and each send or test holds a slot while it runs.
   */
  slots?: SlotClaim;
}

/** How many recently issued access tokens to remember for redaction. */
const REMEMBERED_TOKENS = 4;

export class SmtpAdapter implements ConnectionTester {
  private transporter?: Transporter;
  /** Tokens handed to nodemailer, kept so error messages can be scrubbed of them. */
  private readonly tokens: string[] = [];

  constructor(
    private readonly endpoint: Endpoint,
    private readonly credentials: Credentials,
    private readonly options: SmtpOptions = {},
  ) {}

  async test(signal?: AbortSignal): Promise<void> {
    const timeout = this.endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    try {
      // verify() opens its own connection (connect, greeting, TLS, AUTH each bounded by nodemailer's
      // timeouts); the outer limit covers the sum and lets the caller abort.
      await connectionSlots.run(
        this.options.slots,
        () => withTimeout(this.transport().verify(), 4 * timeout, 'verifying the SMTP login', { signal }),
        { signal, waitMs: timeout },
      );
    } catch (err) {
      throw classifyError(err, this.context());
    }
  }

  /** Sends one message and returns its Message-ID as accepted by the server (with angle brackets). */
  async send(msg: OutgoingMessage): Promise<string> {
    const mail: SendMailOptions = {
      ...mailOptions(msg),
      // nodemailer would take MAIL FROM from the From header; on behalf of someone else it must be
      // the mailbox that sends (the Sender), which is also the authenticated account.
      ...(msg.sender ? { envelope: { from: msg.sender, to: [...msg.to, ...(msg.cc ?? []), ...(msg.bcc ?? [])] } } : {}),
    };
    try {
      const info = await connectionSlots.run(this.options.slots, () => this.transport().sendMail(mail), {
        waitMs: 4 * (this.endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
      return info.messageId;
    } catch (err) {
      throw classifyError(err, this.context());
    }
  }

  /** Closes pooled connections. The adapter can still be used; it reconnects on demand. */
  close(): void {
    this.transporter?.close();
    this.transporter = undefined;
  }

  private context(): ErrorContext {
    const secrets = this.credentials.kind === 'password' ? [this.credentials.password] : [...this.tokens];
    return { protocol: 'SMTP', server: describeEndpoint(this.endpoint), secrets };
  }

  private transport(): Transporter {
    if (this.transporter) return this.transporter;
    const e = this.endpoint;
    const timeout = e.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const options: SMTPPoolOptions = {
      pool: true,
      maxConnections: Math.min(this.options.maxConnections ?? 2, this.options.slots?.limit ?? Infinity),
      // nodemailer's default recycles a connection every 100 messages; the reconnects (TLS, AUTH)
      // halved the throughput of a busy mailbox in bench/run.ts. A server that allows fewer per
      // connection answers 421, which releases the email for a retry (see src/sync/outgoing.ts).
      maxMessages: 1000,
      host: e.host,
      port: e.port,
      secure: e.tls === 'Implicit',
      // requireTLS fails the connection when STARTTLS is missing instead of going on in cleartext.
      requireTLS: e.tls === 'STARTTLS',
      ignoreTLS: e.tls === 'None',
      tls: tlsOptionsFor(e),
      name: this.options.clientName,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      logger: false,
      debug: false,
      // An anonymous relay (authentication None) is sent no AUTH at all.
      auth:
        this.credentials.kind === 'anonymous'
          ? undefined
          : this.credentials.kind === 'password'
            ? { user: this.credentials.username, pass: this.credentials.password }
            : {
                type: 'OAuth2',
                user: this.credentials.username,
                // Asked for a token per connection, and again with renew=true when one is rejected;
                // the TokenProvider owns caching and refresh.
                provisionCallback: (_user: string, _renew: boolean, callback: (err: Error | null, token?: string) => void) => {
                  const provider = this.credentials.kind === 'oauth2' ? this.credentials.token : undefined;
                  provider!.getToken().then(
                    (token) => {
                      this.remember(token);
                      callback(null, token);
                    },
                    (err: Error) => callback(err),
                  );
                },
              },
    };
    this.transporter = nodemailer.createTransport(options);
    return this.transporter;
  }

  private remember(token: string): void {
    if (this.tokens.includes(token)) return;
    this.tokens.push(token);
    if (this.tokens.length > REMEMBERED_TOKENS) this.tokens.shift();
  }
}
