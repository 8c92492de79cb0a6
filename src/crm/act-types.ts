// The CRM side of appointment, contact and task sync (ACT), behind one interface that CRM
// connectors implement (the webhook connector, act-webhook.ts; the Dynamics 365 connector, dynamics-act.ts). The CRM is also where ACT keeps its state: the link of
// every synchronized item (CRM id ⇄ Exchange id, iCalUId, the snapshot of fingerprints both sides
// last agreed on) and each mailbox's cursors. Nothing per item lives in the operator's memory or in
// etcd, so links survive restarts, shard moves and the loss of any pod (docs/act.md, "Links").

import type { ActKind, Fields, Snapshot } from '../api/act-fields.js';

/** The mailbox whose items these are: its address is how the CRM knows the user. */
export interface ActMailboxRef {
  address: string;
  ownerName: string;
}

export interface ActLink {
  crmId: string;
  /** Exchange id: a Graph immutable id or an EWS ItemId. */
  exchangeId: string;
  /** EWS ChangeKey or Graph change key of the Exchange item as last written or read. */
  changeKey?: string;
  /** Events: the iCalendar UID, the same in every attendee's mailbox. */
  iCalUId?: string;
  snapshot: Snapshot;
  /** Where the item began: CRM (synchronized to Exchange) or Exchange (tracked by category). */
  origin: 'CRM' | 'Exchange';
}

export type ActAppointmentState = 'open' | 'completed' | 'canceled';

export interface ActRecord {
  crmId: string;
  fields: Fields;
  /** Appointments: the CRM state, which decides cancellations and deletes. */
  state?: ActAppointmentState;
  iCalUId?: string;
  link?: ActLink;
  /** False when the record is no longer in this mailbox's sync filter (a lookup returns it anyway). */
  inFilter?: boolean;
  /** An exception of a recurring series: the CRM id of the series' master and the occurrence's original start (UTC). */
  seriesMasterId?: string;
  originalStart?: string;
}

/** One entry of the CRM's change feed for a mailbox and kind. */
export interface ActChange {
  crmId: string;
  /** The record as it is now; absent when removed. */
  record?: ActRecord;
  /** Why the record no longer syncs with this mailbox. */
  removed?: 'deleted' | 'leftFilter' | 'accessLost';
  link?: ActLink;
}

export interface ActChangesPage {
  changes: ActChange[];
  cursor: string;
  more: boolean;
}

/** Where a mailbox's sync of each kind resumes, and whether its first sync finished. */
export interface ActMailboxState {
  kinds: Partial<Record<ActKind, { exchangeCursor?: string; crmCursor?: string; initialDone?: boolean; creating?: boolean }>>;
}

export interface ActConnector {
  /**
   * Whether the connector synchronizes recurring series (masters with a recurrence, exceptions
   * with seriesMasterId): both the webhook contract and the Dynamics 365 connector do; the
   * engine skips series with an item-level failure for a connector that does not.
   */
  readonly actSeries?: boolean;
  /** Fields of a kind this CRM cannot hold (Dynamics 365: an appointment's time zone): they flow nowhere. */
  readonly actUnsupported?: Partial<Record<ActKind, string[]>>;
  /** The records of this kind in the mailbox's sync filter that changed since `cursor` (all of them without one). */
  actChanges(mailbox: ActMailboxRef, kind: ActKind, cursor: string | undefined, limit: number): Promise<ActChangesPage>;
  /** Records (with their links) by CRM id, by linked Exchange id or by iCalUId. */
  actLookup(
    mailbox: ActMailboxRef,
    kind: ActKind,
    keys: { crmIds?: string[]; exchangeIds?: string[]; iCalUIds?: string[] },
  ): Promise<ActRecord[]>;
  /**
   * Creates the record an Exchange item becomes, with its link, idempotently on (mailbox, kind,
   * key): the same key again returns the same record (`created` false) with its current fields.
   */
  actCreate(
    mailbox: ActMailboxRef,
    kind: ActKind,
    item: { key: string; fields: Fields; link: Omit<ActLink, 'crmId'>; seriesMasterId?: string; originalStart?: string },
  ): Promise<{ crmId: string; created: boolean; record?: ActRecord }>;
  /** Writes fields (any subset) and the link in one request. */
  actUpdate(mailbox: ActMailboxRef, kind: ActKind, crmId: string, change: { fields: Fields; link: ActLink }): Promise<void>;
  actDelete(mailbox: ActMailboxRef, kind: ActKind, crmId: string): Promise<void>;
  /** Records or replaces links (after writing to Exchange). */
  actLink(mailbox: ActMailboxRef, kind: ActKind, link: ActLink): Promise<void>;
  /** Forgets a link; the record and the Exchange item stay. */
  actUnlink(mailbox: ActMailboxRef, kind: ActKind, crmId: string): Promise<void>;
  actGetState(mailbox: ActMailboxRef): Promise<ActMailboxState>;
  actPutState(mailbox: ActMailboxRef, state: ActMailboxState): Promise<void>;
}

/**
 * The spec.crm.type values whose connector implements ACT (factory.ts builds a WebhookActConnector
 * or a DynamicsActConnector); Test and Enable refuses ACT for any other.
 */
export const ACT_CONNECTOR_TYPES: ReadonlySet<string> = new Set(['Webhook', 'Dynamics365']);

/** A connector that implements ACT. */
export function isActConnector(c: unknown): c is ActConnector {
  return !!c && typeof (c as Partial<ActConnector>).actChanges === 'function';
}
