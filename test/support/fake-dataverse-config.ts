// The email configuration tables of a fake Dataverse environment, plugged into FakeDynamics
// (fake-crm-dynamics.ts) with its `extend` hook: `organizations`, `emailserverprofiles`,
// `mailboxes` and `usersettingscollection`, with the columns and option values of Microsoft's table
// references (emailserverprofile, mailbox, organization, usersettings). The users and queues the
// mailboxes belong to are FakeDynamics' own `systemusers` and `queues`, so the connector resolves
// mail to them as it would in Dynamics.
//
// It answers as the Web API does: $select (the primary key always comes along), paging with
// Prefer: odata.maxpagesize and @odata.nextLink, lookup annotations (FormattedValue and
// lookuplogicalname) only when Prefer asks for them, and PATCH of a mailbox (If-Match: * never
// creates), and $filter (the connector's coexistence check reads a mailbox row by address; the
// importer reads these tables whole). It refuses what Dataverse refuses and the importer could get
// wrong: an unknown column in $select or in a PATCH, an option value outside its option set, a
// $filter it cannot parse. Writable through PATCH: the delivery-method columns the cut-over changes.
import type http from 'node:http';
import type { DataverseExtension } from './fake-crm-dynamics.js';
import { parseFilter } from './fake-crm-dynamics-query.js';
import { sendJson } from './https-server.js';

type Row = Record<string, unknown>;

interface Lookup {
  id: string;
  name: string;
  /** Logical name of the target table (polymorphic lookups such as regardingobjectid). */
  table: string;
}

interface Table {
  idColumn: string;
  /** Every column a row of the real table has that this fake knows of (a $select of anything else is refused). */
  columns: string[];
  rows: Map<string, Row>;
  /** Lookups per row: `_x_value` column -> target. */
  lookups: Map<string, Record<string, Lookup>>;
}

const PROFILE_COLUMNS = [
  'emailserverprofileid',
  'name',
  'statecode',
  'servertype',
  'exchangeversion',
  'useautodiscover',
  'incomingserverlocation',
  'outgoingserverlocation',
  'incomingportnumber',
  'outgoingportnumber',
  'incomingusessl',
  'outgoingusessl',
  'incomingauthenticationprotocol',
  'outgoingauthenticationprotocol',
  'incomingcredentialretrieval',
  'outgoingcredentialretrieval',
  'incomingusername',
  'outgoingusername',
  'incominguseimpersonation',
  'outgoinguseimpersonation',
  'outgoingautograntdelegateaccess',
  'usesamesettingsforoutgoingconnections',
  'maxconcurrentconnections',
  'minpollingintervalinminutes',
  'moveundeliveredemails',
  'processemailsreceivedafter',
  'sendemailalert',
  'timeoutmailboxconnection',
  'timeoutmailboxconnectionafteramount',
  'exchangeonlinetenantid',
  'usedefaulttenantid',
  'oauthclientid',
  'serverauthority',
  'encodingcodepage',
  'acsenabledforoutgoingemail',
  '_keyvaultreferenceid_value',
  '_managedidentityid_value',
  'isincomingpasswordset',
  'isoutgoingpasswordset',
];
const MAILBOX_COLUMNS = [
  'mailboxid',
  'name',
  'emailaddress',
  'statecode',
  'statuscode',
  'isforwardmailbox',
  '_emailserverprofile_value',
  '_regardingobjectid_value',
  '_ownerid_value',
  'incomingemaildeliverymethod',
  'outgoingemaildeliverymethod',
  'actdeliverymethod',
  'emailrouteraccessapproval',
  'isemailaddressapprovedbyo365admin',
  'allowemailconnectortousecredentials',
  'username',
  'ispasswordset',
  'processanddeleteemails',
  'processemailreceivedafter',
  'enabledforincomingemail',
  'enabledforoutgoingemail',
  'enabledforact',
  'incomingemailstatus',
  'outgoingemailstatus',
  'actstatus',
];
const ORGANIZATION_COLUMNS = [
  'organizationid',
  'name',
  'emailconnectionchannel',
  '_defaultemailserverprofileid_value',
  'defaultemailsettings',
  'requireapprovalforuseremail',
  'requireapprovalforqueueemail',
  'emailcorrelationenabled',
  'trackingprefix',
  'trackingtokenidbase',
  'trackingtokeniddigits',
  'maximumtrackingnumber',
  'maxuploadfilesize',
  'ignoreinternalemail',
  'enablesmartmatching',
  'isfolderbasedtrackingenabled',
  'notifymailboxownerofemailserverlevelalerts',
];

/** Option sets of the columns a PATCH may change (mailbox table reference). */
const WRITABLE: Record<string, number[]> = {
  incomingemaildeliverymethod: [0, 1, 2, 3],
  outgoingemaildeliverymethod: [0, 1, 2],
  actdeliverymethod: [0, 1, 2],
};

