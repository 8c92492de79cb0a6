// Writes what a mailbox's sync loops report to its status: the checkpoint with the count of what
// it passed (so counts.received equals what the CRM holds, across crashes), per direction the last
// and next cycle, what the last cycle did and any current failure (status.sync, which the
// controller folds into the direction conditions: domain/sync-failure.ts), the most recent
// messages that could not be processed (status.recentFailures) and the Synced condition.
//
// Writes are coalesced (at most one per interval) and happen only when something changed, never
// per quiet poll. Every failure also goes to the log, the failures metric and, when the state of
// the direction changes, an Event: at once, not after the recovery.

import { GROUP, VERSION } from '../api/schema.js';
import { formatDuration } from '../api/quantities.js';
import { mailboxKind, type Mailbox, type MailboxStatusT } from '../api/types.js';
import type { IncomingEmail } from '../crm/types.js';
import type { KubeClients } from '../kube/client.js';
import { getCondition, setCondition } from '../kube/conditions.js';
import { describeError, isConflict, isNotFound } from '../kube/errors.js';
import type { EventRecorder } from '../kube/events.js';
import { patchStatus } from '../kube/status.js';
import type { Logger } from '../log/logger.js';
import { redact } from '../util/redact.js';
import type { Failing, Failure } from './direction-health.js';
import type { Checkpoint } from './incoming.js';
import type { CycleCounts, NotificationState, SyncDirection, SyncReporter } from './mailbox-syncer.js';

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const NAMES: Record<SyncDirection, string> = {
  incoming: 'incoming',
  outgoing: 'outgoing',
  appointmentsContactsTasks: 'appointments, contacts and tasks',
};
const METRIC_DIRECTION: Record<SyncDirection, 'in' | 'out' | 'act'> = { incoming: 'in', outgoing: 'out', appointmentsContactsTasks: 'act' };
type ActTotals = NonNullable<MailboxStatusT['act']>;
const ACT_KIND_STATUS: Record<string, 'appointments' | 'contacts' | 'tasks'> = {
  appointment: 'appointments',
  contact: 'contacts',
  task: 'tasks',
};
const ACT_COUNTS = ['created', 'updated', 'deleted', 'unlinked', 'conflicts', 'failed'] as const;
/**
 * Status is JSON data. A JSON copy keeps this realm's object prototypes, which the deep equality
 * that skips unchanged writes compares: structuredClone's objects come from Node's own realm when
 * the code runs in a VM context (jest's ES modules), so every write there looked changed.
 */
const copyJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** How many per-item failures status.recentFailures keeps. */
export const RECENT_FAILURES = 10;

/** The labels every sync metric carries, so alerts can be routed by tenant, profile and owner. */
export interface MailboxLabels {
  namespace: string;
  profile: string;
  ownerKind: string;
}

export interface SyncMetricsHooks {
  delivered?(labels: MailboxLabels, receivedAt?: Date): void;
  sent?(labels: MailboxLabels): void;
  failed?(reason: string, direction: 'in' | 'out' | 'act', labels: MailboxLabels): void;
  /** Appointments, contacts and tasks: `count` items of `kind` had `action` (created, updated, deleted, unlinked, conflicts, failed). */
  act?(labels: MailboxLabels, kind: string, action: string, count: number): void;
}

type DirectionStatus = NonNullable<NonNullable<MailboxStatusT['sync']>['incoming']>;
type RecentFailures = NonNullable<MailboxStatusT['recentFailures']>;
type ItemFailure = RecentFailures[number];

export interface ReporterOptions {
  metrics?: SyncMetricsHooks;
  intervalMs?: number;
  /** What the worker runs this mailbox on (domain/sync-failure.ts syncBasis), read when a failure is recorded. */
  basis?: () => string;
  /** The directions this reporter's syncer runs: it writes only their status.sync entries. */
  directions?: SyncDirection[];
  /**
   * The mailbox as the worker's watch cache has it. A write starts from it instead of a GET (one
   * API request less per write, a sixth of the API server's work per mailbox enabled); a cache
   * behind the server costs a conflict and a GET.
   */
  latest?: () => Mailbox | undefined;
}

