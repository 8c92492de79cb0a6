// The long-running loops of one mailbox: incoming (woken by IMAP IDLE/EXISTS, a reconnect, a
// sync-now request or the safety resync timer) and outgoing (polling the CRM for emails pending
// send). Each direction keeps its health (direction-health.ts): a permanent failure or a spent
// transient budget stops that direction at once; otherwise it retries within seconds. Everything
// is reported to the SyncReporter; nothing here knows Kubernetes.

import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../api/retry-policy.js';
import type { CrmConnector } from '../crm/types.js';
import { AdaptiveCadence } from './cadence.js';
import { DirectionHealth, failureOf, type Failing, type Failure } from './direction-health.js';
import { IncomingSync, type Checkpoint, type IncomingEvents, type IncomingSource, type MailboxSyncSettings } from './incoming.js';
import type { MessageParser } from './parser-pool.js';
import { OutgoingSync, type OutgoingEvents, type OutgoingMailbox, type OutgoingSender } from './outgoing.js';
import type { FeedSubscription, PendingFeed } from './pending-feed.js';

/** When a direction runs next after a successful cycle; intervalMs is what status shows as pollInterval. */
type Cadence = Pick<AdaptiveCadence, 'next'> & { readonly intervalMs?: number };

export type SyncDirection = 'incoming' | 'outgoing' | 'appointmentsContactsTasks';

/** Where notifications wake a mailbox, a cycle that found mail is followed by one more look this much later. */
export const FOLLOW_UP_MS = 10_000;

/** What wakes a mailbox up when mail arrives (status.sync.incoming.notifications). */
export interface NotificationState {
  method: 'IMAPIdle' | 'EWSStreaming' | 'EWSPull' | 'GraphChangeNotifications' | 'Polling';
  /** The subscription in use, or why push is not available and the mailbox is polled. */
  message: string;
  /** Push was wanted but is not available (a Warning Event), as opposed to a profile that asks for polling. */
  fallback?: boolean;
}

/** What a long-lived session (IMAP) or a notification subscription tells its direction between cycles. */
export interface SessionWatcher {
  /** New mail may be there (IDLE EXISTS, a notification), or the session (re)connected: time for a cycle. */
  wake(): void;
  /** A connection attempt failed or the connection dropped. */
  failed(err: unknown): void;
  /** Push notifications started, stopped or changed (a fallback to polling says why). */
  notifications?(state: NotificationState): void;
}

export interface SyncParts {
  mailbox: MailboxSyncSettings;
  outgoingMailbox: OutgoingMailbox;
  crm: CrmConnector;
  incoming?: {
    source: IncomingSource;
    /** The mailbox's Sent Items, read after the inbox in every cycle (the Deployment's trackSentItems). */
    sentItems?: IncomingSource;
    /** Connection events of a long-lived session (IMAP IDLE). */
    watch?(w: SessionWatcher): void;
    /**
     * Signs in afresh before a safety resync, so credentials revoked while a session stays open
     * are noticed within one cycle (IMAP; sources that sign in every cycle need not).
     */
    refresh?(): Promise<void>;
    close(): Promise<void>;
  };
  outgoing?: { sender: OutgoingSender; close(): Promise<void> };
  /**
   * The Deployment's pending-send feed (pending-feed.ts): when set, the outgoing loop does not poll
   * the CRM by itself but runs when the feed finds mail for it (or on a sync-now request).
   */
  pendingFeed?: PendingFeed;
  /** Appointments, contacts and tasks (src/act): one cycle, and when to run it again (adaptive). */
  act?: {
    cycle(reporter: SyncReporter): Promise<CycleCounts>;
    intervalMs(): number;
    /** Change notifications on the ACT folders: they wake this loop (the interval stays as the safety resync). */
    watch?(w: SessionWatcher): void;
    close?(): Promise<void>;
  };
  /** Safety resync (or poll) interval after a cycle that found mail: the profile's minPollingInterval. */
  pollIntervalMs: number;
  /** The longest it grows to while the mailbox stays quiet (maxPollingInterval); pollIntervalMs when absent. */
  maxPollIntervalMs?: number;
  /** Where notifications wake the mailbox: one more look this long after a cycle that found mail (FOLLOW_UP_MS). */
  followUpMs?: number;
  outgoingIntervalMs: number;
  /** The Deployment's retry policy (budget, back-off); the operator's defaults when absent. */
  retry?: RetryPolicy;
  /** Where incoming MIME is parsed; inline when absent. */
  parser?: MessageParser;
}

