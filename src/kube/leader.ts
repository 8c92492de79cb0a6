// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it
// (client-node has none). Expiry is judged by when *we* last saw the lease record change, not by
// the holder's clock, so clock skew between replicas cannot make two leaders.

import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../log/logger.js';
import type { KubeClients } from './client.js';
import { isConflict, isNotFound } from './errors.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
}

const microTime = (d: Date) => d.toISOString().replace('Z', '000Z');

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observedRecord = '';
  private observedAt = 0;
  private leading = false;
  private stopped = false;

  constructor(
    private readonly clients: KubeClients,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
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
    while (!this.stopped && !(await this.tryAcquireOrRenew())) await this.sleep(this.jittered(this.retryPeriodMs));
    if (this.stopped) return;
    this.leading = true;
    this.opts.logger.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'became leader');
    callbacks.onStartedLeading();
    let lastRenew = Date.now();
    while (!this.stopped) {
      await this.sleep(this.retryPeriodMs);
      if (this.stopped) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew > this.renewDeadlineMs) {
        break;
      }
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
    if (!this.leading) return;
    try {
      const lease = await this.clients.coordination.readNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace });
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      lease.spec = { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: microTime(new Date(0)) as unknown as Date };
      await this.clients.coordination.replaceNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace, body: lease });
    } catch (err) {
      this.opts.logger.warn(`could not release the lease: ${(err as Error).message}`);
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const { namespace, name, identity } = this.opts;
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      renewTime: microTime(now) as unknown as Date,
    };
    try {
      let lease: V1Lease;
      try {
        lease = await this.clients.coordination.readNamespacedLease({ name, namespace });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await this.clients.coordination.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: { ...spec, acquireTime: spec.renewTime, leaseTransitions: 0 } },
        });
        this.observe(`${identity}/${spec.renewTime}`);
        return true;
      }
      const holder = lease.spec?.holderIdentity ?? '';
      const record = `${holder}/${String(lease.spec?.renewTime ?? '')}`;
      if (record !== this.observedRecord) this.observe(record);
      const durationMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
      const expired = this.observedAt + durationMs < Date.now();
      if (holder && holder !== identity && !expired) return false;
      const takingOver = holder !== identity;
      lease.spec = {
        ...lease.spec,
        ...spec,
        acquireTime: takingOver ? spec.renewTime : lease.spec?.acquireTime,
        leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + (takingOver && holder ? 1 : 0),
      };
      // replace carries metadata.resourceVersion: a concurrent writer makes this a 409.
      await this.clients.coordination.replaceNamespacedLease({ name, namespace, body: lease });
      this.observe(`${identity}/${spec.renewTime}`);
      return true;
    } catch (err) {
      if (!isConflict(err)) this.opts.logger.warn(`lease ${namespace}/${name}: ${(err as Error).message}`);
      return false;
    }
  }

  private observe(record: string): void {
    this.observedRecord = record;
    this.observedAt = Date.now();
  }

  private jittered(ms: number): number {
    return ms + Math.random() * ms * 0.2;
  }

  private wake?: () => void;
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
