// The Dynamics 365 connector's ACT operations (act-types.ts): appointments, contacts and tasks of
// a mailbox's user over the Dataverse Web API, with the same semantics as the webhook contract
// (act-webhook.ts), which the engine relies on.
//
//   changes  -> Dataverse change tracking (Prefer: odata.track-changes): the first read pages
//               through the table and ends with an @odata.deltaLink, the cursor; later reads follow
//               it and get created/updated rows and `$deletedEntity` entries. Change tracking takes
//               no $filter, so the mailbox's sync filter (Dynamics' defaults, reference §1) is
//               applied here to the rows that changed. An expired or refused delta token restarts
//               with a full read: every record comes again and finds its link (no duplicates).
//   links    -> one row per (mailbox, kind, record) in the table msync_actlink, whose id is derived
//               from those three (an upsert by id: no lookup before a write); the mailbox's cursors
//               in one more row of it. docs/crm.md says why not exchangesyncidmapping.
//   series   -> masters are recurringappointmentmaster rows (the pattern in its columns, deleted
//               occurrences in deletedexceptionslist), exceptions appointment rows with
//               instancetypecode 3 linked by _seriesid_value and originalstartdate; plain instances
//               (instancetypecode 2) are never items. The appointment feed reads both tables, masters
//               first (an exception needs its master linked), with one change-tracking cursor each.
//   creates  -> the record id is derived from (mailbox, kind, key): a retry after a crash finds the
//               record it already created (Dataverse refuses a second create with that id).
import { createHash } from 'node:crypto';
import type { ActKind, Fields } from '../api/act-fields.js';
import { sameOrigin } from '../net/http.js';
import type { ActChange, ActChangesPage, ActConnector, ActLink, ActMailboxRef, ActMailboxState, ActRecord } from './act-types.js';
import {
  ACT_TABLES,
  type ActTable,
  appointmentState,
  attendeeNames,
  columnsOf,
  fieldsOf,
  INSTANCE,
  LINK_TABLE,
  MASTER_TABLE,
  PARTY,
  PARTY_FIELDS,
  partiesCollection,
  partiesOf,
  type PartyRow,
  type Row,
} from './dynamics-act-map.js';
import { FORMATTED_VALUES } from './dynamics-client.js';
import { odataString, recordId } from './dynamics-odata.js';
import { DynamicsConnector } from './dynamics.js';
import { parseJson, withoutQuery } from './request.js';
import { CrmError } from './types.js';

/** Ids per `or` query (a URL near 4 KB). */
const IDS_PER_QUERY = 20;
const partiesExpand = (master: boolean) => `${partiesCollection(master)}($select=participationtypemask,addressused,_partyid_value)`;
/** A recurringappointmentmaster row (it has the pattern columns). */
const isMaster = (row: Row) => 'recurrencepatterntype' in row;
const isInstance = (row: Row) => row.instancetypecode === INSTANCE.Instance;

/** The appointment feed's cursor: one change-tracking link per table (a plain string: the appointments' alone, as before series). */
interface SeriesCursor {
  masters?: string;
  appointments?: string;
}
function seriesCursor(cursor: string | undefined): SeriesCursor {
  if (!cursor) return {};
  if (!cursor.startsWith('{')) return { appointments: cursor };
  const c = parseData(cursor) as SeriesCursor | undefined;
  return {
    masters: typeof c?.masters === 'string' ? c.masters : undefined,
    appointments: typeof c?.appointments === 'string' ? c.appointments : undefined,
  };
}

interface LinkRow {
  msync_crmid?: string;
  msync_exchangeid?: string | null;
  msync_icaluid?: string | null;
  msync_data?: string | null;
  msync_names?: string | null;
}

