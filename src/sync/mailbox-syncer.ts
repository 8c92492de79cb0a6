// The long-running loops of one mailbox: incoming (woken by IMAP IDLE/EXISTS, a reconnect, a
// sync-now request or the safety resync timer) and outgoing (polling the CRM for emails pending
// send). Failures back off exponentially and are reported; nothing here knows Kubernetes.

import type { CrmConnector } from '../crm/types.js';
import { backoffDelay } from '../util/backoff.js';
import { IncomingSync, type Checkpoint, type IncomingEvents, type IncomingSource, type MailboxProfile } from './incoming.js';
import type { MessageParser } from './parser-pool.js';
import { OutgoingSync, type OutgoingEvents, type OutgoingMailbox, type OutgoingSender } from './outgoing.js';

export interface SyncParts {
  mailbox: MailboxProfile;
  outgoingMailbox: OutgoingMailbox;
  crm: CrmConnector;
  incoming?: {
    source: IncomingSource;
    /** Registers a callback for "new mail may be there" (IDLE, reconnect). */
    subscribe?(wake: () => void): void;
    close(): Promise<void>;
  };
  outgoing?: { sender: OutgoingSender; close(): Promise<void> };
  /** Safety resync when nothing wakes the incoming loop. */
  pollIntervalMs: number;
  outgoingIntervalMs: number;
  /** Where incoming MIME is parsed; inline when absent. */
  parser?: MessageParser;
}

export interface SyncReporter extends IncomingEvents, OutgoingEvents {
  /** The checkpoint to resume from. */
  initialCheckpoint(): Checkpoint | undefined;
  /** A cycle finished: ok, or failed with a reason; `nextAt` is when the loop runs again. */
  cycle(direction: 'incoming' | 'outgoing', outcome: { ok: true } | CycleFailure, nextAt: Date): void;
}

/** A server's or CRM's Retry-After (MailError, CrmError), capped: the loop must come back some day. */
const MAX_RETRY_AFTER_MS = 60 * 60_000;
const retryAfter = (err: unknown): number => {
  const ms = (err as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  return typeof ms === 'number' && ms > 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : 0;
};

/** A failed cycle; `serverText` is what the server or CRM said (MailError, CrmError), for debug logs only. */
export type CycleFailure = { ok: false; reason: string; message: string; serverText?: string };

const REASON = (err: unknown): Omit<CycleFailure, 'ok'> => {
  const e = err as { reason?: string; message?: string; serverText?: string };
  return { reason: e?.reason ?? 'SyncFailed', message: e?.message ?? String(err), serverText: e?.serverText };
};

class Loop {
  private wakeUp?: () => void;
  private pending = false;
  stopped = false;
  private done?: Promise<void>;

  constructor(
    private readonly body: () => Promise<void>,
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
    while (!this.stopped) {
      this.pending = false;
      await this.body();
      if (this.stopped || this.pending) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.intervalMs());
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }
}

export class MailboxSyncer {
  private checkpoint: Checkpoint | undefined;
  private readonly loops: Loop[] = [];
  private stopping = false;

  constructor(
    private readonly parts: SyncParts,
    private readonly reporter: SyncReporter,
  ) {
    this.checkpoint = reporter.initialCheckpoint();
  }

  /**
   * A loop that runs `cycle` after `intervalMs` of quiet, or at once when woken; failures back
   * off exponentially and every outcome is reported.
   */
  private loop(direction: 'incoming' | 'outgoing', cycle: () => Promise<void>, intervalMs: number): Loop {
    let failures = 0;
    let delay = 0;
    const next = () => new Date(Date.now() + delay);
    return new Loop(
      async () => {
        try {
          await cycle();
          failures = 0;
          delay = intervalMs;
          this.reporter.cycle(direction, { ok: true }, next());
        } catch (err) {
          if (this.stopping) return;
          // Throttled (HTTP 429, EWS ServerBusy, CRM service protection): never sooner than asked.
          delay = Math.max(backoffDelay(++failures, { baseMs: 1000, maxMs: 5 * 60_000, jitter: 0.2 }), retryAfter(err));
          this.reporter.cycle(direction, { ok: false, ...REASON(err) }, next());
        }
      },
      () => delay,
    );
  }

  start(): void {
    const p = this.parts;
    const r = this.reporter;
    if (p.incoming) {
      // Explicit delegation: the reporter is a class instance, whose methods a spread would drop.
      const incoming = new IncomingSync(p.mailbox, p.incoming.source, p.crm, {
        delivered: (email, created, at) => r.delivered?.(email, created, at),
        filtered: (id) => r.filtered?.(id),
        rejected: (id, reason, message) => r.rejected?.(id, reason, message),
        checkpoint: async (cp) => {
          this.checkpoint = cp;
          await r.checkpoint?.(cp);
        },
      }, p.parser ? { parser: p.parser } : {});
      const loop = this.loop(
        'incoming',
        async () => {
          const res = await incoming.runOnce(this.checkpoint);
          if (res.checkpoint) this.checkpoint = res.checkpoint;
        },
        p.pollIntervalMs,
      );
      p.incoming.subscribe?.(() => loop.wake());
      this.loops.push(loop);
    }
    if (p.outgoing) {
      const outgoing = new OutgoingSync(p.outgoingMailbox, p.outgoing.sender, p.crm, {
        sent: (id, messageId) => r.sent?.(id, messageId),
        failed: (id, reason, message) => r.failed?.(id, reason, message),
      });
      this.loops.push(this.loop('outgoing', async () => void (await outgoing.runOnce()), p.outgoingIntervalMs));
    }
    this.loops.forEach((l) => l.start());
  }

  /** Runs every loop now (the sync-now annotation). */
  syncNow(): void {
    this.loops.forEach((l) => l.wake());
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const loops = this.loops.map((l) => l.stop());
    // Closing the connections first ends a cycle that waits on a dead server.
    await Promise.all([this.parts.incoming?.close(), this.parts.outgoing?.close()]);
    await Promise.all(loops);
  }
}
