// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it
// (client-node has none): acquire, renew every retryPeriod, and give up leadership when a renewal
// has not succeeded for renewDeadline (shorter than the lease duration, so the old leader stops
// before anyone else may start).

import type { Logger } from '../log/logger.js';
import type { KubeClients } from './client.js';
import { LeaseLock } from './lease-lock.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
}

export class LeaderElector {
  private readonly lock: LeaseLock;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private leading = false;
  private stopped = false;
  private wake?: () => void;

  constructor(
    clients: KubeClients,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.lock = new LeaseLock(clients, {
      namespace: opts.namespace,
      name: opts.name,
      identity: opts.identity,
      leaseDurationMs: opts.leaseDurationMs ?? 15_000,
      logger: opts.logger,
    });
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Blocks until this process leads, then calls `onStartedLeading` and keeps renewing. When a
   * renewal has not succeeded for renewDeadline, leadership is lost and `onStoppedLeading` runs.
   */
  async run(callbacks: { onStartedLeading: () => void; onStoppedLeading: () => void }): Promise<void> {
    while (!this.stopped && !(await this.lock.tryAcquireOrRenew())) await this.sleep(this.retryPeriodMs * (1 + Math.random() * 0.2));
    if (this.stopped) return;
    this.leading = true;
    this.opts.logger.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'became leader');
    callbacks.onStartedLeading();
    let lastRenew = Date.now();
    while (!this.stopped) {
      await this.sleep(this.retryPeriodMs);
      if (this.stopped) break;
      if (await this.lock.tryAcquireOrRenew()) lastRenew = Date.now();
      else if (Date.now() - lastRenew > this.renewDeadlineMs) break;
    }
    const released = this.stopped;
    this.leading = false;
    if (!released) this.opts.logger.error({ lease: this.opts.name }, 'leadership lost: could not renew the lease in time');
    callbacks.onStoppedLeading();
  }

  /** Stops renewing and gives the lease up so another replica can take over at once. */
  async release(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (this.leading) await this.lock.release();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
