// Exchange Online over Microsoft Graph, with plain fetch (undici) and an app-only OAuth token.
//
// Test and Enable: the incoming test reads the mailbox's Inbox folder. Graph has no way to check a
// send without sending, so the outgoing test is the same mailbox lookup: it proves the token, the
// application's access to this mailbox and that the mailbox exists, but not the Mail.Send
// permission nor Send As / Send on Behalf rights (an app holding Mail.Send but not Mail.Read fails
// it; a missing send right shows up on the first send as AuthenticationFailed).
//
// Sending: sendMail in MIME format (Content-Type text/plain, the message base64-encoded), built by
// nodemailer as for SMTP, because Graph's JSON format accepts only `X-` headers: with it our
// Message-ID, In-Reply-To and References could not be set, and replies to CRM email correlated by
// the tracking token alone. Our Message-ID also travels as `X-MailSync-Message-ID`, in case
// Exchange Online assigns its own (Microsoft documents MIME sending, not whether Message-ID is
// kept; see docs/sync.md, "Outgoing").
import { fetch, type Response } from 'undici';
import { protocolCode, safeServerText } from '../util/redact.js';
import { classifyError, type ErrorContext } from './errors.js';
import { classifyHttpError } from './http-errors.js';
import { deadlineSignal, httpDispatcher, HttpResponseError, sameOrigin } from '../net/http.js';
import { KeyedSemaphores } from '../util/semaphore.js';
import { connectionSlots, type SlotClaim } from './connection-slots.js';
import { DEFAULT_TIMEOUT_MS } from '../net/tls.js';
import { composeMime } from './compose.js';
import {
  MailError,
  type ConnectionTester,
  type Credentials,
  type Endpoint,
  type OutgoingMessage,
  type RawMessage,
  type TokenProvider,
} from './types.js';

export const DEFAULT_GRAPH_URL = 'https://graph.microsoft.com/v1.0';

// Graph serves at most 4 concurrent requests per mailbox (MailboxConcurrency) and answers 429
// beyond that. Every adapter of a mailbox in this process (incoming, outgoing, tests) shares them,
// so a busy outgoing queue waits for a slot instead of being throttled.
const MAILBOX_CONCURRENCY = 4;
const mailboxSlots = new KeyedSemaphores(MAILBOX_CONCURRENCY);

/** Our Message-ID again, as an X- header: kept even if Exchange Online assigns its own Message-ID. */
export const CORRELATION_HEADER = 'X-MailSync-Message-ID';

export interface GraphOptions {
  /** The mailbox: its SMTP address or user id. */
  mailbox: string;
  /** Messages per delta page (`Prefer: odata.maxpagesize`); Graph's own default when unset. */
  pageSize?: number;
  /** Requests at once per identity (the profile's maxConcurrentConnections), on top of the 4 per mailbox. */
  slots?: SlotClaim;
}

export interface DeltaResult {
  /** Ids of messages added to (or changed in) the folder since the delta link, each once. */
  messages: string[];
  /** Ids Graph reports as removed from the folder (deleted or moved away). */
  removed: string[];
  /** When each added message was received (receivedDateTime), where Graph said. */
  receivedAt: Map<string, Date>;
  /** Opaque link to pass to the next delta() call; store it as the sync checkpoint. */
  nextDeltaLink: string;
  /**
   * The stored delta link had expired (HTTP 410) and the folder was read again from the start,
   * so `messages` may repeat earlier ones (the CRM connector deduplicates them).
   */
  restarted: boolean;
}

/** A token provider that can drop a token the resource server rejected (ClientCredentialsTokenProvider). */
type InvalidatableTokenProvider = TokenProvider & { invalidate?: () => void };

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is, as text/plain (sendMail in MIME format). */
  text?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** What is being done, for messages. */
  what: string;
}

export class GraphAdapter implements ConnectionTester {
  private readonly baseUrl: string;
  private readonly tokens: InvalidatableTokenProvider;
  /** Tokens sent recently, so that error messages can be scrubbed of them. */
  private readonly sentTokens = new Set<string>();

