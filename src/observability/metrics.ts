// Prometheus metrics of the operator, on a registry of their own (never prom-client's global one),
// so that tests and embedders can make as many isolated sets as they like with createMetrics().
//
// The metric objects are wrapped in small typed facades: every label is required and label values
// that form a closed set (direction, result, state) are union types, so a typo is a compile error
// rather than a new time series nobody queries.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MAILBOX_STATES, type MailboxStateCount } from './mailbox-state.js';

/** Labels of the per-mailbox series, so Alertmanager can route by tenant, profile and owner kind. */
export interface MailboxMetricLabels {
  namespace: string;
  /** The mailbox's email server profile ("" while unresolved). */
  profile: string;
  /** User or Queue. */
  owner_kind: string;
}

/** Direction of mail: `in` = mail server to CRM, `out` = CRM to mail server. */
export type MessageDirection = 'in' | 'out';
/** Direction of a test or failure: mail in, mail out, or appointments/contacts/tasks. */
export type Direction = MessageDirection | 'act';
/** Outcome of one Test and Enable step. */
export type TestResult = 'success' | 'transient' | 'permanent' | 'error';
/** Outcome of one reconcile: `requeue` = succeeded and asked to run again later. */
export type ReconcileResult = 'success' | 'requeue' | 'error';
export type ReconcileKind = 'Mailbox' | 'EmailServerProfile' | 'Deployment';

/** Maps the controllers' direction names to the short label values used in every metric. */
export function directionLabel(d: 'incoming' | 'outgoing' | 'appointmentsContactsTasks'): Direction {
  return d === 'incoming' ? 'in' : d === 'outgoing' ? 'out' : 'act';
}

// Sync latency (server receipt -> CRM delivery): IMAP IDLE delivers in well under a second, a
// polled POP3 or throttled Graph mailbox takes tens of seconds; Dynamics' 5-minute poll cycle is
// the baseline to beat, so the top buckets reach past a minute.
export const SYNC_LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300];
// A reconcile is mostly cache reads and one status patch (milliseconds); Test and Enable adds
// network round trips and, against an unreachable server, connection timeouts of several seconds.
export const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface QueueLike {
  len(): number;
}

export interface Metrics {
  readonly registry: Registry;
  /** Content-Type of `registry.metrics()` output (Prometheus text format 0.0.4). */
  readonly contentType: string;
  messages: { inc(labels: { direction: MessageDirection } & MailboxMetricLabels, count?: number): void };
  failures: { inc(labels: { reason: string; direction: Direction } & MailboxMetricLabels, count?: number): void };
  /** Appointments, contacts and tasks synchronized, by kind and action. */
  actItems: { inc(labels: { kind: string; action: string } & MailboxMetricLabels, count?: number): void };
  syncLatency: {
    observe(labels: MailboxMetricLabels, seconds: number): void;
    /** Observes now minus the time the mail server received the message. */
    observeSince(labels: MailboxMetricLabels, receivedAt: Date, now?: Date): void;
  };
  tests: { inc(labels: { direction: Direction; result: TestResult }): void };
  reconcile: { observe(labels: { kind: ReconcileKind; result: ReconcileResult }, seconds: number): void };
  /**
   * Runs one reconcile, recording its duration and result. `requeue` when it returned
   * `{ requeueAfterMs }`, `error` when it threw (the error is rethrown untouched).
   */
  timeReconcile<T>(kind: ReconcileKind, fn: () => Promise<T>): Promise<T>;
  /** The function that counts mailboxes by state; called on every scrape. */
  setMailboxSource(source: () => Iterable<MailboxStateCount>): void;
  /** Whether each Deployment's CRM connector works (1) or not (0); called on every scrape. */
  setCrmSource(source: () => Iterable<{ namespace: string; deployment: string; value: number }>): void;
  /** Profiles whose rollout is paused, and why; called on every scrape. */
  setRolloutSource(source: () => Iterable<{ namespace: string; profile: string; reason: string }>): void;
  /** Work queues whose depth is read on every scrape, by queue name. */
  observeQueues(queues: Record<string, QueueLike>): void;
}

export interface MetricsOptions {
  /** Node.js process metrics (CPU, memory, event loop lag, GC, handles). Default true. */
  defaultMetrics?: boolean;
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const messages = new Counter({
    name: 'mailsync_messages_total',
    help: 'Messages delivered: direction="in" from a mail server into the CRM, "out" from the CRM through a mail server.',
    labelNames: ['direction', 'namespace', 'owner_kind', 'profile'] as const,
    registers: [registry],
  });
  const failures = new Counter({
    name: 'mailsync_failures_total',
    help: 'Classified failures (tests, failed sync attempts and messages that could not be processed), by reason (AuthenticationFailed, ServerUnreachable, CorruptMessage, ...; see the reason table) and direction.',
    labelNames: ['reason', 'direction', 'namespace', 'owner_kind', 'profile'] as const,
    registers: [registry],
  });
  const actItems = new Counter({
    name: 'mailsync_act_items_total',
    help: 'Appointments, contacts and tasks synchronized, by kind (appointment, contact, task) and action (created, updated, deleted, unlinked, conflicts, failed), both directions together.',
    labelNames: ['kind', 'action', 'namespace', 'owner_kind', 'profile'] as const,
    registers: [registry],
  });
  const syncLatency = new Histogram({
    name: 'mailsync_sync_latency_seconds',
    help: 'Time from the mail server receiving a message to its delivery into the CRM.',
    labelNames: ['namespace', 'owner_kind', 'profile'] as const,
    buckets: SYNC_LATENCY_BUCKETS,
    registers: [registry],
  });
  const tests = new Counter({
    name: 'mailsync_tests_total',
    help: 'Test and Enable steps run, by direction and result (success, transient, permanent, error).',
    labelNames: ['direction', 'result'] as const,
    registers: [registry],
  });
  const reconcileDuration = new Histogram({
    name: 'mailsync_reconcile_duration_seconds',
    help: 'Duration of one reconcile, by kind and result.',
    labelNames: ['kind', 'result'] as const,
    buckets: RECONCILE_BUCKETS,
    registers: [registry],
  });
  const reconcileTotal = new Counter({
    name: 'mailsync_reconcile_total',
    help: 'Reconciles run, by kind and result (success, requeue, error).',
    labelNames: ['kind', 'result'] as const,
    registers: [registry],
  });

