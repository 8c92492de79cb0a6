// One state per mailbox, read from its status conditions, for the mailsync_mailboxes gauge. The
// states are exclusive, so `sum(mailsync_mailboxes)` is the number of mailboxes and ratios such as
// "failing / all" need no de-duplication. The order of the checks decides which state wins when
// several apply: what keeps a mailbox from processing mail is reported before what is wrong with it.

/** The fields of a Mailbox this module reads; structural, so it does not depend on the API types. */
export interface MailboxLike {
  metadata: { namespace?: string; generation?: number };
  spec?: { suspended?: boolean };
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
  const groups = new Map<string, { namespace: string; profile: string; counts: Map<MailboxState, number> }>();
  for (const m of mailboxes) {
    const namespace = m.metadata.namespace ?? '';
    const profile = m.status?.serverProfile ?? '';
    const key = `${namespace}\u0000${profile}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { namespace, profile, counts: new Map(MAILBOX_STATES.map((s) => [s, 0])) }));
    const s = mailboxState(m);
    g.counts.set(s, g.counts.get(s)! + 1);
  }
  return [...groups.values()].flatMap((g) => [...g.counts].map(([state, count]) => ({ state, namespace: g.namespace, profile: g.profile, count })));
}
