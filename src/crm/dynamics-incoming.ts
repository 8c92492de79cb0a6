// Incoming mail into Dataverse as Dynamics shows it: one `email` activity per (receiving mailbox,
// Message-ID), owned by the mailbox's owner (the user, or the queue's owner), with a queue item when
// the mailbox belongs to a queue, the Regarding of the email it answers, the tracking token, the
// receiving (and, for internal mail, sender) mailbox, resolved parties and attachments.
//
// A batch of emails costs two HTTP requests, however many emails it holds:
//   1. one $batch of GETs: which emails exist already (idempotency), the owners of addresses not
//      cached, the mailbox rows, the Regarding of the emails answered (dynamics-lookups.ts);
//   2. one $batch with a change set per new email: create it with its parties and attachments
//      (deep insert), add its queue item, close it as Received. A change set is one transaction,
//      so an email is never left half-made: it exists complete, or not at all.
//
// Idempotency without custom columns: an incoming email is identified by `messageid` (the header
// form, `<id@host>`, as server-side synchronization stores it) with `submittedby`, the receiving
// mailbox's address ("the email address of the account that is creating the email activity", as
// the Email Router set it), and directioncode Incoming.
import type { BatchOperation, BatchResult } from './dynamics-batch.js';
import { changeSetResult, entityIdOf } from './dynamics-batch.js';
import { LOOKUP_NAMES, MAX_BATCH_OPERATIONS, type DataverseClient } from './dynamics-client.js';
import { mailboxRowsPath, type DataverseMailboxRow } from './dynamics-coexistence.js';
import { rowsOf, runLookups, TtlCache, type GetRunner, type Lookup } from './dynamics-lookups.js';
import { bareMessageId, fit, odataString, recordId, storedMessageId } from './dynamics-odata.js';
import type { PartyResolver } from './dynamics-parties.js';
import { DIRECTION_INCOMING, EMAIL_STATUS, MAX_LENGTH, PARTICIPATION, STATE_OF_STATUS } from './dynamics-values.js';
import { CrmError, type DeliveryResult, type IncomingEmail, type Party } from './types.js';

/** (messageid, submittedby) pairs per GET: each pair is up to ~600 characters of URL. */
const KEYS_PER_QUERY = 15;
/** Body bytes per $batch request of new emails; larger attachments make fewer emails per request. */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

/** Entity sets of the tables a Regarding usually points to; others are asked of EntityDefinitions. */
const KNOWN_ENTITY_SETS: Record<string, string> = {
  account: 'accounts',
  contact: 'contacts',
  lead: 'leads',
  incident: 'incidents',
  opportunity: 'opportunities',
  quote: 'quotes',
  salesorder: 'salesorders',
  invoice: 'invoices',
  campaign: 'campaigns',
  contract: 'contracts',
  systemuser: 'systemusers',
  team: 'teams',
  queue: 'queues',
};

interface ExistingRow {
  activityid: string;
  messageid?: string | null;
  submittedby?: string | null;
}

interface RegardingRow {
  activityid: string;
  _regardingobjectid_value?: string | null;
  '_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname'?: string;
}

export class IncomingWriter {
  /** Mailbox rows by address (null: Dynamics has none), for owner, queue and mailbox columns. */
  private readonly mailboxRows = new TtlCache<DataverseMailboxRow>(5 * 60_000);
  /** The Regarding of emails that were answered: it does not change once set, in practice. */
  private readonly regardingOf = new TtlCache<{ table: string; id: string }>(10 * 60_000);
  private readonly entitySets = new Map<string, string>(Object.entries(KNOWN_ENTITY_SETS));

  constructor(
    private readonly client: DataverseClient,
    private readonly parties: PartyResolver,
    private readonly gets: GetRunner,
  ) {}

