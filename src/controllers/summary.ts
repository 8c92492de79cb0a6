// The kstatus summary every kind ends its reconcile with: Ready, and Stalled or Reconciling from
// what keeps the object from being ready. Whether a failure is retried (Reconciling) or waits for
// a person (Stalled) is the reason registry's call (src/api/reasons.ts), unless the caller knows
// better for this very failure (a CRM TLS failure is permanent although CRMUnreachable is not).

import { isPermanentReason } from '../api/reasons.js';
import { removeCondition, setCondition, type Condition } from '../kube/conditions.js';

export interface SummaryFailure {
  reason: string;
  message: string;
  /** True: it is retried; false: it waits for a person. Default: the registry's kind of `reason`. */
  retrying?: boolean;
}

export interface Summary {
  ready: { status: Condition['status']; reason: string; message: string };
  /** What keeps the object from being ready, if it is a failure. */
  failure?: SummaryFailure;
  /** Reconciling's reason and message: work under way, or the retry of `failure` (default RetryingTest). */
  reconciling?: { reason: string; message: string };
}

/** True when this failure is retried by the operator, false when it waits for a person. */
export const isRetried = (f: SummaryFailure): boolean => f.retrying ?? !isPermanentReason(f.reason);

/** Sets Ready, Stalled and Reconciling (the last two only while they are True, as kstatus expects). */
export function applySummary(conditions: Condition[] | undefined, generation: number | undefined, s: Summary): Condition[] {
  let out = setCondition(conditions, { type: 'Ready', ...s.ready }, generation);
  const stalled = s.failure && !isRetried(s.failure) ? s.failure : undefined;
  out = stalled
    ? setCondition(out, { type: 'Stalled', status: 'True', reason: stalled.reason, message: stalled.message }, generation)
    : removeCondition(out, 'Stalled');
  const reconciling = stalled
    ? undefined
    : s.failure
      ? (s.reconciling ?? { reason: 'RetryingTest', message: 'a transient failure is being retried' })
      : s.reconciling;
  out = reconciling
    ? setCondition(out, { type: 'Reconciling', status: 'True', ...reconciling }, generation)
    : removeCondition(out, 'Reconciling');
  return out;
}
