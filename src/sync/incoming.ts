// The incoming pipeline for one mailbox, one cycle: fetch since the checkpoint -> guard and parse
// -> correlate -> filter -> deliver to the CRM (idempotent on mailbox + Message-ID) -> advance the
// checkpoint. Delivery is at-least-once (a crash between delivery and checkpoint redelivers, and
// the CRM answers "already there"), so the CRM sees each message exactly once. Messages that
// cannot be processed are reported and skipped; they never block the ones after them.

import type { CrmConnector, IncomingEmail } from '../crm/types.js';
import { CrmError } from '../crm/types.js';
import type { RawMessage } from '../mail/types.js';
import { accepts, type FilteringMethod } from './filter.js';
import { inlineParser, type MessageParser } from './parser-pool.js';
import { messageIdOfConversation } from './thread-index.js';
import { findToken, type TokenSettings } from './tracking-token.js';

export interface Checkpoint {
  uidValidity?: string;
  lastUid?: number;
  highestModseq?: string;
  syncState?: string;
  /** Where the Sent Items sync resumes (trackSentItems). */
  sentItems?: Omit<Checkpoint, 'sentItems'>;
}

export interface FetchedMessage {
  raw: RawMessage;
  /** The checkpoint once this message and all before it are done (computed only when saved). */
  position: () => Checkpoint;
  /** When the server received it, if known (for latency and processEmailReceivedAfter). */
  receivedAt?: Date;
  /**
   * Read again from the start because the source lost its position (IMAP UIDVALIDITY changed):
   * what the CRM already has was counted before, so a redelivery of it does not count again.
   */
  reread?: boolean;
}

/** A mail server's view of one mailbox's inbox, for incoming sync. No Kubernetes, no CRM. */
export interface IncomingSource {
  fetchNew(checkpoint: Checkpoint | undefined): AsyncIterable<FetchedMessage>;
  /** Deletes a processed message (forward mailboxes with deleteAfterProcessing). */
  remove?(m: FetchedMessage): Promise<void>;
  /** Moves a message that cannot be processed out of the inbox. */
  moveToUndeliverable?(m: FetchedMessage): Promise<void>;
}

/**
 * A mailbox whose incoming mail reaches the CRM through a forward mailbox (incoming delivery method
 * ForwardMailbox): the activity of a message it forwarded is its owner's.
 */
export interface Forwarder {
  /** The forwarding Mailbox (namespace/name). */
  key: string;
  address: string;
  ownerKind: 'User' | 'Queue';
  ownerName: string;
  /** The Deployment's filtering for the forwarder's owner kind: as if its own mailbox had received the message. */
  filtering: FilteringMethod;
}

/** A mailbox's sync settings: who owns it, how its mail is filtered, correlated and bounded (from the Mailbox, its Deployment and its profile). */
export interface MailboxSyncSettings {
  key: string;
  address: string;
  /** The owner; a forward mailbox has none (each message belongs to its forwarder). */
  ownerKind?: 'User' | 'Queue';
  ownerName?: string;
  forwardMailbox: boolean;
  /**
   * Forward mailboxes: the forwarding mailbox with this address, if there is one. Asked for each
   * message, so that a forwarder added or removed later counts from its next message on.
   */
  forwarder?: (address: string) => Forwarder | undefined;
  deleteAfterProcessing: boolean;
  filtering: FilteringMethod;
  correlation: boolean;
  token: TokenSettings;
  maxAttachmentBytes: number;
  moveFailedToUndeliverable: boolean;
  processEmailReceivedAfter?: Date;
  /**
   * Ignoring mail between the organization's own users and queues (the Deployment's
   * internalEmail): `isInternal` tells the organization's addresses.
   */
  internalEmail?: { ignore: boolean; trackToQueues: boolean; isInternal: (address: string) => boolean };
  /**
   * This sync reads the mailbox's Sent Items (trackSentItems): mail its owner sent. Filtering and
   * internal email look at the recipients, and mail the CRM sent itself (its Message-ID is a CRM
   * email's) is left out.
   */
  sentItems?: boolean;
}