export interface MailboxSeed extends Row {
  emailaddress: string;
  name?: string;
  regarding?: { table: 'systemuser' | 'queue'; id: string; name: string };
  owner?: { id: string; name: string };
  profileId?: string;
}

export interface LoggedPatch {
  id: string;
  body: Row;
}

export class FakeDataverseConfig implements DataverseExtension {
  readonly patches: LoggedPatch[] = [];
  private readonly tables: Record<string, Table> = {
    organizations: table('organizationid', ORGANIZATION_COLUMNS),
    emailserverprofiles: table('emailserverprofileid', PROFILE_COLUMNS),
    mailboxes: table('mailboxid', MAILBOX_COLUMNS),
    usersettingscollection: table('systemuserid', ['systemuserid', 'incomingemailfilteringmethod']),
  };
  private next = 1;

  /** Deterministic GUIDs, so an organization seeded twice has the same ids. */
  private id(): string {
    return `00000000-0000-4000-8000-${String(this.next++).padStart(12, '0')}`;
  }

  setOrganization(values: Row & { name: string }, defaultProfileId?: string): string {
    const t = this.tables.organizations;
    t.rows.clear();
    const id = this.id();
    t.rows.set(id, { ...values, organizationid: id, _defaultemailserverprofileid_value: defaultProfileId ?? null });
    if (defaultProfileId)
      t.lookups.set(id, {
        _defaultemailserverprofileid_value: {
          id: defaultProfileId,
          name: String(this.profile(defaultProfileId)?.name ?? ''),
          table: 'emailserverprofile',
        },
      });
    return id;
  }

  addProfile(values: Row & { name: string; servertype: number }): string {
    const id = this.id();
    this.tables.emailserverprofiles.rows.set(id, { statecode: 0, ...values, emailserverprofileid: id });
    return id;
  }

  addMailbox(seed: MailboxSeed): string {
    const { regarding, owner, profileId, ...values } = seed;
    const id = this.id();
    const t = this.tables.mailboxes;
    t.rows.set(id, {
      name: seed.name ?? seed.emailaddress,
      statecode: 0,
      isforwardmailbox: false,
      incomingemaildeliverymethod: 2,
      outgoingemaildeliverymethod: 2,
      actdeliverymethod: 2,
      emailrouteraccessapproval: 1,
      allowemailconnectortousecredentials: false,
      processanddeleteemails: false,
      enabledforincomingemail: true,
      enabledforoutgoingemail: true,
      enabledforact: false,
      ...values,
      mailboxid: id,
      _regardingobjectid_value: regarding?.id ?? null,
      _ownerid_value: owner?.id ?? null,
      _emailserverprofile_value: profileId ?? null,
    });
    const lookups: Record<string, Lookup> = {};
    if (regarding) lookups._regardingobjectid_value = { id: regarding.id, name: regarding.name, table: regarding.table };
    if (owner) lookups._ownerid_value = { id: owner.id, name: owner.name, table: 'systemuser' };
    if (profileId)
      lookups._emailserverprofile_value = { id: profileId, name: String(this.profile(profileId)?.name ?? ''), table: 'emailserverprofile' };
    t.lookups.set(id, lookups);
    return id;
  }

  setUserFiltering(systemUserId: string, method: number): void {
    this.tables.usersettingscollection.rows.set(systemUserId.toLowerCase(), {
      systemuserid: systemUserId.toLowerCase(),
      incomingemailfilteringmethod: method,
    });
  }

  profile(id: string): Row | undefined {
    return this.tables.emailserverprofiles.rows.get(id.toLowerCase());
  }

  mailbox(id: string): Row | undefined {
    return this.tables.mailboxes.rows.get(id.toLowerCase());
  }

  mailboxes(): Row[] {
    return [...this.tables.mailboxes.rows.values()];
  }

  /** Changes a mailbox row as an administrator would in Dynamics. */
  updateMailbox(id: string, values: Row): void {
    Object.assign(this.mailbox(id)!, values);
  }

