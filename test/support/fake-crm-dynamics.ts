// A fake Dataverse Web API (v9.2) for the parts the Dynamics 365 connector uses, built from
// Microsoft's public documentation: the Email, ActivityParty and ActivityMimeAttachment table
// references (columns, option sets, navigation property names) and the Web API pages on
// querying ($select, $filter, $orderby, $expand, Prefer: odata.maxpagesize, @odata.nextLink),
// creating with deep insert (`email_activity_parties`, `@odata.bind`), updating (PATCH with
// If-Match: *), and the service protection limits (429 with Retry-After).
//
// It serves HTTPS with the test CA, accepts only bearer tokens issued by its FakeOAuth token
// endpoint for this environment's audience, and refuses what Dataverse refuses and the connector
// could get wrong: undeclared properties (a misspelt column or navigation property), values
// longer than the column, a statuscode that does not belong to the statecode sent with it.
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { FakeOAuth, type FakeClient } from './fake-oauth.js';
import { sendJson, startHttpsServer, type HttpsServer } from './https-server.js';

const API = '/api/data/v9.2';

/** email.statuscode -> the statecode it belongs to (Email table reference, StatusCode choices). */
const EMAIL_STATE_OF_STATUS: Record<number, number> = { 1: 0, 2: 1, 3: 1, 4: 1, 5: 2, 6: 1, 7: 1, 8: 0 };

type Row = Record<string, unknown>;

interface EntityDef {
  idColumn: string;
  /** Column holding the display name, for FormattedValue annotations. */
  nameColumn: string;
  emailColumns: string[];
}

const PARTY_ENTITIES: Record<string, EntityDef> = {
  contacts: { idColumn: 'contactid', nameColumn: 'fullname', emailColumns: ['emailaddress1', 'emailaddress2', 'emailaddress3'] },
  leads: { idColumn: 'leadid', nameColumn: 'fullname', emailColumns: ['emailaddress1', 'emailaddress2', 'emailaddress3'] },
  accounts: { idColumn: 'accountid', nameColumn: 'name', emailColumns: ['emailaddress1', 'emailaddress2', 'emailaddress3'] },
  systemusers: { idColumn: 'systemuserid', nameColumn: 'fullname', emailColumns: ['internalemailaddress'] },
  queues: { idColumn: 'queueid', nameColumn: 'name', emailColumns: ['emailaddress'] },
};

/** `partyid_<logical name>@odata.bind` -> entity set (ActivityParty PartyId targets). */
const PARTY_BINDS: Record<string, string> = {
  'partyid_contact@odata.bind': 'contacts',
  'partyid_lead@odata.bind': 'leads',
  'partyid_account@odata.bind': 'accounts',
  'partyid_systemuser@odata.bind': 'systemusers',
  'partyid_queue@odata.bind': 'queues',
};

const EMAIL_CREATE_COLUMNS = new Set(['subject', 'description', 'directioncode', 'messageid', 'submittedby', 'email_activity_parties', 'parentactivityid@odata.bind', 'trackingtoken', 'category']);
const EMAIL_UPDATE_COLUMNS = new Set(['statecode', 'statuscode', 'messageid', 'deliveryattempts', 'actualend', 'subject', 'description']);
const COLUMN_MAX: Record<string, number> = { subject: 800, messageid: 320, submittedby: 250, addressused: 320, filename: 255, trackingtoken: 50 };

/**
 * More entity sets of the same environment, served by another module (the email configuration
 * tables: test/support/fake-dataverse-config.ts). Asked first, after authentication and throttling:
 * it answers and returns true, or returns false to leave the request to this fake.
 */
export interface DataverseExtension {
  handle(req: { method: string; resource: string; url: URL; body: string; prefer: string }, res: http.ServerResponse): boolean;
}

export interface FakeDynamicsOptions {
  clients: FakeClient[];
  /** An environment without Dynamics 365 Sales has no `leads` table. */
  withoutLeads?: boolean;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
}

export interface FakeEmail extends Row {
  activityid: string;
  statecode: number;
  statuscode: number;
  parties: Row[];
}

export class FakeDynamics {
  /** An environment without Dynamics 365 Sales has no `leads` table. */
  withoutLeads: boolean;
  readonly requests: LoggedRequest[] = [];
  throttled = 0;
  private readonly tables = new Map<string, Map<string, Row>>();
  private throttle?: { remaining: number; retryAfterSec: number };
  private readonly injected: Array<{ matches: (r: LoggedRequest) => boolean; status: number; remaining: number }> = [];
  private clock = Date.parse('2025-01-01T00:00:00Z');
  private readonly extensions: DataverseExtension[] = [];