export interface IncomingEvents {
  delivered?(email: IncomingEmail, created: boolean, receivedAt?: Date): void;
  filtered?(sourceId: string): void;
  /** A message that cannot be processed: reported on the mailbox and in an Event. */
  rejected?(sourceId: string, reason: string, message: string): void;
  /**
   * The checkpoint moved past more messages; `passed.delivered` of them reached the CRM (created,
   * or already there after a crash). Saved together, the two keep status.counts.received equal to
   * what the CRM holds: a crash loses both or neither.
   */
  checkpoint?(cp: Checkpoint, passed: { delivered: number }): Promise<void>;
}

export interface CycleResult {
  delivered: number;
  duplicates: number;
  filtered: number;
  rejected: number;
  checkpoint?: Checkpoint;
}

export interface IncomingOptions {
  /**
   * Messages parsed and delivered at once (default 64: concurrent deliveries are what fills the
   * CRM connector's batches), and their raw size in bytes at most (default 32 MiB; one message
   * over it still goes alone), so large messages cannot pile up in memory.
   */
  concurrency?: number;
  maxInFlightBytes?: number;
  /** Save the checkpoint after this many completed messages (and at the end). */
  saveEvery?: number;
  /** Where MIME parsing runs (a process-wide thread pool in the operator); inline by default. */
  parser?: MessageParser;
}

export class IncomingSync {
  constructor(
    private readonly mailbox: MailboxSyncSettings,
    private readonly source: IncomingSource,
    private readonly crm: CrmConnector,
    private readonly events: IncomingEvents = {},
    private readonly opts: IncomingOptions = {},
  ) {}

  /**
   * One cycle from `checkpoint`. A CRM failure that affects every message (unreachable,
   * throttled, credentials) ends the cycle with that error, after saving the checkpoint of what
   * was delivered before it; the caller retries later.
   */
  async runOnce(checkpoint: Checkpoint | undefined): Promise<CycleResult> {
    const result: CycleResult = { delivered: 0, duplicates: 0, filtered: 0, rejected: 0, checkpoint };
    const tokens = await this.tokenSettings();
    const concurrency = this.opts.concurrency ?? 64;
    const maxBytes = this.opts.maxInFlightBytes ?? 32 * 1024 * 1024;
    let bytes = 0;
    const saveEvery = this.opts.saveEvery ?? 500;
    // In-order completion tracking: the checkpoint only moves past a message once every message
    // before it is done, whatever order the concurrent deliveries finish in.
    const done: boolean[] = [];
    const positions: (() => Checkpoint)[] = [];
    // Per message: it counts as delivered (status.counts.received) once the checkpoint passes it.
    const counted: boolean[] = [];
    let next = 0; // first message not yet done
    let unsaved = 0; // messages the checkpoint passed since the last save
    let unsavedDelivered = 0; // of those, delivered to the CRM
    let fatal: unknown;
    const inFlight = new Set<Promise<void>>();

    const advance = async (force: boolean) => {
      while (next < done.length && done[next]) {
        if (counted[next]) unsavedDelivered++;
        next++;
        unsaved++;
      }
      if (unsaved > 0 && (force || unsaved >= saveEvery)) {
        const passed = { delivered: unsavedDelivered };
        unsaved = 0;
        unsavedDelivered = 0;
        // Positions are computed only when saved: for POP3 one is a whole set of UIDLs.
        result.checkpoint = positions[next - 1]();
        await this.events.checkpoint?.(result.checkpoint, passed);
      }
    };

    for await (const m of this.source.fetchNew(checkpoint)) {
      if (fatal) break;
      const index = done.length;
      const size = m.raw.source.length;
      done.push(false);
      counted.push(false);
      positions.push(m.position);
      bytes += size;
      const tracked: Promise<void> = this.processOne(m, result, tokens)
        .then((delivered) => {
          counted[index] = delivered;
          done[index] = true;
        })
        .catch((err) => {
          fatal ??= err;
        })
        .finally(() => {
          inFlight.delete(tracked);
          bytes -= size;
        });
      inFlight.add(tracked);
      while (inFlight.size >= concurrency || (bytes >= maxBytes && inFlight.size > 0)) await Promise.race(inFlight);
      await advance(false);
    }
    await Promise.all(inFlight);
    await advance(true);
    if (fatal) throw fatal;
    return result;
  }

