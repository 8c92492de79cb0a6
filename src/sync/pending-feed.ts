// One poll of the CRM for emails pending send per Deployment, instead of one per mailbox: the
// feed asks the connector for every subscribed mailbox at once (listPendingSendFor: one
// BackgroundSendEmail query in Dynamics, POST /pending-emails/query in the webhook contract) and
// wakes only the mailboxes that have mail, handing them what was found. So the CRM requests of an
// idle worker grow with the number of Deployments, not of mailboxes.
//
// A mailbox's outgoing loop takes what the feed found at the start of its cycle. A poll that ran
// while the mailbox was sending is dropped for that mailbox: it may list an email the cycle was
// claiming at that moment, which the next cycle would take for an interrupted send. A failed
// poll is handed to every mailbox instead of mail, so their outgoing condition shows the CRM's
// failure and recovers with the next poll that works; no mailbox asks the CRM on its own.

import type { CrmConnector, PendingEmail } from '../crm/types.js';

export interface PendingFeedOptions {
  /** Time between two polls. */
  intervalMs: number;
  /** Emails per mailbox per poll (the outgoing cycle's batch). */
  limitPerMailbox?: number;
  /** Delay of the first poll after a new mailbox subscribes, so a burst of subscriptions shares it. */
  settleMs?: number;
  /** Told of a failed poll (for the log); the mailboxes see it in their cycle. */
  onError?: (err: unknown) => void;
}

/** What the feed has for a mailbox at the start of its cycle. */
export type Fed = { emails: PendingEmail[] } | { error: unknown };

export interface FeedSubscription {
  /** What the last poll found for this mailbox (once), or its failure; undefined when there is nothing new. */
  take(): Fed | undefined;
  /** The mailbox is sending: polls that overlap this are not handed to it. */
  cycleStarted(): void;
  cycleEnded(): void;
  close(): void;
}

interface Subscriber {
  address: string;
  wake: () => void;
  fed?: { emails: PendingEmail[] };
  /** The last poll failed: every cycle sees this until a poll works again. */
  error?: { error: unknown };
  busy: boolean;
  /** Bumped at every cycle start: a poll that began before is stale for this mailbox. */
  epoch: number;
}

export class PendingFeed {
  private readonly subscribers = new Set<Subscriber>();
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private readonly limit: number;

  constructor(
    private readonly crm: CrmConnector,
    private readonly options: PendingFeedOptions,
  ) {
    this.limit = options.limitPerMailbox ?? 50;
  }

  /** Mailboxes fed (tests, metrics). */
  get size(): number {
    return this.subscribers.size;
  }

  subscribe(address: string, wake: () => void): FeedSubscription {
    const sub: Subscriber = { address: address.toLowerCase(), wake, busy: false, epoch: 0 };
    this.subscribers.add(sub);
    this.schedule(this.options.settleMs ?? 250);
    return {
      take: () => {
        const fed = sub.fed;
        sub.fed = undefined;
        return fed ?? sub.error;
      },
      cycleStarted: () => {
        sub.busy = true;
        sub.epoch++;
      },
      cycleEnded: () => {
        sub.busy = false;
      },
      close: () => {
        this.subscribers.delete(sub);
        if (this.subscribers.size === 0) this.stop();
      },
    };
  }

  /** Polls now (tests; the sync-now of every mailbox). */
  async pollNow(): Promise<void> {
    this.polling ??= this.poll().finally(() => (this.polling = undefined));
    await this.polling;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Plans the next poll `delayMs` from now, unless one is planned sooner. */
  private schedule(delayMs: number): void {
    if (this.subscribers.size === 0) return;
    const at = Date.now() + delayMs;
    if (this.timer && this.nextAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.nextAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pollNow().finally(() => this.schedule(this.options.intervalMs));
    }, delayMs);
    this.timer.unref?.();
  }

  private nextAt = 0;

  private async poll(): Promise<void> {
    const subs = [...this.subscribers];
    if (subs.length === 0) return;
    const epochs = new Map(subs.map((s) => [s, s.epoch]));
    let found: Map<string, PendingEmail[]>;
    try {
      found = await this.crm.listPendingSendFor([...new Set(subs.map((s) => s.address))], this.limit);
    } catch (err) {
      this.options.onError?.(err);
      for (const s of subs) {
        s.error = { error: err };
        s.fed = undefined;
        if (this.subscribers.has(s)) s.wake();
      }
      return;
    }
    for (const s of subs) {
      const emails = found.get(s.address);
      // A mailbox that was told of a failure learns that the CRM works again, with or without mail.
      const recovered = s.error !== undefined;
      s.error = undefined;
      if (!emails?.length && !recovered) continue;
      if (emails?.length && (s.busy || s.epoch !== epochs.get(s))) continue; // listed while it was sending: stale for it
      s.fed = { emails: emails ?? [] };
      if (this.subscribers.has(s)) s.wake();
    }
  }
}
