// Writes what a mailbox's sync loops report to its status: checkpoint, counts, last/next sync
// and the Synced condition. Writes are coalesced (at most one per interval) and happen only when
// something changed, never per poll. The checkpoint may lag the CRM by one interval after a
// crash; delivery is idempotent, so that costs a redelivery, not a duplicate.

import { GROUP, VERSION } from '../api/schema.js';
import type { Mailbox, MailboxStatusT } from '../api/types.js';
import type { IncomingEmail } from '../crm/types.js';
import type { KubeClients } from '../kube/client.js';
import { setCondition } from '../kube/conditions.js';
import { describeError, isConflict, isNotFound } from '../kube/errors.js';
import type { EventRecorder } from '../kube/events.js';
import { patchStatus } from '../kube/status.js';
import type { Logger } from '../log/logger.js';
import type { Checkpoint } from './incoming.js';
import type { CycleFailure, SyncReporter } from './mailbox-syncer.js';

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface SyncMetricsHooks {
  delivered?(namespace: string, receivedAt?: Date): void;
  sent?(namespace: string): void;
  failed?(reason: string, direction: 'in' | 'out', namespace?: string): void;
}

export class MailboxStatusReporter implements SyncReporter {
  private checkpointValue: Checkpoint | undefined;
  private counts: { received: number; sent: number; failed: number };
  private synced: { status: 'True' | 'False'; reason: string; message: string } | undefined;
  private lastSync?: string;
  private nextSync?: string;
  private dirty = false;
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly clients: KubeClients,
    private readonly mbx: Mailbox,
    private readonly events: EventRecorder,
    private readonly logger: Logger,
    private readonly metrics: SyncMetricsHooks = {},
    private readonly intervalMs = 1000,
  ) {
    const s = mbx.status ?? {};
    this.checkpointValue = s.checkpoint;
    this.counts = { received: s.counts?.received ?? 0, sent: s.counts?.sent ?? 0, failed: s.counts?.failed ?? 0 };
  }

  initialCheckpoint(): Checkpoint | undefined {
    return this.checkpointValue;
  }

  async checkpoint(cp: Checkpoint): Promise<void> {
    this.checkpointValue = cp;
    this.touch();
  }

  delivered(_email: IncomingEmail, created: boolean, receivedAt?: Date): void {
    if (!created) return;
    this.counts.received++;
    this.metrics.delivered?.(this.mbx.metadata.namespace, receivedAt);
    this.touch();
  }

  rejected(sourceId: string, reason: string, message: string): void {
    this.counts.failed++;
    this.metrics.failed?.(reason, 'in', this.mbx.metadata.namespace);
    this.touch();
    void this.events.record(this.mbx, 'Warning', reason, `message ${sourceId} was not delivered to the CRM: ${message}`);
  }

  sent(): void {
    this.counts.sent++;
    this.metrics.sent?.(this.mbx.metadata.namespace);
    this.touch();
  }

  failed(crmEmailId: string, reason: string, message: string): void {
    this.counts.failed++;
    this.metrics.failed?.(reason, 'out', this.mbx.metadata.namespace);
    this.touch();
    void this.events.record(this.mbx, 'Warning', reason, `CRM email ${crmEmailId} was not sent: ${message}`);
  }

  cycle(direction: 'incoming' | 'outgoing', outcome: { ok: true } | CycleFailure, nextAt: Date): void {
    this.nextSync = iso(nextAt);
    if (!outcome.ok && outcome.serverText) this.logger.debug({ namespace: this.mbx.metadata.namespace, mailbox: this.mbx.metadata.name, direction, reason: outcome.reason, serverText: outcome.serverText }, 'sync cycle failed; what the server said');
    const next = outcome.ok
      ? { status: 'True' as const, reason: 'Synced', message: `last cycle succeeded; ${this.counts.received} received, ${this.counts.sent} sent, ${this.counts.failed} not processed` }
      : { status: 'False' as const, reason: outcome.reason, message: `${direction} sync failed: ${outcome.message}; retrying at ${this.nextSync}` };
    const changed = !this.synced || this.synced.status !== next.status || this.synced.reason !== next.reason;
    if (outcome.ok && !changed && !this.dirty) return; // a quiet poll writes nothing
    if (changed && !outcome.ok) void this.events.record(this.mbx, 'Warning', outcome.reason, next.message);
    this.synced = next;
    this.lastSync = iso(new Date());
    this.touch();
  }

  private touch(): void {
    this.dirty = true;
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flushing.then(() => this.flush());
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Writes pending changes now; called on stop so the last checkpoint is not lost. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const ref = { group: GROUP, version: VERSION, plural: 'mailboxes', namespace: this.mbx.metadata.namespace, name: this.mbx.metadata.name };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        // Read fresh: the controller writes the same status (its conditions), so we patch with
        // the resourceVersion we read and retry on a conflict.
        const cur = (await this.clients.custom.getNamespacedCustomObject(ref)) as Mailbox;
        const status: MailboxStatusT = cur.status ?? {};
        const next: MailboxStatusT = { ...status, counts: { ...this.counts } };
        if (this.checkpointValue) next.checkpoint = this.checkpointValue;
        if (this.lastSync) next.lastSyncTime = this.lastSync;
        if (this.nextSync) next.nextSyncTime = this.nextSync;
        if (this.synced) next.conditions = setCondition(status.conditions, { type: 'Synced', ...this.synced }, cur.metadata.generation);
        await patchStatus(this.clients, { ...ref, resourceVersion: cur.metadata.resourceVersion }, status, next);
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (isConflict(err)) continue;
        this.dirty = true;
        this.logger.warn({ namespace: ref.namespace, mailbox: ref.name }, `could not write sync status: ${describeError(err)}`);
        if (!this.closed) this.touch();
        return;
      }
    }
    this.dirty = true;
    if (!this.closed) this.touch();
  }
}
