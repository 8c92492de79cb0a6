// Coexistence with Dynamics 365's own email processing, so that no message is processed twice.
//
// Dynamics keeps one `mailbox` row per user and queue (Dataverse table `mailboxes`). Its delivery
// methods and "enabled for" flags say whether server-side synchronization or the Email Router
// processes that address. Before the operator enables a mailbox of a Dynamics365 Deployment it
// reads that row: if Dynamics still processes a direction the operator would process too, the
// operator does not enable it (reason ProcessedByDynamics), unless the administrator handed the
// address over (spec.crm.dynamics.handOver): then the operator sets those delivery methods to
// None, so Dynamics stops, and says so in an Event.
//
// This module is the one place that decides it, for the Test and Enable gate
// (src/connect/dynamics-gate.ts) and for any cut-over tool: read the row (readMailboxRow), decide
// (processedByDynamics), hand over (handOver). Values are those of the Mailbox table reference
// (https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/mailbox):
//
//   incomingemaildeliverymethod  0 None, 1 Dynamics 365 for Outlook, 2 Server-Side Synchronization
//                                or Email Router, 3 Forward Mailbox
//   outgoingemaildeliverymethod  0 None, 1 Dynamics 365 for Outlook, 2 Server-Side Synchronization
//                                or Email Router
//   actdeliverymethod            0 Dynamics 365 for Outlook, 1 Server-Side Synchronization, 2 None
//   enabledforincomingemail / enabledforoutgoingemail / enabledforact: set by Dynamics' Test and Enable
//   statecode                    0 Active, 1 Inactive
//
// "Processed by Dynamics" for a direction: the row is active, the direction's delivery method is
// server-side synchronization / Email Router (incoming also Forward Mailbox), and the row is
// enabled for it. Dynamics 365 for Outlook tracks mail from the user's Outlook client, not from
// the server, so it does not count.
import { odataString } from './dynamics-odata.js';

/** The columns of a `mailbox` row this module and the connector read. */
export const MAILBOX_COLUMNS = [
  'mailboxid',
  'emailaddress',
  'statecode',
  'incomingemaildeliverymethod',
  'outgoingemaildeliverymethod',
  'actdeliverymethod',
  'enabledforincomingemail',
  'enabledforoutgoingemail',
  'enabledforact',
  'emailrouteraccessapproval',
  '_ownerid_value',
  '_regardingobjectid_value',
] as const;

export interface DataverseMailboxRow {
  mailboxid: string;
  emailaddress?: string | null;
  statecode?: number | null;
  incomingemaildeliverymethod?: number | null;
  outgoingemaildeliverymethod?: number | null;
  actdeliverymethod?: number | null;
  enabledforincomingemail?: boolean | null;
  enabledforoutgoingemail?: boolean | null;
  enabledforact?: boolean | null;
  /** Email Address Status: 0 Empty, 1 Approved, 2 Pending Approval, 3 Rejected. */
  emailrouteraccessapproval?: number | null;
  /** The user (or team) that owns the mailbox: the user, or the queue's owner. */
  _ownerid_value?: string | null;
  '_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname'?: string;
  /** The user or queue the mailbox belongs to. */
  _regardingobjectid_value?: string | null;
  '_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname'?: string;
}

export type CoexistenceDirection = 'incoming' | 'outgoing' | 'appointmentsContactsTasks';

/** What the rule reads of a row: a whole row, or only its delivery methods (a cut-over's record). */
export type CoexistenceRow = Partial<DataverseMailboxRow>;

export const DELIVERY_METHOD = {
  incoming: { None: 0, Outlook: 1, ServerSideSync: 2, ForwardMailbox: 3 },
  outgoing: { None: 0, Outlook: 1, ServerSideSync: 2 },
  appointmentsContactsTasks: { Outlook: 0, ServerSideSync: 1, None: 2 },
} as const;

const COLUMN_OF: Record<
  CoexistenceDirection,
  { method: keyof DataverseMailboxRow; enabled: keyof DataverseMailboxRow; name: string; byDynamics: number[]; none: number }
> = {
  incoming: {
    method: 'incomingemaildeliverymethod',
    enabled: 'enabledforincomingemail',
    name: 'Incoming Email',
    byDynamics: [2, 3],
    none: DELIVERY_METHOD.incoming.None,
  },
  outgoing: {
    method: 'outgoingemaildeliverymethod',
    enabled: 'enabledforoutgoingemail',
    name: 'Outgoing Email',
    byDynamics: [2],
    none: DELIVERY_METHOD.outgoing.None,
  },
  appointmentsContactsTasks: {
    method: 'actdeliverymethod',
    enabled: 'enabledforact',
    name: 'Appointments, Contacts, and Tasks',
    byDynamics: [1],
    none: DELIVERY_METHOD.appointmentsContactsTasks.None,
  },
};

