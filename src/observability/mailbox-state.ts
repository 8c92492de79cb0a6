// One state per mailbox, read from its status conditions, for the mailsync_mailboxes gauge. The
// states are exclusive, so `sum(mailsync_mailboxes)` is the number of mailboxes and ratios such as
// "failing / all" need no de-duplication. The order of the checks decides which state wins when
// several apply: what keeps a mailbox from processing mail is reported before what is wrong with it.

import { isFailureReason } from '../api/reasons.js';

/** The fields of a Mailbox this module reads; structural, so it does not depend on the API types. */
export interface MailboxLike {
  metadata: { namespace?: string; generation?: number };
  spec?: { suspended?: boolean; forwardMailbox?: boolean; owner?: { kind?: string } };
  status?: {
    observedGeneration?: number;
    serverProfile?: string;
    conditions?: { type: string; status: string; reason?: string }[];
  };
}

export const MAILBOX_STATES = [
  /** Ready=True: every requested direction is tested and processing. */
  'Ready',
  /** A transient failure (unreachable, throttled, timeout) is being retried (Reconciling=True). */
  'Retrying',
  /** A permanent failure or the retry budget ran out (Stalled=True): needs a fix. */
  'Failing',
  /** The Deployment requires approval and the address is not approved yet. */
  'AwaitingApproval',
  /** An approver denied the address. */
  'Denied',
  /** spec.suspended is true. */
  'Suspended',
  /** Not processing for another reason, e.g. every delivery method is None. */
  'Disabled',
  /** Not yet reconciled at its current generation. */
  'Pending',
] as const;
export type MailboxState = (typeof MAILBOX_STATES)[number];

export interface MailboxStateCount {
  state: MailboxState;
  namespace: string;
  /** The effective email server profile (status.serverProfile); "" while unresolved. */
  profile: string;
  /** User, Queue or Forward (a forward mailbox): queues (shared mailboxes) often deserve their own alert route. */
  ownerKind: string;
  count: number;
}

export function mailboxState(m: MailboxLike): MailboxState {
  const cond = (type: string) => m.status?.conditions?.find((c) => c.type === type);
  if (m.spec?.suspended) return 'Suspended';
  if (!m.status || m.status.observedGeneration !== m.metadata.generation) return 'Pending';
  if (cond('Ready')?.status === 'True') return 'Ready';
  const enabled = cond('Enabled');
  if (enabled?.reason === 'Denied') return 'Denied';
  if (enabled?.reason === 'AwaitingApproval') return 'AwaitingApproval';
  if (cond('Stalled')?.status === 'True') return 'Failing';
  if (cond('Reconciling')?.status === 'True') return 'Retrying';
  if (enabled?.status === 'False') return 'Disabled';
  return 'Pending';
}

/**
 * Counts mailboxes by namespace, profile and state. Every state of a (namespace, profile) pair
 * that has any mailbox is reported, zeros included, so that ratios and `absent()` behave.
 */
export function countMailboxStates(mailboxes: Iterable<MailboxLike>): MailboxStateCount[] {
  const groups = new Map<string, { namespace: string; profile: string; ownerKind: string; counts: Map<MailboxState, number> }>();
  for (const m of mailboxes) {
    const namespace = m.metadata.namespace ?? '';
    const profile = m.status?.serverProfile ?? '';
    const ownerKind = m.spec?.forwardMailbox ? 'Forward' : (m.spec?.owner?.kind ?? '');
    const key = `${namespace}\u0000${profile}\u0000${ownerKind}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { namespace, profile, ownerKind, counts: new Map(MAILBOX_STATES.map((s) => [s, 0])) }));
    const s = mailboxState(m);
    g.counts.set(s, g.counts.get(s)! + 1);
  }
  return [...groups.values()].flatMap((g) =>
    [...g.counts].map(([state, count]) => ({ state, namespace: g.namespace, profile: g.profile, ownerKind: g.ownerKind, count })),
  );
}

type Conditioned = {
  metadata: { namespace?: string; name?: string };
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
};
export type DeploymentLike = Conditioned;
export type ProfileLike = Conditioned;

/**
 * Per Deployment: 1 when its CRM connector was reached and authenticated at its last test, 0 when
 * that test failed (Ready False for a failure of the reason registry: CRMUnreachable,
 * CRMAuthenticationFailed, ...). Deployments not tested yet, or not ready for another reason
 * (a rollout of its defaults), report 1 when the connector works; untested ones are left out.
 */
export function crmReachability(deployments: Iterable<DeploymentLike>): { namespace: string; deployment: string; value: number }[] {
  const out: { namespace: string; deployment: string; value: number }[] = [];
  for (const d of deployments) {
    const ready = d.status?.conditions?.find((c) => c.type === 'Ready');
    if (!ready) continue;
    out.push({
      namespace: d.metadata.namespace ?? '',
      deployment: d.metadata.name ?? '',
      value: ready.status !== 'True' && isFailureReason(ready.reason ?? '') ? 0 : 1,
    });
  }
  return out;
}

/** Profiles whose rollout is paused, with why: FailureThresholdReached or PausedByUser. */
export function pausedRollouts(profiles: Iterable<ProfileLike>): { namespace: string; profile: string; reason: string }[] {
  const out: { namespace: string; profile: string; reason: string }[] = [];
  for (const p of profiles) {
    const c = p.status?.conditions?.find((x) => x.type === 'RolloutPaused' && x.status === 'True');
    if (c) out.push({ namespace: p.metadata.namespace ?? '', profile: p.metadata.name ?? '', reason: c.reason ?? '' });
  }
  return out;
}
