// Failures during sync, between the worker that meets them and the controller that reports them.
// Who writes what, so the two never fight over a field:
//
//   the sync worker   writes status.sync.<direction> (last/next cycle, counts, and `failure` while
//                     the direction fails), the Synced condition, counts, checkpoint and
//                     recentFailures;
//   the controller    owns every other condition: it folds a *current* failure record into the
//                     direction condition (IncomingEmailReady / OutgoingEmailReady), from which
//                     Enabled, Ready, Stalled and Reconciling follow as for a failed test.
//
// A record is current while the worker would still run the direction on what it failed on: the
// mailbox's configuration, its last test and its Deployment's CRM connector (the "basis"). Any
// change to those (a new Secret, profile or Deployment, a test request, the controller's probe)
// makes it stale: the controller then shows the direction as its last test left it and the worker
// tries again. Both compute the basis from their own caches with syncBasis().

import type { Mailbox, MailboxStatusT } from '../api/types.js';
import type { RetryPolicy } from '../api/retry-policy.js';
import type { Condition } from '../kube/conditions.js';
import type { Caches } from './context.js';
import { hashOf } from './rollout-revision.js';

export const SYNC_DIRECTIONS = ['incoming', 'outgoing', 'appointmentsContactsTasks'] as const;
export type SyncDirection = (typeof SYNC_DIRECTIONS)[number];

export type SyncFailureRecord = NonNullable<NonNullable<NonNullable<MailboxStatusT['sync']>['incoming']>['failure']>;

/** Direction conditions the controller set from a sync failure start with this. */
export const SYNC_FAILED = 'sync failed: ';

/** What a direction's sync runs on, as far as its failures go (see the top of this file). */
export function syncBasis(m: Pick<Mailbox, 'metadata' | 'spec'> & { status?: MailboxStatusT }, caches: Pick<Caches, 'deployments' | 'secrets'>): string {
  const ns = m.metadata.namespace;
  const d = caches.deployments.get(ns, m.spec.deploymentRef.name);
  const ref = d?.spec.crm.credentialsSecretRef?.name;
  return hashOf([m.status?.configHash, m.status?.lastTestTime, d?.metadata.uid, d?.metadata.generation, ref ? (caches.secrets.get(ns, ref)?.metadata.resourceVersion ?? '') : undefined]);
}

/** The direction's failure record when it is current for `basis`. */
export function currentSyncFailure(status: MailboxStatusT | undefined, direction: SyncDirection, basis: string): SyncFailureRecord | undefined {
  const f = status?.sync?.[direction]?.failure;
  return f && f.basis === basis ? f : undefined;
}

/** Whether a worker runs a direction: it passed its test, and no current failure stopped it (a transient one keeps it running). */
export function runsDirection(status: MailboxStatusT | undefined, direction: SyncDirection, condition: Condition | undefined, basis: string): boolean {
  const f = currentSyncFailure(status, direction, basis);
  if (f) return !f.permanent && !f.exhausted;
  return condition?.status === 'True';
}

/**
 * The direction condition a sync failure record asks for: False with the failure while it is
 * current, True again once it is gone (or stale) where the condition came from it; undefined to
 * leave the condition as its last test set it.
 */
export function syncedCondition(
  c: Condition | undefined,
  f: SyncFailureRecord | undefined,
  what: string,
  policy: RetryPolicy,
  probeAt: string | undefined,
): { status: Condition['status']; reason: string; message: string } | undefined {
  const fromSync = c?.status === 'False' && c.message.startsWith(SYNC_FAILED);
  if (!f) return fromSync ? { status: 'True', reason: 'Succeeded', message: `${what} synced again after ${c!.reason}` } : undefined;
  // A failed test stands; a current record always comes from a run after the last test.
  if (c?.status === 'False' && !fromSync) return undefined;
  if (f.exhausted) {
    return {
      status: 'False',
      reason: 'TooManyTransientFailures',
      message: `${SYNC_FAILED}gave up after ${f.failures} transient failures in a row since ${f.since}; last: ${f.message}. ${what} is disabled; it is tested again at ${probeAt ?? 'the next probe'} (then at doubling intervals up to ${Math.round(policy.probe.maxMs / 60_000)} min) and re-enabled by itself when a test passes`,
    };
  }
  if (f.permanent) {
    return {
      status: 'False',
      reason: f.reason,
      message: `${SYNC_FAILED}${f.message}; ${what} processing stopped: no further sign-in until the Secret, profile or Deployment changes or a test is requested`,
    };
  }
  return {
    status: 'False',
    reason: f.reason,
    message: `${SYNC_FAILED}${f.message} (failing since ${f.since}; transient failure ${f.failures} of ${policy.maxTransientFailures}; retried within seconds)`,
  };
}