  /** The tracking-token format: the CRM's own (Dynamics' organization settings) when it has one. */
  private async tokenSettings(): Promise<TokenSettings> {
    const own = this.mailbox.token.enabled ? await this.crm.trackingTokenFormat?.() : undefined;
    return own ? { ...own, enabled: true } : this.mailbox.token;
  }

  /** Processes one message; true when it counts as delivered to the CRM. */
  private async processOne(m: FetchedMessage, result: CycleResult, tokens: TokenSettings): Promise<boolean> {
    const mb = this.mailbox;
    if (mb.processEmailReceivedAfter && m.receivedAt && m.receivedAt < mb.processEmailReceivedAfter) {
      result.filtered++;
      return false;
    }
    const parsed = await (this.opts.parser ?? inlineParser).parse(m.raw.source, {
      maxAttachmentBytes: mb.maxAttachmentBytes,
      unwrapForwarded: mb.forwardMailbox,
    });
    if (!parsed.ok) {
      await this.reject(m, parsed.reason, parsed.message, result);
      return false;
    }
    // Whose activity it is: the mailbox's owner, or for a forward mailbox the forwarder's.
    let owner: { ownerKind: 'User' | 'Queue'; ownerName: string; filtering: FilteringMethod; forwardedBy?: IncomingEmail['forwardedBy'] };
    if (mb.forwardMailbox) {
      const by = parsed.forwardedBy?.address;
      const forwarder = by ? mb.forwarder?.(by) : undefined;
      if (!forwarder) {
        const why = by
          ? `forwarded by ${by}, which is not the address of a mailbox of this Deployment whose incoming delivery method is ForwardMailbox (or that mailbox is suspended or not approved)`
          : "not a forwarded message: a forward mailbox takes mail forwarded as an attachment (message/rfc822) by its Deployment's mailboxes";
        await this.reject(m, 'NotFromForwardingMailbox', `${why}; skipped`, result);
        return false;
      }
      owner = {
        ownerKind: forwarder.ownerKind,
        ownerName: forwarder.ownerName,
        filtering: forwarder.filtering,
        forwardedBy: { mailbox: forwarder.key, address: forwarder.address },
      };
    } else if (mb.ownerKind && mb.ownerName) {
      owner = { ownerKind: mb.ownerKind, ownerName: mb.ownerName, filtering: mb.filtering };
    } else {
      throw new Error(`mailbox ${mb.key} has no owner and is not a forward mailbox`);
    }
    const email: IncomingEmail = {
      ...parsed.email,
      mailbox: mb.key,
      mailboxAddress: mb.address,
      ownerKind: owner.ownerKind,
      ownerName: owner.ownerName,
      ...(owner.forwardedBy ? { forwardedBy: owner.forwardedBy } : {}),
      sourceId: m.raw.id,
      receivedAt: (m.receivedAt ?? new Date()).toISOString(),
    };
    if (mb.sentItems) {
      email.sent = true;
      // Sent by the CRM itself: it is an activity already.
      if (await this.crm.findEmailByMessageId([email.messageId])) return this.filter(m, result);
    }
    // Mail between colleagues, when the Deployment ignores it: only a queue's mailbox keeps it.
    // What the owner sent is internal when it went to colleagues only.
    const internal = mb.internalEmail;
    const counterparts = mb.sentItems ? [...email.to, ...email.cc].map((p) => p.address) : [email.from.address];
    const isInternal = !!internal?.ignore && counterparts.length > 0 && counterparts.every((a) => a && internal.isInternal(a));
    if (isInternal && !(owner.ownerKind === 'Queue' && internal?.trackToQueues)) return this.filter(m, result);
    const token = findToken(tokens, email.subject);
    if (token) email.trackingToken = token;
    const regarding = await this.correlate(email, token, mb.correlation);
    if (regarding) email.regarding = regarding;
    // Received mail is judged by its sender, sent mail by its recipients (any of them will do).
    const checkIncoming = this.crm.checkIncoming?.bind(this.crm);
    let wanted = false;
    for (const address of mb.sentItems ? counterparts : [email.from.address]) {
      wanted = await accepts({
        method: owner.filtering,
        from: address,
        correlated: !!email.regarding || !!token,
        lookup: (a) => this.crm.lookupAddress(a),
        ...(checkIncoming ? { check: async () => (await checkIncoming(email)).deliver } : {}),
      });
      if (wanted) break;
    }
    if (!wanted) return this.filter(m, result);
    let created: boolean;
    try {
      created = (await this.crm.deliverIncoming(email)).created;
      if (created) result.delivered++;
      else result.duplicates++;
      this.events.delivered?.(email, created, m.receivedAt);
    } catch (err) {
      // The CRM refused this one message (4xx): report it and go on with the rest.
      if (err instanceof CrmError && err.reason === 'CRMRejected') {
        await this.reject(m, 'CRMRejected', err.message, result);
        return false;
      }
      throw err;
    }
    if (mb.deleteAfterProcessing) await this.source.remove?.(m);
    // "Already there" after a crash was delivered by the life that did not save its checkpoint,
    // and that life's count was lost with it; after a re-read from the start it was counted.
    return created || !m.reread;
  }

