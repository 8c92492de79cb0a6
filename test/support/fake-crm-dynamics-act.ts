// Appointments, contacts and tasks of a fake Dataverse environment, plugged into FakeDynamics
// (fake-crm-dynamics.ts) with its `extend` hook, as the Web API serves them (Appointment, Task,
// Contact and ActivityParty table references; "Use change tracking to synchronize data with
// external systems"), plus the link table an administrator creates (msync_actlink, docs/crm.md).
//
//   - change tracking: a GET with `Prefer: odata.track-changes` pages through the table
//     (odata.maxpagesize, @odata.nextLink) and ends with an @odata.deltaLink carrying a
//     $deltatoken; following it returns the rows created or changed since, as they are now, and
//     `{"@odata.context": ".../$metadata#<set>/$deletedEntity", "id": ...}` for rows deleted since.
//     Like Dataverse it refuses $filter, $expand, $orderby and $top with change tracking, and a
//     token older than the retention (expireDeltaTokens()) with 400. (Dataverse's exact error
//     code for an expired token is not documented; the connector does not depend on it.)
//   - appointments with `appointment_activity_parties` (deep insert, replaced by a PATCH that
//     carries them; binds to systemusers, contacts, accounts and leads; `addressused` alone for an
//     unresolved address), statecode/statuscode pairs checked as Dataverse checks them.
//   - recurring series (Recurring appointment master table reference): recurringappointmentmasters
//     rows with the pattern columns and `recurringappointmentmaster_activity_parties`; appointment
//     rows of a series carry instancetypecode (2 instance, 3 exception), `_seriesid_value` (bound
//     with `seriesid@odata.bind`) and originalstartdate. Deleting a master deletes its rows; deleting
//     an occurrence row adds its original start to the master's deletedexceptionslist (one UTC
//     time a line: the connector's assumption of how Dynamics records it, docs/crm.md).
//   - create with a client-chosen id: a second create with an id that exists is refused (412,
//     0x80040237), as Dataverse refuses a duplicate key; PATCH without If-Match is an upsert,
//     with If-Match: * an update only (404 when missing); DELETE.
//   - contacts are FakeDynamics' own `contacts` table, so party resolution (in $batch requests,
//     which FakeDynamics answers) sees the contacts ACT creates.
//   - the function RetrieveUserPrivilegeByPrivilegeName, with privileges an application user may
//     lack (deny()).
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { Refusal, reply, type Answer, type DataverseExtension, type FakeDynamics } from './fake-crm-dynamics.js';
import { parseFilter } from './fake-crm-dynamics-query.js';

type Row = Record<string, unknown>;

const API = '/api/data/v9.2';

interface TableDef {
  idColumn: string;
  logical: string;
  columns: string[];
  /** Change tracking enabled (the link table does not need it). */
  tracked: boolean;
}

/** The columns an appointment and a recurring appointment master share. */
const APPOINTMENT_COLUMNS = [
  'subject',
  'description',
  'location',
  'scheduledstart',
  'scheduledend',
  'isalldayevent',
  'prioritycode',
  'statecode',
  'statuscode',
  'globalobjectid',
];

