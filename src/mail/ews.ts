// On-premises Exchange (2010 and later) over EWS, with ews-javascript-api.
//
// One EwsAdapter serves one mailbox. It owns its ExchangeService and its EwsTransport, so its
// credentials and trusted CA are its own: the library's global XHR is never used, and two adapters
// with different accounts in one process cannot pick up each other's credentials.
//
// Test and Enable: incoming binds the Inbox. EWS has no dry-run send either, so the outgoing test
// is the same bind (it proves the account, impersonation or delegate access, and the mailbox, not
// Send As rights). Appointments, contacts and tasks bind the Calendar.
//
// Access to the mailbox is either impersonation (`impersonate: true`: a service account acts as
// the mailbox, Exchange's ApplicationImpersonation role) or the account's own or delegated access,
// in which case folders are addressed in the mailbox explicitly.
//
// Versions: requests are written for the configured Exchange version, or, unset, for Exchange 2010
// until the server's first answer says which version it is (ews-version.ts).
import {
  AutodiscoverErrorCode,
  AutodiscoverService,
  BasePropertySet,
  BodyType,
  ChangeType,
  ConnectingIdType,
  DeleteMode,
  EmailAddress,
  EmailMessage,
  ExchangeCredentials,
  ExchangeService,
  Folder,
  FolderId,
  FolderSchema,
  FolderView,
  ImpersonatedUserId,
  Item,
  ItemId,
  ItemSchema,
  Mailbox,
  MessageBody,
  MimeContent,
  OAuthCredentials,
  PropertySet,
  SearchFilter,
  ServiceError,
  ServiceResponseException,
  ServiceResult,
  type ServiceResponse,
  type ServiceResponseCollection,
  SyncFolderItemsScope,
  Uri,
  UserSettingName,
  WebCredentials,
  WellKnownFolderName,
  type ItemChange,
  ExchangeVersion,
} from 'ews-javascript-api';
import { composeMime } from './compose.js';
import { withTimeout } from './deadline.js';
import { classifyError, type ErrorContext } from './errors.js';
import { classifyEwsError } from './ews-errors.js';
import { OLDEST_SUPPORTED, productName, productOf, schemaVersion, usesAnchorMailbox, type ExchangeProduct } from './ews-version.js';
import { internetHeaderProperty, mapiStringProperty, xmlText } from './ews-serialization.js';
import { EwsTransport, withEwsCall, type EwsCall } from './ews-transport.js';
import { DEFAULT_TIMEOUT_MS } from '../net/tls.js';
import { connectionSlots, type SlotClaim } from './connection-slots.js';
import { MailError, type ConnectionTester, type Credentials, type Endpoint, type OutgoingMessage, type RawMessage } from './types.js';

export interface EwsOptions {
  /** The mailbox's SMTP address. */
  mailbox: string;
  /** For password credentials: HTTP Basic (default) or NTLM. OAuth2 credentials always send a bearer token. */
  authentication?: 'Basic' | 'NTLM';
  /** Act as the mailbox through Exchange impersonation (a service account's credentials). */
  impersonate?: boolean;
  /**
   * Find the EWS URL with Autodiscover: Endpoint.url (or https://<host>/autodiscover/autodiscover.svc)
   * is then the Autodiscover service. Otherwise Endpoint.url (or https://<host>:<port>/EWS/Exchange.asmx)
   * is the EWS URL itself.
   */
  autodiscover?: boolean;
  /** The server's Exchange version (the schema of RequestServerVersion). Detected from the server's answers when unset. */
  version?: ExchangeProduct;
  /** SyncFolderItems page size (MaxChangesReturned, 1 to 512). */
  pageSize?: number;
  /** Requests at once per server and identity (the profile's maxConcurrentConnections). */
  slots?: SlotClaim;
}

export interface EwsSyncResult {
  /** Ids of items created in the folder since `syncState`, each once. */
  created: string[];
  /** Ids of items deleted from the folder since `syncState`. */
  deleted: string[];
  /** When Exchange received each created item (DateTimeReceived), where it said. */
  receivedAt: Map<string, Date>;
  /** Opaque state to pass to the next call; store it as the sync checkpoint. */
  syncState: string;
  /**
   * The stored state was refused (ErrorInvalidSyncStateData) and the folder was read again from
   * the start, so `created` may repeat earlier items (the CRM connector deduplicates them).
   */
  restarted: boolean;
}

/** PidTagInternetMessageId, PidTagInReplyToId, PidTagInternetReferences (MS-OXPROPS). */
const MESSAGE_ID = mapiStringProperty(0x1035);
const IN_REPLY_TO = mapiStringProperty(0x1042);
const REFERENCES = mapiStringProperty(0x1039);

