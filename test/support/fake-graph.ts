// A fake Microsoft Graph v1.0 mail API over HTTPS, for the routes the Graph adapter uses:
//   GET  /v1.0/users/{id}/mailFolders/inbox
//   GET  /v1.0/users/{id}/mailFolders/{inbox|sentitems}/messages/delta   (@odata.nextLink pages, then @odata.deltaLink)
//   GET  /v1.0/users/{id}/messages/{messageId}/$value         (MIME)
//   POST /v1.0/users/{id}/sendMail                            (202, no body; JSON, or MIME as base64 text/plain; a copy goes to Sent Items)
//   DELETE /v1.0/users/{id}/messages/{messageId}              (204: moved to Deleted Items)
//   GET  /v1.0/users/{id}/mailFolders?$filter=displayName eq '...'
//   POST /v1.0/users/{id}/mailFolders                         (201, a folder at the top of the mailbox)
//   POST /v1.0/users/{id}/messages/{messageId}/move           (201, the moved message with its new id)
// Bearer tokens must be ones the fake OAuth endpoint issued for the Graph scope. Errors use Graph's
// shape, `{"error":{"code","message"}}`, with the codes Graph uses for each case.
import type http from 'node:http';
import { simpleParser } from 'mailparser';
import type { FakeOAuth } from './fake-oauth.js';
import { sendJson, startHttpsServer, type HttpsServer } from './https-server.js';
import { FakeGraphSubscriptions } from './fake-graph-subscriptions.js';
import { echoText } from './secret-encodings.js';

interface StoredMessage {
  id: string;
  mime: string;
  /** Position in the mailbox's change log: a delta token is "changes after seq N". */
  seq: number;
  /** Left the folder it was created in (deleted or moved to `folder`). */
  removed: boolean;
  /** The well-known folder it was created in. */
  origin: 'inbox' | 'sentitems';
  /** Where it is now: its origin, deleteditems, or a created folder's display name. */
  folder: string;
  /** receivedDateTime. */
  receivedAt: Date;
}

export interface SentMail {
  /** The mailbox in the request path. */
  mailbox: string;
  message: {
    subject?: string;
    from?: { emailAddress: { address: string } };
    sender?: { emailAddress: { address: string } };
    toRecipients?: Array<{ emailAddress: { address: string } }>;
    internetMessageHeaders?: Array<{ name: string; value: string }>;
    body?: { contentType: string; content: string };
  };
  saveToSentItems?: boolean;
  /** Sent in MIME format: the message as the recipients get it. */
  mime?: { raw: string; messageId?: string; inReplyTo?: string; references: string[]; headers: Map<string, unknown> };
}

/** More Graph routes on the same server (calendar, contacts, To Do: fake-graph-act.ts): true when it answered. */
export interface FakeGraphExtension {
  handle(req: http.IncomingMessage, res: http.ServerResponse, ctx: { mailbox: string; rest: string; url: URL; body: string }): boolean;
}

export class FakeGraph {
  readonly extensions: FakeGraphExtension[] = [];
  /** Requests received, by path (without query). */
  readonly requests: Array<{ method: string; path: string; authorization?: string }> = [];
  readonly sent: SentMail[] = [];
  private readonly mailboxes = new Map<string, StoredMessage[]>();
  /** Folders created at the top of each mailbox: id to display name. */
  private readonly folders = new Map<string, Map<string, string>>();
  private seq = 0;
  private nextId = 1;
  /** Delta tokens from before this generation answer 410, as an expired sync state does. */
  private generation = 0;
  private throttle?: { skip: number; remaining: number; retryAfterSeconds: number };
  /** Where nextLinks point; another origin simulates a hostile or misconfigured server. */
  linkOrigin?: string;
  /** How long sendMail takes to answer, so that concurrent sends overlap. */
  sendDelayMs = 0;
  /**
   * Values a badly behaved Graph repeats, in every encoding, in its 401 and unknown-user errors
   * (with the bearer token it was sent): to prove what a server says never reaches a message.
   */
  echoInErrors: string[] = [];
  /** Requests being served per mailbox, and the most at once (Graph allows 4: MailboxConcurrency). */
  private readonly inFlight = new Map<string, number>();
  readonly mostConcurrent = new Map<string, number>();

  /** Change notifications: /v1.0/subscriptions and the posts to notification URLs (fake-graph-subscriptions.ts). */
  readonly subscriptions: FakeGraphSubscriptions;