const TABLES: Record<string, TableDef> = {
  appointments: {
    idColumn: 'activityid',
    logical: 'appointment',
    tracked: true,
    columns: [...APPOINTMENT_COLUMNS, 'instancetypecode', 'originalstartdate'],
  },
  recurringappointmentmasters: {
    idColumn: 'activityid',
    logical: 'recurringappointmentmaster',
    tracked: true,
    columns: [
      ...APPOINTMENT_COLUMNS,
      'recurrencepatterntype',
      'interval',
      'daysofweekmask',
      'dayofmonth',
      'instance',
      'monthofyear',
      'patternstartdate',
      'patternendtype',
      'occurrences',
      'patternenddate',
      'isnthmonthly',
      'isnthyearly',
      'isweekdaypattern',
      'isregenerate',
      'starttime',
      'endtime',
      'duration',
      'deletedexceptionslist',
    ],
  },
  tasks: {
    idColumn: 'activityid',
    logical: 'task',
    tracked: true,
    columns: [
      'subject',
      'description',
      'scheduledend',
      'actualstart',
      'actualend',
      'percentcomplete',
      'prioritycode',
      'statecode',
      'statuscode',
    ],
  },
  contacts: {
    idColumn: 'contactid',
    logical: 'contact',
    tracked: true,
    columns: [
      'firstname',
      'middlename',
      'lastname',
      'fullname',
      'jobtitle',
      'department',
      'emailaddress1',
      'emailaddress2',
      'emailaddress3',
      'telephone1',
      'mobilephone',
      'telephone2',
      'address1_line1',
      'address1_city',
      'address1_stateorprovince',
      'address1_postalcode',
      'address1_country',
      'birthdate',
      'assistantname',
      'description',
      'statecode',
      'statuscode',
    ],
  },
  msync_actlinks: {
    idColumn: 'msync_actlinkid',
    logical: 'msync_actlink',
    tracked: false,
    columns: ['msync_name', 'msync_mailbox', 'msync_kind', 'msync_crmid', 'msync_exchangeid', 'msync_icaluid', 'msync_data', 'msync_names'],
  },
};

/** statuscode -> statecode (Appointment: Open 0 Free 1/Tentative 2, Completed 1/3, Canceled 2/4, Scheduled 3 Busy 5/OOF 6; Task: Open 2,3,4,7, Completed 5, Canceled 6; Contact: Active 1, Inactive 2). */
const STATE_OF: Record<string, Record<number, number>> = {
  appointments: { 1: 0, 2: 0, 3: 1, 4: 2, 5: 3, 6: 3 },
  recurringappointmentmasters: { 1: 0, 2: 0, 3: 1, 4: 2, 5: 3, 6: 3 },
  tasks: { 2: 0, 3: 0, 4: 0, 7: 0, 5: 1, 6: 2 },
  contacts: { 1: 0, 2: 1 },
};
const DEFAULT_STATUS: Record<string, [number, number]> = {
  appointments: [3, 5],
  recurringappointmentmasters: [3, 5],
  tasks: [0, 2],
  contacts: [0, 1],
};

const PARTY_SETS: Record<string, { set: string; email: string }> = {
  'partyid_systemuser@odata.bind': { set: 'systemusers', email: 'internalemailaddress' },
  'partyid_contact@odata.bind': { set: 'contacts', email: 'emailaddress1' },
  'partyid_account@odata.bind': { set: 'accounts', email: 'emailaddress1' },
  'partyid_lead@odata.bind': { set: 'leads', email: 'emailaddress1' },
};

const undeclared = (key: string) =>
  new Refusal(
    400,
    '0x80060891',
    `An undeclared property '${key.replace(/@odata\.bind$/, '')}' which only has property annotations in the payload but no property value was found in the payload.`,
  );

type UserSet = 'appointments' | 'recurringappointmentmasters' | 'tasks' | 'contacts';

/** The collection of a table's activity parties. */
const PARTIES: Record<string, string> = {
  appointments: 'appointment_activity_parties',
  recurringappointmentmasters: 'recurringappointmentmaster_activity_parties',
};

export class FakeDataverseAct implements DataverseExtension {
  /** The change-tracking version: every write of a tracked table takes the next one. */
  private version = 0;
  /** Delta tokens below this are expired. */
  private oldestToken = 0;
  private readonly deletions = new Map<string, { id: string; version: number }[]>();
  private readonly own = new Map<string, Map<string, Row>>();
  /** Privileges the application user lacks (prvReadAppointment…). */
  readonly denied = new Set<string>();
  /** The administrator has not created the msync_actlink table. */
  withoutLinkTable = false;

  private constructor(private readonly dv: FakeDynamics) {
    for (const set of ['appointments', 'recurringappointmentmasters', 'tasks', 'msync_actlinks']) this.own.set(set, new Map());
    for (const set of Object.keys(TABLES)) this.deletions.set(set, []);
  }