/** A GUID derived from names (RFC 4122 version 5 layout over SHA-256): the same names, the same id. */
export function nameGuid(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

const chunks = <T>(items: T[], n = IDS_PER_QUERY): T[][] =>
  Array.from({ length: Math.ceil(items.length / n) }, (_, i) => items.slice(i * n, i * n + n));

export class DynamicsActConnector extends DynamicsConnector implements ActConnector {
  /** Series: recurringappointmentmaster rows and their exception appointments (docs/crm.md). */
  readonly actSeries = true;
  /** Dataverse appointments have no IANA time zone column: times are UTC, the zone flows nowhere. */
  readonly actUnsupported = { appointment: ['timeZone'] };
  // --- Changes.

  async actChanges(mailbox: ActMailboxRef, kind: ActKind, cursor: string | undefined, limit: number): Promise<ActChangesPage> {
    const t = ACT_TABLES[kind];
    const user = await this.userOf(mailbox);
    let rows: Row[];
    let next: string;
    let more: boolean;
    if (kind === 'appointment') {
      // Masters first, to the end of their feed, then appointments: an exception needs its master's link.
      const c = seriesCursor(cursor);
      const masters = await this.trackedPage(MASTER_TABLE, c.masters, limit);
      const appointments = masters.more ? undefined : await this.trackedPage(t, c.appointments, limit);
      rows = [...masters.rows, ...(appointments?.rows ?? [])];
      next = JSON.stringify({ masters: masters.next, appointments: appointments?.next ?? c.appointments });
      more = masters.more || !!appointments?.more;
    } else ({ rows, next, more } = await this.trackedPage(t, cursor, limit, kind === 'contact'));
    const isDeleted = (r: Row) => String(r['@odata.context'] ?? '').includes('$deletedEntity');
    const deleted = rows.filter(isDeleted).map((r) => String(r.id).toLowerCase());
    let changed = rows.filter((r) => !isDeleted(r) && !isInstance(r));
    // Change tracking cannot expand: the parties of changed appointments are read by id.
    if (kind === 'appointment')
      changed = await this.read(
        kind,
        changed.map((r) => String(r[t.idColumn])),
      );
    const ids = [...changed.map((r) => String(r[t.idColumn]).toLowerCase()), ...deleted];
    const links = await this.links(mailbox, kind, ids);
    const changes: ActChange[] = [];
    for (const id of deleted) {
      const link = links.get(id);
      if (link) changes.push({ crmId: id, removed: 'deleted', link: link.link });
    }
    for (const row of changed) {
      const crmId = String(row[t.idColumn]).toLowerCase();
      const linked = links.get(crmId);
      const record = this.record(kind, row, linked, user, mailbox);
      if (record.inFilter) changes.push({ crmId, record, ...(linked ? { link: linked.link } : {}) });
      else if (linked) changes.push({ crmId, removed: 'leftFilter', link: linked.link });
    }
    return { changes, cursor: next, more };
  }

  /** One page of a table's change-tracking feed, from `cursor` (the whole table without one). */
  private async trackedPage(
    t: ActTable,
    cursor: string | undefined,
    limit: number,
    formatted = false,
  ): Promise<{ rows: Row[]; next: string; more: boolean }> {
    const full = `${t.set}?$select=${t.select.join(',')}`;
    const prefer = [
      `odata.track-changes`,
      `odata.maxpagesize=${Math.max(1, Math.floor(limit))}`,
      ...(formatted ? [FORMATTED_VALUES] : []),
    ].join(',');
    let res = await this.client.send('GET', this.url(cursor ?? full), undefined, { prefer });
    // A delta token Dataverse no longer has (older than its change-tracking retention) or refuses: read everything again.
    if (cursor && /[?&](\$|%24)deltatoken=/i.test(cursor) && (res.status === 400 || res.status === 410))
      res = await this.client.send('GET', this.url(full), undefined, { prefer });
    this.client.check(res, [200], this.url(full));
    const page = parseJson(res.text) as { value?: Row[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string } | undefined;
    if (!page) throw this.malformed(t.set, 'JSON body');
    const next = page['@odata.nextLink'] ?? page['@odata.deltaLink'];
    if (!next) throw this.malformed(t.set, '@odata.nextLink or @odata.deltaLink (is change tracking enabled for the table?)');
    return { rows: page.value ?? [], next: this.relative(next), more: !!page['@odata.nextLink'] };
  }

  // --- Lookups.

  async actLookup(
    mailbox: ActMailboxRef,
    kind: ActKind,
    keys: { crmIds?: string[]; exchangeIds?: string[]; iCalUIds?: string[] },
  ): Promise<ActRecord[]> {
    const t = ACT_TABLES[kind];
    const ids = new Set((keys.crmIds ?? []).filter((id) => /^[0-9a-f-]{36}$/i.test(id)).map((id) => id.toLowerCase()));
    const base = this.linkFilter(mailbox, kind);
    for (const chunk of chunks(keys.exchangeIds ?? [])) {
      const filter = `${base} and (${chunk.map((x) => `msync_exchangeid eq ${odataString(x)}`).join(' or ')})`;
      for (const r of await this.client.list<LinkRow>(`${LINK_TABLE.set}?$select=msync_crmid&$filter=${encodeURIComponent(filter)}`, 5000))
        if (r.msync_crmid) ids.add(r.msync_crmid.toLowerCase());
    }
    if (kind === 'appointment') {
      for (const chunk of chunks(keys.iCalUIds ?? [])) {
        const filter = chunk.map((u) => `globalobjectid eq ${odataString(u)}`).join(' or ');
        for (const set of [t.set, MASTER_TABLE.set])
          for (const r of await this.client.list<Row>(`${set}?$select=activityid&$filter=${encodeURIComponent(filter)}`, 5000))
            ids.add(String(r.activityid).toLowerCase());
      }
    }
    if (!ids.size) return [];
    const user = await this.userOf(mailbox);
    const rows = await this.read(kind, [...ids]);
    const links = await this.links(
      mailbox,
      kind,
      rows.map((r) => String(r[t.idColumn]).toLowerCase()),
    );
    return rows.map((row) => this.record(kind, row, links.get(String(row[t.idColumn]).toLowerCase()), user, mailbox));
  }

  // --- Writes.

  async actCreate(
    mailbox: ActMailboxRef,
    kind: ActKind,
    item: { key: string; fields: Fields; link: Omit<ActLink, 'crmId'>; seriesMasterId?: string; originalStart?: string },
  ): Promise<{ crmId: string; created: boolean; record?: ActRecord }> {
    const master = kind === 'appointment' && !!item.fields.recurrence;
    const t = master ? MASTER_TABLE : ACT_TABLES[kind];
    const crmId = nameGuid(mailbox.address.toLowerCase(), kind, item.key);
    const user = await this.userOf(mailbox);
    if (kind === 'appointment' && item.seriesMasterId && item.originalStart) {
      // An exception: the row of that occurrence Dynamics expanded already (an instance, or the
      // exception an earlier attempt made of it) becomes it; else a new row.
      const instance = await this.occurrenceRow(item.seriesMasterId, item.originalStart);
      if (instance) {
        await this.client.update(t.set, instance, {
          ...columnsOf(kind, item.fields),
          ...(await this.related(kind, item.fields)),
          instancetypecode: INSTANCE.Exception,
        });
        await this.writeLink(mailbox, kind, { ...item.link, crmId: instance }, attendeeNames(item.fields));
        return { crmId: instance, created: true };
      }
    }
    const body: Row = {
      [t.idColumn]: crmId,
      ...columnsOf(kind, item.fields, undefined, master),
      ...(await this.related(kind, item.fields, master)),
      'ownerid@odata.bind': `/systemusers(${user})`,
      ...(kind === 'appointment' && item.link.iCalUId && !item.seriesMasterId ? { globalobjectid: item.link.iCalUId } : {}),
      ...(kind === 'appointment' && item.seriesMasterId
        ? {
            instancetypecode: INSTANCE.Exception,
            'seriesid@odata.bind': `/${MASTER_TABLE.set}(${recordId(item.seriesMasterId, 'series master id')})`,
            originalstartdate: item.originalStart ?? null,
          }
        : {}),
    };
    const url = this.url(t.set);
    const res = await this.client.send('POST', url, JSON.stringify(body));
    if (res.status !== 201 && res.status !== 204) {
      // Created by an earlier attempt (Dataverse refuses a second record with this id): that one, as it is now.
      if (res.status < 500 && res.status !== 401 && res.status !== 403 && res.status !== 429) {
        const [existing] = await this.actLookup(mailbox, kind, { crmIds: [crmId] });
        if (existing) return { crmId, created: false, record: existing };
      }
      this.client.check(res, [201, 204], url);
    }
    await this.writeLink(mailbox, kind, { ...item.link, crmId }, attendeeNames(item.fields));
    return { crmId, created: true };
  }

  async actUpdate(mailbox: ActMailboxRef, kind: ActKind, crmId: string, change: { fields: Fields; link: ActLink }): Promise<void> {
    const t = ACT_TABLES[kind];
    const id = recordId(crmId, `${t.logical} id`);
    const [current] = await this.read(kind, [id]);
    if (!current)
      throw new CrmError('CRMRejected', `Dynamics 365: ${t.logical} ${id} does not exist (deleted meanwhile); it is not updated`);
    const fields = { ...change.fields };
    const master = isMaster(current);
    if (kind === 'appointment' && 'recurrence' in fields && !!fields.recurrence !== master)
      throw new CrmError(
        'CRMRejected',
        `Dynamics 365: ${master ? `the recurring appointment ${id} is no longer recurring in Exchange` : `the appointment ${id} became recurring in Exchange`}, and a Dataverse row cannot change between appointment and recurringappointmentmaster; it is not updated (docs/crm.md, "Recurring series")`,
      );
    if (kind === 'appointment' && Object.keys(fields).some((f) => PARTY_FIELDS.has(f))) {
      // Parties are written as one list: the fields not changed keep their current parties.
      const now = fieldsOf(kind, current, current[partiesCollection(master)] as PartyRow[]);
      for (const f of PARTY_FIELDS) if (!(f in fields)) fields[f] = now[f];
    }
    const body = { ...columnsOf(kind, fields, current, master), ...(await this.related(kind, fields, master)) };
    if (Object.keys(body).length) await this.client.update(master ? MASTER_TABLE.set : t.set, id, body);
    await this.writeLink(mailbox, kind, change.link, attendeeNames(change.fields));
  }

  async actDelete(mailbox: ActMailboxRef, kind: ActKind, crmId: string): Promise<void> {
    const t = ACT_TABLES[kind];
    const id = recordId(crmId, `${t.logical} id`);
    const [row] = kind === 'appointment' ? await this.read(kind, [id]) : [];
    // A master goes with its instances and exceptions (Dataverse deletes them with it).
    await this.remove(`${row && isMaster(row) ? MASTER_TABLE.set : t.set}(${id})`);
    await this.actUnlink(mailbox, kind, crmId);
  }

  async actLink(mailbox: ActMailboxRef, kind: ActKind, link: ActLink): Promise<void> {
    await this.writeLink(mailbox, kind, link);
  }

  async actUnlink(mailbox: ActMailboxRef, kind: ActKind, crmId: string): Promise<void> {
    await this.remove(`${LINK_TABLE.set}(${this.linkId(mailbox, kind, crmId)})`);
  }

  async actGetState(mailbox: ActMailboxRef): Promise<ActMailboxState> {
    const url = this.url(`${LINK_TABLE.set}(${this.stateId(mailbox)})?$select=msync_data`);
    const res = await this.client.send('GET', url);
    if (res.status === 404) return { kinds: {} };
    this.client.check(res, [200], url);
    const data = parseData((parseJson(res.text) as LinkRow | undefined)?.msync_data) as ActMailboxState | undefined;
    return data && typeof data.kinds === 'object' && data.kinds ? data : { kinds: {} };
  }

  async actPutState(mailbox: ActMailboxRef, state: ActMailboxState): Promise<void> {
    await this.upsert(this.stateId(mailbox), {
      msync_name: `${mailbox.address.toLowerCase()} state`,
      msync_mailbox: mailbox.address.toLowerCase(),
      msync_kind: 'state',
      msync_data: JSON.stringify(state),
    });
  }

  /**
   * Test and Enable: what ACT needs of the application user, for the kinds given. Returns the
   * privileges it lacks (empty: all there); a missing link table is a CRMRejected naming the fix.
   */
  async actMissingPrivileges(kinds: ActKind[]): Promise<string[]> {
    const table = await this.client.send('GET', this.url(`${LINK_TABLE.set}?$select=${LINK_TABLE.idColumn}&$top=1`));
    if (table.status === 404)
      throw new CrmError(
        'CRMRejected',
        `Dynamics 365 ${withoutQuery(this.apiUrl)}: the table ${LINK_TABLE.logical} (where appointment, contact and task links live) does not exist: create it with the columns docs/crm.md lists ("Appointments, contacts and tasks"), then request a test`,
      );
    this.client.check(table, [200], this.url(LINK_TABLE.set));
    const who = await this.client.get<{ UserId?: string }>('WhoAmI');
    const user = recordId(String(who.UserId ?? ''), 'WhoAmI UserId');
    const tables = kinds.flatMap((k) => (k === 'appointment' ? [ACT_TABLES[k], MASTER_TABLE] : [ACT_TABLES[k]]));
    const wanted = [...tables.map((t) => t.privilege), LINK_TABLE.privilege].flatMap((p) =>
      ['Create', 'Read', 'Write', 'Delete'].map((verb) => `prv${verb}${p}`),
    );
    const missing: string[] = [];
    for (const name of wanted) {
      const answer = await this.client.get<{ RolePrivileges?: unknown[] }>(
        `systemusers(${user})/Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeName(PrivilegeName=${odataString(name)})`,
      );
      if (!answer.RolePrivileges?.length) missing.push(name);
    }
    return missing;
  }

  // --- Reading records and links.

  /**
   * Records by id (appointments with their parties; series masters from their own table; plain
   * instances of a series left out, as they are not items); ids that do not exist are left out.
   */
  private async read(kind: ActKind, ids: string[]): Promise<Row[]> {
    const out = await this.readTable(ACT_TABLES[kind], kind, ids);
    if (kind !== 'appointment') return out;
    const found = new Set(out.map((r) => String(r.activityid).toLowerCase()));
    const rest = ids.filter((id) => !found.has(id.toLowerCase()));
    return [...out.filter((r) => !isInstance(r)), ...(rest.length ? await this.readTable(MASTER_TABLE, kind, rest) : [])];
  }

  private async readTable(t: ActTable, kind: ActKind, ids: string[]): Promise<Row[]> {
    const out: Row[] = [];
    for (const chunk of chunks([...new Set(ids)])) {
      const filter = chunk.map((id) => `${t.idColumn} eq ${recordId(id, `${t.logical} id`)}`).join(' or ');
      const expand = kind === 'appointment' ? `&$expand=${partiesExpand(t === MASTER_TABLE)}` : '';
      out.push(
        ...(await this.client.list<Row>(
          `${t.set}?$select=${t.select.join(',')}${expand}&$filter=${encodeURIComponent(filter)}`,
          5000,
          kind === 'contact' ? [FORMATTED_VALUES] : [],
        )),
      );
    }
    return out;
  }

  /** The appointment row of a series' occurrence (by its original start): an instance Dynamics expanded, or an exception. */
  private async occurrenceRow(masterId: string, originalStart: string): Promise<string | undefined> {
    const at = utcOf(originalStart);
    if (!at) return undefined;
    const filter = `_seriesid_value eq ${recordId(masterId, 'series master id')} and originalstartdate eq ${at}`;
    const [row] = await this.client.list<Row>(`${ACT_TABLES.appointment.set}?$select=activityid&$filter=${encodeURIComponent(filter)}`, 1);
    return row ? String(row.activityid).toLowerCase() : undefined;
  }

  private linkFilter(mailbox: ActMailboxRef, kind: ActKind): string {
    return `msync_mailbox eq ${odataString(mailbox.address.toLowerCase())} and msync_kind eq ${odataString(kind)}`;
  }

  /** This mailbox's links of these records, by CRM id, with the attendee names kept beside them. */
  private async links(
    mailbox: ActMailboxRef,
    kind: ActKind,
    crmIds: string[],
  ): Promise<Map<string, { link: ActLink; names: Record<string, string> }>> {
    const out = new Map<string, { link: ActLink; names: Record<string, string> }>();
    for (const chunk of chunks([...new Set(crmIds)])) {
      const filter = `${this.linkFilter(mailbox, kind)} and (${chunk.map((id) => `msync_crmid eq ${odataString(id)}`).join(' or ')})`;
      const rows = await this.client.list<LinkRow>(
        `${LINK_TABLE.set}?$select=${LINK_TABLE.select.join(',')}&$filter=${encodeURIComponent(filter)}`,
        5000,
      );
      for (const r of rows) {
        const data = parseData(r.msync_data) as Partial<ActLink> | undefined;
        if (!r.msync_crmid || !r.msync_exchangeid) continue;
        const link: ActLink = {
          crmId: r.msync_crmid,
          exchangeId: r.msync_exchangeid,
          ...(data?.changeKey ? { changeKey: data.changeKey } : {}),
          ...(r.msync_icaluid ? { iCalUId: r.msync_icaluid } : {}),
          snapshot: data?.snapshot ?? {},
          origin: data?.origin === 'Exchange' ? 'Exchange' : 'CRM',
        };
        out.set(r.msync_crmid.toLowerCase(), { link, names: (parseData(r.msync_names) as Record<string, string> | undefined) ?? {} });
      }
    }
    return out;
  }

  /**
   * A row as an ActRecord, with whether it is in the mailbox's sync filter: Dynamics' defaults
   * (appointments the user organizes or is a required attendee of; active contacts the user owns;
   * the user's open tasks, and a linked task until it is deleted or changes hands, so its
   * completion reaches Exchange), plus items the mailbox tracked from Exchange.
   */
  private record(
    kind: ActKind,
    row: Row,
    linked: { link: ActLink; names: Record<string, string> } | undefined,
    user: string,
    mailbox: ActMailboxRef,
  ): ActRecord {
    const t = ACT_TABLES[kind];
    const parties = (row[partiesCollection(isMaster(row))] as PartyRow[] | undefined) ?? [];
    const address = mailbox.address.toLowerCase();
    const owned = String(row._ownerid_value ?? '').toLowerCase() === user;
    const inFilter =
      linked?.link.origin === 'Exchange' ||
      (kind === 'appointment'
        ? parties.some(
            (p) =>
              (p.participationtypemask === PARTY.Organizer || p.participationtypemask === PARTY.Required) &&
              (String(p._partyid_value ?? '').toLowerCase() === user || String(p.addressused ?? '').toLowerCase() === address),
          )
        : kind === 'contact'
          ? owned && row.statecode === 0
          : owned && (row.statecode === 0 || !!linked));
    return {
      crmId: String(row[t.idColumn]).toLowerCase(),
      fields: fieldsOf(kind, row, parties, linked?.names),
      ...(kind === 'appointment' ? { state: appointmentState(row) } : {}),
      ...(kind === 'appointment' && typeof row.globalobjectid === 'string' && row.globalobjectid ? { iCalUId: row.globalobjectid } : {}),
      ...(linked ? { link: linked.link } : {}),
      ...(kind === 'appointment' &&
      (row.instancetypecode === INSTANCE.Exception || row.instancetypecode === INSTANCE.FutureException) &&
      row._seriesid_value
        ? { seriesMasterId: String(row._seriesid_value).toLowerCase(), originalStart: utcOf(row.originalstartdate) }
        : {}),
      inFilter,
    };
  }

  // --- Writing links and related records.

  /** The parties of an appointment, or a contact's parent account, as binds; nothing for fields not given. */
  private async related(kind: ActKind, fields: Fields, master = false): Promise<Row> {
    if (kind === 'appointment' && Object.keys(fields).some((f) => PARTY_FIELDS.has(f))) {
      const parties = partiesOf(fields);
      const owners = await Promise.all(parties.map((p) => this.parties.resolve(p.address)));
      return {
        [partiesCollection(master)]: parties.map((p, i) => {
          // A user first (an organizer is one), then a contact, lead or account; else the address alone.
          const r = owners[i].internal?.entity === 'systemuser' ? owners[i].internal : owners[i].crmRecord;
          return r
            ? { participationtypemask: p.mask, [`partyid_${r.entity}@odata.bind`]: `/${r.entitySet}(${r.id})` }
            : { participationtypemask: p.mask, addressused: p.address };
        }),
      };
    }
    if (kind === 'contact' && 'companyName' in fields && typeof fields.companyName === 'string' && fields.companyName) {
      // The company is the parent account of that name; a name no account has is not written.
      const [account] = await this.client.list<Row>(
        `accounts?$select=accountid&$filter=${encodeURIComponent(`name eq ${odataString(fields.companyName)}`)}`,
        1,
      );
      if (account) return { 'parentcustomerid_account@odata.bind': `/accounts(${String(account.accountid)})` };
    }
    return {};
  }

  private async writeLink(mailbox: ActMailboxRef, kind: ActKind, link: ActLink, names?: Record<string, string>): Promise<void> {
    await this.upsert(this.linkId(mailbox, kind, link.crmId), {
      msync_name: `${kind} ${link.crmId}`,
      msync_mailbox: mailbox.address.toLowerCase(),
      msync_kind: kind,
      msync_crmid: link.crmId.toLowerCase(),
      msync_exchangeid: link.exchangeId,
      msync_icaluid: link.iCalUId ?? null,
      msync_data: JSON.stringify({ changeKey: link.changeKey, snapshot: link.snapshot, origin: link.origin }),
      // Only writes that carry attendees replace the names; a link alone keeps them.
      ...(names && Object.keys(names).length ? { msync_names: JSON.stringify(names) } : {}),
    });
  }

  private linkId(mailbox: ActMailboxRef, kind: ActKind, crmId: string): string {
    return nameGuid('link', mailbox.address.toLowerCase(), kind, crmId.toLowerCase());
  }

  private stateId(mailbox: ActMailboxRef): string {
    return nameGuid('state', mailbox.address.toLowerCase());
  }

  /** PATCH without If-Match: Dataverse creates the row with this id or updates it (an upsert). */
  private async upsert(id: string, body: Row): Promise<void> {
    const url = this.url(`${LINK_TABLE.set}(${id})`);
    this.client.check(await this.client.send('PATCH', url, JSON.stringify(body)), [200, 201, 204], url);
  }

  /** DELETE; what is gone already is fine. */
  private async remove(path: string): Promise<void> {
    const url = this.url(path);
    this.client.check(await this.client.send('DELETE', url), [200, 204, 404], url);
  }

  // --- The mailbox's user.

  /** The systemuser of the mailbox's address (systemuser.internalemailaddress), as the email side resolves owners. */
  private async userOf(mailbox: ActMailboxRef): Promise<string> {
    const owner = await this.parties.resolve(mailbox.address);
    if (owner.internal?.entity !== 'systemuser')
      throw new CrmError(
        'CRMRejected',
        `Dynamics 365: no user has the primary email ${mailbox.address} (systemuser.internalemailaddress); appointment, contact and task sync filters are the user's: add the user or correct spec.emailAddress`,
      );
    return owner.internal.id.toLowerCase();
  }

  private url(path: string): string {
    return `${this.apiUrl}/${path}`;
  }

  /** A link Dataverse gave (next page, delta) as a cursor relative to the Web API; refused if it points elsewhere. */
  private relative(link: string): string {
    const absolute = new URL(link, `${this.apiUrl}/`).toString();
    if (!sameOrigin(absolute, this.apiUrl) || !absolute.startsWith(`${this.apiUrl}/`))
      throw new CrmError(
        'CRMError',
        `Dynamics 365 ${withoutQuery(this.apiUrl)}: a change-tracking link points to another server; refusing to follow it`,
      );
    return absolute.slice(this.apiUrl.length + 1);
  }

  private malformed(set: string, what: string): CrmError {
    return new CrmError(
      'CRMError',
      `Dynamics 365 ${withoutQuery(this.url(set))}: the change-tracking answer has no ${what}; it is retried with back-off`,
    );
  }
}

/** A date-and-time column as a UTC instant without milliseconds (the model's form); undefined if none. */
function utcOf(v: unknown): string | undefined {
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? undefined : new Date(t).toISOString().replace(/\.000Z$/, 'Z');
}

function parseData(text: string | null | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