  /** Delivers a batch; one result or error per email, in order (a redelivery answers created: false). */
  async deliver(emails: IncomingEmail[]): Promise<Array<DeliveryResult | Error>> {
    const results: Array<DeliveryResult | Error | undefined> = emails.map((e) =>
      bareMessageId(e.messageId)
        ? undefined
        : new CrmError('CRMRejected', `Dynamics 365: the email from mailbox ${e.mailbox} has no Message-ID`),
    );
    const keyOf = (e: IncomingEmail) => `${storedMessageId(e.messageId).toLowerCase()}\n${e.mailboxAddress.toLowerCase()}`;
    const todo = emails.map((e, i) => i).filter((i) => !results[i]);
    const existing = new Map<string, string>();
    await runLookups(this.gets, [
      this.existingLookup(
        todo.map((i) => emails[i]),
        existing,
      ),
      this.parties.lookup(todo.flatMap((i) => partiesOf(emails[i]).map(([p]) => p.address))),
      this.mailboxLookup(todo.flatMap((i) => [emails[i].mailboxAddress, emails[i].from?.address ?? ''])),
      this.regardingLookup(todo.map((i) => emails[i].regarding?.crmEmailId).filter((x): x is string => !!x)),
    ]);
    await this.entitySetsOf(todo.map((i) => emails[i].regarding?.crmEmailId));

    // The same (mailbox, Message-ID) twice in one batch is created once.
    const first = new Map<string, number>();
    const creates: { index: number; ops: BatchOperation[]; bytes: number }[] = [];
    for (const i of todo) {
      const key = keyOf(emails[i]);
      const found = existing.get(key);
      if (found) results[i] = { crmId: found, created: false };
      else if (first.has(key)) continue;
      else {
        first.set(key, i);
        const ops = this.changeSet(emails[i]);
        creates.push({ index: i, ops, bytes: ops.reduce((n, op) => n + (op.body ? JSON.stringify(op.body).length : 0), 0) });
      }
    }
    for (const group of groups(creates)) {
      const answers = await this.client.batch(group.map((c) => ({ changeSet: c.ops })));
      group.forEach((c, j) => (results[c.index] = this.created(changeSetResult(answers[j]))));
    }
    for (const i of todo) {
      if (results[i]) continue;
      const original = results[first.get(keyOf(emails[i]))!];
      results[i] = original instanceof Error ? original : { crmId: (original as DeliveryResult).crmId, created: false };
    }
    return results as Array<DeliveryResult | Error>;
  }

  /** The rows of mailbox addresses, cached (the connector's lookupMailbox). */
  async mailboxRow(address: string): Promise<DataverseMailboxRow | undefined> {
    await runLookups(this.gets, [this.mailboxLookup([address])]);
    return this.mailboxRows.get(address.toLowerCase()) ?? undefined;
  }

  /** The change set of one new email: create (deep insert), queue item, close as Received. */
  private changeSet(e: IncomingEmail): BatchOperation[] {
    const body: Record<string, unknown> = {
      subject: fit(e.subject, MAX_LENGTH.subject),
      description: e.htmlBody ?? textToHtml(e.textBody ?? ''),
      directioncode: DIRECTION_INCOMING,
      messageid: storedMessageId(e.messageId),
      submittedby: fit(e.mailboxAddress.toLowerCase(), MAX_LENGTH.submittedby),
      email_activity_parties: partiesOf(e).map(([p, mask]) => this.party(p, mask)),
    };
    if (e.trackingToken) body.trackingtoken = fit(e.trackingToken, MAX_LENGTH.trackingtoken);
    if (e.attachments.length) {
      body.email_activity_mime_attachment = e.attachments.map((a) => ({
        filename: fit(a.filename || 'attachment', MAX_LENGTH.filename),
        mimetype: a.contentType,
        body: a.contentBase64,
      }));
    }
    const row = this.mailboxRows.get(e.mailboxAddress.toLowerCase()) ?? undefined;
    if (row) body['receivingmailboxid@odata.bind'] = `/mailboxes(${row.mailboxid})`;
    const owner = this.ownerOf(e, row);
    if (owner) body['ownerid@odata.bind'] = owner;
    const sender = e.from?.address ? this.mailboxRows.get(e.from.address.toLowerCase()) : undefined;
    if (sender) body['sendermailboxid@odata.bind'] = `/mailboxes(${sender.mailboxid})`;
    if (e.regarding) {
      const parent = recordId(e.regarding.crmEmailId, 'regarding email id');
      body['parentactivityid@odata.bind'] = `/emails(${parent})`;
      const regarding = this.regardingOf.get(parent);
      const set = regarding ? this.entitySets.get(regarding.table) : undefined;
      if (regarding && set) body[`regardingobjectid_${regarding.table}_email@odata.bind`] = `/${set}(${regarding.id})`;
    }
    const ops: BatchOperation[] = [{ method: 'POST', path: 'emails', body }];
    const queue = this.queueOf(e, row);
    if (queue)
      ops.push({
        method: 'POST',
        path: 'queueitems',
        body: { 'queueid@odata.bind': `/queues(${queue})`, 'objectid_email@odata.bind': '$1' },
      });
    // Attachments and the queue item go onto the open email; then it is closed.
    ops.push({
      method: 'PATCH',
      path: '$1',
      body: { statecode: STATE_OF_STATUS[EMAIL_STATUS.Received], statuscode: EMAIL_STATUS.Received },
    });
    return ops;
  }