export class MailboxStatusReporter implements SyncReporter {
  private checkpointValue: Checkpoint | undefined;
  private counts: { received: number; sent: number; failed: number };
  private readonly sync: Partial<Record<SyncDirection, DirectionStatus>> = {};
  private recentFailures: ItemFailure[];
  private act: ActTotals | undefined;
  private synced: { status: 'True' | 'False'; reason: string; message: string } | undefined;
  private readonly labels: MailboxLabels;
  private dirty = false;
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly metrics: SyncMetricsHooks;
  private readonly intervalMs: number;

  constructor(
    private readonly clients: KubeClients,
    private readonly mbx: Mailbox,
    private readonly events: EventRecorder,
    private readonly logger: Logger,
    private readonly opts: ReporterOptions = {},
  ) {
    const s = mbx.status ?? {};
    this.checkpointValue = s.checkpoint;
    this.counts = { received: s.counts?.received ?? 0, sent: s.counts?.sent ?? 0, failed: s.counts?.failed ?? 0 };
    this.recentFailures = [...(s.recentFailures ?? [])];
    this.act = s.act ? copyJson(s.act) : undefined;
    // A failure recorded before this start stays until a cycle succeeds (the controller judges
    // whether it still applies).
    for (const d of opts.directions ?? ['incoming', 'outgoing']) this.sync[d] = { ...(s.sync?.[d] ?? {}) };
    // A restart is not news: when status already says Synced at this generation, the first quiet
    // cycle of the new process writes nothing (at 10,000 mailboxes, one write each after a restart
    // is what the API server could not take). A failure or new mail still writes at once.
    // A direction this process runs for the first time (a profile change) is news too.
    const synced = getCondition(s.conditions, 'Synced');
    const seen = Object.values(this.sync).every((d) => d.lastSyncTime && !d.failure);
    if (synced?.status === 'True' && synced.observedGeneration === mbx.metadata.generation && seen)
      this.synced = { status: 'True', reason: synced.reason, message: synced.message };
    this.metrics = opts.metrics ?? {};
    this.intervalMs = opts.intervalMs ?? 1000;
    this.labels = { namespace: mbx.metadata.namespace, profile: s.serverProfile ?? '', ownerKind: mailboxKind(mbx) };
  }

  initialCheckpoint(): Checkpoint | undefined {
    return this.checkpointValue;
  }

  async checkpoint(cp: Checkpoint, passed: { delivered: number } = { delivered: 0 }): Promise<void> {
    this.checkpointValue = cp;
    this.counts.received += passed.delivered;
    this.touch();
  }

  delivered(_email: IncomingEmail, created: boolean, receivedAt?: Date): void {
    if (created) this.metrics.delivered?.(this.labels, receivedAt);
  }

  rejected(sourceId: string, reason: string, message: string): void {
    this.itemFailed('in', sourceId, reason, message, `message ${sourceId} was not delivered to the CRM`);
  }

  sent(): void {
    this.counts.sent++;
    this.metrics.sent?.(this.labels);
    this.touch();
  }

  failed(crmEmailId: string, reason: string, message: string): void {
    this.itemFailed('out', crmEmailId, reason, message, `CRM email ${crmEmailId} was not sent`);
  }

  actCycle(kinds: Record<string, Record<string, number> | undefined>): void {
    let changed = false;
    for (const [kind, counts] of Object.entries(kinds)) {
      const key = ACT_KIND_STATUS[kind];
      if (!key || !counts) continue;
      this.act ??= {};
      const t = (this.act[key] ??= {});
      for (const c of ACT_COUNTS) {
        const n = counts[c] ?? 0;
        if (!n) continue;
        t[c] = (t[c] ?? 0) + n;
        changed = true;
        this.metrics.act?.(this.labels, kind, c, n);
      }
    }
    if (changed) this.touch();
  }

  actItemFailed(kind: string, item: string, reason: string, message: string): void {
    this.itemFailed('act', `${kind} ${item}`, reason, message, `${kind} ${item} was not synchronized`);
  }

  /** A dry run's findings, one line in status.act.dryRun and an Event. */
  actDryRun(summary: string): void {
    if (this.act?.dryRun === summary) return;
    this.act = { ...(this.act ?? {}), dryRun: summary.slice(0, 1024) };
    this.touch();
    this.logger.info({ direction: 'appointmentsContactsTasks' }, `dry run: ${summary}`);
    void this.events.record(this.mbx, 'Normal', 'ACTDryRun', `dry run: ${summary}`);
  }