  let mailboxSource: (() => Iterable<MailboxStateCount>) | undefined;
  new Gauge({
    name: 'mailsync_mailboxes',
    help: `Mailboxes by state (${MAILBOX_STATES.join(', ')}), namespace, email server profile and owner kind (User, Queue). Each mailbox is in exactly one state.`,
    labelNames: ['state', 'namespace', 'owner_kind', 'profile'] as const,
    registers: [registry],
    collect() {
      if (!mailboxSource) return;
      // Reset first: a namespace or profile that disappeared must not keep reporting its last counts.
      this.reset();
      for (const c of mailboxSource())
        this.set({ state: c.state, namespace: c.namespace, owner_kind: c.ownerKind, profile: c.profile }, c.count);
    },
  });
  let crmSource: (() => Iterable<{ namespace: string; deployment: string; value: number }>) | undefined;
  new Gauge({
    name: 'mailsync_crm_connected',
    help: 'Per Deployment (CRM organization): 1 when its CRM connector was reached and authenticated at its last test, 0 when it cannot be used (unreachable, refused, its Secret missing).',
    labelNames: ['namespace', 'deployment'] as const,
    registers: [registry],
    collect() {
      if (!crmSource) return;
      this.reset();
      for (const c of crmSource()) this.set({ namespace: c.namespace, deployment: c.deployment }, c.value);
    },
  });
  let rolloutSource: (() => Iterable<{ namespace: string; profile: string; reason: string }>) | undefined;
  new Gauge({
    name: 'mailsync_rollout_paused',
    help: 'Profiles whose rollout is paused (1), with why: FailureThresholdReached (failures in a batch reached spec.rollout.failureThreshold) or PausedByUser.',
    labelNames: ['namespace', 'profile', 'reason'] as const,
    registers: [registry],
    collect() {
      if (!rolloutSource) return;
      this.reset();
      for (const r of rolloutSource()) this.set({ namespace: r.namespace, profile: r.profile, reason: r.reason }, 1);
    },
  });
  const queues: Record<string, QueueLike> = {};
  new Gauge({
    name: 'mailsync_workqueue_depth',
    help: 'Keys waiting in a controller work queue (not counting keys being processed or waiting for a backoff).',
    labelNames: ['queue'] as const,
    registers: [registry],
    collect() {
      for (const [name, q] of Object.entries(queues)) this.set({ queue: name }, q.len());
    },
  });

  const observeReconcile = (labels: { kind: ReconcileKind; result: ReconcileResult }, seconds: number) => {
    reconcileDuration.observe(labels, seconds);
    reconcileTotal.inc(labels);
  };

  return {
    registry,
    contentType: registry.contentType,
    messages: { inc: (labels, count = 1) => messages.inc(labels, count) },
    failures: { inc: (labels, count = 1) => failures.inc(labels, count) },
    actItems: { inc: (labels, count = 1) => actItems.inc(labels, count) },
    syncLatency: {
      observe: (labels, seconds) => syncLatency.observe(labels, seconds),
      // The receipt time comes from the mail server's clock; clamp so clock skew between it and
      // this host cannot record a negative latency.
      observeSince: (labels, receivedAt, now = new Date()) =>
        syncLatency.observe(labels, Math.max(0, (now.getTime() - receivedAt.getTime()) / 1000)),
    },
    tests: { inc: (labels) => tests.inc(labels) },
    reconcile: { observe: observeReconcile },
    async timeReconcile<T>(kind: ReconcileKind, fn: () => Promise<T>): Promise<T> {
      const start = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - start) / 1e9;
      let out: T;
      try {
        out = await fn();
      } catch (err) {
        observeReconcile({ kind, result: 'error' }, seconds());
        throw err;
      }
      const requeue = typeof out === 'object' && out !== null && (out as { requeueAfterMs?: unknown }).requeueAfterMs !== undefined;
      observeReconcile({ kind, result: requeue ? 'requeue' : 'success' }, seconds());
      return out;
    },
    setMailboxSource(source) {
      mailboxSource = source;
    },
    setCrmSource(source) {
      crmSource = source;
    },
    setRolloutSource(source) {
      rolloutSource = source;
    },
    observeQueues(q) {
      Object.assign(queues, q);
    },
  };
}
