// How often a mailbox is looked at by the clock, as the keep-alive of Dynamics 365's server-side
// synchronization does it: a mailbox whose last cycle found something is looked at again after the
// profile's minPollingInterval, and every cycle that finds nothing doubles the wait, up to its
// maxPollingInterval. Where notifications (IMAP IDLE, EWS, Graph) wake the mailbox, these are its
// safety resyncs; elsewhere, its polls. At 10,000 quiet mailboxes that is the difference between a
// resync every 30 ms and one every 90 ms.
//
// Each wait gets ±10% of jitter, so mailboxes enabled together do not stay in step forever.

export interface CadenceBounds {
  minMs: number;
  maxMs: number;
}

export class AdaptiveCadence {
  private current: number;

  constructor(
    private readonly bounds: CadenceBounds,
    private readonly random: () => number = Math.random,
  ) {
    this.current = bounds.minMs;
  }

  /** The interval now, without jitter (what status shows). */
  get intervalMs(): number {
    return this.current;
  }

  /** After a successful cycle: the wait before the next one the clock starts. */
  next(foundSomething: boolean): number {
    const { minMs, maxMs } = this.bounds;
    this.current = foundSomething ? minMs : Math.min(Math.max(minMs, maxMs), this.current * 2);
    return Math.round(this.current * (0.9 + 0.2 * this.random()));
  }
}