  private itemFailed(direction: 'in' | 'out' | 'act', item: string, reason: string, message: string, what: string): void {
    const text = redact(message);
    this.counts.failed++;
    this.recentFailures = [
      { time: iso(new Date()), direction, reason, item: item.slice(0, 1024), message: text.slice(0, 2048) },
      ...this.recentFailures,
    ].slice(0, RECENT_FAILURES);
    this.metrics.failed?.(reason, direction, this.labels);
    this.logger.warn({ direction, reason, item }, `${what}: ${text}`);
    this.touch();
    void this.events.record(this.mbx, 'Warning', reason, `${what}: ${text}`);
  }

  cycleSucceeded(direction: SyncDirection, counts: CycleCounts, nextAt: Date, intervalMs?: number): void {
    const s = (this.sync[direction] ??= {});
    const quiet = Object.values(counts).every((n) => !n) && Object.values(s.lastCycle ?? {}).every((n) => !n);
    const wasFailing = s.failure !== undefined;
    // A direction's first success is news even when quiet: without it in status, the next start
    // cannot tell that this direction already ran, and writes for every mailbox after a restart.
    const first = s.lastSyncTime === undefined;
    const interval = intervalMs !== undefined ? formatDuration(intervalMs) : s.pollInterval;
    s.lastSyncTime = iso(new Date());
    s.nextSyncTime = iso(nextAt);
    s.lastCycle = { ...counts };
    if (interval) s.pollInterval = interval;
    delete s.failure;
    this.logger.debug({ direction, ...counts, nextSyncTime: s.nextSyncTime, pollInterval: interval }, `${NAMES[direction]} cycle done`);
    // A quiet poll writes nothing, not even its longer interval: times and cadence reach status
    // with the next real change, so 10,000 quiet mailboxes cost the API server no writes at all.
    if (quiet && !wasFailing && !first && this.synced?.status === 'True') return;
    this.touch();
  }

  notifications(state: NotificationState): void {
    const s = (this.sync.incoming ??= {});
    const before = s.notifications;
    if (before?.method === state.method && before.message === state.message) return;
    const message = redact(state.message).slice(0, 1024);
    s.notifications = { method: state.method, message };
    this.touch();
    const push = state.method !== 'Polling';
    this.logger.info({ method: state.method }, `incoming notifications: ${message}`);
    // An Event when push that was wanted is not available, and when it works again; not for every
    // change of subscription, nor for a profile that asks for polling.
    if (!push && state.fallback && before?.method !== 'Polling')
      void this.events.record(this.mbx, 'Warning', 'NotificationsUnavailable', message);
    else if (push && before?.method === 'Polling') void this.events.record(this.mbx, 'Normal', 'NotificationsActive', message);
  }

  attemptFailed(direction: SyncDirection, failure: Failure, state: Failing | undefined, nextAt: Date | undefined): void {
    const s = (this.sync[direction] ??= {});
    const message = redact(failure.message);
    this.metrics.failed?.(failure.reason, METRIC_DIRECTION[direction], this.labels);
    if (failure.serverText)
      this.logger.debug(
        { direction, reason: failure.reason, serverText: failure.serverText },
        `${NAMES[direction]} attempt failed; what the server said`,
      );
    if (nextAt) s.nextSyncTime = iso(nextAt);
    else delete s.nextSyncTime;
    if (!state) {
      this.logger.debug({ direction, reason: failure.reason }, `${NAMES[direction]} attempt failed again: ${message}`);
      return;
    }
    s.failure = {
      reason: state.reason,
      message: redact(state.message).slice(0, 4096),
      permanent: state.permanent,
      exhausted: state.exhausted,
      failures: state.failures,
      since: iso(state.since),
      ...(this.opts.basis ? { basis: this.opts.basis() } : {}),
    };
    const what = state.exhausted
      ? `${NAMES[direction]} sync gave up after ${state.failures} transient failures in a row: ${message}; the direction stopped and is probed by the controller`
      : state.permanent
        ? `${NAMES[direction]} sync failed: ${message}; the direction stopped: no further sign-in until its configuration changes or a test is requested`
        : `${NAMES[direction]} sync failing: ${message}; retrying${nextAt ? ` at ${iso(nextAt)}` : ''} (transient failure ${state.failures} counted against the budget)`;
    this.logger.warn(
      { direction, reason: state.reason, permanent: state.permanent, exhausted: state.exhausted, failures: state.failures },
      what,
    );
    this.touch();
    void this.events.record(this.mbx, 'Warning', state.exhausted ? 'TooManyTransientFailures' : state.reason, what);
  }