  handle(req: { method: string; resource: string; url: URL; body: string; prefer: string }, res: http.ServerResponse): boolean {
    const m = /^([a-z]+)(?:\(([0-9a-fA-F-]{36})\))?$/.exec(req.resource);
    const t = m ? this.tables[m[1]] : undefined;
    if (!m || !t) return false;
    const id = m[2]?.toLowerCase();
    if (req.method === 'GET') {
      const q = req.url.searchParams;
      let predicate: (r: Row) => boolean = () => true;
      const filter = q.get('$filter');
      if (filter !== null) {
        if (id) return odataError(res, 400, '0x80060888', '$filter is not allowed on a single row');
        try {
          predicate = parseFilter(filter);
        } catch (err) {
          return odataError(res, 400, '0x80060888', `Syntax error in $filter: ${(err as Error).message}`);
        }
      }
      const select = q
        .get('$select')
        ?.split(',')
        .map((c) => c.trim());
      const unknown = select?.find((c) => !t.columns.includes(c));
      if (unknown)
        return odataError(
          res,
          400,
          '0x80060888',
          `Could not find a property named '${unknown}' on type 'Microsoft.Dynamics.CRM.${m[1].replace(/collection$|s$/, '')}'.`,
        );
      const annotations = annotationsWanted(req.prefer);
      if (id) {
        const row = t.rows.get(id);
        if (!row) return odataError(res, 404, '0x80040217', `${m[1]} With Id = ${id} Does Not Exist`);
        sendJson(res, 200, shape(t, id, row, select, annotations));
        return true;
      }
      const rows = [...t.rows.entries()].filter(([, r]) => predicate(r));
      const pageSize = Number(/odata\.maxpagesize=(\d+)/.exec(req.prefer)?.[1] ?? 5000);
      const skip = Number(q.get('$skiptoken') ?? 0);
      const answer: Row = {
        '@odata.context': `${req.url.origin}/api/data/v9.2/$metadata#${m[1]}`,
        value: rows.slice(skip, skip + pageSize).map(([rid, r]) => shape(t, rid, r, select, annotations)),
      };
      if (skip + pageSize < rows.length) {
        const next = new URL(req.url.toString());
        next.searchParams.set('$skiptoken', String(skip + pageSize));
        answer['@odata.nextLink'] = next.toString();
      }
      sendJson(res, 200, answer);
      return true;
    }
    if (req.method === 'PATCH' && id && m[1] === 'mailboxes') return this.patchMailbox(id, req.body, res);
    return odataError(res, 405, '0x80060888', `The HTTP method '${req.method}' on ${m[1]} is not supported by this fake.`);
  }

  private patchMailbox(id: string, body: string, res: http.ServerResponse): boolean {
    const row = this.tables.mailboxes.rows.get(id);
    if (!row) return odataError(res, 404, '0x80040217', `mailbox With Id = ${id} Does Not Exist`);
    let payload: Row;
    try {
      payload = JSON.parse(body) as Row;
    } catch {
      return odataError(res, 400, '0x80040224', 'The request body is not valid JSON.');
    }
    for (const [k, v] of Object.entries(payload)) {
      if (!(k in WRITABLE))
        return odataError(
          res,
          400,
          '0x80060891',
          `An undeclared property '${k}' was found in the payload (this fake writes only ${Object.keys(WRITABLE).join(', ')}).`,
        );
      if (typeof v !== 'number' || !WRITABLE[k].includes(v))
        return odataError(
          res,
          400,
          '0x80044331',
          `A validation error occurred. The value ${JSON.stringify(v)} of '${k}' is outside the valid range.`,
        );
    }
    this.patches.push({ id, body: payload });
    Object.assign(row, payload);
    res.writeHead(204);
    res.end();
    return true;
  }
}

function table(idColumn: string, columns: string[]): Table {
  return { idColumn, columns, rows: new Map(), lookups: new Map() };
}

/** Which lookup annotations Prefer: odata.include-annotations asks for. */
function annotationsWanted(prefer: string): { formatted: boolean; logical: boolean } {
  const list = /odata\.include-annotations="([^"]*)"/.exec(prefer)?.[1] ?? '';
  const all = list.split(',').some((a) => a.trim() === '*');
  return {
    formatted: all || list.includes('OData.Community.Display.V1.FormattedValue'),
    logical: all || list.includes('Microsoft.Dynamics.CRM.lookuplogicalname'),
  };
}

/** A row as the Web API returns it: the selected columns (null when unset), the key, and the asked-for annotations. */
function shape(t: Table, id: string, row: Row, select: string[] | undefined, annotations: { formatted: boolean; logical: boolean }): Row {
  const columns = select ?? t.columns;
  const out: Row = { '@odata.etag': 'W/"1"' };
  for (const c of new Set([...columns, t.idColumn])) {
    out[c] = row[c] ?? null;
    const lookup = t.lookups.get(id)?.[c];
    if (lookup && row[c]) {
      if (annotations.formatted) out[`${c}@OData.Community.Display.V1.FormattedValue`] = lookup.name;
      if (annotations.logical) out[`${c}@Microsoft.Dynamics.CRM.lookuplogicalname`] = lookup.table;
    }
  }
  return out;
}

function odataError(res: http.ServerResponse, status: number, code: string, message: string): true {
  sendJson(res, status, { error: { code, message } });
  return true;
}
