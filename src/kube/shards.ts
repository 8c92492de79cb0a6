// Shard ownership through Leases: a fixed number of shards, each a Lease held by at most one
// worker. Every worker announces itself with a membership Lease, takes free or expired shards up
// to its fair share (shards / live workers) and hands back shards above it. A worker that cannot
// renew a shard within renewDeadline stops using it before the lease can expire, so two workers
// never own a shard at once; a dead worker's shards move within one lease duration.

import { describeError } from './errors.js';
import { createHash } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import type { KubeClients } from './client.js';
import { LeaseLock } from './lease-lock.js';

export interface ShardOptions {
  namespace: string;
  identity: string;
  shards: number;
  /** Prefix of the Lease names: <prefix>-shard-<n>, <prefix>-worker-<identity>. */
  prefix?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  /** How often a held Lease is renewed (default: a third of the lease duration). */
  renewIntervalMs?: number;
  /** How often free shards and the other workers are looked at. */
  retryPeriodMs?: number;
  /** Annotations of this worker's membership Lease, which the other workers read (peers()). */
  memberAnnotations?: Record<string, string>;
  logger: Logger;
}

const MEMBER_LABEL = 'mailsync.dev/sync-worker';

/** The shard a key belongs to: stable across processes and restarts. */
export function shardOf(key: string, shards: number): number {
  return createHash('sha1').update(key).digest().readUInt32BE(0) % shards;
}

export class ShardOwner {
  private readonly prefix: string;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private readonly renewMs: number;
  private memberRenewedAt = 0;
  private workers = 1;
  private live: { identity: string; annotations: Record<string, string> }[] = [];
  private readonly locks: LeaseLock[];
  private readonly member: LeaseLock;
  /** Shard -> when we last renewed it. */
  private readonly held = new Map<number, number>();
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private listeners: ((owned: ReadonlySet<number>) => void)[] = [];

  constructor(
    private readonly clients: KubeClients,
    private readonly opts: ShardOptions,
  ) {
    this.prefix = opts.prefix ?? 'mailsync';
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
    // Renewing every retry period, as leader election does, cost 8 writes a second for 16
    // shards; a third of the lease duration leaves two more tries before the renew deadline.
    this.renewMs = Math.min(opts.renewIntervalMs ?? Math.floor(this.leaseMs / 3), this.renewDeadlineMs / 2);
    const lock = (name: string, labels?: Record<string, string>) =>
      new LeaseLock(clients, {
        namespace: opts.namespace,
        name,
        identity: opts.identity,
        leaseDurationMs: this.leaseMs,
        labels,
        logger: opts.logger,
      });
    this.locks = Array.from({ length: opts.shards }, (_, i) => lock(`${this.prefix}-shard-${i}`));
    this.member = new LeaseLock(clients, {
      namespace: opts.namespace,
      name: `${this.prefix}-worker-${opts.identity
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .slice(0, 40)}`,
      identity: opts.identity,
      leaseDurationMs: this.leaseMs,
      labels: { [MEMBER_LABEL]: this.prefix },
      annotations: opts.memberAnnotations,
      logger: opts.logger,
    });
  }

  owned(): ReadonlySet<number> {
    return new Set(this.held.keys());
  }

  owns(key: string): boolean {
    return this.held.has(shardOf(key, this.opts.shards));
  }

  onChange(fn: (owned: ReadonlySet<number>) => void): void {
    this.listeners.push(fn);
  }

  start(): void {
    void this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const had = [...this.held.keys()];
    this.held.clear();
    this.emit();
    await Promise.all([...had.map((i) => this.locks[i].release()), this.member.release()]);
  }

  private emit(): void {
    const owned = this.owned();
    for (const l of this.listeners) l(owned);
  }

  /** The other live workers' membership annotations, as of the last look (every renew interval). */
  peers(): Record<string, string>[] {
    return this.live.filter((w) => w.identity !== this.opts.identity).map((w) => w.annotations);
  }

  /** Live workers as last counted (1 before the first count): what a shared limit is divided by. */
  get workerCount(): number {
    return this.lastWorkerCount;
  }

  private lastWorkerCount = 1;

  /** Live workers: membership Leases renewed within one lease duration. */
  private async liveWorkers(): Promise<number> {
    const list = await this.clients.coordination.listNamespacedLease({
      namespace: this.opts.namespace,
      labelSelector: `${MEMBER_LABEL}=${this.prefix}`,
    });
    const now = Date.now();
    const live = list.items.filter((l) => l.spec?.holderIdentity && now - new Date(String(l.spec.renewTime)).getTime() < this.leaseMs);
    this.live = live.map((l) => ({ identity: l.spec!.holderIdentity!, annotations: l.metadata?.annotations ?? {} }));
    this.lastWorkerCount = Math.max(1, live.length);
    return this.lastWorkerCount;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const before = [...this.held.keys()].sort().join();
    try {
      if (Date.now() - this.memberRenewedAt >= this.renewMs) {
        if (await this.member.tryAcquireOrRenew()) this.memberRenewedAt = Date.now();
        this.workers = await this.liveWorkers();
      }
      const target = Math.ceil(this.opts.shards / this.workers);
      // Renew what we hold when due; drop what we could not renew in time (before anyone else may take it).
      for (const i of [...this.held.keys()]) {
        if (Date.now() - this.held.get(i)! < this.renewMs) continue;
        if (await this.locks[i].tryAcquireOrRenew()) this.held.set(i, Date.now());
        else if (Date.now() - this.held.get(i)! > this.renewDeadlineMs) this.held.delete(i);
      }
      // Hand back shards above our fair share, so a new worker gets its part.
      for (const i of [...this.held.keys()].slice(target)) {
        this.held.delete(i);
        await this.locks[i].release();
      }
      // Take free or expired shards, starting at a per-identity offset so workers do not all race for shard 0.
      const start = shardOf(this.opts.identity, this.opts.shards);
      for (let k = 0; k < this.opts.shards && this.held.size < target; k++) {
        const i = (start + k) % this.opts.shards;
        if (!this.held.has(i) && (await this.locks[i].tryAcquireOrRenew())) this.held.set(i, Date.now());
      }
    } catch (err) {
      this.opts.logger.warn(`shard ownership: ${describeError(err)}`);
      for (const [i, at] of [...this.held]) if (Date.now() - at > this.renewDeadlineMs) this.held.delete(i);
    }
    if ([...this.held.keys()].sort().join() !== before) this.emit();
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.tick(), this.retryMs);
      this.timer.unref();
    }
  }
}
