// A sync failure record (domain/sync-failure.ts) as the direction condition the controller shows.

import type { RetryPolicy } from '../api/retry-policy.js';
import type { SyncFailureRecord } from '../domain/sync-failure.js';
import type { Condition } from '../kube/conditions.js';

/** Direction conditions the controller set from a sync failure start with this. */
export const SYNC_FAILED = 'sync failed: ';

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
