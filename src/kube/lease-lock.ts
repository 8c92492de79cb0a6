// One coordination.k8s.io/v1 Lease held by one identity at a time, as client-go's resourcelock
// does it. Expiry is judged by when *we* last saw the lease record change, not by the holder's
// clock, so clock skew between processes cannot make two holders. Leader election and sync
// shard ownership are both built on it.

import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../log/logger.js';
import type { KubeClients } from './client.js';
import { describeError, isConflict, isNotFound } from './errors.js';

const microTime = (d: Date) => d.toISOString().replace('Z', '000Z');

export interface LeaseLockOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  labels?: Record<string, string>;
  /** Written with every take-over (a worker's notification endpoint address, for its peers). */
  annotations?: Record<string, string>;
  logger: Logger;
}

export class LeaseLock {
  private observedRecord = '';
  private observedAt = 0;
  /**
   * The lease as our last successful write left it. A renewal writes it back with its
   * resourceVersion, without reading first: one request instead of two, and a 409 if anyone else
   * wrote in between (then the lease is read and judged as usual).
   */
  private ours?: V1Lease;

  constructor(
    private readonly clients: KubeClients,
    readonly opts: LeaseLockOptions,
  ) {}

  /** Takes the lease if it is free or expired, or renews it if ours. True when we hold it now. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const { namespace, name, identity } = this.opts;
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000),
      renewTime: microTime(now) as unknown as Date,
    };
    if (this.ours) {
      const lease: V1Lease = { ...this.ours, spec: { ...this.ours.spec, ...spec } };
      try {
        this.ours = await this.clients.coordination.replaceNamespacedLease({ name, namespace, body: lease });
        this.observe(`${identity}/${spec.renewTime}`);
        return true;
      } catch (err) {
        this.ours = undefined;
        if (!isConflict(err) && !isNotFound(err)) {
          this.opts.logger.warn(`lease ${namespace}/${name}: ${describeError(err)}`);
          return false;
        }
      }
    }
    try {
      let lease: V1Lease;
      try {
        lease = await this.clients.coordination.readNamespacedLease({ name, namespace });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.ours = await this.clients.coordination.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace, labels: this.opts.labels, annotations: this.opts.annotations },
            spec: { ...spec, acquireTime: spec.renewTime, leaseTransitions: 0 },
          },
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
      if (this.opts.annotations)
        lease.metadata = { ...lease.metadata, annotations: { ...lease.metadata?.annotations, ...this.opts.annotations } };
      lease.spec = {
        ...lease.spec,
        ...spec,
        acquireTime: takingOver ? spec.renewTime : lease.spec?.acquireTime,
        leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + (takingOver && holder ? 1 : 0),
      };
      // replace carries metadata.resourceVersion: a concurrent writer makes this a 409.
      this.ours = await this.clients.coordination.replaceNamespacedLease({ name, namespace, body: lease });
      this.observe(`${identity}/${spec.renewTime}`);
      return true;
    } catch (err) {
      if (!isConflict(err)) this.opts.logger.warn(`lease ${namespace}/${name}: ${describeError(err)}`);
      return false;
    }
  }

  /** Gives the lease up (if ours) so another identity can take it at once. */
  async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    this.ours = undefined;
    try {
      const lease = await this.clients.coordination.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      lease.spec = {
        ...lease.spec,
        holderIdentity: undefined,
        leaseDurationSeconds: 1,
        renewTime: microTime(new Date(0)) as unknown as Date,
      };
      await this.clients.coordination.replaceNamespacedLease({ name, namespace, body: lease });
    } catch (err) {
      this.opts.logger.warn(`could not release lease ${namespace}/${name}: ${describeError(err)}`);
    }
  }

  private observe(record: string): void {
    this.observedRecord = record;
    this.observedAt = Date.now();
  }
}