  private constructor(
    private readonly server: HttpsServer,
    readonly oauth: FakeOAuth,
    options: FakeDynamicsOptions,
  ) {
    this.withoutLeads = options.withoutLeads ?? false;
    for (const set of [...Object.keys(PARTY_ENTITIES), 'emails', 'activitymimeattachments']) this.tables.set(set, new Map());
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

  /** The next `count` API requests get 429 with Retry-After (service protection limits). */
  throttleNext(count: number, retryAfterSec = 5): void {
    this.throttle = { remaining: count, retryAfterSec };
  }

  /** The next `times` requests that match get `status` (a 5xx, say) instead of an answer. */
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

  addUser(email: string, fullname = 'A User'): string {
    return this.add('systemusers', { fullname, internalemailaddress: email });
  }

  addQueue(email: string, name = 'A Queue'): string {
    return this.add('queues', { name, emailaddress: email });
  }

  /** An email written in the CRM and sent with SendEmail: Pending Send unless told otherwise. */
  addOutgoingEmail(e: { fromUserId: string; to: string[]; cc?: string[]; subject: string; description?: string; statuscode?: number; trackingtoken?: string }): string {
    const from = this.row('systemusers', e.fromUserId)!;
    const statuscode = e.statuscode ?? 6;
    const parties: Row[] = [this.party(1, { 'partyid_systemuser@odata.bind': `/systemusers(${e.fromUserId})` })!];
    for (const [mask, list] of [[2, e.to], [3, e.cc ?? []]] as const) {
      for (const address of list) {
        const contact = this.findByEmail('contacts', address);
        parties.push(this.party(mask, contact ? { 'partyid_contact@odata.bind': `/contacts(${contact})` } : { addressused: address })!);
      }
    }
    return this.add('emails', {
      subject: e.subject,
      description: e.description ?? null,
      directioncode: true,
      sender: from.internalemailaddress,
      statecode: EMAIL_STATE_OF_STATUS[statuscode],
      statuscode,
      deliveryattempts: 0,
      trackingtoken: e.trackingtoken ?? null,
      messageid: null,
      parties,
    });
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

  private add(set: string, values: Row): string {
    const def = PARTY_ENTITIES[set];
    const id = randomUUID();
    const idColumn = def?.idColumn ?? (set === 'emails' ? 'activityid' : 'activitymimeattachmentid');
    this.clock += 1000;
    this.tables.get(set)!.set(id, { ...values, [idColumn]: id, createdon: new Date(this.clock).toISOString() });
    return id;
  }

  private row(set: string, id: string): Row | undefined {
    return this.tables.get(set)?.get(id.toLowerCase());
  }

  private findByEmail(set: string, address: string): string | undefined {
    const def = PARTY_ENTITIES[set];
    for (const [id, r] of this.tables.get(set)!) if (def.emailColumns.some((c) => typeof r[c] === 'string' && (r[c] as string).toLowerCase() === address.toLowerCase())) return id;
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): Promise<void> {
    const url = new URL(req.url ?? '/', this.orgUrl);
    const method = req.method ?? 'GET';
    const logged: LoggedRequest = { method, path: url.pathname, query: url.searchParams, headers: req.headers };
    this.requests.push(logged);
    if (!url.pathname.startsWith(`${API}/`)) return odataError(res, 404, '0x8006088a', `Resource not found for the segment '${url.pathname}'.`);

    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const issued = token ? this.oauth.validate(token) : undefined;
    if (!issued || issued.scope !== `${this.orgUrl}/.default`) {
      res.writeHead(401, { 'www-authenticate': `Bearer authorization_uri=${this.oauth.authorityUrl}/common/oauth2/authorize, resource_id=${this.orgUrl}` });
      return void res.end();
    }
    if (this.throttle && this.throttle.remaining > 0) {
      this.throttle.remaining--;
      this.throttled++;
      return odataError(res, 429, '0x80072322', 'Number of requests exceeded the limit of 6000 over time window of 300 seconds.', { 'retry-after': String(this.throttle.retryAfterSec) });
    }

    const injected = this.injected.find((f) => f.remaining > 0 && f.matches(logged));
    if (injected) {
      injected.remaining--;
      return odataError(res, injected.status, '0x80040216', 'An unexpected error occurred (injected).');
    }

    const resource = url.pathname.slice(API.length + 1);
    if (this.extensions.some((x) => x.handle({ method, resource, url, body, prefer: String(req.headers.prefer ?? '') }, res))) return;
    if (method === 'GET' && resource === 'WhoAmI') {
      return sendJson(res, 200, { '@odata.context': `${this.orgUrl}${API}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`, BusinessUnitId: randomUUID(), UserId: randomUUID(), OrganizationId: randomUUID() });
    }
    const m = /^([a-z]+)(?:\(([0-9a-fA-F-]{36})\))?$/.exec(resource);
    const set = m?.[1];
    if (!m || !set || !this.tables.has(set) || (set === 'leads' && this.withoutLeads)) {
      return odataError(res, 404, '0x8006088a', `Resource not found for the segment '${resource.replace(/\(.*$/, '')}'.`);
    }
    const id = m[2]?.toLowerCase();
    const annotations = /OData\.Community\.Display\.V1\.FormattedValue|\*/.test(String(req.headers.prefer ?? ''));
    if (method === 'GET' && id) return this.retrieve(set, id, url.searchParams, annotations, res);
    if (method === 'GET') return this.query(set, url, annotations, String(req.headers.prefer ?? ''), res);
    let payload: Row;
    try {
      payload = JSON.parse(body) as Row;
    } catch {
      return odataError(res, 400, '0x80040224', 'The request body is not valid JSON.');
    }
    if (method === 'POST' && !id) return this.create(set, payload, url.searchParams, String(req.headers.prefer ?? ''), res);
    if (method === 'PATCH' && id) return this.update(set, id, payload, res);
    odataError(res, 405, '0x80060888', `The HTTP method '${method}' is not allowed here.`);
  }

  private retrieve(set: string, id: string, query: URLSearchParams, annotations: boolean, res: http.ServerResponse): void {
    const row = this.row(set, id);
    if (!row) return odataError(res, 404, '0x80040217', `${set.replace(/s$/, '')} With Id = ${id} Does Not Exist`);
    sendJson(res, 200, this.shape(set, row, query, annotations));
  }

  private query(set: string, url: URL, annotations: boolean, prefer: string, res: http.ServerResponse): void {
    const q = url.searchParams;
    let rows = [...this.tables.get(set)!.values()];
    const filter = q.get('$filter');
    if (filter) {
      let predicate: (r: Row) => boolean;
      try {
        predicate = parseFilter(filter);
      } catch (err) {
        return odataError(res, 400, '0x80060888', `Syntax error in $filter: ${(err as Error).message}`);
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
    const answer: Row = { '@odata.context': `${this.orgUrl}${API}/$metadata#${set}`, value: page.map((r) => this.shape(set, r, q, annotations)) };
    if (skip + pageSize < rows.length) {
      const next = new URL(url.toString());
      next.searchParams.set('$skiptoken', String(skip + pageSize));
      answer['@odata.nextLink'] = next.toString();
    }
    sendJson(res, 200, answer, annotations ? { 'preference-applied': `odata.maxpagesize=${pageSize},odata.include-annotations="OData.Community.Display.V1.FormattedValue"` } : {});
  }

  /** A row as the Web API returns it: $select'ed columns, the primary key, and $expand'ed parties. */
  private shape(set: string, row: Row, q: URLSearchParams, annotations: boolean): Row {
    const idColumn = PARTY_ENTITIES[set]?.idColumn ?? (set === 'emails' ? 'activityid' : 'activitymimeattachmentid');
    const select = q.get('$select')?.split(',').map((s) => s.trim());
    const out: Row = { '@odata.etag': `W/"${row.createdon ? Date.parse(String(row.createdon)) : 0}"` };
    for (const [k, v] of Object.entries(row)) if (k !== 'parties' && (!select || select.includes(k) || k === idColumn)) out[k] = v;
    const expand = q.get('$expand');
    if (expand && set === 'emails') {
      const m = /^email_activity_parties(?:\(\$select=([^)]*)\))?$/.exec(expand);
      if (!m) throw new Error(`unsupported $expand ${expand}`);
      const columns = m[1]?.split(',');
      out.email_activity_parties = ((row.parties as Row[]) ?? []).map((p) => {
        const shaped: Row = {};
        for (const [k, v] of Object.entries(p)) if (!k.startsWith('$') && (!columns || columns.includes(k) || k === 'activitypartyid')) shaped[k] = v;
        if (annotations && p._partyid_value && p.$name) shaped['_partyid_value@OData.Community.Display.V1.FormattedValue'] = p.$name;
        return shaped;
      });
    }
    return out;
  }

  private create(set: string, payload: Row, q: URLSearchParams, prefer: string, res: http.ServerResponse): void {
    let values: Row;
    try {
      values = set === 'emails' ? this.newEmail(payload) : set === 'activitymimeattachments' ? this.newAttachment(payload) : fail(405, `create ${set} is not supported by this fake`);
    } catch (err) {
      const e = err as Error & { status?: number };
      return odataError(res, e.status ?? 400, '0x80060891', e.message);
    }
    const id = this.add(set, values);
    const entityId = `${this.orgUrl}${API}/${set}(${id})`;
    if (/return=representation/.test(prefer)) return sendJson(res, 201, this.shape(set, this.row(set, id)!, q, false), { 'odata-entityid': entityId });
    res.writeHead(204, { 'odata-entityid': entityId });
    res.end();
  }

  private newEmail(payload: Row): Row {
    for (const key of Object.keys(payload)) {
      if (!EMAIL_CREATE_COLUMNS.has(key)) fail(400, `An undeclared property '${key.replace(/@odata\.bind$/, '')}' which only has property annotations in the payload but no property value was found in the payload.`);
    }
    checkLengths(payload);
    const parties = ((payload.email_activity_parties as Row[] | undefined) ?? []).map((p) => {
      const mask = p.participationtypemask;
      if (typeof mask !== 'number' || mask < 1 || mask > 12) fail(400, 'participationtypemask is required (1..12)');
      return this.party(mask, p);
    });
    let parent: string | null = null;
    const parentBind = payload['parentactivityid@odata.bind'];
    if (parentBind !== undefined) {
      const m = /^\/?emails\(([0-9a-fA-F-]{36})\)$/.exec(String(parentBind));
      if (!m || !this.row('emails', m[1])) fail(400, `email With Id = ${m?.[1] ?? String(parentBind)} Does Not Exist`);
      parent = m![1].toLowerCase();
    }
    const sender = parties.find((p) => p!.participationtypemask === 1);
    return {
      subject: payload.subject ?? null,
      description: payload.description ?? null,
      directioncode: payload.directioncode ?? true,
      messageid: payload.messageid ?? null,
      submittedby: payload.submittedby ?? null,
      trackingtoken: payload.trackingtoken ?? null,
      sender: sender?.addressused ?? null,
      _parentactivityid_value: parent,
      statecode: 0,
      statuscode: 1,
      deliveryattempts: 0,
      parties,
    };
  }

  /** An activity party; a bound party gets its record's address as `addressused`, as Dataverse does. */
  private party(mask: number, p: Row): Row | undefined {
    const party: Row = { activitypartyid: randomUUID(), participationtypemask: mask, addressused: null, _partyid_value: null };
    for (const [key, value] of Object.entries(p)) {
      if (key === 'participationtypemask' || key === '@odata.type') continue;
      if (key === 'addressused') {
        party.addressused = value;
        continue;
      }
      const set = PARTY_BINDS[key];
      if (!set || (set === 'leads' && this.withoutLeads)) fail(400, `An undeclared property '${key.replace(/@odata\.bind$/, '')}' which only has property annotations in the payload but no property value was found in the payload.`);
      const m = new RegExp(`^/?${set}\\(([0-9a-fA-F-]{36})\\)$`).exec(String(value));
      const target = m ? this.row(set!, m[1]) : undefined;
      if (!m || !target) fail(400, `${set} record ${String(value)} Does Not Exist`);
      const def = PARTY_ENTITIES[set!];
      party._partyid_value = m![1].toLowerCase();
      party.$name = target![def.nameColumn];
      party.addressused ??= def.emailColumns.map((c) => target![c]).find((v) => typeof v === 'string') ?? null;
    }
    checkLengths(party);
    return party;
  }

  private newAttachment(payload: Row): Row {
    const allowed = new Set(['objectid_activitypointer@odata.bind', 'objecttypecode', 'filename', 'mimetype', 'body', 'subject']);
    for (const key of Object.keys(payload)) if (!allowed.has(key)) fail(400, `An undeclared property '${key}' was found in the payload.`);
    checkLengths(payload);
    const m = /^\/?activitypointers\(([0-9a-fA-F-]{36})\)$/.exec(String(payload['objectid_activitypointer@odata.bind'] ?? ''));
    const email = m ? this.row('emails', m[1]) : undefined;
    if (!email || payload.objecttypecode !== 'email') fail(400, 'objectid must bind an existing email activity, with objecttypecode "email"');
    // Attachments go onto open activities; a closed (completed) email is read-only.
    if (email!.statecode !== 0) fail(400, 'Cannot add an attachment to a closed activity.');
    const body = String(payload.body ?? '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) fail(400, 'body must be base64');
    return { _objectid_value: m![1].toLowerCase(), objecttypecode: 'email', filename: payload.filename ?? null, mimetype: payload.mimetype ?? null, body, filesize: Buffer.from(body, 'base64').length };
  }

  private update(set: string, id: string, payload: Row, res: http.ServerResponse): void {
    const row = this.row(set, id);
    // If-Match: * (the connector always sends it) turns a would-be upsert into a 404.
    if (!row) return odataError(res, 404, '0x80040217', `${set.replace(/s$/, '')} With Id = ${id} Does Not Exist`);
    if (set !== 'emails') return odataError(res, 405, '0x80060888', `update ${set} is not supported by this fake`);
    for (const key of Object.keys(payload)) {
      if (!EMAIL_UPDATE_COLUMNS.has(key)) return odataError(res, 400, '0x80060891', `An undeclared property '${key}' was found in the payload.`);
    }
    try {
      checkLengths(payload);
    } catch (err) {
      return odataError(res, 400, '0x80044331', (err as Error).message);
    }
    if ('statuscode' in payload || 'statecode' in payload) {
      const status = Number(payload.statuscode ?? row.statuscode);
      const state = Number(payload.statecode ?? row.statecode);
      if (EMAIL_STATE_OF_STATUS[status] !== state) return odataError(res, 400, '0x80040203', `${status} is not a valid status code for state code EmailState.${state}`);
    }
    Object.assign(row, payload);
    res.writeHead(204);
    res.end();
  }
}

function fail(status: number, message: string): never {
  throw Object.assign(new Error(message), { status });
}

function checkLengths(values: Row): void {
  for (const [k, max] of Object.entries(COLUMN_MAX)) {
    const v = values[k];
    if (typeof v === 'string' && v.length > max) fail(400, `A validation error occurred. The length of the '${k}' attribute exceeded the maximum allowed length of '${max}'.`);
  }
}

function odataError(res: http.ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code, message } }, headers);
}

// --- $filter: comparisons (eq, ne) of a column with a literal, combined with and/or and parentheses.

type Token = { kind: 'open' | 'close' } | { kind: 'string'; value: string } | { kind: 'word'; value: string };

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\()|(\))|'((?:[^']|'')*)'|([A-Za-z0-9_.-]+))/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < filter.length && (m = re.exec(filter))) {
    if (m[1]) tokens.push({ kind: 'open' });
    else if (m[2]) tokens.push({ kind: 'close' });
    else if (m[3] !== undefined) tokens.push({ kind: 'string', value: m[3].replace(/''/g, "'") });
    else tokens.push({ kind: 'word', value: m[4] });
  }
  if (re.lastIndex < filter.trimEnd().length) throw new Error(`unexpected text at ${re.lastIndex}`);
  return tokens;
}

