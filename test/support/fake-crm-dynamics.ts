// A fake Dataverse Web API (v9.2) for the parts the Dynamics 365 connector uses, built from
// Microsoft's public documentation: the Email, ActivityParty, ActivityMimeAttachment, QueueItem,
// Mailbox and Organization table references (columns, option sets, navigation property names),
// the Web API pages on querying ($select, $filter, $orderby, $expand, $top, Prefer:
// odata.maxpagesize and include-annotations, @odata.nextLink), creating with deep insert
// (`email_activity_parties`, `email_activity_mime_attachment`, `@odata.bind`), updating (PATCH
// with If-Match: * or an ETag), $batch with change sets (one transaction each, `$<Content-ID>`
// references), the actions BackgroundSendEmail, SendEmail, InitializeAttachmentBlocksDownload and
// DownloadBlock, the function CheckIncomingEmail, and the service protection limits (429 with
// Retry-After).
//
// It serves HTTPS with the test CA, accepts only bearer tokens issued by its FakeOAuth token
// endpoint for this environment's audience, and refuses what Dataverse refuses and the connector
// could get wrong: undeclared properties (a misspelt column or navigation property), binds to
// records that do not exist, values longer than the column, a statuscode that does not belong to
// the statecode sent with it, changes to a closed activity other than its state (the "closed
// activity" rule; Pending Send and Sending are closed states whose delivery columns the send
// pipeline still writes), attachments added to a closed email, a stale ETag (412).
//
// Run alone (`node dist/test/support/fake-crm-dynamics.js`) it prints its URLs, CA and client on
// stdout as one JSON line and serves the unauthenticated test endpoints under /_test (stats,
// emails), so a crash test can keep it alive while workers die.
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { pathToFileURL } from 'node:url';
import { FakeOAuth, type FakeClient } from './fake-oauth.js';
import { sendJson, startHttpsServer, type HttpsServer } from './https-server.js';
import {
  formatBatchAnswer,
  parseBatchRequest,
  type BatchAnswer,
  type BatchAnswerItem,
  type BatchRequestPart,
} from './fake-crm-dynamics-batch.js';
import { parseFetchXml, parseFilter } from './fake-crm-dynamics-query.js';

const API = '/api/data/v9.2';

/** email.statuscode -> the statecode it belongs to (Email table reference, StatusCode choices). */
const EMAIL_STATE_OF_STATUS: Record<number, number> = { 1: 0, 2: 1, 3: 1, 4: 1, 5: 2, 6: 1, 7: 1, 8: 0 };
const PENDING_SEND = 6;
const SENDING = 7;
const SENT = 3;
/** Columns the send pipeline still writes on an email in Pending Send or Sending. */
const DELIVERY_COLUMNS = new Set(['messageid', 'deliveryattempts', 'actualend']);
/** The block size limit of DownloadBlock ("blocks of 4 MB or less"). */
const MAX_BLOCK = 4 * 1024 * 1024;

type Row = Record<string, unknown>;

interface EntityDef {
  idColumn: string;
  /** Column holding the display name, for FormattedValue annotations. */
  nameColumn: string;
  emailColumns: string[];
  logicalName: string;
}

const TABLES: Record<string, EntityDef> = {
  contacts: {
    idColumn: 'contactid',
    nameColumn: 'fullname',
    emailColumns: ['emailaddress1', 'emailaddress2', 'emailaddress3'],
    logicalName: 'contact',
  },
  leads: {
    idColumn: 'leadid',
    nameColumn: 'fullname',
    emailColumns: ['emailaddress1', 'emailaddress2', 'emailaddress3'],
    logicalName: 'lead',
  },
  accounts: {
    idColumn: 'accountid',
    nameColumn: 'name',
    emailColumns: ['emailaddress1', 'emailaddress2', 'emailaddress3'],
    logicalName: 'account',
  },
  systemusers: { idColumn: 'systemuserid', nameColumn: 'fullname', emailColumns: ['internalemailaddress'], logicalName: 'systemuser' },
  queues: { idColumn: 'queueid', nameColumn: 'name', emailColumns: ['emailaddress'], logicalName: 'queue' },
  teams: { idColumn: 'teamid', nameColumn: 'name', emailColumns: [], logicalName: 'team' },
  incidents: { idColumn: 'incidentid', nameColumn: 'title', emailColumns: [], logicalName: 'incident' },
  opportunities: { idColumn: 'opportunityid', nameColumn: 'name', emailColumns: [], logicalName: 'opportunity' },
  mailboxes: { idColumn: 'mailboxid', nameColumn: 'name', emailColumns: ['emailaddress'], logicalName: 'mailbox' },
  emails: { idColumn: 'activityid', nameColumn: 'subject', emailColumns: [], logicalName: 'email' },
  activitymimeattachments: {
    idColumn: 'activitymimeattachmentid',
    nameColumn: 'filename',
    emailColumns: [],
    logicalName: 'activitymimeattachment',
  },
  queueitems: { idColumn: 'queueitemid', nameColumn: 'title', emailColumns: [], logicalName: 'queueitem' },
  organizations: { idColumn: 'organizationid', nameColumn: 'name', emailColumns: [], logicalName: 'organization' },
};
const ENTITY_SET_OF = Object.fromEntries(Object.entries(TABLES).map(([set, d]) => [d.logicalName, set]));

/** `partyid_<logical name>@odata.bind` -> entity set (ActivityParty PartyId targets). */
const PARTY_BINDS: Record<string, string> = {
  'partyid_contact@odata.bind': 'contacts',
  'partyid_lead@odata.bind': 'leads',
  'partyid_account@odata.bind': 'accounts',
  'partyid_systemuser@odata.bind': 'systemusers',
  'partyid_queue@odata.bind': 'queues',
};

/** Single-valued navigation properties of email that the fake binds: column -> allowed entity sets. */
const EMAIL_BINDS: Record<string, { column: string; sets: string[] }> = {
  'ownerid@odata.bind': { column: '_ownerid_value', sets: ['systemusers', 'teams'] },
  'receivingmailboxid@odata.bind': { column: '_receivingmailboxid_value', sets: ['mailboxes'] },
  'sendermailboxid@odata.bind': { column: '_sendermailboxid_value', sets: ['mailboxes'] },
  'parentactivityid@odata.bind': { column: '_parentactivityid_value', sets: ['emails'] },
  'regardingobjectid_account_email@odata.bind': { column: '_regardingobjectid_value', sets: ['accounts'] },
  'regardingobjectid_contact_email@odata.bind': { column: '_regardingobjectid_value', sets: ['contacts'] },
  'regardingobjectid_incident_email@odata.bind': { column: '_regardingobjectid_value', sets: ['incidents'] },
  'regardingobjectid_opportunity_email@odata.bind': { column: '_regardingobjectid_value', sets: ['opportunities'] },
};

