// A fake on-premises Exchange speaking EWS SOAP 1.1 over HTTPS, for the operations EwsAdapter uses:
//   POST /EWS/Exchange.asmx                  GetFolder (inbox, calendar, contacts, tasks),
//                                            SyncFolderItems (inbox, sentitems), GetItem (MimeContent), CreateItem
//                                            (SendAndSaveCopy: the copy lands in Sent Items),
//                                            DeleteItem (MoveToDeletedItems), MoveItem, FindFolder
//                                            (by DisplayName), CreateFolder
//   POST /autodiscover/autodiscover.svc      GetUserSettings (ExternalEwsUrl)
// Authentication: Basic, Bearer (tokens from the fake OAuth endpoint: app-only, impersonation
// required, as Exchange requires for app tokens) and NTLMv2. Impersonation and delegate access are
// checked as Exchange does, with its error codes; throttling is the HTTP 500 ErrorServerBusy fault
// with BackOffMilliseconds.
// Versions: the fake answers as one Exchange release (2010 SP2, 2013, 2016 or 2019), with that
// release's ServerVersionInfo, and checks RequestServerVersion as Exchange does: a version the
// release does not know fails schema validation (HTTP 500, ErrorSchemaValidation), and a request
// without one is taken as Exchange2007_SP1.
import type http from 'node:http';
import type net from 'node:net';
import type { FakeOAuth } from './fake-oauth.js';
import {
  elements,
  ewsResponse,
  failure,
  first,
  notWellFormed,
  operation,
  RELEASES,
  soapFault,
  success,
  text,
  userSettingsResponse,
  type ExchangeRelease,
} from './fake-ews-soap.js';
import { isNtlmNegotiate, ntlmChallenge, verifyNtlmAuthenticate } from './fake-ntlm.js';
import { startHttpsServer, type HttpsServer } from './https-server.js';
import { FakeEwsNotifications, type FakeEwsNotificationOptions } from './fake-ews-notifications.js';
import { echoText } from './secret-encodings.js';

export interface EwsAccount {
  /** As sent in Basic or NTLM: `alice@contoso.test` or `CONTOSO\svc-crm`. */
  username: string;
  password: string;
  /** The account's own mailbox, if it has one. */
  mailbox?: string;
  /** Holds the ApplicationImpersonation role. */
  canImpersonate?: boolean;
  /** Mailboxes it has full access to (delegate access without impersonation). */
  delegateOf?: string[];
}

export interface SentEwsMessage {
  /** Who authenticated: account username or `app:<clientId>`. */
  principal: string;
  /** The mailbox the request acted on (impersonated or delegate target). */
  mailbox: string;
  /** Mailbox of the SavedItemFolderId (where the copy goes). */
  savedIn?: string;
  subject?: string;
  from?: string;
  sender?: string;
  to: string[];
  body?: string;
  bodyType?: string;
  /** Extended properties: `0x1035`-style tags and InternetHeaders names. */
  properties: Record<string, string>;
  /** The message as MIME, when it was sent as MimeContent (messages with attachments). */
  mime?: Buffer;
}

interface Item {
  id: string;
  mime: string;
  /** The distinguished folder it was created in: inbox, or sentitems for the copy of a sent message. */
  origin: 'inbox' | 'sentitems';
  createdSeq: number;
  /** When it left its origin folder (deleted, or moved to `folder`). */
  removedSeq?: number;
  /** Where it is now: its origin, deleteditems, or the display name of a folder it was moved to. */
  folder: string;
  /** DateTimeReceived. */
  receivedAt: Date;
}

interface Principal {
  name: string;
  account?: EwsAccount;
  /** App-only OAuth: may act on any mailbox, but only through impersonation. */
  app?: boolean;
}

const DOMAIN = 'CONTOSO';

/** More EWS operations on the same server (calendar: fake-ews-act.ts): the answer, or undefined to pass. */
export interface FakeEwsExtension {
  handle(op: string, mailbox: string, body: string): string | undefined;
}