function parseFilter(filter: string): (r: Row) => boolean {
  const tokens = tokenize(filter);
  let i = 0;
  const word = (w: string): boolean => {
    const t = tokens[i];
    if (t?.kind === 'word' && t.value === w) {
      i++;
      return true;
    }
    return false;
  };
  const or = (): ((r: Row) => boolean) => {
    const parts = [and()];
    while (word('or')) parts.push(and());
    return (r) => parts.some((p) => p(r));
  };
  const and = (): ((r: Row) => boolean) => {
    const parts = [primary()];
    while (word('and')) parts.push(primary());
    return (r) => parts.every((p) => p(r));
  };
  const primary = (): ((r: Row) => boolean) => {
    if (tokens[i]?.kind === 'open') {
      i++;
      const inner = or();
      if (tokens[i++]?.kind !== 'close') throw new Error('missing )');
      return inner;
    }
    const column = tokens[i++];
    if (column?.kind !== 'word') throw new Error('expected a column name');
    const op = tokens[i++];
    if (op?.kind !== 'word' || (op.value !== 'eq' && op.value !== 'ne')) throw new Error(`unsupported operator after ${column.value}`);
    const literal = literalValue(tokens[i++]);
    const eq = (r: Row): boolean => {
      const v = r[column.value];
      if (typeof v === 'string' && typeof literal === 'string') return v.toLowerCase() === literal.toLowerCase();
      return (v ?? null) === literal;
    };
    return op.value === 'eq' ? eq : (r) => !eq(r);
  };
  const result = or();
  if (i !== tokens.length) throw new Error('unexpected trailing tokens');
  return result;
}

function literalValue(t: Token | undefined): unknown {
  if (!t || !('value' in t)) throw new Error('expected a value');
  if (t.kind === 'string') return t.value;
  if (t.value === 'true') return true;
  if (t.value === 'false') return false;
  if (t.value === 'null') return null;
  if (/^-?\d+(\.\d+)?$/.test(t.value)) return Number(t.value);
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(t.value)) return t.value.toLowerCase();
  throw new Error(`unexpected word ${t.value}`);
}