const EMAIL_CREATE_COLUMNS = new Set([
  'subject',
  'description',
  'directioncode',
  'messageid',
  'submittedby',
  'email_activity_parties',
  'email_activity_mime_attachment',
  'trackingtoken',
  'category',
  ...Object.keys(EMAIL_BINDS),
]);
const EMAIL_UPDATE_COLUMNS = new Set(['statecode', 'statuscode', 'messageid', 'deliveryattempts', 'actualend', 'subject', 'description']);
const MAILBOX_UPDATE_COLUMNS = new Set([
  'incomingemaildeliverymethod',
  'outgoingemaildeliverymethod',
  'actdeliverymethod',
  'incomingemailstatus',
  'outgoingemailstatus',
  'actstatus',
  'testmailboxaccesscompletedon',
  'lastsuccessfulsynccompletedon',
  'enabledforincomingemail',
  'enabledforoutgoingemail',
  'enabledforact',
]);
const COLUMN_MAX: Record<string, number> = {
  subject: 800,
  messageid: 320,
  submittedby: 250,
  addressused: 320,
  filename: 255,
  trackingtoken: 50,
};

/**
 * More entity sets of the same environment, served by another module (the email configuration
 * tables: test/support/fake-dataverse-config.ts). Asked first, after authentication and throttling:
 * it answers and returns true, or returns false to leave the request to this fake.
 */
export interface DataverseExtension {
  handle(
    req: { method: string; resource: string; url: URL; body: string; prefer: string; headers: http.IncomingHttpHeaders },
    res: http.ServerResponse,
  ): boolean;
}

export interface FakeDynamicsOptions {
  clients: FakeClient[];
  /** An environment without Dynamics 365 Sales has no `leads` table. */
  withoutLeads?: boolean;
  /**
   * How long each operation takes before its answer (an HTTP request, or each part of a $batch),
   * as a real environment takes tens of milliseconds: a crash test then kills during the ingest
   * however fast the machine. 0 by default.
   */
  operationMs?: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** An operation inside a $batch request (not an HTTP request of its own). */
  inBatch?: boolean;
}