  private created(r: BatchResult): DeliveryResult | Error {
    if (r.kind === 'committed') {
      const id = entityIdOf(r.responses[0]);
      return id
        ? { crmId: id, created: true }
        : new CrmError('CRMError', 'Dynamics 365 $batch: the created email has no OData-EntityId; it is retried with back-off');
    }
    if (r.kind === 'rolledBack') return this.client.itemError(r.response, 'emails');
    return new CrmError(
      'CRMError',
      'Dynamics 365 $batch: the email was not processed (the batch stopped before it); it is retried with back-off',
    );
  }

  /** The owner as a bind: the mailbox row's owner (the user, or the queue's owner). */
  private ownerOf(e: IncomingEmail, row: DataverseMailboxRow | undefined): string | undefined {
    if (row?._ownerid_value) {
      const table = row['_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname'] === 'team' ? 'teams' : 'systemusers';
      return `/${table}(${row._ownerid_value})`;
    }
    // No mailbox row: a user with this address owns it; a queue's owner is not known here.
    const internal = this.parties.known(e.mailboxAddress).internal;
    return internal?.entity === 'systemuser' ? `/systemusers(${internal.id})` : undefined;
  }

  /** The queue a queue mailbox belongs to (its mailbox row's Regarding, or the queue with its address). */
  private queueOf(e: IncomingEmail, row: DataverseMailboxRow | undefined): string | undefined {
    if (row?._regardingobjectid_value)
      return row['_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname'] === 'queue'
        ? row._regardingobjectid_value
        : undefined;
    const internal = this.parties.known(e.mailboxAddress).internal;
    return internal?.entity === 'queue' ? internal.id : undefined;
  }

  private party(p: Party, mask: number): Record<string, unknown> {
    const party: Record<string, unknown> = { participationtypemask: mask, addressused: fit(p.address, MAX_LENGTH.addressused) };
    const owner = this.parties.known(p.address);
    const record = owner.crmRecord ?? owner.internal;
    if (record) party[`partyid_${record.entity}@odata.bind`] = `/${record.entitySet}(${record.id})`;
    return party;
  }

  private existingLookup(emails: IncomingEmail[], found: Map<string, string>): Lookup {
    const ops: BatchOperation[] = [];
    for (let i = 0; i < emails.length; i += KEYS_PER_QUERY) {
      const pairs = emails
        .slice(i, i + KEYS_PER_QUERY)
        .map(
          (e) =>
            `(messageid eq ${odataString(storedMessageId(e.messageId))} and submittedby eq ${odataString(e.mailboxAddress.toLowerCase())})`,
        );
      const filter = `directioncode eq ${DIRECTION_INCOMING} and (${pairs.join(' or ')})`;
      ops.push({ method: 'GET', path: `emails?$select=activityid,messageid,submittedby&$filter=${encodeURIComponent(filter)}` });
    }
    return {
      ops,
      read: (results) =>
        results.forEach((r) => {
          for (const row of rowsOf<ExistingRow>(this.client, r, 'emails')) {
            if (row.messageid && row.submittedby)
              found.set(`${row.messageid.toLowerCase()}\n${row.submittedby.toLowerCase()}`, row.activityid);
          }
        }),
    };
  }