  static attach(dv: FakeDynamics): FakeDataverseAct {
    const x = new FakeDataverseAct(dv);
    dv.extend(x);
    return x;
  }

  // --- For tests: what a Dynamics user does, and what the tables hold.

  /** Adds a record as a user would in Dynamics; `owner` a systemuser id; parties as the Web API takes them. */
  add(set: UserSet, values: Row, owner: string): string {
    const id = randomUUID();
    this.create(set, { ...values, [TABLES[set].idColumn]: id, 'ownerid@odata.bind': `/systemusers(${owner})` });
    return id;
  }

  update(set: UserSet, id: string, values: Row): void {
    this.patch(set, id, values, '*');
  }

  remove(set: UserSet, id: string): void {
    this.delete(set, id);
  }

  row(set: string, id: string): Row | undefined {
    return this.table(set).get(id.toLowerCase());
  }

  rows(set: string): Row[] {
    return [...this.table(set).values()];
  }

  /** The link rows of a mailbox (kind 'state' is its state row). */
  links(mailbox: string, kind?: string): Row[] {
    return this.rows('msync_actlinks').filter(
      (r) => String(r.msync_mailbox) === mailbox.toLowerCase() && (kind === undefined || r.msync_kind === kind),
    );
  }

  /** Every delta token issued so far is expired (older than the change-tracking retention). */
  expireDeltaTokens(): void {
    // Tokens name the version they were issued at: the ones issued from now on stay valid.
    this.oldestToken = ++this.version;
  }

  // --- HTTP.