/** What one successful cycle did. */
export interface CycleCounts {
  delivered?: number;
  duplicates?: number;
  filtered?: number;
  failed?: number;
  sent?: number;
  released?: number;
  deferred?: number;
  /** Appointments, contacts and tasks. */
  created?: number;
  updated?: number;
  deleted?: number;
  unlinked?: number;
  conflicts?: number;
}

/** Emails an outgoing cycle takes at once. */
const OUTGOING_BATCH = 50;

export interface SyncReporter extends IncomingEvents, OutgoingEvents {
  /** The checkpoint to resume from. */
  initialCheckpoint(): Checkpoint | undefined;
  /** A cycle succeeded; `nextAt` is when the loop runs again by itself, `intervalMs` the cadence now. */
  cycleSucceeded?(direction: SyncDirection, counts: CycleCounts, nextAt: Date, intervalMs?: number): void;
  /** How new mail wakes the incoming direction changed. */
  notifications?(state: NotificationState): void;
  /**
   * An attempt failed: a cycle, or a connection attempt of a long-lived session. `state` is set
   * when the direction's failure state changed (first failure, another reason or count, a stop);
   * `nextAt` is undefined when the direction stopped and does not try again by itself.
   */
  attemptFailed?(direction: SyncDirection, failure: Failure, state: Failing | undefined, nextAt: Date | undefined): void;
  /** The direction works again after failing. */
  recovered?(direction: SyncDirection, from: Failing): void;
  /** Appointments, contacts and tasks: what one cycle did per kind (created, updated, ... by kind). */
  actCycle?(kinds: Record<string, Record<string, number> | undefined>): void;
  /** A dry run's findings (Mailbox spec.act.dryRun), in one line. */
  actDryRun?(summary: string): void;
  /** One appointment, contact or task could not be synchronized; it was skipped. */
  actItemFailed?(kind: string, item: string, reason: string, message: string): void;
}

class Loop {
  private wakeUp?: () => void;
  private pending = false;
  stopped = false;
  private done?: Promise<void>;

  constructor(
    /** `timer`: the run was due by time (the safety resync), not woken by an event. */
    private readonly body: (timer: boolean) => Promise<void>,
    private readonly intervalMs: () => number,
  ) {}

  start(): void {
    this.done = this.run();
  }

  wake(): void {
    this.pending = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.done;
  }

  private async run(): Promise<void> {
    let timer = false;
    while (!this.stopped) {
      this.pending = false;
      await this.body(timer);
      if (this.stopped) break;
      if (this.pending) {
        timer = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.intervalMs());
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeUp = undefined;
      timer = !this.pending;
    }
  }
}

/** One direction: its loop, its health, and how it stops when it must. */
class Direction {
  readonly health: DirectionHealth;
  readonly loop: Loop;
  private delay = 0;
  private followUp?: NodeJS.Timeout;

  constructor(
    readonly name: SyncDirection,
    cycle: (timer: boolean) => Promise<CycleCounts>,
    private readonly cadence: Cadence,
    policy: RetryPolicy,
    private readonly reporter: SyncReporter,
    private readonly shutDown: () => Promise<void>,
    private readonly stopping: () => boolean,
    /** After a cycle that found something, look again this much later (incoming). */
    private readonly followUpMs?: number,
  ) {
    this.health = new DirectionHealth(policy);
    this.loop = new Loop(
      async (timer) => {
        const startedAt = Date.now();
        let counts: CycleCounts;
        try {
          counts = await cycle(timer);
        } catch (err) {
          if (!this.stopping() && !this.loop.stopped) this.fail(err, startedAt);
          return;
        }
        const found = Object.values(counts).some((n) => !!n);
        this.delay = this.cadence.next(found);
        if (found && this.followUpMs !== undefined && !this.followUp) {
          // Mail comes in bursts, and a notification can be lost in the moment after a cycle (Dovecot
          // hands an idle client over to imap-hibernate then, and mail arriving during the hand-over
          // is announced to nobody): one more look shortly after catches it within seconds.
          this.followUp = setTimeout(() => {
            this.followUp = undefined;
            this.loop.wake();
          }, this.followUpMs);
          this.followUp.unref();
        }
        const was = this.health.ok();
        if (was) this.reporter.recovered?.(this.name, was);
        this.reporter.cycleSucceeded?.(this.name, counts, new Date(Date.now() + this.delay), this.cadence.intervalMs);
      },
      () => this.delay,
    );
  }

