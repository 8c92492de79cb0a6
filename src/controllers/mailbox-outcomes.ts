// What the outcomes of a Test and Enable run do to a mailbox's status: the retry schedule
// (transient failures against the Deployment's budget, then probes), one condition per tested
// direction, the Events, and the hold of a mailbox whose test of a new revision failed. Pure
// functions of the outcomes, the policy and the clock.

import type { RetryPolicy } from '../api/retry-policy.js';
import type { MailboxStatusT } from '../api/types.js';
import { TEST_REQUESTED_AT } from '../api/types.js';
import type { Direction, TestOutcome } from '../domain/testing-ports.js';
import type { Condition } from '../kube/conditions.js';
import { retryDelay } from '../util/backoff.js';
import { DIRECTION_NAMES, type Hold } from './mailbox-summary.js';
import { DIRECTION_CONDITIONS } from './rollout-mailbox.js';

export type PendingEvent = { type: 'Normal' | 'Warning'; reason: string; message: string };
export type SetCondition = (type: string, status: Condition['status'], reason: string, message: string) => void;

export interface RetryPlan {
  /** Transient failures in a row, this one included (0 when no outcome was transient). */
  failures: number;
  /** The budget (policy.maxTransientFailures) is spent: retries are probes now. */
  exhausted: boolean;
  retryInMs?: number;
}

export const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Counts transient failures and plans the next retry (status.consecutiveTransientFailures and
 * nextTestTime); shared by direct and rollout tests. After the budget, retries become probes:
 * first after policy.probe.baseMs, doubling up to its maxMs. Never sooner than a server asked.
 */
export function scheduleRetry(outcomes: TestOutcome[], next: MailboxStatusT, policy: RetryPolicy, now = Date.now()): RetryPlan {
  const transient = outcomes.filter((o) => !o.ok && !o.permanent);
  const failures = transient.length ? (next.consecutiveTransientFailures ?? 0) + 1 : 0;
  next.consecutiveTransientFailures = failures;
  const exhausted = failures >= policy.maxTransientFailures;
  let retryInMs: number | undefined;
  if (transient.length) {
    const hinted = Math.max(0, ...transient.map((o) => o.retryAfterMs ?? 0));
    retryInMs = exhausted
      ? retryDelay(failures - policy.maxTransientFailures + 1, policy.probe, hinted)
      : retryDelay(failures, policy.backoff, hinted);
    next.nextTestTime = iso(new Date(now + retryInMs));
  } else {
    delete next.nextTestTime;
  }
  return { failures, exhausted, retryInMs };
}

/** One condition per tested direction, and the Events of the run. */
export function recordOutcomes(
  directions: Direction[],
  outcomes: TestOutcome[],
  retry: RetryPlan,
  nextTestTime: string | undefined,
  policy: RetryPolicy,
  set: SetCondition,
  events: PendingEvent[],
  success: PendingEvent = {
    type: 'Normal',
    reason: 'TestSucceeded',
    message: `Test and Enable passed: ${directions.map((d) => DIRECTION_NAMES[d]).join(', ') || 'nothing to test'}`,
  },
): void {
  const { failures, exhausted } = retry;
  directions.forEach((d, i) => {
    const o = outcomes[i];
    const type = DIRECTION_CONDITIONS[d];
    if (o.ok) {
      set(type, 'True', 'Succeeded', o.message);
    } else if (o.permanent) {
      set(
        type,
        'False',
        o.reason,
        `${o.message}; ${DIRECTION_NAMES[d]} processing is disabled until the configuration changes or a test is requested`,
      );
    } else if (exhausted) {
      set(
        type,
        'False',
        'TooManyTransientFailures',
        `gave up after ${failures} transient failures in a row; last: ${o.message}. Tested again at ${nextTestTime} (then at doubling intervals up to ${Math.round(policy.probe.maxMs / 60_000)} min) and re-enabled by itself when a test passes; fix the cause and request a test (annotation ${TEST_REQUESTED_AT}) to retry now`,
      );
    } else {
      set(
        type,
        'False',
        o.reason,
        `${o.message} (transient failure ${failures} of ${policy.maxTransientFailures}; retrying at ${nextTestTime})`,
      );
    }
  });
  if (outcomes.every((o) => o.ok)) {
    events.push(success);
  } else {
    outcomes.forEach((o, i) => {
      if (!o.ok)
        events.push({
          type: 'Warning',
          reason: exhausted && !o.permanent ? 'TooManyTransientFailures' : o.reason,
          message: `${DIRECTION_NAMES[directions[i]]}: ${o.message}`,
        });
    });
  }
}

/** The hold (UpToDate reason and message) of a mailbox whose test of a new revision failed. */
export function failedRollout(
  directions: Direction[],
  outcomes: TestOutcome[],
  retry: RetryPlan,
  target: { revision: string; profile: string },
  lastKnownGood: { revision?: string; serverProfile?: string },
  policy: RetryPolicy,
  now = Date.now(),
): Hold {
  const failedAt = outcomes.map((o, i) => [o, directions[i]] as const).filter(([o]) => !o.ok);
  const [first] = failedAt[0];
  const reason = retry.exhausted && !first.permanent ? 'TooManyTransientFailures' : first.reason;
  const what = failedAt.map(([o, d]) => `${DIRECTION_NAMES[d]}: ${o.message}`).join('; ');
  const at = retry.retryInMs !== undefined ? iso(new Date(now + retry.retryInMs)) : undefined;
  const next = !at
    ? 'not retried until the configuration changes or a test is requested'
    : retry.exhausted
      ? `gave up after ${retry.failures} transient failures; tested again at ${at}`
      : `transient failure ${retry.failures} of ${policy.maxTransientFailures}, retrying at ${at}`;
  return {
    reason,
    message: `${what} (test of revision ${target.revision} of profile "${target.profile}", ${next}; still running on last-known-good revision ${lastKnownGood.revision} of profile "${lastKnownGood.serverProfile}")`,
    // A spent budget waits for a person, although it is still probed now and then.
    retrying: at !== undefined && !retry.exhausted,
  };
}