  constructor(
    private readonly endpoint: Endpoint,
    credentials: Credentials,
    private readonly options: GraphOptions,
  ) {
    this.baseUrl = (endpoint.url ?? DEFAULT_GRAPH_URL).replace(/\/+$/, '');
    if (credentials.kind !== 'oauth2') {
      throw new MailError(
        'UnsupportedConfiguration',
        `Graph ${this.baseUrl}: Exchange Online over Microsoft Graph needs OAuth2 client credentials, not a password; set the profile's authentication to OAuth2`,
      );
    }
    this.tokens = credentials.token;
  }

  /** Incoming test: the mailbox's Inbox can be read with this token. */
  async test(signal?: AbortSignal): Promise<void> {
    await this.limited(() =>
      this.request(`${this.mailboxPath()}/mailFolders/inbox`, { signal, what: 'reading the Inbox folder' }).then(drain),
    );
  }

  /** Outgoing test: Graph has no dry-run send, so this is the same mailbox lookup as test(). */
  async testOutgoing(signal?: AbortSignal): Promise<void> {
    await this.test(signal);
  }

  /**
   * Sends one message through the mailbox. SendAs: `from` is the mailbox. SendOnBehalf: `from` is
   * the owner and `sender` the mailbox. Graph answers 202 and sends asynchronously.
   */
  async send(msg: OutgoingMessage, signal?: AbortSignal): Promise<void> {
    // Graph takes the recipients from the headers (Bcc included) and removes Bcc before delivery.
    const mime = await composeMime({ ...msg, headers: { ...msg.headers, [CORRELATION_HEADER]: msg.messageId } }, { keepBcc: true });
    await this.limited(() =>
      this.request(`${this.mailboxPath()}/sendMail`, {
        method: 'POST',
        text: mime.toString('base64'),
        signal,
        what: 'sending a message',
      }).then(drain),
    );
  }

  /**
   * Reads the folder's changes since `deltaLink` (or everything, on the first call), following
   * `@odata.nextLink` pages to the final `@odata.deltaLink`.
   */
  async delta(folder = 'inbox', deltaLink?: string, signal?: AbortSignal): Promise<DeltaResult> {
    const start = `${this.mailboxPath()}/mailFolders/${encodeURIComponent(folder)}/messages/delta?$select=id,receivedDateTime`;
    try {
      return { ...(await this.limited(() => this.readDelta(deltaLink ?? start, signal))), restarted: false };
    } catch (err) {
      // 410 Gone: the delta token expired or the folder was reset; Graph says to start over.
      if (deltaLink && err instanceof MailError && (err.cause as { status?: number } | undefined)?.status === 410) {
        return { ...(await this.limited(() => this.readDelta(start, signal))), restarted: true };
      }
      throw err;
    }
  }