export class FakeEws {
  readonly extensions: FakeEwsExtension[] = [];
  readonly sent: SentEwsMessage[] = [];
  /** Mailboxes over their sending quota: sends get ErrorSubmissionQuotaExceeded, as Exchange answers. */
  readonly overQuota = new Set<string>();
  /**
   * A badly behaved Exchange: a refused Basic login answers with an ErrorAccessDenied SOAP fault
   * that repeats the password it received in every encoding (XML-escaped on the wire), to prove
   * that what a server says never reaches a message.
   */
  echoCredentials = false;
  /** Every request: path, operation, Authorization scheme and who it acted on. */
  readonly requests: Array<{
    path: string;
    op?: string;
    principal?: string;
    mailbox?: string;
    scheme?: string;
    version?: string;
    anchorMailbox?: string;
  }> = [];
  private readonly items = new Map<string, Item[]>();
  /** Folders created at the top of each mailbox: id to display name. */
  private readonly folders = new Map<string, Map<string, string>>();
  private readonly challenges = new WeakMap<net.Socket, Buffer>();
  private seq = 0;
  private nextId = 1;
  private syncGeneration = 0;
  private throttle?: { remaining: number; backOffMs: number };
  private broken?: { status: number; body: string; headers: Record<string, string> };

  private constructor(
    private readonly server: HttpsServer,
    private readonly accounts: EwsAccount[],
    private readonly oauth?: FakeOAuth,
    readonly release: ExchangeRelease = 'Exchange2019',
    /** Subscribe, GetStreamingEvents, GetEvents, Unsubscribe (fake-ews-notifications.ts). */
    readonly notifications: FakeEwsNotifications = new FakeEwsNotifications(),
  ) {}

  static async start(options: {
    accounts: EwsAccount[];
    mailboxes: string[];
    oauth?: FakeOAuth;
    release?: ExchangeRelease;
    notifications?: FakeEwsNotificationOptions;
  }): Promise<FakeEws> {
    let fake: FakeEws | undefined;
    const server = await startHttpsServer((req, res, body) => fake!.handle(req, res, body));
    fake = new FakeEws(server, options.accounts, options.oauth, options.release, new FakeEwsNotifications(options.notifications));
    for (const m of options.mailboxes) fake.items.set(m.toLowerCase(), []);
    return fake;
  }

  get ewsUrl(): string {
    return `${this.server.origin}/EWS/Exchange.asmx`;
  }

  get autodiscoverUrl(): string {
    return `${this.server.origin}/autodiscover/autodiscover.svc`;
  }

  get caPem(): string {
    return this.server.caPem;
  }

  /** Puts a message in the Inbox, received now unless `receivedAt` says otherwise. */
  addMessage(mailbox: string, mime: string, receivedAt = new Date()): string {
    const id = `AAMkAGEw${String(this.nextId++).padStart(6, '0')}AAA=`;
    this.box(mailbox).push({ id, mime, origin: 'inbox', folder: 'inbox', createdSeq: ++this.seq, receivedAt });
    this.notifications.created(mailbox, id);
    return id;
  }

  /** The MIME of the messages now in a folder: inbox, sentitems, deleteditems or a created folder's name. */
  inFolder(mailbox: string, folder: string): string[] {
    return this.box(mailbox)
      .filter((i) => i.folder === folder)
      .map((i) => i.mime);
  }

  removeMessage(mailbox: string, id: string): void {
    const item = this.box(mailbox).find((i) => i.id === id);
    if (item) Object.assign(item, { removedSeq: ++this.seq, folder: 'deleteditems' });
  }

  /** The next `count` EWS requests get the ErrorServerBusy fault with this back-off. */
  throttleNext(count: number, backOffMs: number): void {
    this.throttle = { remaining: count, backOffMs };
  }

  /** The next EWS request gets this raw answer: a proxy's error page, a 503 with Retry-After. */
  failNext(status: number, body: string, headers: Record<string, string> = {}): void {
    this.broken = { status, body, headers };
  }

  /** Every SyncState handed out so far becomes invalid (ErrorInvalidSyncStateData). */
  invalidateSyncStates(): void {
    this.syncGeneration++;
  }

  close(): Promise<void> {
    this.notifications.close();
    return this.server.close();
  }

  /** An answer carrying this release's ServerVersionInfo. */
  private respond(op: string, messages: string[]): string {
    return ewsResponse(op, messages, this.release);
  }