  handle(
    req: { method: string; resource: string; url: URL; body: string; prefer: string; headers: http.IncomingHttpHeaders },
    res: http.ServerResponse,
  ): boolean {
    const privilege =
      /^systemusers\([0-9a-fA-F-]{36}\)\/Microsoft\.Dynamics\.CRM\.RetrieveUserPrivilegeByPrivilegeName\(PrivilegeName='([^']+)'\)$/.exec(
        req.resource,
      );
    const m = /^(appointments|recurringappointmentmasters|tasks|contacts|msync_actlinks)(?:\(([0-9a-fA-F-]{36})\))?$/.exec(req.resource);
    if (!privilege && !m) return false;
    let answer: Answer;
    try {
      if (privilege) answer = this.privilege(privilege[1]);
      else answer = this.route(req.method, m![1], m![2]?.toLowerCase(), req);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      answer = { status: err.status, body: { error: { code: err.code, message: err.message } } };
    }
    reply(res, answer);
    return true;
  }

  private privilege(name: string): Answer {
    const granted = !this.denied.has(name);
    return {
      status: 200,
      body: {
        '@odata.context': `${this.dv.orgUrl}${API}/$metadata#Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeNameResponse`,
        RolePrivileges: granted ? [{ Depth: 'Global', PrivilegeId: randomUUID(), BusinessUnitId: randomUUID(), PrivilegeName: name }] : [],
      },
    };
  }

  private route(
    method: string,
    set: string,
    id: string | undefined,
    req: { url: URL; body: string; prefer: string; headers: http.IncomingHttpHeaders },
  ): Answer {
    if (set === 'msync_actlinks' && this.withoutLinkTable)
      throw new Refusal(404, '0x8006088a', "Resource not found for the segment 'msync_actlinks'.");
    const payload = (): Row => {
      try {
        const parsed: unknown = JSON.parse(req.body);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Row;
      } catch {
        // refused below
      }
      throw new Refusal(400, '0x80040224', 'The request body is not a JSON object.');
    };
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    if (method === 'GET' && id) {
      const row = this.row(set, id);
      if (!row) throw new Refusal(404, '0x80040217', `${TABLES[set].logical} With Id = ${id} Does Not Exist`);
      return { status: 200, body: this.shape(set, row, req.url.searchParams, req.prefer) };
    }
    if (method === 'GET')
      return /odata\.track-changes/.test(req.prefer) ? this.changes(set, req.url, req.prefer) : this.query(set, req.url, req.prefer);
    if (method === 'POST' && !id) {
      const created = this.create(set, payload());
      return { status: 204, headers: { 'odata-entityid': `${this.dv.orgUrl}${API}/${set}(${created})` } };
    }
    if (method === 'PATCH' && id) {
      if (header('if-none-match') === '*' && this.row(set, id))
        throw new Refusal(412, '0x80040237', 'A record with matching key values already exists.');
      this.patch(set, id, payload(), header('if-match'));
      return { status: 204, headers: { 'odata-entityid': `${this.dv.orgUrl}${API}/${set}(${id})` } };
    }
    if (method === 'DELETE' && id) {
      if (!this.row(set, id)) throw new Refusal(404, '0x80040217', `${TABLES[set].logical} With Id = ${id} Does Not Exist`);
      this.delete(set, id);
      return { status: 204 };
    }
    throw new Refusal(405, '0x80060888', `The HTTP method '${method}' is not allowed here.`);
  }

  // --- Reading.

  private changes(set: string, url: URL, prefer: string): Answer {
    const q = url.searchParams;
    if (!TABLES[set].tracked)
      throw new Refusal(400, '0x80048d19', `Change tracking is not enabled for the entity '${TABLES[set].logical}'.`);
    for (const option of ['$filter', '$expand', '$orderby', '$top'])
      if (q.has(option)) throw new Refusal(400, '0x80048d19', `The query option ${option} is not supported with change tracking.`);
    const token = q.get('$deltatoken');
    const since = token === null ? undefined : Number(/^(\d+)/.exec(token)?.[1] ?? NaN);
    if (since !== undefined && !(since >= this.oldestToken))
      throw new Refusal(400, '0x80044352', 'The delta token is invalid or has expired; retrieve all records again without a delta token.');
    const [snap, offset] = (q.get('$skiptoken') ?? `${this.version}:0`).split(':').map(Number);
    const entries: { version: number; out: Row }[] = [];
    for (const row of this.table(set).values()) {
      const v = Number(row.$version ?? 0);
      if (v <= snap && (since === undefined || v > since)) entries.push({ version: v, out: this.shape(set, row, q, prefer) });
    }
    if (since !== undefined)
      for (const d of this.deletions.get(set)!)
        if (d.version > since && d.version <= snap && !this.row(set, d.id))
          entries.push({
            version: d.version,
            out: { '@odata.context': `${this.dv.orgUrl}${API}/$metadata#${set}/$deletedEntity`, id: d.id, reason: 'deleted' },
          });
    entries.sort((a, b) => a.version - b.version);
    const size = Number(/odata\.maxpagesize=(\d+)/.exec(prefer)?.[1] ?? 5000);
    const page = entries.slice(offset, offset + size).map((e) => e.out);
    const body: Row = { '@odata.context': `${this.dv.orgUrl}${API}/$metadata#${set}`, value: page };
    if (offset + size < entries.length) {
      const next = new URL(url.toString());
      next.searchParams.set('$skiptoken', `${snap}:${offset + size}`);
      body['@odata.nextLink'] = next.toString();
    } else {
      const delta = new URL(`${this.dv.orgUrl}${API}/${set}`);
      if (q.get('$select')) delta.searchParams.set('$select', q.get('$select')!);
      delta.searchParams.set('$deltatoken', `${snap}!${new Date().toISOString()}`);
      body['@odata.deltaLink'] = delta.toString();
    }
    return { status: 200, body, headers: { 'preference-applied': 'odata.track-changes' } };
  }

  private query(set: string, url: URL, prefer: string): Answer {
    const q = url.searchParams;
    let rows = [...this.table(set).values()];
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
    const top = q.get('$top');
    if (top) rows = rows.slice(0, Number(top));
    const size = Number(/odata\.maxpagesize=(\d+)/.exec(prefer)?.[1] ?? 5000);
    const offset = Number(q.get('$skiptoken') ?? 0);
    const body: Row = {
      '@odata.context': `${this.dv.orgUrl}${API}/$metadata#${set}`,
      value: rows.slice(offset, offset + size).map((r) => this.shape(set, r, q, prefer)),
    };
    if (offset + size < rows.length) {
      const next = new URL(url.toString());
      next.searchParams.set('$skiptoken', String(offset + size));
      body['@odata.nextLink'] = next.toString();
    }
    return { status: 200, body };
  }

  /** A row as the Web API returns it: $select'ed columns (unknown ones refused), the key, an ETag, $expand'ed parties. */
  private shape(set: string, row: Row, q: URLSearchParams, prefer: string): Row {
    const def = TABLES[set];
    const select = q
      .get('$select')
      ?.split(',')
      .map((s) => s.trim());
    const known = new Set([
      def.idColumn,
      ...def.columns,
      '_ownerid_value',
      ...(set === 'contacts' ? ['_parentcustomerid_value'] : []),
      ...(set === 'appointments' ? ['_seriesid_value'] : []),
    ]);
    for (const c of select ?? [])
      if (!known.has(c))
        throw new Refusal(400, '0x80060888', `Could not find a property named '${c}' on type 'Microsoft.Dynamics.CRM.${def.logical}'.`);
    const out: Row = { '@odata.etag': `W/"${String(row.$version ?? 1)}"`, [def.idColumn]: row[def.idColumn] };
    for (const c of select ?? [...known]) {
      out[c] = row[c] ?? null;
      if (c === '_parentcustomerid_value' && row[c] && /FormattedValue/.test(prefer))
        out[`${c}@OData.Community.Display.V1.FormattedValue`] = this.dv.table('accounts').get(String(row[c]))?.name ?? null;
    }
    const expand = q.get('$expand');
    if (expand) {
      const m = /^(\w+)_activity_parties(?:\(\$select=([^)]*)\))?$/.exec(expand.trim());
      if (!m || PARTIES[set] !== `${m[1]}_activity_parties`)
        throw new Refusal(
          400,
          '0x80060888',
          `Could not find a property named '${expand}' on type 'Microsoft.Dynamics.CRM.${def.logical}'.`,
        );
      const columns = m[2]?.split(',');
      out[PARTIES[set]] = ((row.parties as Row[]) ?? []).map((p) =>
        Object.fromEntries(Object.entries(p).filter(([k]) => !columns || columns.includes(k) || k === 'activitypartyid')),
      );
    }
    return out;
  }

  // --- Writing.

  private table(set: string): Map<string, Row> {
    return this.own.get(set) ?? this.dv.table(set);
  }

  private create(set: string, payload: Row): string {
    const def = TABLES[set];
    const id = String(payload[def.idColumn] ?? randomUUID()).toLowerCase();
    if (this.row(set, id)) throw new Refusal(412, '0x80040237', 'A record with matching key values already exists.');
    const [state, status] = DEFAULT_STATUS[set] ?? [0, 1];
    const row: Row = { [def.idColumn]: id, createdon: new Date().toISOString() };
    if (set !== 'msync_actlinks') Object.assign(row, { statecode: state, statuscode: status, parties: [] });
    if (set === 'appointments') row.instancetypecode = 0;
    this.table(set).set(id, row);
    try {
      this.write(set, row, payload);
    } catch (err) {
      this.table(set).delete(id);
      throw err;
    }
    return id;
  }

  private patch(set: string, id: string, payload: Row, ifMatch: string | undefined): void {
    const row = this.row(set, id);
    if (!row) {
      if (ifMatch) throw new Refusal(404, '0x80040217', `${TABLES[set].logical} With Id = ${id} Does Not Exist`);
      this.create(set, { ...payload, [TABLES[set].idColumn]: id });
      return;
    }
    const before = { ...row };
    try {
      this.write(set, row, payload);
    } catch (err) {
      Object.assign(row, before);
      throw err;
    }
  }

  private write(set: string, row: Row, payload: Row): void {
    const def = TABLES[set];
    for (const [key, value] of Object.entries(payload)) {
      if (key === def.idColumn) continue;
      if (def.columns.includes(key)) row[key] = value;
      else if (key === 'ownerid@odata.bind') row._ownerid_value = this.bound(String(value), 'systemusers', key);
      else if (key === 'parentcustomerid_account@odata.bind' && set === 'contacts')
        row._parentcustomerid_value = this.bound(String(value), 'accounts', key);
      else if (key === PARTIES[set]) row.parties = (value as Row[]).map((p) => this.party(p));
      else if (key === 'seriesid@odata.bind' && set === 'appointments')
        row._seriesid_value = this.bound(String(value), 'recurringappointmentmasters', key);
      else throw undeclared(key);
    }
    if (set === 'contacts') row.fullname = [row.firstname, row.lastname].filter(Boolean).join(' ') || row.fullname || null;
    const states = STATE_OF[set];
    if (states && ('statecode' in payload || 'statuscode' in payload) && states[Number(row.statuscode)] !== Number(row.statecode))
      throw new Refusal(
        400,
        '0x80040203',
        `${String(row.statuscode)} is not a valid status code for state code ${String(row.statecode)} of ${def.logical}`,
      );
    row.$version = ++this.version;
    row.modifiedon = new Date().toISOString();
  }

  private delete(set: string, id: string): void {
    const row = this.row(set, id);
    this.table(set).delete(id.toLowerCase());
    this.deletions.get(set)!.push({ id: id.toLowerCase(), version: ++this.version });
    // A master goes with its occurrences; a deleted occurrence is recorded on its master.
    if (set === 'recurringappointmentmasters')
      for (const r of this.rows('appointments'))
        if (r._seriesid_value === id.toLowerCase()) this.delete('appointments', String(r.activityid));
    const master =
      set === 'appointments' && row?._seriesid_value ? this.row('recurringappointmentmasters', String(row._seriesid_value)) : undefined;
    if (master && typeof row?.originalstartdate === 'string') {
      const start = new Date(row.originalstartdate).toISOString().replace(/\.000Z$/, 'Z');
      const list = String(master.deletedexceptionslist ?? '')
        .split('\n')
        .filter(Boolean);
      if (!list.includes(start)) this.write('recurringappointmentmasters', master, { deletedexceptionslist: [...list, start].join('\n') });
    }
  }

  /** An activity party: bound to a record (its address as addressused, as Dataverse fills it) or an address alone. */
  private party(p: Row): Row {
    const mask = p.participationtypemask;
    if (typeof mask !== 'number' || mask < 1 || mask > 11)
      throw new Refusal(400, '0x80060891', 'participationtypemask is required (1..11)');
    const party: Row = { activitypartyid: randomUUID(), participationtypemask: mask, addressused: null, _partyid_value: null };
    for (const [key, value] of Object.entries(p)) {
      if (key === 'participationtypemask') continue;
      if (key === 'addressused') {
        party.addressused = value;
        continue;
      }
      const target = PARTY_SETS[key];
      if (!target) throw undeclared(key);
      const id = this.bound(String(value), target.set, key);
      party._partyid_value = id;
      party.addressused ??= this.dv.table(target.set).get(id)?.[target.email] ?? null;
    }
    return party;
  }

  private bound(value: string, set: string, key: string): string {
    const m = /^\/?([a-z]+)\(([0-9a-fA-F-]{36})\)$/.exec(value);
    if (!m || m[1] !== set) throw new Refusal(400, '0x80060891', `${key}: "${value}" is not a reference to ${set}.`);
    const id = m[2].toLowerCase();
    if (!this.table(set).get(id)) throw new Refusal(400, '0x80040217', `${set} With Id = ${id} Does Not Exist`);
    return id;
  }
}
