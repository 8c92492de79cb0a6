// Failures during sync, between the worker that meets them and the controller that reports them.
// Who writes what, so the two never fight over a field:
//
//   the sync worker   writes status.sync.<direction> (last/next cycle, counts, and `failure` while
//                     the direction fails), the Synced condition, counts, checkpoint and
//                     recentFailures;
//   the controller    owns every other condition: it folds a *current* failure record into the
//                     direction condition (IncomingEmailReady, OutgoingEmailReady, AppointmentsContactsTasksReady), from which
//                     Enabled, Ready, Stalled and Reconciling follow as for a failed test.
//
// A record is current while the worker would still run the direction on what it failed on: the
// mailbox's configuration, its last test and its Deployment's CRM connector (the "basis"). Any
// change to those (a new Secret, profile or Deployment, a test request, the controller's probe)
// makes it stale: the controller then shows the direction as its last test left it and the worker
// tries again. Both compute the basis from their own caches with syncBasis(); how the controller
// words a record as a condition is controllers/sync-health.ts.

import type { Mailbox, MailboxStatusT } from '../api/types.js';
import type { Condition } from '../kube/conditions.js';
import type { Caches } from './caches.js';
import { hashOf } from './revision.js';

export const SYNC_DIRECTIONS = ['incoming', 'outgoing', 'appointmentsContactsTasks'] as const;
export type SyncDirection = (typeof SYNC_DIRECTIONS)[number];

export type SyncFailureRecord = NonNullable<NonNullable<NonNullable<MailboxStatusT['sync']>['incoming']>['failure']>;

/** What a direction's sync runs on, as far as its failures go (see the top of this file). */
export function syncBasis(
  m: Pick<Mailbox, 'metadata' | 'spec'> & { status?: MailboxStatusT },
  caches: Pick<Caches, 'deployments' | 'secrets'>,
): string {
  const ns = m.metadata.namespace;
  const d = caches.deployments.get(ns, m.spec.deploymentRef.name);
  const ref = d?.spec.crm.credentialsSecretRef?.name;
  return hashOf([
    m.status?.configHash,
    m.status?.lastTestTime,
    d?.metadata.uid,
    d?.metadata.generation,
    ref ? (caches.secrets.get(ns, ref)?.metadata.resourceVersion ?? '') : undefined,
  ]);
}

/** The direction's failure record when it is current for `basis`. */
export function currentSyncFailure(
  status: MailboxStatusT | undefined,
  direction: SyncDirection,
  basis: string,
): SyncFailureRecord | undefined {
  const f = status?.sync?.[direction]?.failure;
  return f && f.basis === basis ? f : undefined;
}

/** Whether a worker runs a direction: it passed its test, and no current failure stopped it (a transient one keeps it running). */
export function runsDirection(
  status: MailboxStatusT | undefined,
  direction: SyncDirection,
  condition: Condition | undefined,
  basis: string,
): boolean {
  const f = currentSyncFailure(status, direction, basis);
  if (f) return !f.permanent && !f.exhausted;
  return condition?.status === 'True';
}