  /** Ends the follow-up look (the syncer stops). */
  cancelFollowUp(): void {
    if (this.followUp) clearTimeout(this.followUp);
    this.followUp = undefined;
  }

  /** A failed attempt (a cycle, or the session's); stops the direction when the verdict says so. */
  fail(err: unknown, startedAt = Date.now()): void {
    if (this.loop.stopped) return;
    const failure = failureOf(err);
    const verdict = this.health.failed(failure, startedAt);
    if (!verdict) return; // began before the last success: old news
    if (verdict.stop) {
      // No further attempt, so no further sign-in, until the worker restarts this mailbox on a
      // changed configuration (or the controller's probe passes).
      this.loop.stopped = true;
      this.loop.wake();
      this.reporter.attemptFailed?.(this.name, failure, verdict.report, undefined);
      void this.shutDown().catch(() => undefined);
      return;
    }
    this.delay = verdict.retryInMs;
    this.reporter.attemptFailed?.(this.name, failure, verdict.report, new Date(Date.now() + this.delay));
  }
}

export class MailboxSyncer {
  private checkpoint: Checkpoint | undefined;
  private readonly directions: Direction[] = [];
  private stopping = false;
  private feed?: FeedSubscription;

  constructor(
    private readonly parts: SyncParts,
    private readonly reporter: SyncReporter,
  ) {
    this.checkpoint = reporter.initialCheckpoint();
  }

  /** Directions that still run (a permanent failure or a spent budget stops one). */
  running(): SyncDirection[] {
    return this.directions.filter((d) => !d.loop.stopped).map((d) => d.name);
  }