export interface FakeEmail extends Row {
  activityid: string;
  statecode: number;
  statuscode: number;
  parties: Row[];
}

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Dataverse's refusal of an operation: its HTTP status, error code and message (extensions throw it too). */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class FakeDynamics {
  /** An environment without Dynamics 365 Sales has no `leads` table. */
  withoutLeads: boolean;
  /** HTTP requests, and operations inside $batch requests (`inBatch`). */
  readonly requests: LoggedRequest[] = [];
  throttled = 0;
  /** The organization's tracking-token settings (System Settings, Email tab). */
  readonly organization: Row;
  private readonly tables = new Map<string, Map<string, Row>>();
  private throttle?: { remaining: number; retryAfterSec: number };
  private readonly injected: Array<{ matches: (r: LoggedRequest) => boolean; status: number; remaining: number }> = [];
  private clock = Date.parse('2025-01-01T00:00:00Z');
  private readonly extensions: DataverseExtension[] = [];
  /** Undo steps of the change set being run; undefined outside change sets. */
  private journal?: (() => void)[];
  private readonly downloads = new Map<string, Buffer>();

  private constructor(
    private readonly server: HttpsServer,
    readonly oauth: FakeOAuth,
    private readonly options: FakeDynamicsOptions,
  ) {
    this.withoutLeads = options.withoutLeads ?? false;
    for (const set of Object.keys(TABLES)) this.tables.set(set, new Map());
    const orgId = this.add('organizations', {
      name: 'contoso',
      trackingprefix: 'CRM',
      trackingtokenidbase: 0,
      trackingtokeniddigits: 3,
      maximumtrackingnumber: 999,
      maxuploadfilesize: 5242880,
    });
    this.organization = this.row('organizations', orgId)!;
  }

  static async start(options: FakeDynamicsOptions): Promise<FakeDynamics> {
    const oauth = await FakeOAuth.start({ clients: options.clients });
    let fake: FakeDynamics | undefined;
    const server = await startHttpsServer((req, res, body) => fake!.handle(req, res, body));
    fake = new FakeDynamics(server, oauth, options);
    return fake;
  }

  /** The organization URL (spec.crm.url). */
  get orgUrl(): string {
    return this.server.origin;
  }

  get authorityUrl(): string {
    return this.oauth.authorityUrl;
  }

  get caPem(): string {
    return this.server.caPem;
  }

  async close(): Promise<void> {
    await Promise.all([this.server.close(), this.oauth.close()]);
  }

  /** Serves more entity sets (see DataverseExtension). */
  extend(extension: DataverseExtension): void {
    this.extensions.push(extension);
  }

  /** The rows of one of this fake's tables, for an extension that shares them (ACT's contacts). */
  table(set: string): Map<string, Row> {
    const t = this.tables.get(set);
    if (!t) throw new Error(`fake Dataverse has no table ${set}`);
    return t;
  }

  /** HTTP requests to the Web API so far (a $batch counts once, whatever it holds). */
  get httpRequests(): number {
    return this.requests.filter((r) => !r.inBatch && r.path.startsWith(API)).length;
  }

  /** The next `count` HTTP requests get 429 with Retry-After (service protection limits). */
  throttleNext(count: number, retryAfterSec = 5): void {
    this.throttle = { remaining: count, retryAfterSec };
  }

  /** The next `times` requests (HTTP requests or $batch operations) that match get `status` instead of an answer. */
  failRequests(matches: (r: LoggedRequest) => boolean, status = 503, times = 1): void {
    this.injected.push({ matches, status, remaining: times });
  }

  addContact(email: string, fullname = 'A Contact', column = 'emailaddress1'): string {
    return this.add('contacts', { fullname, [column]: email });
  }

  addLead(email: string, fullname = 'A Lead'): string {
    return this.add('leads', { fullname, emailaddress1: email });
  }

  addAccount(email: string, name = 'An Account'): string {
    return this.add('accounts', { name, emailaddress1: email });
  }

  /** A user and, as Dataverse creates with every user, its mailbox row (delivery methods None unless given). */
  addUser(email: string, fullname = 'A User', mailbox: Row = {}): string {
    const id = this.add('systemusers', { fullname, internalemailaddress: email });
    this.addMailbox(email, fullname, { owner: ['systemusers', id], regarding: ['systemusers', id] }, mailbox);
    return id;
  }

  /** A queue owned by `ownerUserId` (or a team), and its mailbox row, owned by the queue's owner. */
  addQueue(email: string, name = 'A Queue', opts: { ownerUserId?: string; mailbox?: Row } = {}): string {
    const owner: [string, string] = opts.ownerUserId
      ? ['systemusers', opts.ownerUserId]
      : ['teams', this.add('teams', { name: `${name} owners` })];
    const id = this.add('queues', { name, emailaddress: email, _ownerid_value: owner[1], $ownerset: owner[0] });
    this.addMailbox(email, name, { owner, regarding: ['queues', id] }, opts.mailbox ?? {});
    return id;
  }

  addIncident(title: string): string {
    return this.add('incidents', { title });
  }

  /** The `mailbox` row of an address. */
  mailbox(address: string): Row | undefined {
    return [...this.tables.get('mailboxes')!.values()].find((m) => String(m.emailaddress).toLowerCase() === address.toLowerCase());
  }

  /** Changes a mailbox row as an administrator in Dynamics would. */
  setMailbox(address: string, values: Row): void {
    Object.assign(this.mailbox(address)!, values);
  }

  queueItems(): Row[] {
    return [...this.tables.get('queueitems')!.values()];
  }

  /** An email written in the CRM and sent with SendEmail: Pending Send unless told otherwise. */
  addOutgoingEmail(e: {
    fromUserId: string;
    to: string[];
    cc?: string[];
    subject: string;
    description?: string;
    statuscode?: number;
    trackingtoken?: string;
    parentId?: string;
    regarding?: [string, string];
    attachments?: { filename: string; mimetype: string; content: Buffer }[];
  }): string {
    const from = this.row('systemusers', e.fromUserId)!;
    const statuscode = e.statuscode ?? PENDING_SEND;
    const parties: Row[] = [this.party(1, { 'partyid_systemuser@odata.bind': `/systemusers(${e.fromUserId})` })];
    for (const [mask, list] of [
      [2, e.to],
      [3, e.cc ?? []],
    ] as const) {
      for (const address of list) {
        const contact = this.findByEmail('contacts', address);
        parties.push(this.party(mask, contact ? { 'partyid_contact@odata.bind': `/contacts(${contact})` } : { addressused: address }));
      }
    }
    const id = this.add('emails', {
      subject: e.subject,
      description: e.description ?? null,
      directioncode: true,
      sender: from.internalemailaddress,
      statecode: EMAIL_STATE_OF_STATUS[statuscode],
      statuscode,
      deliveryattempts: 0,
      trackingtoken: e.trackingtoken ?? null,
      messageid: null,
      _parentactivityid_value: e.parentId ?? null,
      _regardingobjectid_value: e.regarding?.[1] ?? null,
      $regardingset: e.regarding?.[0],
      parties,
    });
    for (const a of e.attachments ?? [])
      this.add('activitymimeattachments', {
        _objectid_value: id,
        objecttypecode: 'email',
        filename: a.filename,
        mimetype: a.mimetype,
        body: a.content.toString('base64'),
        filesize: a.content.length,
      });
    return id;
  }

  email(id: string): FakeEmail | undefined {
    return this.row('emails', id) as FakeEmail | undefined;
  }

  emails(): FakeEmail[] {
    return [...this.tables.get('emails')!.values()] as FakeEmail[];
  }

  attachments(emailId: string): Row[] {
    return [...this.tables.get('activitymimeattachments')!.values()].filter((a) => a._objectid_value === emailId);
  }

  /** Requests to one entity set (e.g. 'contacts'), to check caching. */
  requestsTo(set: string): LoggedRequest[] {
    return this.requests.filter((r) => r.path === `${API}/${set}` || r.path.startsWith(`${API}/${set}(`));
  }

  // --- Rows.

  private add(set: string, values: Row): string {
    const id = randomUUID();
    this.clock += 1000;
    this.tables
      .get(set)!
      .set(id, { ...values, [TABLES[set].idColumn]: id, createdon: new Date(this.clock).toISOString(), versionnumber: 1 });
    this.journal?.push(() => this.tables.get(set)!.delete(id));
    return id;
  }

  private addMailbox(address: string, name: string, who: { owner: [string, string]; regarding: [string, string] }, values: Row): void {
    this.add('mailboxes', {
      name,
      emailaddress: address,
      statecode: 0,
      incomingemaildeliverymethod: 0,
      outgoingemaildeliverymethod: 0,
      actdeliverymethod: 2,
      enabledforincomingemail: true,
      enabledforoutgoingemail: true,
      enabledforact: true,
      emailrouteraccessapproval: 2,
      incomingemailstatus: 0,
      outgoingemailstatus: 0,
      actstatus: 0,
      _ownerid_value: who.owner[1],
      $ownerset: who.owner[0],
      _regardingobjectid_value: who.regarding[1],
      $regardingset: who.regarding[0],
      ...values,
    });
  }

  private row(set: string, id: string): Row | undefined {
    return this.tables.get(set)?.get(id.toLowerCase());
  }

  /** Changes a row in place, undoable inside a change set, with a new version (ETag). */
  private change(row: Row, values: Row): void {
    const before = { ...row };
    this.journal?.push(() => {
      for (const k of Object.keys(row)) delete row[k];
      Object.assign(row, before);
    });
    Object.assign(row, values, { versionnumber: Number(row.versionnumber ?? 1) + 1 });
  }

  private findByEmail(set: string, address: string): string | undefined {
    const def = TABLES[set];
    for (const [id, r] of this.tables.get(set)!)
      if (def.emailColumns.some((c) => typeof r[c] === 'string' && (r[c] as string).toLowerCase() === address.toLowerCase())) return id;
    return undefined;
  }

  private hasTable(set: string): boolean {
    return this.tables.has(set) && !(set === 'leads' && this.withoutLeads);
  }

  // --- HTTP.

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): Promise<void> {
    const url = new URL(req.url ?? '/', this.orgUrl);
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith('/_test/')) return this.handleTest(method, url, res);
    const logged: LoggedRequest = { method, path: url.pathname, query: url.searchParams, headers: req.headers };
    this.requests.push(logged);
    if (!url.pathname.startsWith(`${API}/`))
      return reply(res, refusal(404, '0x8006088a', `Resource not found for the segment '${url.pathname}'.`));

    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const issued = token ? this.oauth.validate(token) : undefined;
    if (!issued || issued.scope !== `${this.orgUrl}/.default`) {
      res.writeHead(401, {
        'www-authenticate': `Bearer authorization_uri=${this.oauth.authorityUrl}/common/oauth2/authorize, resource_id=${this.orgUrl}`,
      });
      return void res.end();
    }
    if (this.throttle && this.throttle.remaining > 0) {
      this.throttle.remaining--;
      this.throttled++;
      return reply(
        res,
        refusal(429, '0x80072322', 'Number of requests exceeded the limit of 6000 over time window of 300 seconds.', {
          'retry-after': String(this.throttle.retryAfterSec),
        }),
      );
    }
    const injected = this.injection(logged);
    if (injected) return reply(res, injected);
    if (method === 'POST' && url.pathname === `${API}/$batch`) return this.batch(req, body, res);
    const prefer = String(req.headers.prefer ?? '');
    const resource = decodeURIComponent(url.pathname.slice(API.length + 1));
    if (this.extensions.some((x) => x.handle({ method, resource, url, body, prefer, headers: req.headers }, res))) return;
    const answer = this.execute(method, url, body, { prefer, ifMatch: header(req.headers['if-match']) });
    await this.takeTime(1);
    reply(res, answer);
  }

  private injection(r: LoggedRequest): Answer | undefined {
    const injected = this.injected.find((f) => f.remaining > 0 && f.matches(r));
    if (!injected) return undefined;
    injected.remaining--;
    return refusal(injected.status, '0x80040216', 'An unexpected error occurred (injected).');
  }

  /** One operation (an HTTP request, or one part of a $batch). */
  private execute(method: string, url: URL, body: string, opts: { prefer: string; ifMatch?: string }): Answer {
    try {
      return this.route(method, url, body, opts);
    } catch (err) {
      if (err instanceof Refusal) return refusal(err.status, err.code, err.message);
      throw err;
    }
  }

  private route(method: string, url: URL, body: string, opts: { prefer: string; ifMatch?: string }): Answer {
    const resource = decodeURIComponent(url.pathname.slice(API.length + 1));
    const annotations = {
      formatted: /OData\.Community\.Display\.V1\.FormattedValue|\*/.test(opts.prefer),
      lookups: /Microsoft\.Dynamics\.CRM\.lookuplogicalname|\*/.test(opts.prefer),
    };
    if (method === 'GET' && resource === 'WhoAmI') {
      return {
        status: 200,
        body: {
          '@odata.context': `${this.orgUrl}${API}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
          BusinessUnitId: randomUUID(),
          UserId: randomUUID(),
          OrganizationId: randomUUID(),
        },
      };
    }
    if (method === 'GET' && resource.startsWith('CheckIncomingEmail(')) return this.checkIncomingEmail(resource, url.searchParams);
    if (method === 'GET' && resource === 'EntityDefinitions') return this.entityDefinitions(url.searchParams);
    const payload = (): Row => {
      try {
        const parsed: unknown = JSON.parse(body);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Row;
      } catch {
        // answered below
      }
      throw new Refusal(400, '0x80040224', 'The request body is not a JSON object.');
    };
    if (method === 'POST') {
      if (resource === 'BackgroundSendEmail') return this.backgroundSendEmail(payload());
      if (resource === 'InitializeAttachmentBlocksDownload') return this.initializeDownload(payload());
      if (resource === 'DownloadBlock') return this.downloadBlock(payload());
      const send = /^emails\(([0-9a-fA-F-]{36})\)\/Microsoft\.Dynamics\.CRM\.SendEmail$/.exec(resource);
      if (send) return this.sendEmail(send[1].toLowerCase(), payload());
    }
    const m = /^([a-z]+)(?:\(([0-9a-fA-F-]{36})\))?$/.exec(resource);
    const set = m?.[1];
    if (!m || !set || !this.hasTable(set))
      throw new Refusal(404, '0x8006088a', `Resource not found for the segment '${resource.replace(/\(.*$/, '')}'.`);
    const id = m[2]?.toLowerCase();
    if (method === 'GET' && id) return this.retrieve(set, id, url.searchParams, annotations);
    if (method === 'GET') return this.query(set, url, annotations, opts.prefer);
    if (method === 'POST' && !id) return this.create(set, payload(), url.searchParams, opts.prefer);
    if (method === 'PATCH' && id) return this.update(set, id, payload(), opts.ifMatch);
    throw new Refusal(405, '0x80060888', `The HTTP method '${method}' is not allowed here.`);
  }

  // --- $batch.

  /** The time `operations` take in this environment (FakeDynamicsOptions.operationMs). */
  private async takeTime(operations: number): Promise<void> {
    const ms = (this.options.operationMs ?? 0) * operations;
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }

  private async batch(req: http.IncomingMessage, body: string, res: http.ServerResponse): Promise<void> {
    let items;
    try {
      items = parseBatchRequest(header(req.headers['content-type']), body);
    } catch (err) {
      return reply(res, refusal(400, '0x80048d19', (err as Error).message));
    }
    const continueOnError = /odata\.continue-on-error/.test(String(req.headers.prefer ?? ''));
    const answers: BatchAnswerItem[] = [];
    for (const item of items) {
      if (item.kind === 'operation') {
        const a = this.batchOperation(item.op, new Map());
        answers.push({ kind: 'one', answer: a });
        if (a.status >= 400 && !continueOnError) break;
        continue;
      }
      // A change set is one transaction: every operation succeeds, or none has happened.
      const ids = new Map<string, string>();
      const done: BatchAnswer[] = [];
      this.journal = [];
      let failed: BatchAnswer | undefined;
      for (const op of item.ops) {
        const a = this.batchOperation(op, ids);
        if (a.status >= 400) {
          failed = { ...a, contentId: op.contentId };
          break;
        }
        done.push({ ...a, contentId: op.contentId });
      }
      const undo = this.journal;
      this.journal = undefined;
      if (failed) {
        for (const step of undo.reverse()) step();
        answers.push({ kind: 'one', answer: failed });
        if (!continueOnError) break;
      } else {
        answers.push({ kind: 'changeSet', answers: done });
      }
    }
    await this.takeTime(items.reduce((n, item) => n + (item.kind === 'operation' ? 1 : item.ops.length), 0));
    const boundary = `batchresponse_${randomUUID()}`;
    res.writeHead(200, { 'content-type': `multipart/mixed; boundary=${boundary}`, 'odata-version': '4.0' });
    res.end(formatBatchAnswer(answers, boundary));
  }

  /** One operation of a batch: `$<n>` in its URL or binds resolved to the records created before it. */
  private batchOperation(op: BatchRequestPart, ids: Map<string, string>): BatchAnswer {
    let target = op.url;
    const ref = /^\$(\d+)(.*)$/.exec(target);
    if (ref) {
      const created = ids.get(ref[1]);
      if (!created) return refusal(400, '0x80048d19', `$${ref[1]} does not name a created record.`);
      target = `${created}${ref[2]}`;
    }
    const url = new URL(target, this.orgUrl);
    const logged: LoggedRequest = { method: op.method, path: url.pathname, query: url.searchParams, headers: op.headers, inBatch: true };
    this.requests.push(logged);
    const injected = this.injection(logged);
    if (injected) return injected;
    const body = op.body.replace(/"\$(\d+)"/g, (whole, n: string) =>
      ids.has(n) ? JSON.stringify(new URL(ids.get(n)!).pathname.slice(API.length)) : whole,
    );
    const answer = this.execute(op.method, url, body, { prefer: op.headers.prefer ?? '', ifMatch: op.headers['if-match'] });
    const entityId = answer.headers?.['odata-entityid'];
    if (op.contentId && entityId) ids.set(op.contentId, entityId);
    return answer;
  }

  // --- Reading.

  private retrieve(set: string, id: string, query: URLSearchParams, annotations: Annotations): Answer {
    const row = this.row(set, id);
    if (!row) throw new Refusal(404, '0x80040217', `${TABLES[set].logicalName} With Id = ${id} Does Not Exist`);
    return { status: 200, body: this.shape(set, row, query, annotations) };
  }

  private query(set: string, url: URL, annotations: Annotations, prefer: string): Answer {
    const q = url.searchParams;
    let rows = [...this.tables.get(set)!.values()];
    const filter = q.get('$filter');
    if (filter) {
      let predicate: (r: Row) => boolean;
      try {
        predicate = parseFilter(filter);
      } catch (err) {
        throw new Refusal(400, '0x80060888', `Syntax error in $filter: ${(err as Error).message}`);
      }
      rows = rows.filter(predicate);
    }
    const orderby = q.get('$orderby');
    if (orderby) {
      const [column, dir] = orderby.trim().split(/\s+/);
      rows.sort((a, b) => String(a[column] ?? '').localeCompare(String(b[column] ?? '')) * (dir === 'desc' ? -1 : 1));
    }
    const top = q.get('$top');
    if (top) rows = rows.slice(0, Number(top));
    const pageSize = Number(/odata\.maxpagesize=(\d+)/.exec(prefer)?.[1] ?? 5000);
    const skip = Number(q.get('$skiptoken') ?? 0);
    const page = rows.slice(skip, skip + pageSize);
    const answer: Row = {
      '@odata.context': `${this.orgUrl}${API}/$metadata#${set}`,
      value: page.map((r) => this.shape(set, r, q, annotations)),
    };
    if (skip + pageSize < rows.length) {
      const next = new URL(url.toString());
      next.searchParams.set('$skiptoken', String(skip + pageSize));
      answer['@odata.nextLink'] = next.toString();
    }
    return {
      status: 200,
      body: answer,
      headers: annotations.formatted
        ? { 'preference-applied': `odata.maxpagesize=${pageSize},odata.include-annotations="OData.Community.Display.V1.FormattedValue"` }
        : {},
    };
  }

  /** A row as the Web API returns it: $select'ed columns, the primary key, annotations, and $expand'ed relations. */
  private shape(set: string, row: Row, q: URLSearchParams, annotations: Annotations): Row {
    const idColumn = TABLES[set].idColumn;
    const select = q
      .get('$select')
      ?.split(',')
      .map((s) => s.trim());
    const out: Row = { '@odata.etag': `W/"${String(row.versionnumber ?? 1)}"` };
    for (const [k, v] of Object.entries(row)) {
      if (k === 'parties' || k.startsWith('$') || (select && !select.includes(k) && k !== idColumn)) continue;
      out[k] = v;
      if (annotations.lookups && k.startsWith('_') && k.endsWith('_value') && typeof v === 'string') {
        const target = this.lookupSet(set, k, row);
        if (target) out[`${k}@Microsoft.Dynamics.CRM.lookuplogicalname`] = TABLES[target].logicalName;
      }
    }
    const expand = q.get('$expand');
    if (expand) for (const part of splitExpand(expand)) this.expand(set, row, part, out, annotations);
    return out;
  }

  private expand(set: string, row: Row, part: string, out: Row, annotations: Annotations): void {
    const m = /^(\w+)(?:\(\$select=([^)]*)\))?$/.exec(part);
    if (!m || set !== 'emails')
      throw new Refusal(
        400,
        '0x80060888',
        `Could not find a property named '${part}' on type 'Microsoft.Dynamics.CRM.${TABLES[set].logicalName}'.`,
      );
    const columns = m[2]?.split(',');
    const pick = (r: Row, id: string): Row => {
      const shaped: Row = {};
      for (const [k, v] of Object.entries(r)) if (!k.startsWith('$') && (!columns || columns.includes(k) || k === id)) shaped[k] = v;
      return shaped;
    };
    if (m[1] === 'email_activity_parties') {
      out.email_activity_parties = ((row.parties as Row[]) ?? []).map((p) => {
        const shaped = pick(p, 'activitypartyid');
        if (annotations.formatted && p._partyid_value && p.$name)
          shaped['_partyid_value@OData.Community.Display.V1.FormattedValue'] = p.$name;
        return shaped;
      });
    } else if (m[1] === 'email_activity_mime_attachment') {
      out.email_activity_mime_attachment = this.attachments(String(row.activityid)).map((a) => pick(a, 'activitymimeattachmentid'));
    } else if (m[1] === 'parentactivityid') {
      const parent = row._parentactivityid_value ? this.row('emails', String(row._parentactivityid_value)) : undefined;
      out.parentactivityid = parent ? pick(parent, 'activityid') : null;
    } else {
      throw new Refusal(400, '0x80060888', `Could not find a property named '${m[1]}' on type 'Microsoft.Dynamics.CRM.email'.`);
    }
  }

  /** The entity set a lookup column of a row points to. */
  private lookupSet(set: string, column: string, row: Row): string | undefined {
    if (column === '_ownerid_value') return String(row.$ownerset ?? 'systemusers');
    if (column === '_regardingobjectid_value') return row.$regardingset as string | undefined;
    if (column === '_parentactivityid_value' || column === '_objectid_value') return 'emails';
    if (column === '_receivingmailboxid_value' || column === '_sendermailboxid_value') return 'mailboxes';
    if (column === '_queueid_value') return 'queues';
    return undefined;
  }

  // --- Writing.

  private create(set: string, payload: Row, q: URLSearchParams, prefer: string): Answer {
    let id: string;
    if (set === 'emails') id = this.newEmail(payload);
    else if (set === 'activitymimeattachments') id = this.add(set, this.newAttachment(payload, undefined));
    else if (set === 'queueitems') id = this.add(set, this.newQueueItem(payload));
    else throw new Refusal(405, '0x80060888', `create ${set} is not supported by this fake`);
    const entityId = `${this.orgUrl}${API}/${set}(${id})`;
    if (/return=representation/.test(prefer))
      return {
        status: 201,
        body: this.shape(set, this.row(set, id)!, q, { formatted: false, lookups: false }),
        headers: { 'odata-entityid': entityId },
      };
    return { status: 204, headers: { 'odata-entityid': entityId } };
  }

  private newEmail(payload: Row): string {
    for (const key of Object.keys(payload)) {
      if (!EMAIL_CREATE_COLUMNS.has(key))
        throw new Refusal(
          400,
          '0x80060891',
          `An undeclared property '${key.replace(/@odata\.bind$/, '')}' which only has property annotations in the payload but no property value was found in the payload.`,
        );
    }
    checkLengths(payload);
    const parties = ((payload.email_activity_parties as Row[] | undefined) ?? []).map((p) => {
      const mask = p.participationtypemask;
      if (typeof mask !== 'number' || mask < 1 || mask > 12)
        throw new Refusal(400, '0x80060891', 'participationtypemask is required (1..12)');
      return this.party(mask, p);
    });
    const values: Row = {
      subject: payload.subject ?? null,
      description: payload.description ?? null,
      directioncode: payload.directioncode ?? true,
      messageid: payload.messageid ?? null,
      submittedby: payload.submittedby ?? null,
      trackingtoken: payload.trackingtoken ?? null,
      sender: parties.find((p) => p.participationtypemask === 1)?.addressused ?? null,
      _parentactivityid_value: null,
      _regardingobjectid_value: null,
      statecode: 0,
      statuscode: 1,
      deliveryattempts: 0,
      parties,
    };
    for (const [key, bind] of Object.entries(EMAIL_BINDS)) {
      if (payload[key] === undefined) continue;
      const [set, target] = this.bound(String(payload[key]), bind.sets, key);
      values[bind.column] = target;
      if (bind.column === '_ownerid_value') values.$ownerset = set;
      if (bind.column === '_regardingobjectid_value') values.$regardingset = set;
    }
    const id = this.add('emails', values);
    for (const a of (payload.email_activity_mime_attachment as Row[] | undefined) ?? [])
      this.add('activitymimeattachments', this.newAttachment(a, id));
    return id;
  }

  /** `/set(id)` of an @odata.bind value, which must name an existing record of one of `sets`. */
  private bound(value: string, sets: string[], key: string): [string, string] {
    const m = /^\/?([a-z]+)\(([0-9a-fA-F-]{36})\)$/.exec(value);
    if (!m || !sets.includes(m[1])) throw new Refusal(400, '0x80060891', `${key}: "${value}" is not a reference to ${sets.join(' or ')}.`);
    if (!this.row(m[1], m[2])) throw new Refusal(400, '0x80040217', `${TABLES[m[1]].logicalName} With Id = ${m[2]} Does Not Exist`);
    return [m[1], m[2].toLowerCase()];
  }

  /** An activity party; a bound party gets its record's address as `addressused`, as Dataverse does. */
  private party(mask: number, p: Row): Row {
    const party: Row = { activitypartyid: randomUUID(), participationtypemask: mask, addressused: null, _partyid_value: null };
    for (const [key, value] of Object.entries(p)) {
      if (key === 'participationtypemask' || key === '@odata.type') continue;
      if (key === 'addressused') {
        party.addressused = value;
        continue;
      }
      const set = PARTY_BINDS[key];
      if (!set || !this.hasTable(set))
        throw new Refusal(
          400,
          '0x80060891',
          `An undeclared property '${key.replace(/@odata\.bind$/, '')}' which only has property annotations in the payload but no property value was found in the payload.`,
        );
      const [, id] = this.bound(String(value), [set], key);
      const target = this.row(set, id)!;
      const def = TABLES[set];
      party._partyid_value = id;
      party.$name = target[def.nameColumn];
      party.addressused ??= def.emailColumns.map((c) => target[c]).find((v) => typeof v === 'string') ?? null;
    }
    checkLengths(party);
    return party;
  }

  /** An attachment: bound to an email with objectid_email (or created inside the email's deep insert). */
  private newAttachment(payload: Row, emailId: string | undefined): Row {
    const allowed = new Set([
      'objectid_email@odata.bind',
      'objecttypecode',
      'filename',
      'mimetype',
      'body',
      'subject',
      'attachmentcontentid',
    ]);
    for (const key of Object.keys(payload))
      if (!allowed.has(key)) throw new Refusal(400, '0x80060891', `An undeclared property '${key}' was found in the payload.`);
    checkLengths(payload);
    let id = emailId;
    if (!id) {
      if (payload.objecttypecode !== 'email')
        throw new Refusal(400, '0x80060891', 'objecttypecode must be "email" for an attachment bound with objectid_email');
      [, id] = this.bound(String(payload['objectid_email@odata.bind'] ?? ''), ['emails'], 'objectid_email@odata.bind');
    }
    // Attachments go onto open activities; a closed (completed) email is read-only.
    if (this.row('emails', id)!.statecode !== 0) throw new Refusal(400, '0x80040203', 'Cannot add an attachment to a closed activity.');
    const body = String(payload.body ?? '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new Refusal(400, '0x80060891', 'body must be base64');
    return {
      _objectid_value: id,
      objecttypecode: 'email',
      filename: payload.filename ?? null,
      mimetype: payload.mimetype ?? null,
      body,
      filesize: Buffer.from(body, 'base64').length,
      attachmentcontentid: payload.attachmentcontentid ?? null,
    };
  }

  private newQueueItem(payload: Row): Row {
    const allowed = new Set(['queueid@odata.bind', 'objectid_email@odata.bind']);
    for (const key of Object.keys(payload))
      if (!allowed.has(key))
        throw new Refusal(400, '0x80060891', `An undeclared property '${key.replace(/@odata\.bind$/, '')}' was found in the payload.`);
    const [, queue] = this.bound(String(payload['queueid@odata.bind'] ?? ''), ['queues'], 'queueid@odata.bind');
    const [, email] = this.bound(String(payload['objectid_email@odata.bind'] ?? ''), ['emails'], 'objectid_email@odata.bind');
    return { _queueid_value: queue, _objectid_value: email, objecttypecode: 4202, title: this.row('emails', email)!.subject };
  }

  private update(set: string, id: string, payload: Row, ifMatch: string | undefined): Answer {
    const row = this.row(set, id);
    // If-Match: * (the connector always sends one) turns a would-be upsert into a 404.
    if (!row) throw new Refusal(404, '0x80040217', `${TABLES[set].logicalName} With Id = ${id} Does Not Exist`);
    if (ifMatch && ifMatch !== '*' && ifMatch !== `W/"${String(row.versionnumber ?? 1)}"`)
      throw new Refusal(412, '0x80060882', "The version of the existing record doesn't match the RowVersion property provided.");
    if (set === 'mailboxes') {
      for (const key of Object.keys(payload))
        if (!MAILBOX_UPDATE_COLUMNS.has(key))
          throw new Refusal(400, '0x80060891', `An undeclared property '${key}' was found in the payload.`);
      this.change(row, payload);
      return { status: 204 };
    }
    if (set !== 'emails') throw new Refusal(405, '0x80060888', `update ${set} is not supported by this fake`);
    for (const key of Object.keys(payload))
      if (!EMAIL_UPDATE_COLUMNS.has(key)) throw new Refusal(400, '0x80060891', `An undeclared property '${key}' was found in the payload.`);
    checkLengths(payload);
    const status = Number(payload.statuscode ?? row.statuscode);
    const state = Number(payload.statecode ?? row.statecode);
    if (('statuscode' in payload || 'statecode' in payload) && EMAIL_STATE_OF_STATUS[status] !== state)
      throw new Refusal(400, '0x80040203', `${status} is not a valid status code for state code EmailState.${state}`);
    // A closed activity keeps its content: only its state changes (and the send pipeline's columns while it is being sent).
    if (row.statecode !== 0) {
      const sending = row.statuscode === PENDING_SEND || row.statuscode === SENDING;
      const other = Object.keys(payload).filter((k) => k !== 'statecode' && k !== 'statuscode' && !(sending && DELIVERY_COLUMNS.has(k)));
      if (other.length)
        throw new Refusal(
          400,
          '0x80040203',
          `This email is closed (status ${String(row.statuscode)}) and cannot be edited: ${other.join(', ')}.`,
        );
    }
    this.change(row, payload);
    return { status: 204 };
  }

  // --- Actions and functions.

  /** SendEmail: IssueSend true queues a draft (Pending Send); false "just records it as sent". */
  private sendEmail(id: string, payload: Row): Answer {
    const row = this.row('emails', id);
    if (!row) throw new Refusal(404, '0x80040217', `email With Id = ${id} Does Not Exist`);
    if (typeof payload.IssueSend !== 'boolean') throw new Refusal(400, '0x80040203', 'IssueSend is required.');
    const token = typeof payload.TrackingToken === 'string' && payload.TrackingToken ? { trackingtoken: payload.TrackingToken } : {};
    if (payload.IssueSend) {
      if (row.statuscode !== 1) throw new Refusal(400, '0x8004360d', 'The email must be a draft to be sent.');
      this.change(row, { statecode: 1, statuscode: PENDING_SEND, ...token });
    } else {
      if (![1, PENDING_SEND, SENDING].includes(Number(row.statuscode)))
        throw new Refusal(400, '0x8004360d', `The email cannot be recorded as sent from status ${String(row.statuscode)}.`);
      this.change(row, { statecode: 1, statuscode: SENT, ...token });
    }
    return {
      status: 200,
      body: { '@odata.context': `${this.orgUrl}${API}/$metadata#Microsoft.Dynamics.CRM.SendEmailResponse`, Subject: row.subject },
    };
  }

  /** BackgroundSendEmail: the emails a FetchExpression query finds (it must query `email`). */
  private backgroundSendEmail(payload: Row): Answer {
    const query = payload.Query as Row | undefined;
    if (!query || query['@odata.type'] !== 'Microsoft.Dynamics.CRM.FetchExpression' || typeof query.Query !== 'string') {
      throw new Refusal(400, '0x80040203', 'Query must be a Microsoft.Dynamics.CRM.FetchExpression with its FetchXML in "Query".');
    }
    let fetch;
    try {
      fetch = parseFetchXml(query.Query);
    } catch (err) {
      throw new Refusal(400, '0x80041102', (err as Error).message);
    }
    if (fetch.entity !== 'email') throw new Refusal(400, '0x80040203', 'The query must specify an entity name of "email".');
    let rows = [...this.tables.get('emails')!.values()].filter(fetch.predicate);
    if (fetch.order)
      rows.sort(
        (a, b) =>
          String(a[fetch.order!.attribute] ?? '').localeCompare(String(b[fetch.order!.attribute] ?? '')) *
          (fetch.order!.descending ? -1 : 1),
      );
    if (fetch.top !== undefined) rows = rows.slice(0, fetch.top);
    const entities = rows.map((r) => Object.fromEntries([['activityid', r.activityid], ...fetch.attributes.map((a) => [a, r[a] ?? null])]));
    return {
      status: 200,
      body: { EntityCollection: entities, HasAttachments: rows.map((r) => this.attachments(String(r.activityid)).length > 0) },
    };
  }

  private initializeDownload(payload: Row): Answer {
    const target = payload.Target as Row | undefined;
    const row =
      target && typeof target.activitymimeattachmentid === 'string'
        ? this.row('activitymimeattachments', target.activitymimeattachmentid)
        : undefined;
    if (!target || target['@odata.type'] !== 'Microsoft.Dynamics.CRM.activitymimeattachment' || !row)
      throw new Refusal(404, '0x80040217', 'activitymimeattachment Does Not Exist');
    const token = randomUUID();
    const content = Buffer.from(String(row.body ?? ''), 'base64');
    this.downloads.set(token, content);
    return { status: 200, body: { FileContinuationToken: token, FileSizeInBytes: content.length, FileName: row.filename } };
  }

  private downloadBlock(payload: Row): Answer {
    const content = this.downloads.get(String(payload.FileContinuationToken ?? ''));
    const offset = Number(payload.Offset);
    const length = Number(payload.BlockLength);
    if (!content) throw new Refusal(400, '0x80090001', 'The file continuation token is not valid.');
    if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(length) || length < 1 || length > MAX_BLOCK)
      throw new Refusal(400, '0x80090001', 'Offset and BlockLength (at most 4 MB) are required.');
    return { status: 200, body: { Data: content.subarray(offset, offset + length).toString('base64') } };
  }

  /**
   * CheckIncomingEmail, with the reason codes of CheckIncomingEmailResponse.ReasonCode: Duplicate
   * when an incoming email has this Message-ID; CorrelationMatch for a known tracking token;
   * AcceptAll when a recipient is a queue; SenderMatch when the sender is a contact, lead or
   * account and a recipient is a user; NoRecipientMatch otherwise.
   */
  private checkIncomingEmail(resource: string, params: URLSearchParams): Answer {
    const names = /^CheckIncomingEmail\((.*)\)$/.exec(resource)?.[1].split(',') ?? [];
    const value = (name: string): string => {
      const alias = names.find((n) => n.startsWith(`${name}=`))?.slice(name.length + 1);
      const literal = alias ? params.get(alias) : undefined;
      if (literal === undefined || literal === null || !/^'.*'$/s.test(literal))
        throw new Refusal(400, '0x80040203', `Parameter ${name} is required as a string literal.`);
      return literal.slice(1, -1).replace(/''/g, "'");
    };
    const messageId = value('MessageId');
    const [subject, from, to, cc] = ['Subject', 'From', 'To', 'Cc'].map(value);
    value('Bcc');
    const recipients = `${to};${cc}`.split(';').filter(Boolean);
    const answer = (deliver: boolean, code: number): Answer => ({ status: 200, body: { ShouldDeliver: deliver, ReasonCode: code } });
    if (this.emails().some((e) => e.directioncode === false && String(e.messageid).toLowerCase() === messageId.toLowerCase()))
      return answer(false, 0);
    const token = /CRM:\d{7,}/.exec(subject)?.[0];
    if (token)
      return answer(
        this.emails().some((e) => e.trackingtoken === token),
        this.emails().some((e) => e.trackingtoken === token) ? 2 : 1,
      );
    if (recipients.some((r) => this.findByEmail('queues', r))) return answer(true, 6);
    const sender = ['contacts', 'leads', 'accounts'].some((s) => this.hasTable(s) && this.findByEmail(s, from));
    if (sender && recipients.some((r) => this.findByEmail('systemusers', r))) return answer(true, 5);
    return answer(false, 3);
  }

  private entityDefinitions(q: URLSearchParams): Answer {
    let rows = Object.values(TABLES).map((d) => ({ LogicalName: d.logicalName, EntitySetName: ENTITY_SET_OF[d.logicalName] }));
    const filter = q.get('$filter');
    if (filter) rows = rows.filter(parseFilter(filter));
    return { status: 200, body: { value: rows } };
  }

  /** Test-only endpoints for a fake running in another process; no authentication (loopback only). */
  private handleTest(method: string, url: URL, res: http.ServerResponse): void {
    if (method === 'GET' && url.pathname === '/_test/stats') {
      const incoming = this.emails().filter((e) => e.directioncode === false);
      return sendJson(res, 200, { httpRequests: this.httpRequests, incoming: incoming.length, throttled: this.throttled });
    }
    if (method === 'GET' && url.pathname === '/_test/emails') {
      const submittedby = url.searchParams.get('submittedby')?.toLowerCase();
      const emails = this.emails().filter(
        (e) => e.directioncode === false && (!submittedby || String(e.submittedby).toLowerCase() === submittedby),
      );
      return sendJson(res, 200, {
        emails: emails.map((e) => ({
          activityid: e.activityid,
          messageid: e.messageid,
          submittedby: e.submittedby,
          statuscode: e.statuscode,
        })),
      });
    }
    sendJson(res, 404, { error: { code: 'not_found', message: 'no such test endpoint' } });
  }
}

