// Test slots: at most spec.rollout.maxConcurrentTests connection tests of one profile's mailboxes
// run at once, whatever started them (a rollout batch, new mailboxes, a burst of test requests).
// The controller is leader-elected, so counting in this process is counting everywhere.
//
// A reconcile that finds no free slot does not wait (that would hold a work-queue worker): its key
// is remembered, and when a slot frees the best waiter (queues before users, then by name, as
// rollouts order mailboxes) gets it reserved and is woken through the work queue.

/** How long a reserved slot waits for its mailbox to come and take it before it is passed on. */
const RESERVATION_MS = 10_000;

interface Group {
  running: Set<string>;
  /** Keys holding a reservation, with the time it lapses. */
  reserved: Map<string, number>;
  /** Waiting keys and their rank. */
  waiting: Map<string, string>;
  limit: number;
}

export class TestSlots {
  private readonly groups = new Map<string, Group>();
  private readonly peaks = new Map<string, number>();

  /** `wake(key)` re-queues a mailbox whose slot is ready. */
  constructor(private readonly wake: (key: string) => void) {}

  /**
   * Takes a slot in `group` for `key` and returns its release function, or returns undefined and
   * remembers `key` as waiting (ranked by `rank`) when `limit` slots are in use.
   */
  tryAcquire(group: string, key: string, limit: number, rank: string): (() => void) | undefined {
    const g = this.group(group);
    g.limit = limit;
    this.lapse(g);
    const reservedForMe = g.reserved.delete(key);
    if (!reservedForMe && g.running.size + g.reserved.size >= limit) {
      g.waiting.set(key, rank);
      return undefined;
    }
    g.waiting.delete(key);
    g.running.add(key);
    this.peaks.set(group, Math.max(this.peaks.get(group) ?? 0, g.running.size));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      g.running.delete(key);
      this.handOn(group, g);
    };
  }

  /** A reconcile of `key` ended without taking a slot: give back a reservation it did not use. */
  settle(key: string): void {
    for (const [name, g] of this.groups) if (g.reserved.delete(key)) this.handOn(name, g);
  }

  /** The key no longer needs a test (deleted, or no test due any more). */
  forget(key: string): void {
    for (const [name, g] of this.groups) {
      g.waiting.delete(key);
      if (g.reserved.delete(key)) this.handOn(name, g);
    }
  }

  /** Tests running now in `group`. */
  running(group: string): number {
    return this.groups.get(group)?.running.size ?? 0;
  }

  /** The most tests that ever ran at once in `group` (for tests and benchmarks). */
  peak(group: string): number {
    return this.peaks.get(group) ?? 0;
  }

  private group(name: string): Group {
    let g = this.groups.get(name);
    if (!g) {
      g = { running: new Set(), reserved: new Map(), waiting: new Map(), limit: 1 };
      this.groups.set(name, g);
    }
    return g;
  }

  /** Reservations nobody came for are passed on, so a vanished mailbox cannot hold a slot. */
  private lapse(g: Group): void {
    const now = Date.now();
    for (const [k, until] of g.reserved) if (until <= now) g.reserved.delete(k);
  }

  private handOn(name: string, g: Group): void {
    this.lapse(g);
    while (g.waiting.size && g.running.size + g.reserved.size < g.limit) {
      let best: [string, string] | undefined;
      for (const [k, rank] of g.waiting) if (!best || rank < best[1]) best = [k, rank];
      g.waiting.delete(best![0]);
      const key = best![0];
      g.reserved.set(key, Date.now() + RESERVATION_MS);
      setTimeout(() => {
        const until = g.reserved.get(key);
        if (until !== undefined && until <= Date.now() && g.reserved.delete(key)) this.handOn(name, g);
      }, RESERVATION_MS + 50).unref();
      this.wake(key);
    }
    if (!g.running.size && !g.reserved.size && !g.waiting.size) this.groups.delete(name);
  }
}
