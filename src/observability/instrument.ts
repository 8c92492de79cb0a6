// Connects the metrics to the controllers without the controllers knowing about Prometheus:
// a decorator around the Test and Enable interface, and one call that hooks into a Manager's
// reconciles (its aroundReconcile hook), work queues and caches.

import { mailboxKind } from '../api/types.js';
import type { Direction as TestDirection, MailboxTesting, TestOutcome } from '../domain/testing-ports.js';
import type { ReconcileHook } from '../kube/workqueue.js';
import type { MailboxLabels, SyncMetricsHooks } from '../sync/status-reporter.js';
import {
  countMailboxStates,
  crmReachability,
  pausedRollouts,
  type DeploymentLike,
  type MailboxLike,
  type ProfileLike,
} from './mailbox-state.js';
import { directionLabel, type Metrics, type QueueLike, type ReconcileKind } from './metrics.js';

/**
 * Wraps a MailboxTesting so that every test step it runs counts in mailsync_tests_total and,
 * when it fails, in mailsync_failures_total with its reason.
 */
export function instrumentTesting(inner: MailboxTesting, metrics: Metrics): MailboxTesting {
  return {
    plan(mailbox, profile, directions, lookups, deployment) {
      const plan = inner.plan(mailbox, profile, directions, lookups, deployment);
      const labels = labelsOf({ namespace: mailbox.metadata.namespace, profile: profile.metadata.name, ownerKind: mailboxKind(mailbox) });
      const count = (d: TestDirection, o: TestOutcome) => {
        const direction = directionLabel(d);
        metrics.tests.inc({ direction, result: o.ok ? 'success' : o.permanent ? 'permanent' : 'transient' });
        if (!o.ok) metrics.failures.inc({ reason: o.reason, direction, ...labels });
      };
      return {
        ...plan,
        steps: plan.steps.map((step) => ({
          ...step,
          async run(signal?: AbortSignal) {
            let outcome: TestOutcome;
            try {
              outcome = await step.run(signal);
            } catch (err) {
              metrics.tests.inc({ direction: directionLabel(step.direction), result: 'error' });
              throw err;
            }
            count(step.direction, outcome);
            return outcome;
          },
        })),
      };
    },
    ...(inner.testProfile ? { testProfile: inner.testProfile.bind(inner) } : {}),
  };
}

/** The parts of controllers/Manager used here (structural, so tests can pass a stand-in). */
export interface InstrumentableManager {
  queues: Record<string, QueueLike>;
  caches: {
    mailboxes: { list(namespace?: string): MailboxLike[] };
    deployments: { list(namespace?: string): DeploymentLike[] };
    profiles: { list(namespace?: string): ProfileLike[] };
  };
  aroundReconcile(hook: ReconcileHook): void;
}

/** The metrics' kind label of each of the Manager's queues. */
const KINDS: Record<string, ReconcileKind> = {
  mailboxes: 'Mailbox',
  profiles: 'EmailServerProfile',
  deployments: 'Deployment',
};

export interface InstrumentOptions {
  /**
   * True while this process runs the controllers (leads). A standby replica has the same caches
   * (the sync workers share them) and its queues fill from watch events without being worked
   * off; it must not report mailbox counts or queue depths, or a sum over pods would count
   * every mailbox once per replica. Default: always active.
   */
  active?: () => boolean;
}

/**
 * Records every reconcile's duration and result, reads the work-queue depths and counts the
 * cached mailboxes by state on each scrape. Call before `manager.start()`.
 */
export function instrumentManager(manager: InstrumentableManager, metrics: Metrics, opts: InstrumentOptions = {}): void {
  const active = opts.active ?? (() => true);
  manager.aroundReconcile((queue, run) => (KINDS[queue] ? metrics.timeReconcile(KINDS[queue], run) : run()));
  metrics.observeQueues(
    Object.fromEntries(Object.entries(manager.queues).map(([name, q]) => [name, { len: () => (active() ? q.len() : 0) }])),
  );
  metrics.setMailboxSource(() => (active() ? countMailboxStates(manager.caches.mailboxes.list()) : []));
  metrics.setCrmSource(() => (active() ? crmReachability(manager.caches.deployments.list()) : []));
  metrics.setRolloutSource(() => (active() ? pausedRollouts(manager.caches.profiles.list()) : []));
}

/**
 * Hooks for the sync workers (src/sync's SyncMetricsHooks): messages in and out, the latency from
 * the mail server's receipt to CRM delivery, and sync failures by reason (every failed attempt,
 * and every message that could not be processed).
 */
export function syncMetricsHooks(metrics: Metrics): SyncMetricsHooks {
  return {
    delivered(m, receivedAt) {
      metrics.messages.inc({ direction: 'in', ...labelsOf(m) });
      if (receivedAt) metrics.syncLatency.observeSince(labelsOf(m), receivedAt);
    },
    sent(m) {
      metrics.messages.inc({ direction: 'out', ...labelsOf(m) });
    },
    failed(reason, direction, m) {
      metrics.failures.inc({ reason, direction, ...labelsOf(m) });
    },
    act(m, kind, action, count) {
      metrics.actItems.inc({ kind, action, ...labelsOf(m) }, count);
    },
  };
}

/** The metric labels of a mailbox (label names are snake_case, as Prometheus has them). */
const labelsOf = (m: MailboxLabels) => ({ namespace: m.namespace, owner_kind: m.ownerKind, profile: m.profile });