interface Annotations {
  formatted: boolean;
  lookups: boolean;
}

/** `a($select=x,y),b` -> ['a($select=x,y)', 'b']: commas inside parentheses belong to the option. */
function splitExpand(expand: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < expand.length; i++) {
    if (expand[i] === '(') depth++;
    else if (expand[i] === ')') depth--;
    else if (expand[i] === ',' && depth === 0) {
      out.push(expand.slice(start, i));
      start = i + 1;
    }
  }
  out.push(expand.slice(start));
  return out.map((s) => s.trim()).filter(Boolean);
}

function checkLengths(values: Row): void {
  for (const [k, max] of Object.entries(COLUMN_MAX)) {
    const v = values[k];
    if (typeof v === 'string' && v.length > max)
      throw new Refusal(
        400,
        '0x80044331',
        `A validation error occurred. The length of the '${k}' attribute exceeded the maximum allowed length of '${max}'.`,
      );
  }
}

function refusal(status: number, code: string, message: string, headers: Record<string, string> = {}): Answer {
  return { status, body: { error: { code, message } }, headers };
}

export function reply(res: http.ServerResponse, a: Answer): void {
  if (a.body === undefined) {
    res.writeHead(a.status, a.headers ?? {});
    res.end();
    return;
  }
  sendJson(res, a.status, a.body, a.headers ?? {});
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Standalone: `node dist/test/support/fake-crm-dynamics.js` prints one JSON line with `orgUrl`,
 * `authorityUrl`, `caPem` and the client (`tenantId`, `clientId`, `clientSecret`), and creates a
 * user mailbox for each address in $USERS (comma-separated); $OPERATION_MS sets operationMs.
 */
async function main(): Promise<void> {
  const client = {
    tenantId: 'crash-tenant',
    clientId: '6f1c2d3e-4444-4b4b-8c8c-abcdefabcdef',
    clientSecret: process.env.CLIENT_SECRET ?? 'dyn~Crash.Secret_0123456789abcdef',
  };
  const fake = await FakeDynamics.start({ clients: [client], operationMs: Number(process.env.OPERATION_MS ?? 0) });
  for (const address of (process.env.USERS ?? '').split(',').filter(Boolean)) fake.addUser(address, address);
  process.stdout.write(`${JSON.stringify({ orgUrl: fake.orgUrl, authorityUrl: fake.authorityUrl, caPem: fake.caPem, ...client })}\n`);
  const stop = (): void => void fake.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