  private constructor(
    private readonly server: HttpsServer,
    private readonly oauth: FakeOAuth,
  ) {
    this.subscriptions = new FakeGraphSubscriptions('contoso-tenant', server.caPem, (m) => this.mailboxes.has(m));
  }

  static async start(oauth: FakeOAuth, mailboxes: string[]): Promise<FakeGraph> {
    let fake: FakeGraph | undefined;
    const server = await startHttpsServer((req, res, body) => fake!.handle(req, res, body));
    fake = new FakeGraph(server, oauth);
    for (const m of mailboxes) fake.mailboxes.set(m.toLowerCase(), []);
    return fake;
  }

  /** The Graph base URL to configure: `https://127.0.0.1:<port>/v1.0`. */
  get baseUrl(): string {
    return `${this.server.origin}/v1.0`;
  }

  get caPem(): string {
    return this.server.caPem;
  }

  /** Puts a message in the mailbox's Inbox, received now unless `receivedAt` says otherwise, and returns its Graph id. */
  addMessage(mailbox: string, mime: string, receivedAt = new Date()): string {
    const id = `AAMkAD${String(this.nextId++).padStart(6, '0')}=`;
    this.box(mailbox).push({ id, mime, seq: ++this.seq, removed: false, origin: 'inbox', folder: 'inbox', receivedAt });
    this.subscriptions.created(mailbox, id);
    return id;
  }

  removeMessage(mailbox: string, id: string): void {
    const m = this.box(mailbox).find((x) => x.id === id);
    if (m) Object.assign(m, { removed: true, seq: ++this.seq, folder: 'deleteditems' });
  }

  /** The MIME of the messages now in a folder: inbox, sentitems, deleteditems or a created folder's name. */
  inFolder(mailbox: string, folder: string): string[] {
    return this.box(mailbox)
      .filter((m) => m.folder === folder)
      .map((m) => m.mime);
  }

  /** After `skip` more requests, the next `count` answer 429 with `Retry-After: retryAfterSeconds`. */
  throttleNext(count: number, retryAfterSeconds: number, skip = 0): void {
    this.throttle = { skip, remaining: count, retryAfterSeconds };
  }

  /** Every delta link handed out so far becomes invalid (HTTP 410). */
  expireDeltaLinks(): void {
    this.generation++;
  }

  async close(): Promise<void> {
    await this.subscriptions.close();
    await this.server.close();
  }

  private box(mailbox: string): StoredMessage[] {
    const box = this.mailboxes.get(mailbox.toLowerCase());
    if (!box) throw new Error(`fake Graph has no mailbox ${mailbox}`);
    return box;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', this.server.origin);
    this.requests.push({ method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization });

    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const echo = this.echoInErrors.length ? ` Received: ${[...this.echoInErrors, bearer ?? ''].map((v) => echoText(v)).join(' | ')}` : '';
    const issued = bearer ? this.oauth.validate(bearer) : undefined;
    if (!issued || !issued.scope.startsWith('https://graph.microsoft.com/')) {
      return graphError(res, 401, 'InvalidAuthenticationToken', `Access token validation failure. Invalid audience.${echo}`);
    }
    if (this.throttle && this.throttle.skip > 0) {
      this.throttle.skip--;
    } else if (this.throttle && this.throttle.remaining > 0) {
      this.throttle.remaining--;
      return graphError(res, 429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', {
        'retry-after': String(this.throttle.retryAfterSeconds),
      });
    }

    if (this.subscriptions.handle(req, res, url.pathname, body)) return;

