// The end of every Mailbox reconcile: Enabled (is mail processed, and on what) and the kstatus
// summary (Ready, Reconciling, Stalled) from the direction conditions, approval and any hold.
// Pure: conditions in, conditions out. What each condition means is in docs/status.md.

import { isPermanentReason } from '../api/reasons.js';
import { actProcessedKinds } from '../domain/act-test.js';
import type { Direction } from '../domain/testing-ports.js';
import { getCondition, setCondition, type Condition } from '../kube/conditions.js';
import type { ApprovalState } from '../domain/approval.js';
import { DIRECTION_CONDITIONS } from './rollout-mailbox.js';
import { applySummary, type SummaryFailure } from './summary.js';

export const DIRECTION_NAMES: Record<Direction, string> = {
  incoming: 'incoming',
  outgoing: 'outgoing',
  appointmentsContactsTasks: 'appointments, contacts and tasks',
};

/** Why a mailbox runs its last-known-good configuration instead of the one it should run. */
export interface Hold {
  reason: string;
  message: string;
  /** A retry of the failed test is planned (kstatus Reconciling); otherwise a person must act (Stalled). */
  retrying?: boolean;
}

export interface MailboxSummaryInput {
  conditions: Condition[];
  generation: number | undefined;
  suspended: boolean;
  approval: Pick<ApprovalState, 'state' | 'message'>;
  /** The directions of the configuration that runs (whose conditions the summary reads). */
  directions: Direction[];
  /** What runs while a hold keeps the mailbox off its new configuration. */
  lastKnownGood: { revision?: string; serverProfile?: string };
  hold?: Hold;
  /** Directions failing transiently during sync: their workers retry within seconds, so they still process. */
  retryingInSync?: ReadonlySet<Direction>;
  /** The mailbox cannot run at all (its Deployment or profile cannot be resolved). */
  stopped?: { reason: string; message: string };
  /** Its incoming delivery method is ForwardMailbox: the Deployment's forward mailbox reads its mail. */
  forwarded?: boolean;
}

type Status = [Condition['status'], string, string];

/**
 * Enabled and the kstatus summary. A direction failing transiently during sync still processes
 * (its worker retries within seconds): it keeps the mailbox Enabled, but not Ready. A held mailbox
 * whose test of its new configuration failed is Enabled with reason RunningLastKnownGood and not
 * Ready: it processes mail, but not on the configuration its spec and profile ask for.
 */
export function summariseMailbox(input: MailboxSummaryInput): Condition[] {
  const { conditions, generation: gen, hold, stopped } = input;
  if (stopped) {
    const out = setCondition(conditions, { type: 'Enabled', status: 'False', reason: stopped.reason, message: stopped.message }, gen);
    return applySummary(out, gen, { ready: { status: 'False', ...stopped }, failure: { ...stopped, retrying: false } });
  }
  const inSync = input.retryingInSync ?? new Set<Direction>();
  const entries = input.directions.map((d) => ({ d, c: getCondition(conditions, DIRECTION_CONDITIONS[d]) }));
  const failed = entries.filter((e) => e.c && e.c.status !== 'True') as { d: Direction; c: Condition }[];
  const passed = entries.filter((e) => e.c?.status === 'True');
  const processing = entries.filter((e) => e.c?.status === 'True' || inSync.has(e.d));
  // ACT names the kinds its passed test says synchronize (those the Deployment turns on), never more.
  const name = (e: { d: Direction; c?: Condition }) =>
    (e.d === 'appointmentsContactsTasks' && e.c?.status === 'True' && actProcessedKinds(e.c.message)) || DIRECTION_NAMES[e.d];
  const names = (list: { d: Direction; c?: Condition }[]) => list.map(name).join(', ');
  let enabled: Status;
  if (input.suspended) enabled = ['False', 'Suspended', 'spec.suspended is true'];
  else if (input.approval.state === 'Denied') enabled = ['False', 'Denied', input.approval.message];
  else if (input.approval.state === 'Pending') enabled = ['False', 'AwaitingApproval', input.approval.message];
  else if (!input.directions.length && input.forwarded)
    enabled = [
      'True',
      'ThroughForwardMailbox',
      "incoming mail reaches the CRM through its Deployment's forward mailbox (delivery method ForwardMailbox); nothing else to sync",
    ];
  else if (!input.directions.length) enabled = ['False', 'NothingToSync', 'every delivery method is None'];
  else if (!failed.length && !passed.length)
    enabled = ['False', 'TestPending', 'waiting for Test and Enable (spec.rollout.maxConcurrentTests of its profile limits tests at once)'];
  else if (!failed.length) enabled = ['True', 'Enabled', `processing ${names(entries)}`];
  else if (processing.length === entries.length)
    enabled = ['True', 'Enabled', `processing ${names(entries)}; retrying ${names(failed)} after a transient sync failure`];
  else if (processing.length) enabled = ['True', 'PartiallyEnabled', `processing ${names(processing)} only`];
  else enabled = ['False', failed[0].c.reason, failed[0].c.message];
  if (hold && enabled[0] === 'True') {
    const s = input.lastKnownGood;
    enabled = [
      'True',
      'RunningLastKnownGood',
      `${enabled[2]} on last-known-good revision ${s.revision} of profile "${s.serverProfile}"; the new configuration is not used: ${hold.message}`,
    ];
  }
  const out = setCondition(conditions, { type: 'Enabled', status: enabled[0], reason: enabled[1], message: enabled[2] }, gen);
  const first = failed[0]?.c;
  const ready =
    enabled[0] === 'True' && !failed.length && !hold
      ? { status: 'True' as const, reason: 'Ready', message: enabled[2] }
      : hold && enabled[0] === 'True'
        ? { status: 'False' as const, reason: hold.reason, message: enabled[2] }
        : first && enabled[1] !== 'Suspended'
          ? { status: 'False' as const, reason: first.reason, message: first.message }
          : { status: 'False' as const, reason: enabled[1], message: enabled[2] };
  // What waits for a person wins over what is retried; a held mailbox's failed test counts as
  // the direction failures do.
  const permanent = failed.find((e) => isPermanentReason(e.c.reason));
  const failure: SummaryFailure | undefined = permanent
    ? { reason: permanent.c.reason, message: permanent.c.message, retrying: false }
    : hold && !hold.retrying
      ? { ...hold, retrying: false }
      : failed.length
        ? { reason: failed[0].c.reason, message: failed[0].c.message, retrying: true }
        : hold?.retrying
          ? { ...hold, retrying: true }
          : undefined;
  const syncRetry = !permanent && failed.length > 0 && failed.every((e) => inSync.has(e.d));
  const reconciling = syncRetry
    ? { reason: 'RetryingSync', message: `${names(failed)} sync is retried within seconds by its worker` }
    : { reason: 'RetryingTest', message: 'a transient failure is being retried' };
  return applySummary(out, gen, { ready, failure, ...(failure ? { reconciling } : {}) });
}