/** What coexistence needs of a Dataverse client (DataverseClient has it). */
export interface DataverseAccess {
  list<T>(path: string, max: number, prefer?: string[]): Promise<T[]>;
  update(entitySet: string, id: string, body: Record<string, unknown>): Promise<void>;
}

/** The GET path of the mailbox rows of these addresses (compared case-insensitively by Dataverse). */
export function mailboxRowsPath(addresses: string[], extraColumns: readonly string[] = []): string {
  const filter = addresses.map((a) => `emailaddress eq ${odataString(a)}`).join(' or ');
  return `mailboxes?$select=${[...MAILBOX_COLUMNS, ...extraColumns].join(',')}&$filter=${encodeURIComponent(filter)}`;
}

/** The address's `mailbox` row, or undefined when Dynamics has none (an address unknown to it). */
export async function readMailboxRow(client: DataverseAccess, address: string): Promise<DataverseMailboxRow | undefined> {
  const rows = await client.list<DataverseMailboxRow>(mailboxRowsPath([address]), 2, [
    'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"',
  ]);
  return rows[0];
}

export interface Coexistence {
  /** The directions, of those asked about, that Dynamics still processes. */
  processedByDynamics: CoexistenceDirection[];
  /** For people: which setting of the row says so, e.g. `Incoming Email: Server-Side Synchronization or Email Router (enabled)`. */
  detail: string;
}

/** Which of `directions` Dynamics itself still processes for this row (none without a row). */
export function processedByDynamics(row: CoexistenceRow | undefined, directions: readonly CoexistenceDirection[]): Coexistence {
  if (!row || row.statecode === 1)
    return { processedByDynamics: [], detail: row ? 'the mailbox row is inactive' : 'Dynamics has no mailbox row for this address' };
  const busy = directions.filter((d) => {
    const c = COLUMN_OF[d];
    const method = row[c.method];
    return typeof method === 'number' && c.byDynamics.includes(method) && row[c.enabled] !== false;
  });
  const detail = busy.map((d) => `${COLUMN_OF[d].name}: ${methodName(d, row[COLUMN_OF[d].method] as number)} (enabled)`).join('; ');
  return { processedByDynamics: busy, detail };
}

/**
 * The PATCH that makes Dynamics stop processing these directions: the delivery method of each one
 * that is Dynamics' own (server-side synchronization, Email Router, forward mailbox) set to None,
 * whether or not Dynamics' last Test and Enable passed: a disabled row is one Test and Enable away
 * from processing again, and the delivery method is the administrator's switch. Only columns that
 * change are in it.
 */
export function handOverChanges(row: CoexistenceRow, directions: readonly CoexistenceDirection[]): Record<string, number> {
  return Object.fromEntries(
    directions
      .filter((d) => COLUMN_OF[d].byDynamics.includes(row[COLUMN_OF[d].method] as number))
      .map((d) => [COLUMN_OF[d].method, COLUMN_OF[d].none]),
  );
}

export interface HandOver {
  mailboxid: string;
  /** The delivery methods before, by column, so a cut-over can be rolled back. */
  before: Record<string, number | null>;
  after: Record<string, number>;
}

/**
 * Sets the delivery methods of these directions that are Dynamics' own to None (handOverChanges).
 * Returns what it changed (nothing when none is).
 */
export async function handOver(
  client: DataverseAccess,
  row: DataverseMailboxRow,
  directions: readonly CoexistenceDirection[],
): Promise<HandOver | undefined> {
  const after = handOverChanges(row, directions);
  if (Object.keys(after).length === 0) return undefined;
  const before = Object.fromEntries(
    Object.keys(after).map((k) => [k, (row[k as keyof DataverseMailboxRow] as number | null | undefined) ?? null]),
  );
  await client.update('mailboxes', row.mailboxid, after);
  return { mailboxid: row.mailboxid, before, after };
}

function methodName(d: CoexistenceDirection, value: number): string {
  if (d === 'incoming' && value === DELIVERY_METHOD.incoming.ForwardMailbox) return 'Forward Mailbox';
  return 'Server-Side Synchronization or Email Router';
}