  private box(mailbox: string): Item[] {
    const box = this.items.get(mailbox.toLowerCase());
    if (!box) throw new Error(`fake EWS has no mailbox ${mailbox}`);
    return box;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const path = new URL(req.url ?? '/', this.server.origin).pathname.toLowerCase();
    const version = first(body, 'RequestServerVersion')?.attrs.Version;
    const anchor = req.headers['x-anchormailbox'];
    const entry: FakeEws['requests'][number] = {
      path,
      op: operation(body),
      scheme: req.headers.authorization?.split(' ')[0],
      version,
      ...(typeof anchor === 'string' ? { anchorMailbox: anchor } : {}),
    };
    this.requests.push(entry);
    if (req.method !== 'POST' || (path !== '/ews/exchange.asmx' && path !== '/autodiscover/autodiscover.svc')) {
      res.writeHead(404, { 'content-type': 'text/html' });
      return void res.end('<html><body>404 - Not Found</body></html>');
    }
    const principal = this.authenticate(req, res);
    if (!principal) return;
    entry.principal = principal.name;
    const malformed = notWellFormed(body);
    if (malformed) return xml(res, 500, soapFault('ErrorSchemaValidation', `The request failed schema validation: ${malformed}`));

    if (path === '/autodiscover/autodiscover.svc') return this.autodiscover(res, body);
    if (!RELEASES[this.release].accepts.includes(version ?? 'Exchange2007_SP1')) {
      // What Exchange's schema validation says about a Version it does not know.
      const violation = `The 'Version' attribute is invalid - The value '${version}' is invalid according to its datatype 'http://schemas.microsoft.com/exchange/services/2006/types:ExchangeVersionType' - The Enumeration constraint failed.`;
      return xml(res, 500, soapFault('ErrorSchemaValidation', `The request failed schema validation: ${violation}`));
    }

    if (this.broken) {
      const { status, body: page, headers } = this.broken;
      this.broken = undefined;
      res.writeHead(status, { 'content-type': 'text/html', ...headers });
      return void res.end(page);
    }
    if (this.throttle && this.throttle.remaining > 0) {
      this.throttle.remaining--;
      return xml(
        res,
        500,
        soapFault('ErrorServerBusy', 'The server cannot service this request right now. Try again later.', {
          BackOffMilliseconds: String(this.throttle.backOffMs),
        }),
      );
    }

    // Impersonation: the header names the mailbox, and the account must hold the role.
    const impersonated = text(first(body, 'ExchangeImpersonation')?.inner ?? '', 'SmtpAddress')?.toLowerCase();
    if (impersonated !== undefined) {
      if (!principal.app && !principal.account?.canImpersonate) {
        return xml(
          res,
          500,
          soapFault('ErrorImpersonateUserDenied', 'The account does not have permission to impersonate the requested user.'),
        );
      }
      if (!this.items.has(impersonated)) {
        return xml(
          res,
          500,
          soapFault('ErrorNonExistentMailbox', 'The SMTP address has no mailbox associated with it.', { SmtpAddress: impersonated }),
        );
      }
    } else if (principal.app) {
      // Exchange refuses app-only tokens without impersonation.
      return xml(
        res,
        500,
        soapFault(
          'ErrorInvalidExchangeImpersonationHeaderData',
          'ExchangeImpersonation SOAP header must be present for this type of OAuth token.',
        ),
      );
    }
    const op = entry.op ?? '';
    // Streaming connections, events and unsubscribes act on subscriptions, which remember their mailbox.
    if (['GetStreamingEvents', 'GetEvents', 'Unsubscribe'].includes(op))
      return this.notifications.handle(op, principal.name, impersonated, req, res, body);
    // Without impersonation, the folder ids name the mailbox (delegate access) or mean the account's own.
    const mailbox = impersonated ?? this.targetMailbox(op, body) ?? principal.account?.mailbox?.toLowerCase();
    entry.mailbox = mailbox;
    if (!impersonated) {
      if (!mailbox || !this.items.has(mailbox))
        return xml(
          res,
          200,
          this.respond(op, [failure(op, 'ErrorNonExistentMailbox', 'The SMTP address has no mailbox associated with it.')]),
        );
      const account = principal.account!;
      if (account.mailbox?.toLowerCase() !== mailbox && !account.delegateOf?.some((d) => d.toLowerCase() === mailbox)) {
        return xml(res, 200, this.respond(op, [failure(op, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.')]));
      }
    }
    for (const ext of this.extensions) {
      const answer = ext.handle(op, mailbox!, body);
      if (answer !== undefined) return xml(res, 200, answer);
    }
    switch (op) {
      case 'GetFolder':
        return xml(res, 200, this.getFolder(mailbox!, body));
      case 'SyncFolderItems':
        return xml(res, 200, this.syncFolderItems(mailbox!, body));
      case 'GetItem':
        return xml(res, 200, this.getItem(mailbox!, body));
      case 'CreateItem':
        return xml(res, 200, this.createItem(principal, mailbox!, body));
      case 'Subscribe':
        return this.notifications.handle(op, principal.name, mailbox!, req, res, body);
      case 'DeleteItem':
        return xml(
          res,
          200,
          this.moveItems('DeleteItem', mailbox!, body, () => 'deleteditems'),
        );
      case 'MoveItem': {
        const to = first(first(body, 'ToFolderId')?.inner ?? '', 'FolderId')?.attrs.Id;
        return xml(
          res,
          200,
          this.moveItems('MoveItem', mailbox!, body, () => this.folders.get(mailbox!)?.get(to ?? '')),
        );
      }
      case 'FindFolder':
        return xml(res, 200, this.findFolder(mailbox!, body));
      case 'CreateFolder':
        return xml(res, 200, this.createFolder(mailbox!, body));
      default:
        return xml(res, 500, soapFault('ErrorInvalidRequest', `The fake does not implement ${op}.`));
    }
  }

  /** Who is calling, or undefined after answering 401 (or the NTLM challenge). */
  private authenticate(req: http.IncomingMessage, res: http.ServerResponse): Principal | undefined {
    const auth = req.headers.authorization ?? '';
    const [scheme, value = ''] = auth.split(' ', 2);
    if (scheme === 'Basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const account = this.accounts.find(
        (a) => a.username.toLowerCase() === decoded.slice(0, colon).toLowerCase() && a.password === decoded.slice(colon + 1),
      );
      if (account) return { name: account.username, account };
      if (this.echoCredentials) {
        xml(
          res,
          500,
          soapFault(
            'ErrorAccessDenied',
            `Access is denied for ${decoded.slice(0, colon)}. Received: ${echoText(decoded.slice(colon + 1), decoded.slice(0, colon))}`,
          ),
        );
        return undefined;
      }
    } else if (scheme === 'Bearer' && this.oauth) {
      const issued = this.oauth.validate(value);
      if (issued && issued.scope.startsWith('https://outlook.office365.com/')) return { name: `app:${issued.clientId}`, app: true };
    } else if (scheme === 'NTLM') {
      if (isNtlmNegotiate(auth)) {
        const { header, challenge } = ntlmChallenge(DOMAIN);
        this.challenges.set(req.socket, challenge);
        res.writeHead(401, { 'www-authenticate': header, 'content-length': '0' });
        res.end();
        return undefined;
      }
      const challenge = this.challenges.get(req.socket);
      this.challenges.delete(req.socket);
      const identity = challenge && verifyNtlmAuthenticate(auth, challenge, (id) => this.ntlmAccount(id.domain, id.user)?.password);
      const account = identity && this.ntlmAccount(identity.domain, identity.user);
      if (account) return { name: account.username, account };
    }
    res.writeHead(401, { 'www-authenticate': ['Negotiate', 'NTLM', 'Basic realm="exchange.contoso.test"'], 'content-length': '0' });
    res.end();
    return undefined;
  }

  /** The mailbox a request names: a folder id's Mailbox, or for GetItem the mailbox holding the item. */
  private targetMailbox(op: string, body: string): string | undefined {
    if (op === 'GetItem' || op === 'DeleteItem' || op === 'MoveItem') {
      const id = first(body, 'ItemId')?.attrs.Id;
      return [...this.items].find(([, items]) => items.some((i) => i.id === id))?.[0];
    }
    const folder = first(body, op === 'CreateItem' ? 'SavedItemFolderId' : 'DistinguishedFolderId')?.inner ?? '';
    return text(folder, 'EmailAddress')?.toLowerCase();
  }

  private ntlmAccount(domain: string, user: string): EwsAccount | undefined {
    const name = (domain ? `${domain}\\${user}` : user).toLowerCase();
    return this.accounts.find((a) => a.username.toLowerCase() === name);
  }

  private autodiscover(res: http.ServerResponse, body: string): void {
    const mailbox = text(body, 'Mailbox')?.toLowerCase() ?? '';
    if (!this.items.has(mailbox))
      return xml(res, 200, userSettingsResponse({ errorCode: 'InvalidUser', errorMessage: `Invalid user: '${mailbox}'` }));
    const requested = elements(body, 'Setting').map((e) => e.inner.trim());
    const settings: Record<string, string> = {};
    if (requested.includes('ExternalEwsUrl')) settings.ExternalEwsUrl = this.ewsUrl;
    xml(res, 200, userSettingsResponse({ settings }));
  }

  private getFolder(mailbox: string, body: string): string {
    const id = first(body, 'DistinguishedFolderId')?.attrs.Id;
    const live = this.box(mailbox).filter((i) => i.folder === 'inbox').length;
    if (id === 'inbox') {
      return this.respond('GetFolder', [
        success(
          'GetFolder',
          `<m:Folders><t:Folder><t:FolderId Id="inbox-${mailbox}" ChangeKey="AQAAAA=="/><t:DisplayName>Inbox</t:DisplayName><t:TotalCount>${live}</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount><t:UnreadCount>${live}</t:UnreadCount></t:Folder></m:Folders>`,
        ),
      ]);
    }
    // Every mailbox has these (their items are fake-ews-act.ts's, when a test attaches it).
    const special = { calendar: ['CalendarFolder', 'Calendar'], contacts: ['ContactsFolder', 'Contacts'], tasks: ['TasksFolder', 'Tasks'] }[
      id ?? ''
    ];
    if (special) {
      const [el, name] = special;
      return this.respond('GetFolder', [
        success(
          'GetFolder',
          `<m:Folders><t:${el}><t:FolderId Id="${id}-${mailbox}" ChangeKey="AgAAAA=="/><t:DisplayName>${name}</t:DisplayName><t:TotalCount>0</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount></t:${el}></m:Folders>`,
        ),
      ]);
    }
    return this.respond('GetFolder', [
      failure('GetFolder', 'ErrorFolderNotFound', 'The specified folder could not be found in the store.'),
    ]);
  }

  /** SyncState = position in the change log; the first sync lists what exists, later ones creates and deletes. */
  private syncFolderItems(mailbox: string, body: string): string {
    const max = Number(text(body, 'MaxChangesReturned') ?? 512);
    const folder = first(first(body, 'SyncFolderId')?.inner ?? '', 'DistinguishedFolderId')?.attrs.Id;
    if (folder !== 'inbox' && folder !== 'sentitems')
      return this.respond('SyncFolderItems', [
        failure('SyncFolderItems', 'ErrorFolderNotFound', 'The specified folder could not be found in the store.'),
      ]);
    const stateText = text(body, 'SyncState');
    let since = 0;
    if (stateText) {
      const state = decodeState(stateText);
      if (!state || state.gen !== this.syncGeneration) {
        return this.respond('SyncFolderItems', [
          failure('SyncFolderItems', 'ErrorInvalidSyncStateData', 'Synchronization state data is corrupt or otherwise invalid.'),
        ]);
      }
      since = state.seq;
    }
    const changes: Array<{ seq: number; xml: string }> = [];
    // ItemShape: IdOnly, plus DateTimeReceived when the request names it in AdditionalProperties.
    const withReceived = elements(first(body, 'ItemShape')?.inner ?? '', 'FieldURI').some(
      (f) => f.attrs.FieldURI === 'item:DateTimeReceived',
    );
    const received = (item: Item) =>
      withReceived ? `<t:DateTimeReceived>${item.receivedAt.toISOString().replace(/\.\d{3}Z$/, 'Z')}</t:DateTimeReceived>` : '';
    for (const item of this.box(mailbox).filter((i) => i.origin === folder)) {
      if (item.createdSeq > since && (item.removedSeq === undefined || !stateText)) {
        if (item.removedSeq === undefined)
          changes.push({
            seq: item.createdSeq,
            xml: `<t:Create><t:Message><t:ItemId Id="${item.id}" ChangeKey="CQAAAA=="/>${received(item)}</t:Message></t:Create>`,
          });
      }
      if (stateText && item.removedSeq !== undefined && item.removedSeq > since && item.createdSeq <= since) {
        changes.push({ seq: item.removedSeq, xml: `<t:Delete><t:ItemId Id="${item.id}" ChangeKey="CQAAAA=="/></t:Delete>` });
      }
    }
    changes.sort((a, b) => a.seq - b.seq);
    const page = changes.slice(0, max);
    const last = page.length < changes.length ? page[page.length - 1].seq : this.seq;
    return this.respond('SyncFolderItems', [
      success(
        'SyncFolderItems',
        `<m:SyncState>${encodeState({ gen: this.syncGeneration, seq: last })}</m:SyncState><m:IncludesLastItemInRange>${page.length === changes.length}</m:IncludesLastItemInRange><m:Changes>${page.map((c) => c.xml).join('')}</m:Changes>`,
      ),
    ]);
  }

  private getItem(mailbox: string, body: string): string {
    const messages = elements(body, 'ItemId').map(({ attrs }) => {
      const item = this.box(mailbox).find((i) => i.id === attrs.Id && i.removedSeq === undefined);
      if (!item) return failure('GetItem', 'ErrorItemNotFound', 'The specified object was not found in the store.');
      return success(
        'GetItem',
        `<m:Items><t:Message><t:MimeContent CharacterSet="UTF-8">${Buffer.from(item.mime).toString('base64')}</t:MimeContent><t:ItemId Id="${item.id}" ChangeKey="CQAAAA=="/></t:Message></m:Items>`,
      );
    });
    return this.respond('GetItem', messages);
  }

  /** DeleteItem and MoveItem: each item leaves its folder for the one `target` names (undefined: no such folder). */
  private moveItems(op: 'DeleteItem' | 'MoveItem', mailbox: string, body: string, target: () => string | undefined): string {
    const messages = elements(first(body, 'ItemIds')?.inner ?? '', 'ItemId').map(({ attrs }) => {
      const item = this.box(mailbox).find((i) => i.id === attrs.Id && i.removedSeq === undefined);
      if (!item) return failure(op, 'ErrorItemNotFound', 'The specified object was not found in the store.');
      const folder = target();
      if (!folder) return failure(op, 'ErrorFolderNotFound', 'The specified folder could not be found in the store.');
      Object.assign(item, { removedSeq: ++this.seq, folder });
      return op === 'MoveItem'
        ? success(op, `<m:Items><t:Message><t:ItemId Id="${item.id}-moved" ChangeKey="CQAAAB=="/></t:Message></m:Items>`)
        : success(op, '');
    });
    return this.respond(op, messages);
  }

  /** FindFolder at the top of the mailbox (msgfolderroot), by DisplayName (an IsEqualTo restriction). */
  private findFolder(mailbox: string, body: string): string {
    const wanted = first(first(body, 'IsEqualTo')?.inner ?? '', 'Constant')?.attrs.Value;
    const found = [...(this.folders.get(mailbox) ?? [])].filter(([, name]) => wanted === undefined || name === wanted);
    const xmlFolders = found
      .map(([id, name]) => `<t:Folder><t:FolderId Id="${id}" ChangeKey="AQAAAA=="/><t:DisplayName>${name}</t:DisplayName></t:Folder>`)
      .join('');
    return this.respond('FindFolder', [
      success(
        'FindFolder',
        `<m:RootFolder TotalItemsInView="${found.length}" IncludesLastItemInRange="true"><t:Folders>${xmlFolders}</t:Folders></m:RootFolder>`,
      ),
    ]);
  }

  private createFolder(mailbox: string, body: string): string {
    const name = text(first(body, 'Folders')?.inner ?? '', 'DisplayName') ?? '';
    const folders = this.folders.get(mailbox) ?? new Map<string, string>();
    this.folders.set(mailbox, folders);
    if ([...folders.values()].includes(name))
      return this.respond('CreateFolder', [
        failure('CreateFolder', 'ErrorFolderExists', 'A folder with the specified name already exists.'),
      ]);
    const id = `AAMkFolder${folders.size + 1}-${mailbox}`;
    folders.set(id, name);
    return this.respond('CreateFolder', [
      success('CreateFolder', `<m:Folders><t:Folder><t:FolderId Id="${id}" ChangeKey="AQAAAA=="/></t:Folder></m:Folders>`),
    ]);
  }

  private createItem(principal: Principal, mailbox: string, body: string): string {
    if (first(body, 'CreateItem')?.attrs.MessageDisposition !== 'SendAndSaveCopy') {
      return this.respond('CreateItem', [failure('CreateItem', 'ErrorInvalidRequest', 'The fake only sends (SendAndSaveCopy).')]);
    }
    const message = first(body, 'Message')?.inner ?? '';
    const address = (name: string): string | undefined => text(first(message, name)?.inner ?? '', 'EmailAddress');
    const properties: Record<string, string> = {};
    for (const p of elements(message, 'ExtendedProperty')) {
      const uri = first(p.inner, 'ExtendedFieldURI')?.attrs ?? {};
      const key = uri.PropertyTag ? `0x${Number(uri.PropertyTag).toString(16)}` : (uri.PropertyName ?? '?');
      properties[key] = text(p.inner, 'Value') ?? '';
    }
    const to = elements(first(message, 'ToRecipients')?.inner ?? '', 'EmailAddress').map((e) => e.inner.trim());
    if (to.length === 0)
      return this.respond('CreateItem', [failure('CreateItem', 'ErrorInvalidRecipients', 'At least one recipient is not valid.')]);
    if (this.overQuota.has(mailbox.toLowerCase()))
      return this.respond('CreateItem', [
        failure(
          'CreateItem',
          'ErrorSubmissionQuotaExceeded',
          'The message could not be sent because the mailbox has exceeded its submission quota.',
        ),
      ]);
    const bodyElement = first(message, 'Body');
    // The copy in Sent Items of the mailbox named by SavedItemFolderId (or the one acted on).
    const savedIn = (text(first(body, 'SavedItemFolderId')?.inner ?? '', 'EmailAddress') ?? mailbox).toLowerCase();
    if (first(body, 'SavedItemFolderId') && this.items.has(savedIn)) {
      const id = `AAMkAGEw${String(this.nextId++).padStart(6, '0')}AAA=`;
      const headers = [
        `From: ${address('From') ?? savedIn}`,
        `To: ${to.join(', ')}`,
        `Subject: ${text(message, 'Subject') ?? ''}`,
        ...(properties['0x1035'] ? [`Message-ID: ${properties['0x1035']}`] : []),
      ];
      this.box(savedIn).push({
        id,
        origin: 'sentitems',
        folder: 'sentitems',
        createdSeq: ++this.seq,
        receivedAt: new Date(),
        mime: `${headers.join('\r\n')}\r\n\r\n${bodyElement ? (text(message, 'Body') ?? '') : ''}\r\n`,
      });
    }
    this.sent.push({
      principal: principal.name,
      mailbox,
      savedIn: text(first(body, 'SavedItemFolderId')?.inner ?? '', 'EmailAddress'),
      subject: text(message, 'Subject'),
      from: address('From'),
      sender: address('Sender'),
      to,
      body: bodyElement ? text(message, 'Body') : undefined,
      bodyType: bodyElement?.attrs.BodyType,
      properties,
      ...(first(message, 'MimeContent') ? { mime: Buffer.from(first(message, 'MimeContent')!.inner.trim(), 'base64') } : {}),
    });
    return this.respond('CreateItem', [success('CreateItem', '<m:Items/>')]);
  }
}

function xml(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' });
  res.end(body);
}

function encodeState(state: { gen: number; seq: number }): string {
  return Buffer.from(JSON.stringify(state)).toString('base64');
}

function decodeState(s: string): { gen: number; seq: number } | undefined {
  try {
    return JSON.parse(Buffer.from(s, 'base64').toString()) as { gen: number; seq: number };
  } catch {
    return undefined;
  }
}