    const route = /^\/v1\.0\/users\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!route) return graphError(res, 400, 'BadRequest', 'Resource not found for the segment.');
    const mailbox = decodeURIComponent(route[1]).toLowerCase();
    const rest = route[2];
    const box = this.mailboxes.get(mailbox);
    if (!box) return graphError(res, 404, 'ErrorInvalidUser', `The requested user '${mailbox}' is invalid.${echo}`);
    // Graph's MailboxConcurrency: a fifth concurrent request on one mailbox is throttled.
    const concurrent = (this.inFlight.get(mailbox) ?? 0) + 1;
    if (concurrent > 4) {
      return graphError(res, 429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', { 'retry-after': '1' });
    }
    this.inFlight.set(mailbox, concurrent);
    this.mostConcurrent.set(mailbox, Math.max(this.mostConcurrent.get(mailbox) ?? 0, concurrent));
    res.once('close', () => this.inFlight.set(mailbox, (this.inFlight.get(mailbox) ?? 1) - 1));

    if (req.method === 'GET' && /^mailFolders\/inbox$/i.test(rest)) {
      const live = box.filter((m) => !m.removed).length;
      return sendJson(res, 200, {
        id: 'AQMkAGInbox',
        displayName: 'Inbox',
        parentFolderId: 'AQMkAGRoot',
        childFolderCount: 0,
        unreadItemCount: live,
        totalItemCount: live,
      });
    }
    const deltaOf = /^mailFolders\/(inbox|sentitems)\/messages\/delta$/i.exec(rest);
    if (req.method === 'GET' && deltaOf) {
      return this.delta(req, res, url, mailbox, box, deltaOf[1].toLowerCase() as StoredMessage['origin']);
    }
    const folders = this.folders.get(mailbox) ?? new Map<string, string>();
    this.folders.set(mailbox, folders);
    if (req.method === 'GET' && rest === 'mailFolders') {
      const wanted = /^displayName eq '(.*)'$/.exec(url.searchParams.get('$filter') ?? '')?.[1]?.replace(/''/g, "'");
      return sendJson(res, 200, {
        value: [...folders].filter(([, name]) => wanted === undefined || name === wanted).map(([id, displayName]) => ({ id, displayName })),
      });
    }
    if (req.method === 'POST' && rest === 'mailFolders') {
      const { displayName } = JSON.parse(body) as { displayName?: string };
      if (!displayName) return graphError(res, 400, 'ErrorInvalidRequest', 'displayName is required.');
      if ([...folders.values()].includes(displayName))
        return graphError(res, 409, 'ErrorFolderExists', 'A folder with the specified name already exists.');
      const id = `AAMkFolder${folders.size + 1}=`;
      folders.set(id, displayName);
      return sendJson(res, 201, { id, displayName });
    }
    const one = /^messages\/([^/]+)(\/move)?$/.exec(rest);
    if (one && (req.method === 'DELETE' || (req.method === 'POST' && one[2]))) {
      const m = box.find((x) => x.id === decodeURIComponent(one[1]) && !x.removed);
      if (!m) return graphError(res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
      const target =
        req.method === 'DELETE' ? 'deleteditems' : folders.get((JSON.parse(body) as { destinationId?: string }).destinationId ?? '');
      if (!target) return graphError(res, 404, 'ErrorFolderNotFound', 'The specified folder could not be found in the store.');
      Object.assign(m, { removed: true, seq: ++this.seq, folder: target });
      if (req.method === 'DELETE') {
        res.writeHead(204);
        return void res.end();
      }
      return sendJson(res, 201, { id: `${m.id}-moved`, parentFolderId: one[2] });
    }
    const mime = /^messages\/([^/]+)\/\$value$/.exec(rest);
    if (req.method === 'GET' && mime) {
      const m = box.find((x) => x.id === decodeURIComponent(mime[1]) && !x.removed);
      if (!m) return graphError(res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end(m.mime);
    }
    if (req.method === 'POST' && rest === 'sendMail' && /^text\/plain/i.test(String(req.headers['content-type']))) {
      return void this.sendMime(res, mailbox, body);
    }
    if (req.method === 'POST' && rest === 'sendMail') {
      const parsed = JSON.parse(body) as Omit<SentMail, 'mailbox'>;
      const bad = parsed.message?.internetMessageHeaders?.find((h) => !/^x-/i.test(h.name));
      if (bad)
        return graphError(
          res,
          400,
          'InvalidInternetMessageHeader',
          `The internet message header name '${bad.name}' should start with 'x-' or 'X-'.`,
        );
      if (!parsed.message?.toRecipients?.length)
        return graphError(res, 400, 'ErrorInvalidRecipients', "At least one recipient isn't valid.");
      this.sent.push({ mailbox, ...parsed });
      return this.accepted(res);
    }
    for (const ext of this.extensions) if (ext.handle(req, res, { mailbox, rest, url, body })) return;
    graphError(res, 400, 'BadRequest', `Unsupported request: ${req.method} ${url.pathname}`);
  }

  /** sendMail in MIME format: the body is the whole message, base64-encoded. */
  private async sendMime(res: http.ServerResponse, mailbox: string, body: string): Promise<void> {
    const text = body.trim();
    if (!/^[A-Za-z0-9+/\r\n]+=*$/.test(text))
      return graphError(res, 400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.');
    const raw = Buffer.from(text, 'base64').toString('utf8');
    const parsed = await simpleParser(raw);
    const addresses = (a: typeof parsed.to) =>
      (Array.isArray(a) ? a : a ? [a] : []).flatMap((o) => o.value).map((v) => ({ emailAddress: { address: v.address ?? '' } }));
    const to = addresses(parsed.to);
    if (to.length + addresses(parsed.cc).length + addresses(parsed.bcc).length === 0)
      return graphError(res, 400, 'ErrorInvalidRecipients', "At least one recipient isn't valid.");
    const sender = parsed.headers.get('sender') as { value: { address?: string }[] } | undefined;
    this.sent.push({
      mailbox,
      message: {
        subject: parsed.subject,
        from: addresses(parsed.from)[0],
        ...(sender?.value[0]?.address ? { sender: { emailAddress: { address: sender.value[0].address } } } : {}),
        toRecipients: to,
        internetMessageHeaders: [...parsed.headers.entries()]
          .filter(([name]) => name.startsWith('x-'))
          .map(([name, value]) => ({ name, value: String(value) })),
        body: parsed.html ? { contentType: 'HTML', content: parsed.html } : { contentType: 'Text', content: parsed.text ?? '' },
      },
      saveToSentItems: true,
      mime: {
        raw,
        messageId: parsed.messageId,
        inReplyTo: parsed.inReplyTo,
        references: ([] as string[]).concat(parsed.references ?? []),
        headers: parsed.headers,
      },
    });
    // saveToSentItems defaults to true: the copy is a message of the mailbox's Sent Items.
    this.box(mailbox).push({
      id: `AAMkAD${String(this.nextId++).padStart(6, '0')}=`,
      mime: raw,
      seq: ++this.seq,
      removed: false,
      origin: 'sentitems',
      folder: 'sentitems',
      receivedAt: new Date(),
    });
    this.accepted(res);
  }

  /** Graph's 202 has no body and no JSON content type. */
  private accepted(res: http.ServerResponse): void {
    const send = () => {
      res.writeHead(202, { 'content-length': '0' });
      res.end();
    };
    if (this.sendDelayMs > 0) setTimeout(send, this.sendDelayMs);
    else send();
  }

  /** The first call lists everything; later pages and delta links carry the position in the change log. */
  private delta(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    mailbox: string,
    all: StoredMessage[],
    folder: StoredMessage['origin'],
  ): void {
    const box = all.filter((m) => m.origin === folder);
    const pageSize = Number(/odata\.maxpagesize=(\d+)/.exec(String(req.headers.prefer ?? ''))?.[1] ?? 10);
    const token = url.searchParams.get('$skiptoken') ?? url.searchParams.get('$deltatoken');
    // $select is given on the first request; Graph keeps it in the links it hands out.
    let state = {
      gen: this.generation,
      since: 0,
      until: this.seq,
      offset: 0,
      initial: true,
      select: url.searchParams.get('$select') ?? '',
    };
    if (token) {
      state = JSON.parse(Buffer.from(token, 'base64url').toString()) as typeof state;
      if (state.gen !== this.generation)
        return graphError(res, 410, 'SyncStateNotFound', 'The sync state generation is old and cannot be used.');
      if (url.searchParams.has('$deltatoken')) state = { ...state, until: this.seq, offset: 0, initial: false };
    }
    // The first sync shows only what exists; later ones also report removals.
    const changes = box.filter((m) => m.seq > state.since && m.seq <= state.until && !(state.initial && m.removed));
    const page = changes.slice(state.offset, state.offset + pageSize);
    const received = state.select.split(',').includes('receivedDateTime');
    const value = page.map((m) =>
      m.removed
        ? { id: m.id, '@removed': { reason: 'deleted' } }
        : {
            '@odata.type': '#microsoft.graph.message',
            id: m.id,
            ...(received ? { receivedDateTime: m.receivedAt.toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}),
          },
    );
    const link = (param: string, s: typeof state): string =>
      `${this.linkOrigin ?? this.server.origin}/v1.0/users/${encodeURIComponent(mailbox)}/mailFolders/${folder}/messages/delta?${param}=${Buffer.from(JSON.stringify(s)).toString('base64url')}`;
    const more = state.offset + pageSize < changes.length;
    sendJson(res, 200, {
      '@odata.context': `${this.baseUrl}/$metadata#Collection(message)`,
      value,
      ...(more
        ? { '@odata.nextLink': link('$skiptoken', { ...state, offset: state.offset + pageSize }) }
        : {
            '@odata.deltaLink': link('$deltatoken', {
              gen: this.generation,
              since: state.until,
              until: state.until,
              offset: 0,
              initial: false,
              select: state.select,
            }),
          }),
    });
  }
}

export function graphError(
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(
    res,
    status,
    { error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': '00000000-0000-0000-0000-000000000000' } } },
    headers,
  );
}