  start(): void {
    const p = this.parts;
    const r = this.reporter;
    const policy = p.retry ?? DEFAULT_RETRY_POLICY;
    const direction = (
      name: SyncDirection,
      cycle: (timer: boolean) => Promise<CycleCounts>,
      cadence: Cadence,
      close: () => Promise<void>,
      followUpMs?: number,
    ) => new Direction(name, cycle, cadence, policy, r, close, () => this.stopping, followUpMs);
    const incomingPart = p.incoming;
    if (incomingPart) {
      // Explicit delegation: the reporter is a class instance, whose methods a spread would drop.
      // The inbox and the Sent Items each keep their part of one checkpoint (status.checkpoint and
      // its sentItems), saved whole.
      const inboxPart = (cp: Checkpoint | undefined): Checkpoint | undefined => {
        if (!cp) return undefined;
        const { sentItems: _, ...inbox } = cp;
        return inbox;
      };
      const merge = (cp: Checkpoint, sent: boolean): Checkpoint => {
        const inbox = inboxPart(sent ? this.checkpoint : cp) ?? {};
        const sentItems = sent ? inboxPart(cp) : this.checkpoint?.sentItems;
        return sentItems ? { ...inbox, sentItems } : inbox;
      };
      const sync = (source: IncomingSource, sent: boolean) =>
        new IncomingSync(
          sent
            ? { ...p.mailbox, sentItems: true, forwardMailbox: false, deleteAfterProcessing: false, moveFailedToUndeliverable: false }
            : p.mailbox,
          source,
          p.crm,
          {
            delivered: (email, created, at) => r.delivered?.(email, created, at),
            filtered: (id) => r.filtered?.(id),
            rejected: (id, reason, message) => r.rejected?.(id, reason, message),
            checkpoint: async (cp, passed) => {
              this.checkpoint = merge(cp, sent);
              await r.checkpoint?.(this.checkpoint, passed);
            },
          },
          p.parser ? { parser: p.parser } : {},
        );
      const syncs = [
        { sync: sync(incomingPart.source, false), sent: false },
        ...(incomingPart.sentItems ? [{ sync: sync(incomingPart.sentItems, true), sent: true }] : []),
      ];
      const d = direction(
        'incoming',
        async (timer) => {
          if (timer) await incomingPart.refresh?.();
          const counts = { delivered: 0, duplicates: 0, filtered: 0, failed: 0 };
          for (const { sync: s, sent } of syncs) {
            const res = await s.runOnce(sent ? this.checkpoint?.sentItems : inboxPart(this.checkpoint));
            if (res.checkpoint) this.checkpoint = merge(res.checkpoint, sent);
            counts.delivered += res.delivered;
            counts.duplicates += res.duplicates;
            counts.filtered += res.filtered;
            counts.failed += res.rejected;
          }
          return counts;
        },
        new AdaptiveCadence({ minMs: p.pollIntervalMs, maxMs: p.maxPollIntervalMs ?? p.pollIntervalMs }),
        () => incomingPart.close(),
        incomingPart.watch ? (p.followUpMs ?? FOLLOW_UP_MS) : undefined,
      );
      incomingPart.watch?.({ wake: () => d.loop.wake(), failed: (err) => d.fail(err), notifications: (state) => r.notifications?.(state) });
      this.directions.push(d);
    }
    const outgoingPart = p.outgoing;
    if (outgoingPart) {
      const outgoing = new OutgoingSync(p.outgoingMailbox, outgoingPart.sender, p.crm, {
        sent: (id, messageId) => r.sent?.(id, messageId),
        failed: (id, reason, message) => r.failed?.(id, reason, message),
      });
      const close = async () => {
        this.feed?.close();
        await outgoingPart.close();
      };
      // Outgoing keeps a fixed interval: the CRM, not the mailbox, decides when there is mail to send.
      const fixed = (ms: number) => new AdaptiveCadence({ minMs: ms, maxMs: ms });
      if (!p.pendingFeed) {
        this.directions.push(
          direction('outgoing', async () => ({ ...(await outgoing.runOnce(OUTGOING_BATCH)) }), fixed(p.outgoingIntervalMs), close),
        );
      } else {
        const d = direction(
          'outgoing',
          this.fedCycle(outgoing, () => d.loop.wake()),
          fixed(p.outgoingIntervalMs * 10),
          close,
        );
        this.feed = p.pendingFeed.subscribe(p.outgoingMailbox.address, () => d.loop.wake());
        this.directions.push(d);
      }
    }
    const actPart = p.act;
    // ACT keeps its own adaptive interval (src/act); status shows no pollInterval for it. Where
    // change notifications run, they wake it and the interval is its safety resync.
    if (actPart) {
      const d = direction(
        'appointmentsContactsTasks',
        () => actPart.cycle(r),
        { next: () => actPart.intervalMs() },
        async () => actPart.close?.(),
      );
      actPart.watch?.({ wake: () => d.loop.wake(), failed: () => undefined });
      this.directions.push(d);
    }
    this.directions.forEach((d) => d.loop.start());
  }

  /**
   * An outgoing cycle fed by the Deployment's feed. It sends what the feed found; it asks the CRM
   * itself only when asked to sync now, or to retry after its own failure (a send that failed was
   * given back to the CRM, and the feed may not list it again before the retry is due). Woken by
   * its own timer with nothing fed, it does nothing: the feed polls for it.
   */
  private fedCycle(outgoing: OutgoingSync, again: () => void): (timer: boolean) => Promise<CycleCounts> {
    let first = true;
    let lastFailed = false;
    return async (timer) => {
      const fed = this.feed!.take();
      if (fed && 'error' in fed) {
        lastFailed = true;
        throw fed.error;
      }
      const idle = !fed && (first || (timer && !lastFailed));
      first = false;
      if (idle) return {};
      this.feed!.cycleStarted();
      try {
        const counts = await outgoing.runOnce(OUTGOING_BATCH, 16, fed?.emails);
        lastFailed = false;
        // A full batch may have left more behind: the next cycle asks for them at once.
        if (fed && fed.emails.length >= OUTGOING_BATCH) again();
        return { ...counts };
      } catch (err) {
        lastFailed = true;
        throw err;
      } finally {
        this.feed!.cycleEnded();
      }
    };
  }

  /** Runs every loop now (the sync-now annotation). */
  syncNow(): void {
    this.directions.forEach((d) => d.loop.wake());
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.directions.forEach((d) => d.cancelFollowUp());
    this.feed?.close();
    const loops = this.directions.map((d) => d.loop.stop());
    // Closing the connections first ends a cycle that waits on a dead server.
    await Promise.all([this.parts.incoming?.close(), this.parts.outgoing?.close(), this.parts.act?.close?.()]);
    await Promise.all(loops);
  }
}
