// How transient failures are retried: the Deployment's spec.retryPolicy with the defaults of
// Dynamics 365 (10 failures, 30 s back-off doubling), shared by Test and Enable (the controller)
// and sync (the workers), so a direction has one budget whichever of the two meets the failure.

import { durationMs } from './quantities.js';
import type { Backoff } from '../util/backoff.js';
import type { DeploymentSpec } from './types.js';

export interface RetryPolicy {
  /** Transient failures in a row, counted on the `backoff` schedule, before a direction is disabled. */
  maxTransientFailures: number;
  /** The budget's schedule: the n-th failure counts once `backoff` has doubled n-1 times since the first. */
  backoff: Backoff;
  /** Tests of a direction disabled by TooManyTransientFailures: first after baseMs, doubling up to maxMs. */
  probe: Backoff;
  /**
   * While the budget lasts, a failing sync direction reconnects this often at most (1 s doubling up
   * to this cap), so mail resumes within seconds of a server's return. Failures in between do not
   * count against the budget; a server's Retry-After is always honoured.
   */
  reconnectMaxMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxTransientFailures: 10,
  backoff: { baseMs: 30_000, maxMs: 30 * 60_000, jitter: 0.2 },
  probe: { baseMs: 30 * 60_000, maxMs: 60 * 60_000, jitter: 0.1 },
  reconnectMaxMs: 5_000,
};

/** The policy of a Deployment: its spec.retryPolicy where set, else `fallback` (the operator's defaults). */
export function retryPolicyOf(spec: DeploymentSpec['retryPolicy'] | undefined, fallback: RetryPolicy = DEFAULT_RETRY_POLICY): RetryPolicy {
  const r = spec ?? {};
  return {
    maxTransientFailures: r.maxTransientFailures ?? fallback.maxTransientFailures,
    backoff: {
      ...fallback.backoff,
      baseMs: durationMs(r.backoff, fallback.backoff.baseMs),
      maxMs: durationMs(r.maxBackoff, fallback.backoff.maxMs),
    },
    probe: {
      ...fallback.probe,
      baseMs: durationMs(r.probeInterval, fallback.probe.baseMs),
      maxMs: durationMs(r.maxProbeInterval, fallback.probe.maxMs),
    },
    reconnectMaxMs: fallback.reconnectMaxMs,
  };
}

/** When the n-th transient failure counts against the budget: the sum of the first n-1 waits, without jitter. */
export function budgetOffsetMs(n: number, b: Backoff): number {
  let total = 0;
  for (let i = 1; i < n; i++) total += Math.min(b.maxMs, b.baseMs * 2 ** Math.min(i - 1, 30));
  return total;
}