const MAX_PAGE = 512;

/**
 * Versions detected per EWS URL: a server's version does not change between two mailboxes, so an
 * adapter for a server seen before writes for its version from the first request.
 */
const detectedVersions = new Map<string, ExchangeProduct>();

/** ExchangeCredentials that add nothing: the transport authenticates (NTLM). */
class TransportAuthenticated extends ExchangeCredentials {
  override PrepareWebRequest(): void {}
}

export class EwsAdapter implements ConnectionTester {
  private readonly transport: EwsTransport;
  private readonly timeoutMs: number;
  /** Recently used access tokens, for redaction. */
  private readonly tokens = new Set<string>();
  private service?: Promise<ExchangeService>;
  private ewsUrl?: string;
  /** The version the server reported (undefined until it answered, or when it was configured). */
  private detected?: ExchangeProduct;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly credentials: Credentials,
    private readonly options: EwsOptions,
  ) {
    this.timeoutMs = endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const ntlm = credentials.kind === 'password' && options.authentication === 'NTLM';
    this.transport = new EwsTransport({
      ca: endpoint.ca,
      timeoutMs: this.timeoutMs,
      ...(ntlm ? { ntlm: { username: credentials.username, password: credentials.password } } : {}),
    });
  }

  /** The RequestServerVersion requests carry (e.g. Exchange2010_SP2), once the version is configured or detected. */
  get requestServerVersion(): string | undefined {
    const v = this.exchangeVersion;
    return v && ExchangeVersion[schemaVersion(v.version)];
  }

  /** The server's Exchange version: as configured, or as detected (undefined before its first answer). */
  get exchangeVersion(): { version: ExchangeProduct; detected: boolean } | undefined {
    if (this.options.version) return { version: this.options.version, detected: false };
    return this.detected ? { version: this.detected, detected: true } : undefined;
  }

  /** What a passed test found out about the server, for the test's message. */
  serverDescription(): string | undefined {
    const v = this.exchangeVersion;
    return v && `${productName(v.version)}${v.detected ? ', detected' : ''}`;
  }

  /** Incoming test: bind the Inbox. */
  test(signal?: AbortSignal): Promise<void> {
    return this.call(
      'opening the Inbox',
      signal,
      async (svc) => void (await Folder.Bind(svc, this.folder(WellKnownFolderName.Inbox), PropertySet.IdOnly)),
    );
  }

  /** Outgoing test: EWS cannot check a send without sending, so this binds the Inbox as test() does. */
  testOutgoing(signal?: AbortSignal): Promise<void> {
    return this.test(signal);
  }

  /** Appointments, contacts and tasks test: bind the Calendar. */
  testAppointmentsContactsTasks(signal?: AbortSignal): Promise<void> {
    return this.call(
      'opening the Calendar',
      signal,
      async (svc) => void (await Folder.Bind(svc, this.folder(WellKnownFolderName.Calendar), PropertySet.IdOnly)),
    );
  }

  /** The folder's changes since `syncState` (all items on the first call), across as many pages as it takes: the Inbox, or Sent Items. */
  async syncFolderItems(syncState?: string, signal?: AbortSignal, folder: 'Inbox' | 'SentItems' = 'Inbox'): Promise<EwsSyncResult> {
    try {
      return { ...(await this.readChanges(syncState, signal, folder)), restarted: false };
    } catch (err) {
      if (syncState && err instanceof MailError && isCode(err.cause, 'ErrorInvalidSyncStateData')) {
        return { ...(await this.readChanges(undefined, signal, folder)), restarted: true };
      }
      throw err;
    }
  }

  /** The EWS URL requests go to (from Autodiscover when the profile asks), for notification subscriptions. */
  async serviceUrl(signal?: AbortSignal): Promise<string> {
    await this.call('finding the EWS URL', signal, async () => undefined);
    return this.ewsUrl!;
  }

  /**
   * Deletes a processed message (deleteAfterProcessing): moved to Deleted Items, as Outlook does,
   * so a person can still get it back. An item already gone is not an error.
   */
  async deleteItem(id: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.call('deleting a processed message', signal, async (svc) =>
        throwFirstError(await svc.DeleteItems([new ItemId(xmlText(id))], DeleteMode.MoveToDeletedItems, null as never, null as never)),
      );
    } catch (err) {
      if (!(err instanceof MailError && isCode(err.cause, 'ErrorItemNotFound'))) throw err;
    }
  }

  /**
   * Moves a message into the folder with this display name at the top of the mailbox (created when
   * missing): the Undeliverable folder of moveFailedToUndeliverable.
   */
  async moveToFolder(id: string, displayName: string, signal?: AbortSignal): Promise<void> {
    await this.call(`moving a message to ${displayName}`, signal, async (svc) => {
      const target = await this.findOrCreateFolder(svc, displayName);
      throwFirstError(await svc.MoveItems([new ItemId(xmlText(id))], target));
    });
  }

  /** The raw RFC 5322 message; undefined when the item no longer exists. */
  async getMime(id: string, signal?: AbortSignal): Promise<RawMessage | undefined> {
    try {
      const item = await this.call('downloading a message', signal, (svc) =>
        Item.Bind(svc, new ItemId(xmlText(id)), new PropertySet(BasePropertySet.IdOnly, [ItemSchema.MimeContent])),
      );
      return { id, source: Buffer.from(item.MimeContent?.Content ?? '', 'base64') };
    } catch (err) {
      if (err instanceof MailError && isCode(err.cause, 'ErrorItemNotFound')) return undefined;
      throw err;
    }
  }

  /**
   * Sends one message (CreateItem, SendAndSaveCopy). SendAs: `from` is the mailbox. SendOnBehalf:
   * `from` is the owner and `sender` the mailbox. Our Message-ID, In-Reply-To and References are
   * set as MAPI properties, which Exchange uses for the headers of the sent message. A message with
   * attachments goes as its MIME content (built as for SMTP), so it stays one CreateItem: EWS
   * otherwise adds attachments to a saved draft with separate calls before sending it.
   */
  async send(msg: OutgoingMessage, signal?: AbortSignal): Promise<void> {
    const mime = msg.attachments?.length ? (await composeMime(msg, { keepBcc: true })).toString('base64') : undefined;
    await this.call('sending a message', signal, async (svc) => {
      // Every string is escaped: the library writes values into the XML as they are.
      const m = new EmailMessage(svc);
      m.Subject = xmlText(msg.subject);
      m.Body =
        msg.html !== undefined
          ? new MessageBody(BodyType.HTML, xmlText(msg.html))
          : new MessageBody(BodyType.Text, xmlText(msg.text ?? ''));
      m.From = new EmailAddress(xmlText(msg.from));
      if (msg.sender) m.Sender = new EmailAddress(xmlText(msg.sender));
      for (const a of msg.to) m.ToRecipients.Add(xmlText(a));
      for (const a of msg.cc ?? []) m.CcRecipients.Add(xmlText(a));
      for (const a of msg.bcc ?? []) m.BccRecipients.Add(xmlText(a));
      m.SetExtendedProperty(MESSAGE_ID, xmlText(msg.messageId));
      if (msg.inReplyTo) m.SetExtendedProperty(IN_REPLY_TO, xmlText(msg.inReplyTo));
      if (msg.references?.length) m.SetExtendedProperty(REFERENCES, xmlText(msg.references.join(' ')));
      for (const [name, value] of Object.entries(msg.headers ?? {})) {
        m.SetExtendedProperty(internetHeaderProperty(xmlText(name)), xmlText(value));
      }
      if (mime) m.MimeContent = new MimeContent('UTF-8', mime);
      await m.SendAndSaveCopy(this.folder(WellKnownFolderName.SentItems));
    });
  }

  private async readChanges(
    syncState: string | undefined,
    signal: AbortSignal | undefined,
    folder: 'Inbox' | 'SentItems',
  ): Promise<Omit<EwsSyncResult, 'restarted'>> {
    const created = new Set<string>();
    const deleted = new Set<string>();
    const receivedAt = new Map<string, Date>();
    // DateTimeReceived comes with each change, so the first sync can leave old mail undownloaded.
    const shape = new PropertySet(BasePropertySet.IdOnly, [ItemSchema.DateTimeReceived]);
    let state = syncState ?? null;
    const pageSize = Math.min(MAX_PAGE, Math.max(1, this.options.pageSize ?? MAX_PAGE));
    for (;;) {
      const changes = await this.call('reading folder changes', signal, (svc) =>
        svc.SyncFolderItems(
          this.folder(WellKnownFolderName[folder]),
          shape,
          null as unknown as ItemId[],
          pageSize,
          SyncFolderItemsScope.NormalItems,
          (state === null ? null : xmlText(state)) as string,
        ),
      );
      for (const change of changes.GetEnumerator() as ItemChange[]) {
        const id = change.ItemId?.UniqueId;
        if (!id) continue;
        if (change.ChangeType === ChangeType.Create) {
          created.add(id);
          deleted.delete(id);
          const received = receivedTime(change);
          if (received) receivedAt.set(id, received);
        } else if (change.ChangeType === ChangeType.Delete) {
          // Created and deleted within one sync: never existed as far as the caller is concerned.
          if (!created.delete(id)) deleted.add(id);
        }
      }
      state = changes.SyncState;
      if (!changes.MoreChangesAvailable) return { created: [...created], deleted: [...deleted], receivedAt, syncState: state };
    }
  }

  private async findOrCreateFolder(svc: ExchangeService, displayName: string): Promise<FolderId> {
    const root = this.folder(WellKnownFolderName.MsgFolderRoot);
    const found = await svc.FindFolders(
      root,
      new SearchFilter.IsEqualTo(FolderSchema.DisplayName, xmlText(displayName)),
      new FolderView(1),
    );
    const existing = found.Folders[0];
    if (existing) return existing.Id;
    const folder = new Folder(svc);
    folder.DisplayName = xmlText(displayName);
    await folder.Save(root);
    return folder.Id;
  }

  /** A well-known folder: the impersonated mailbox's own, or addressed in the mailbox for delegate access. */
  private folder(name: WellKnownFolderName): FolderId {
    return this.options.impersonate ? new FolderId(name) : new FolderId(name, new Mailbox(xmlText(this.options.mailbox)));
  }

  /**
   * Runs one library call with fresh credentials, a time limit and error classification. The
   * transport records transport failures into `call`, which only this invocation sees.
   */
  private async call<T>(what: string, signal: AbortSignal | undefined, fn: (svc: ExchangeService) => Promise<T>): Promise<T> {
    const call: EwsCall = { signal };
    try {
      return await withEwsCall(call, () =>
        connectionSlots.run(
          this.options.slots,
          async () => {
            const svc = await this.exchangeService(signal);
            svc.Credentials = await this.exchangeCredentials();
            // The transport bounds each request; this bounds the library, which can fail to settle.
            try {
              return await withTimeout(fn(svc), this.timeoutMs + 1000, what, { signal });
            } finally {
              this.noteServerVersion(svc);
            }
          },
          { signal, waitMs: this.timeoutMs },
        ),
      );
    } catch (err) {
      throw classifyEwsError(err, call, this.context(), what, { versionHint: this.options.version ? undefined : UNSUPPORTED_OLD_SERVER });
    }
  }

  /**
   * Reads the version out of the server's last answer (ServerVersionInfo, which the library keeps
   * in ServerInfo). A server newer than the schema in use gets the next requests in its own.
   */
  private noteServerVersion(svc: ExchangeService): void {
    if (this.options.version || this.detected) return;
    const found = productOf(svc.ServerInfo);
    if (found === undefined) return;
    if (found === 'older') throw new MailError('UnsupportedConfiguration', `EWS ${this.ewsUrl}: ${UNSUPPORTED_OLD_SERVER}`);
    this.detected = found;
    if (this.ewsUrl) detectedVersions.set(this.ewsUrl, found);
    if (schemaVersion(found) !== svc.RequestedServerVersion) this.service = undefined;
  }

  private exchangeService(signal?: AbortSignal): Promise<ExchangeService> {
    this.service ??= this.createService(signal).catch((err: unknown) => {
      // A failed autodiscover is tried again next time.
      this.service = undefined;
      throw err;
    });
    return this.service;
  }

  private async createService(signal?: AbortSignal): Promise<ExchangeService> {
    const url =
      this.ewsUrl ??
      (this.options.autodiscover
        ? await this.autodiscover(signal)
        : (this.endpoint.url ?? `https://${this.endpoint.host}:${this.endpoint.port}/EWS/Exchange.asmx`));
    this.ewsUrl = url;
    this.detected ??= this.options.version ? undefined : detectedVersions.get(url);
    const product = this.options.version ?? this.detected ?? OLDEST_SUPPORTED;
    const svc = new ExchangeService(schemaVersion(product));
    svc.XHRApi = this.transport;
    svc.Url = new Uri(url);
    if (this.options.impersonate) {
      svc.ImpersonatedUserId = new ImpersonatedUserId(ConnectingIdType.SmtpAddress, xmlText(this.options.mailbox));
      // Exchange 2013+ routes impersonated requests to the mailbox's server by this header.
      if (usesAnchorMailbox(product)) svc.HttpHeaders.Add('X-AnchorMailbox', this.options.mailbox);
    }
    return svc;
  }

  /** The EWS URL from the Autodiscover SOAP service at an explicit URL (no DNS guessing). */
  private async autodiscover(signal?: AbortSignal): Promise<string> {
    const autodiscoverUrl = this.endpoint.url ?? `https://${this.endpoint.host}/autodiscover/autodiscover.svc`;
    // The SOAP Autodiscover service exists from Exchange 2010 on; its requests carry that version.
    const ad = new AutodiscoverService(new Uri(autodiscoverUrl), schemaVersion(this.options.version ?? OLDEST_SUPPORTED));
    ad.XHRApi = this.transport;
    ad.Credentials = await this.exchangeCredentials();
    const response = await withTimeout(
      ad.GetUserSettings(xmlText(this.options.mailbox), [UserSettingName.ExternalEwsUrl, UserSettingName.InternalEwsUrl]),
      this.timeoutMs + 1000,
      'asking Autodiscover for the EWS URL',
      { signal },
    );
    if (response.ErrorCode === AutodiscoverErrorCode.InvalidUser) {
      throw new MailError(
        'MailboxNotFound',
        `EWS Autodiscover ${autodiscoverUrl}: Exchange does not know ${this.options.mailbox} (InvalidUser); check the email address`,
      );
    }
    const settings = response.Settings;
    const found = [UserSettingName.ExternalEwsUrl, UserSettingName.InternalEwsUrl]
      .map((name) => (settings?.containsKey(name) ? String(settings.get(name)) : ''))
      .find((u) => u.length > 0);
    if (!found) {
      throw new MailError(
        'UnsupportedConfiguration',
        `EWS Autodiscover ${autodiscoverUrl}: no EWS URL for ${this.options.mailbox} (${AutodiscoverErrorCode[response.ErrorCode] ?? response.ErrorCode}); set the EWS URL on the profile instead of autodiscover`,
      );
    }
    // Our credentials go to this URL: never over plain HTTP.
    if (!/^https:\/\//i.test(found)) {
      // The URL is the server's text: only its scheme is shown.
      const scheme = /^[a-z][a-z0-9+.-]{0,15}:/i.exec(found)?.[0] ?? 'no scheme';
      throw new MailError(
        'UnsupportedConfiguration',
        `EWS Autodiscover ${autodiscoverUrl}: the EWS URL it returned is not HTTPS (${scheme}); credentials are not sent there; set the EWS URL on the profile`,
      );
    }
    return found;
  }

  private async exchangeCredentials(): Promise<ExchangeCredentials> {
    const c = this.credentials;
    if (c.kind === 'password') {
      return this.options.authentication === 'NTLM' ? new TransportAuthenticated() : new WebCredentials(c.username, c.password);
    }
    if (c.kind === 'anonymous')
      throw new MailError('UnsupportedConfiguration', 'EWS: anonymous access (authentication None) is for an SMTP relay only');
    let token: string;
    try {
      token = await c.token.getToken();
    } catch (err) {
      throw classifyError(err, { ...this.context(), protocol: 'EWS access token' });
    }
    this.tokens.add(token);
    if (this.tokens.size > 4) this.tokens.delete(this.tokens.values().next().value!);
    // The library refuses tokens that are not JWT-shaped unless told to send them verbatim.
    return new OAuthCredentials(token, !JWT_SHAPE.test(token));
  }

  private context(): ErrorContext {
    const secrets = [...this.tokens];
    if (this.credentials.kind === 'password') secrets.push(this.credentials.password);
    return { protocol: 'EWS', server: this.ewsUrl ?? this.endpoint.url ?? this.endpoint.host, secrets };
  }
}

const UNSUPPORTED_OLD_SERVER =
  'the server is older than Exchange 2010 (it refused the Exchange 2010 schema or reported an older version); Exchange 2007 and older are not supported';

const JWT_SHAPE = /^[A-Za-z0-9-_]+\.[A-Za-z0-9-_]+\.[A-Za-z0-9-_]*$/;

/** Batch operations report errors per item instead of throwing: the first one, thrown. */
function throwFirstError(responses: ServiceResponseCollection<ServiceResponse>): void {
  const failed = responses.Responses.find((r) => r.Result === ServiceResult.Error);
  // The library's own constructor (typed internal): the same exception its single-item calls throw.
  if (failed) throw new (ServiceResponseException as unknown as new (r: ServiceResponse) => ServiceResponseException)(failed);
}

/** DateTimeReceived of a created item, when the server sent it. */
function receivedTime(change: ItemChange): Date | undefined {
  try {
    const ms = change.Item?.DateTimeReceived?.MomentDate?.valueOf();
    return typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms) : undefined;
  } catch {
    return undefined; // not loaded: the property was not in the answer
  }
}

function isCode(err: unknown, code: keyof typeof ServiceError): boolean {
  return err instanceof ServiceResponseException && err.ErrorCode === ServiceError[code];
}
