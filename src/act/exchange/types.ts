// The Exchange side of ACT, one store per kind, behind one interface: Microsoft Graph (Exchange
// Online) and EWS (Exchange Server) implement it. Items are in the internal model (model.ts);
// ids are what the link keeps (Graph immutable ids, EWS ItemIds).

import type { ActKind, Fields } from '../model.js';

export interface ExchangeItem {
  id: string;
  /** EWS ChangeKey / Graph changeKey: an update with a stale one is a conflict. */
  changeKey?: string;
  iCalUId?: string;
  fields: Fields;
  categories: string[];
  /** The CRM id this item was stamped with by our organization, if any (extended property, transactionId, linkedResource). */
  stampedCrmId?: string;
  /**
   * An exception of a series (a moved or changed occurrence): the Exchange id of its series'
   * master and the occurrence's original start (UTC). Plain occurrences are never items: the
   * master's recurrence and deletedOccurrences describe them.
   */
  seriesMasterId?: string;
  originalStart?: string;
}

/** Where an exception goes: the occurrence of this master that starts (originally) at this UTC time. */
export interface SeriesRef {
  masterId: string;
  originalStart: string;
}

export interface ExchangeChanges {
  /** Items created or changed since the cursor (each once, as they are now). */
  items: ExchangeItem[];
  /** Ids deleted since the cursor (out-of-window removals already dropped). */
  removed: string[];
  cursor: string;
  /** The stored cursor had expired (Graph 410, EWS invalid SyncState): this is a full read. */
  restarted: boolean;
}

export interface WriteOptions {
  /** Whether Exchange may send invitations, updates or cancellations to attendees. */
  notifyAttendees: boolean;
}

/** The item's id and change key after a write. */
export interface Written {
  id: string;
  changeKey?: string;
  iCalUId?: string;
  /**
   * Fields not written because writing them would mail attendees when that was not allowed
   * (Graph cannot change an invited meeting silently); Exchange's values of them stand.
   */
  withheld?: string[];
}

export interface ExchangeKindStore {
  readonly kind: ActKind;
  /** Fields this kind of item cannot hold on this server (To Do has no percent complete): they flow nowhere. */
  readonly unsupported?: string[];
  /** Changes since `cursor`; everything in scope (the calendar window) without one. */
  changes(cursor: string | undefined, signal?: AbortSignal): Promise<ExchangeChanges>;
  /** The item now; undefined when it no longer exists. */
  get(id: string, signal?: AbortSignal): Promise<ExchangeItem | undefined>;
  /**
   * Creates an item stamped with the CRM id; retried creates of the same stamp make one item. With
   * `series`, the item is an exception: the occurrence is found by its original start and changed
   * (it is not created; an occurrence that does not exist is an item-level refusal).
   */
  create(
    fields: Fields,
    stamp: { org: string; crmId: string; categories?: string[] },
    opts: WriteOptions & { series?: SeriesRef },
    signal?: AbortSignal,
  ): Promise<Written>;
  /** Writes these fields; throws ExchangeConflict when `changeKey` is stale. */
  update(
    id: string,
    changeKey: string | undefined,
    fields: Fields,
    opts: WriteOptions & { stamp?: { org: string; crmId: string } },
    signal?: AbortSignal,
  ): Promise<Written>;
  /**
   * The item stamped with this CRM id, if any: how a create whose link was lost is found when the
   * stamp is not visible in the change feed (Graph contacts). Not needed where it is (EWS, Graph events).
   */
  findByStamp?(stamp: { org: string; crmId: string }, signal?: AbortSignal): Promise<Written | undefined>;
  /**
   * Every item stamped by this organization, by CRM id: read at a mailbox's first sync, so that
   * links lost with the CRM's state are rebuilt from Exchange instead of creating items again.
   */
  stampIndex?(org: string, signal?: AbortSignal): Promise<Map<string, Written>>;
  /** Deletes the item (cancelling the meeting when notifyAttendees); a missing item is not an error. */
  delete(id: string, opts: WriteOptions, signal?: AbortSignal): Promise<void>;
}

/** The organization that holds a mailbox's ACT sync, as recorded in the mailbox itself (Dynamics keeps it in Exchange too). */
export interface OrganizationClaim {
  /** The Deployment's uid. */
  org: string;
  /** `namespace/name` of the Deployment, for messages. */
  name: string;
  /** When the holder last confirmed it (ISO). */
  at: string;
}

/** A claim as stored (JSON in a named extended property); undefined when absent or not ours to read. */
export function parseClaim(value: string | undefined): OrganizationClaim | undefined {
  try {
    const c = value ? (JSON.parse(value) as OrganizationClaim) : undefined;
    return c && typeof c.org === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
}

export interface ExchangeActAdapter {
  stores: Partial<Record<ActKind, ExchangeKindStore>>;
  readClaim(signal?: AbortSignal): Promise<OrganizationClaim | undefined>;
  writeClaim(claim: OrganizationClaim, signal?: AbortSignal): Promise<void>;
  /** Test and Enable: checks access to each kind's folder; rejects with a MailError naming what is missing. */
  test(kinds: ActKind[], signal?: AbortSignal): Promise<void>;
}

/** An update refused because the item changed since its change key (EWS ErrorIrresolvableConflict, Graph 412). */
export class ExchangeConflict extends Error {
  constructor(readonly id: string) {
    super(`the Exchange item changed since it was read`);
    this.name = 'ExchangeConflict';
  }
}