  /**
   * Which CRM email this one answers, in the order Dynamics uses: In-Reply-To; then a tracking
   * token, resolved by the CRM (one it cannot find here is still handed to it, as trackingToken,
   * and what follows would only guess); then References; then the Thread-Index conversation of an
   * email the operator sent. `headers` (correlation.enabled) turns the header steps on; tracking
   * tokens have their own setting.
   */
  private async correlate(email: IncomingEmail, token: string | undefined, headers: boolean): Promise<IncomingEmail['regarding']> {
    const find = async (ids: (string | undefined)[], by: NonNullable<IncomingEmail['regarding']>['by']) => {
      const wanted = ids.filter((x): x is string => !!x);
      const crmEmailId = wanted.length ? await this.crm.findEmailByMessageId(wanted) : undefined;
      return crmEmailId ? { crmEmailId, by } : undefined;
    };
    const byReply = headers ? await find([email.inReplyTo], 'InReplyTo') : undefined;
    if (byReply) return byReply;
    if (token) {
      const crmEmailId = await this.crm.findEmailByTrackingToken(token);
      return crmEmailId ? { crmEmailId, by: 'TrackingToken' } : undefined;
    }
    if (!headers) return undefined;
    return (
      (await find(email.references.slice().reverse(), 'References')) ??
      (await find([messageIdOfConversation(email.threadIndex, this.mailbox.address)], 'ThreadIndex'))
    );
  }

  /** A message the Deployment does not track. */
  private async filter(m: FetchedMessage, result: CycleResult): Promise<false> {
    result.filtered++;
    this.events.filtered?.(m.raw.id);
    // A forward mailbox is the operator's alone: what it does not track goes too. A queue's
    // mailbox is read by people, who keep what the CRM does not want.
    if (this.mailbox.forwardMailbox && this.mailbox.deleteAfterProcessing) await this.source.remove?.(m);
    return false;
  }

  private async reject(m: FetchedMessage, reason: string, message: string, result: CycleResult): Promise<void> {
    result.rejected++;
    this.events.rejected?.(m.raw.id, reason, message);
    if (this.mailbox.moveFailedToUndeliverable) await this.source.moveToUndeliverable?.(m);
  }
}