  private mailboxLookup(addresses: string[]): Lookup {
    const wanted = [...new Set(addresses.map((a) => a.toLowerCase()).filter((a) => a && this.mailboxRows.get(a) === undefined))];
    const chunks: string[][] = [];
    for (let i = 0; i < wanted.length; i += 20) chunks.push(wanted.slice(i, i + 20));
    return {
      ops: chunks.map((chunk) => ({ method: 'GET', path: mailboxRowsPath(chunk), headers: { prefer: LOOKUP_NAMES } })),
      read: (results) => {
        const rows = new Map<string, DataverseMailboxRow>();
        for (const r of results)
          for (const row of rowsOf<DataverseMailboxRow>(this.client, r, 'mailboxes'))
            if (row.emailaddress) rows.set(row.emailaddress.toLowerCase(), row);
        for (const a of wanted) this.mailboxRows.set(a, rows.get(a) ?? null);
      },
    };
  }

  private regardingLookup(emailIds: string[]): Lookup {
    const wanted = [
      ...new Set(
        emailIds.map((id) => id.toLowerCase()).filter((id) => this.regardingOf.get(id) === undefined && /^[0-9a-f-]{36}$/.test(id)),
      ),
    ];
    const ops: BatchOperation[] = [];
    for (let i = 0; i < wanted.length; i += 20) {
      const filter = wanted
        .slice(i, i + 20)
        .map((id) => `activityid eq ${id}`)
        .join(' or ');
      ops.push({
        method: 'GET',
        path: `emails?$select=activityid,_regardingobjectid_value&$filter=${encodeURIComponent(filter)}`,
        headers: { prefer: LOOKUP_NAMES },
      });
    }
    return {
      ops,
      read: (results) => {
        const rows = new Map<string, RegardingRow>();
        for (const r of results)
          for (const row of rowsOf<RegardingRow>(this.client, r, 'emails')) rows.set(row.activityid.toLowerCase(), row);
        for (const id of wanted) {
          const row = rows.get(id);
          const table = row?.['_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname'];
          this.regardingOf.set(id, row?._regardingobjectid_value && table ? { table, id: row._regardingobjectid_value } : null);
        }
      },
    };
  }

  /** Entity sets of Regarding tables not known yet, from EntityDefinitions (once per table). */
  private async entitySetsOf(emailIds: (string | undefined)[]): Promise<void> {
    const unknown = new Set<string>();
    for (const id of emailIds) {
      const r = id ? this.regardingOf.get(id.toLowerCase()) : undefined;
      if (r && !this.entitySets.has(r.table) && /^[a-z_0-9]+$/.test(r.table)) unknown.add(r.table);
    }
    if (unknown.size === 0) return;
    const filter = [...unknown].map((t) => `LogicalName eq ${odataString(t)}`).join(' or ');
    const rows = await this.client.list<{ LogicalName: string; EntitySetName: string }>(
      `EntityDefinitions?$select=LogicalName,EntitySetName&$filter=${encodeURIComponent(filter)}`,
      unknown.size,
    );
    for (const r of rows) this.entitySets.set(r.LogicalName, r.EntitySetName);
  }
}

/** The sender, to and cc parties with their participation types. */
function partiesOf(e: IncomingEmail): Array<[Party, number]> {
  const roles: Array<[Party, number]> = [
    [e.from, PARTICIPATION.Sender],
    ...e.to.map((p): [Party, number] => [p, PARTICIPATION.To]),
    ...e.cc.map((p): [Party, number] => [p, PARTICIPATION.Cc]),
  ];
  return roles.filter(([p]) => p?.address);
}

/** Change sets grouped into $batch requests within the operation and byte limits. */
function groups<T extends { ops: BatchOperation[]; bytes: number }>(items: T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let ops = 0;
  let bytes = 0;
  for (const item of items) {
    if (current.length && (ops + item.ops.length > MAX_BATCH_OPERATIONS || bytes + item.bytes > MAX_BATCH_BYTES)) {
      out.push(current);
      current = [];
      ops = 0;
      bytes = 0;
    }
    current.push(item);
    ops += item.ops.length;
    bytes += item.bytes;
  }
  if (current.length) out.push(current);
  return out;
}

/** Plain text as the HTML the description column holds. */
function textToHtml(text: string): string {
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return escaped.replace(/\r?\n/g, '<br>');
}