  recovered(direction: SyncDirection, from: Failing): void {
    const s = (this.sync[direction] ??= {});
    delete s.failure;
    const what = `${NAMES[direction]} sync works again after ${from.reason} (failing since ${iso(from.since)})`;
    this.logger.info({ direction, reason: from.reason }, what);
    this.touch();
    void this.events.record(this.mbx, 'Normal', 'SyncRecovered', what);
  }

  /** Synced: True when the last cycle of every direction of this syncer succeeded. */
  private syncedCondition(): { status: 'True' | 'False'; reason: string; message: string } | undefined {
    const entries = Object.entries(this.sync) as [SyncDirection, DirectionStatus][];
    const failing = entries.find(([, s]) => s.failure);
    if (failing) {
      const [d, s] = failing;
      const f = s.failure!;
      return {
        status: 'False',
        reason: f.exhausted ? 'TooManyTransientFailures' : f.reason,
        message: `${NAMES[d]} sync failed: ${f.message}`,
      };
    }
    if (!entries.some(([, s]) => s.lastSyncTime)) return undefined;
    return {
      status: 'True',
      reason: 'Synced',
      message: `last cycles succeeded (${entries.map(([d]) => NAMES[d]).join(', ')}); ${this.counts.received} received, ${this.counts.sent} sent, ${this.counts.failed} not processed`,
    };
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
    const ref = {
      group: GROUP,
      version: VERSION,
      plural: 'mailboxes',
      namespace: this.mbx.metadata.namespace,
      name: this.mbx.metadata.name,
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        // The controller writes the same status (its conditions), so we patch with the
        // resourceVersion we started from and, on a conflict, read fresh and try again;
        // patchStatus sends only what changed.
        const cached = attempt === 0 ? this.opts.latest?.() : undefined;
        const cur = cached ?? ((await this.clients.custom.getNamespacedCustomObject(ref)) as Mailbox);
        const status: MailboxStatusT = cur.status ?? {};
        const next: MailboxStatusT = { ...status, counts: { ...this.counts }, sync: { ...status.sync, ...copyJson(this.sync) } };
        if (this.checkpointValue) next.checkpoint = this.checkpointValue;
        // The generated type is a tuple of at most RECENT_FAILURES; the slice in itemFailed keeps it so.
        if (this.act) next.act = copyJson(this.act);
        if (this.recentFailures.length) next.recentFailures = this.recentFailures as RecentFailures;
        const times = Object.values(next.sync ?? {});
        const last = times
          .map((s) => s.lastSyncTime)
          .filter((t): t is string => !!t)
          .sort()
          .pop();
        const upcoming = times
          .map((s) => s.nextSyncTime)
          .filter((t): t is string => !!t)
          .sort()[0];
        if (last) next.lastSyncTime = last;
        if (upcoming) next.nextSyncTime = upcoming;
        else delete next.nextSyncTime;
        const synced = this.syncedCondition();
        if (synced) {
          next.conditions = setCondition(status.conditions, { type: 'Synced', ...synced }, cur.metadata.generation);
          this.synced = synced;
        }
        const written = await patchStatus(this.clients, { ...ref, resourceVersion: cur.metadata.resourceVersion }, status, next);
        // Nothing to write against the cached copy may mean the cache has not seen our own last
        // write yet (Synced back to True while the server holds False): only a fresh read can tell.
        if (cached && written === undefined) continue;
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (isConflict(err)) continue;
        this.dirty = true;
        this.logger.warn(`could not write sync status: ${describeError(err)}`);
        if (!this.closed) this.touch();
        return;
      }
    }
    this.dirty = true;
    if (!this.closed) this.touch();
  }
}