  /**
   * Deletes a processed message (deleteAfterProcessing): Graph moves it to Deleted Items. A
   * message already gone is not an error.
   */
  async deleteMessage(id: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.limited(() =>
        this.request(`${this.mailboxPath()}/messages/${encodeURIComponent(id)}`, {
          method: 'DELETE',
          signal,
          what: 'deleting a processed message',
        }).then(drain),
      );
    } catch (err) {
      if (!isItemNotFound(err)) throw err;
    }
  }

  /**
   * Moves a message into the folder with this display name at the top of the mailbox, created when
   * missing (the Undeliverable folder of moveFailedToUndeliverable).
   */
  async moveToFolder(id: string, displayName: string, signal?: AbortSignal): Promise<void> {
    await this.limited(async () => {
      const what = `moving a message to ${displayName}`;
      const filter = encodeURIComponent(`displayName eq '${displayName.replace(/'/g, "''")}'`);
      const found = await this.request(`${this.mailboxPath()}/mailFolders?$filter=${filter}&$select=id`, { signal, what });
      let folderId = ((await this.readBody(() => found.json(), what)) as { value?: Array<{ id?: unknown }> }).value?.find(
        (f) => typeof f.id === 'string',
      )?.id as string | undefined;
      if (!folderId) {
        const created = await this.request(`${this.mailboxPath()}/mailFolders`, { method: 'POST', body: { displayName }, signal, what });
        folderId = ((await this.readBody(() => created.json(), what)) as { id?: string }).id;
        if (typeof folderId !== 'string')
          throw new MailError(
            'ProtocolError',
            `Graph ${this.baseUrl}: creating the folder ${displayName} returned no id; it is retried with back-off`,
          );
      }
      await this.request(`${this.mailboxPath()}/messages/${encodeURIComponent(id)}/move`, {
        method: 'POST',
        body: { destinationId: folderId },
        signal,
        what,
      }).then(drain);
    });
  }

  /** The raw RFC 5322 message; undefined when it no longer exists (deleted or moved since delta). */
  async getMime(id: string, signal?: AbortSignal): Promise<RawMessage | undefined> {
    try {
      return await this.limited(async () => {
        const response = await this.request(`${this.mailboxPath()}/messages/${encodeURIComponent(id)}/$value`, {
          signal,
          what: 'downloading a message',
        });
        return { id, source: Buffer.from(await this.readBody(() => response.arrayBuffer(), 'downloading a message')) };
      });
    } catch (err) {
      if (isItemNotFound(err)) return undefined;
      throw err;
    }
  }

  private async readDelta(firstUrl: string, signal?: AbortSignal): Promise<Omit<DeltaResult, 'restarted'>> {
    const messages = new Set<string>();
    const removed = new Set<string>();
    const receivedAt = new Map<string, Date>();
    const headers = this.options.pageSize ? { prefer: `odata.maxpagesize=${this.options.pageSize}` } : undefined;
    let url = firstUrl;
    for (;;) {
      const response = await this.request(url, { headers, signal, what: 'reading message changes' });
      const page = (await this.readBody(() => response.json(), 'reading message changes')) as DeltaPage;
      for (const item of page.value ?? []) {
        if (typeof item.id !== 'string') continue;
        if (item['@removed']) {
          removed.add(item.id);
          messages.delete(item.id);
        } else {
          messages.add(item.id);
          removed.delete(item.id);
          const received = typeof item.receivedDateTime === 'string' ? Date.parse(item.receivedDateTime) : NaN;
          if (!Number.isNaN(received)) receivedAt.set(item.id, new Date(received));
        }
      }
      const deltaLink = page['@odata.deltaLink'];
      const nextLink = page['@odata.nextLink'];
      if (typeof deltaLink === 'string') return { messages: [...messages], removed: [...removed], receivedAt, nextDeltaLink: deltaLink };
      if (typeof nextLink !== 'string') {
        throw new MailError(
          'ProtocolError',
          `Graph ${this.baseUrl}: a delta page carried neither @odata.nextLink nor @odata.deltaLink; the folder is read again on the next sync`,
        );
      }
      url = nextLink;
    }
  }

  /** Reads a response body; a connection lost midway or a body that is not JSON becomes a MailError. */
  protected async readBody<T>(read: () => Promise<T>, what: string): Promise<T> {
    try {
      return await read();
    } catch (err) {
      if (err instanceof SyntaxError) {
        throw new MailError(
          'ProtocolError',
          `Graph ${this.baseUrl}: the answer was not valid JSON while ${what}; it is retried with back-off`,
          { cause: err },
        );
      }
      throw classifyError(err, this.context());
    }
  }

  /** Runs one operation (its requests and reading their bodies) in one of the mailbox's slots. */
  protected limited<T>(operation: () => Promise<T>): Promise<T> {
    return mailboxSlots.run(`${this.baseUrl} ${this.options.mailbox.toLowerCase()}`, () =>
      connectionSlots.run(this.options.slots, operation, { waitMs: this.endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS }),
    );
  }

  protected mailboxPath(): string {
    return `/users/${encodeURIComponent(this.options.mailbox)}`;
  }

  /**
   * One Graph call with a bearer token. A 401 is retried once with a fresh token when the provider
   * can drop its cached one (the token may have been revoked before its expiry). Any failure is
   * thrown as MailError.
   */
  protected async request(pathOrUrl: string, opts: RequestOptions): Promise<Response> {
    const url = /^https?:/i.test(pathOrUrl) ? pathOrUrl : `${this.baseUrl}${pathOrUrl}`;
    // Paging links come from the server; our token goes nowhere but the configured Graph origin.
    if (!sameOrigin(url, this.baseUrl)) {
      throw new MailError(
        'ProtocolError',
        `Graph ${this.baseUrl}: the server sent a link to another origin (${safeOrigin(url)}) while ${opts.what}; it is not followed`,
      );
    }
    for (let attempt = 0; ; attempt++) {
      const token = await this.token();
      let response: Response;
      try {
        response = await fetch(url, {
          method: opts.method ?? 'GET',
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(opts.body !== undefined
              ? { 'content-type': 'application/json' }
              : opts.text !== undefined
                ? { 'content-type': 'text/plain' }
                : {}),
            ...opts.headers,
          },
          body: opts.body !== undefined ? JSON.stringify(opts.body) : opts.text,
          dispatcher: httpDispatcher(this.endpoint.ca),
          signal: deadlineSignal(this.endpoint.timeoutMs, opts.signal),
        });
      } catch (err) {
        throw classifyError(err, this.context());
      }
      if (response.ok) return response;
      if (response.status === 401 && attempt === 0 && this.tokens.invalidate) {
        await drain(response);
        this.tokens.invalidate();
        continue;
      }
      throw this.failure(response, await graphError(response), opts.what);
    }
  }

  private async token(): Promise<string> {
    try {
      const token = await this.tokens.getToken();
      this.sentTokens.add(token);
      // Keep the set small: only recent tokens can turn up in a server's answer.
      if (this.sentTokens.size > 4) this.sentTokens.delete(this.sentTokens.values().next().value!);
      return token;
    } catch (err) {
      throw classifyError(err, { ...this.context(), protocol: 'Graph access token' });
    }
  }

  private failure(response: Response, err: HttpResponseError, what: string): MailError {
    // Graph's own refusals of one message to send: the mailbox works, this message does not.
    if (
      what === 'sending a message' &&
      (response.status === 400 || response.status === 413) &&
      err.code !== 'MailboxNotEnabledForRESTAPI'
    ) {
      const code = protocolCode(err.code);
      const serverText = safeServerText(err.responseText, [...this.sentTokens]);
      return new MailError(
        'MessageRejected',
        `Graph ${this.baseUrl}: the message was refused (HTTP ${response.status}${code ? ` ${code}` : ''}); it is not retried; check the recipients, the size and the sender rights`,
        { cause: err, serverText },
      );
    }
    if (err.code === 'ErrorSendAsDenied') {
      return new MailError(
        'SendAsDenied',
        `Graph ${this.baseUrl}: the mailbox ${this.options.mailbox} may not send as or on behalf of this sender (ErrorSendAsDenied); grant Send As or Send on Behalf in Exchange, or change the profile's send mode`,
        { cause: err },
      );
    }
    return classifyHttpError(err, this.context());
  }

  private context(): ErrorContext {
    return { protocol: 'Graph', server: this.baseUrl, secrets: [...this.sentTokens] };
  }
}

interface DeltaPage {
  value?: Array<{ id?: unknown; receivedDateTime?: unknown; '@removed'?: unknown }>;
  '@odata.nextLink'?: unknown;
  '@odata.deltaLink'?: unknown;
}

/** Reads Graph's error body (`{"error":{"code","message"}}`) into an HttpResponseError. */
async function graphError(response: Response): Promise<HttpResponseError> {
  const body = (await response.json().catch(() => undefined)) as { error?: { code?: unknown; message?: unknown } } | undefined;
  const code = typeof body?.error?.code === 'string' ? body.error.code : undefined;
  const message = typeof body?.error?.message === 'string' ? body.error.message : undefined;
  return new HttpResponseError(response.status, response.headers, code, message);
}

/** Graph's answer for a message that no longer exists. */
function isItemNotFound(err: unknown): boolean {
  const cause = err instanceof MailError ? (err.cause as HttpResponseError | undefined) : undefined;
  return cause instanceof HttpResponseError && cause.status === 404 && cause.code === 'ErrorItemNotFound';
}

/** Reads and discards a body so the connection goes back to the pool. */
export async function drain(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an invalid URL';
  }
}
