// The health of one sync direction of one mailbox: whether it works, and when it fails whether it
// must stop (a permanent failure, or the transient budget ran out) and when to try again. Pure
// bookkeeping, no I/O, so the rules can be tested without servers:
//
//   - A permanent failure (rejected credentials, a missing mailbox, a refused app) stops the
//     direction at once: no further sign-in until its configuration changes.
//   - Transient failures count against the budget on the back-off schedule of Test and Enable:
//     the first counts when it happens, the n-th once backoff·(1 + 2 + … + 2^(n-2)) has passed
//     since the first (capped at maxBackoff per step). When the count reaches
//     maxTransientFailures the direction stops (TooManyTransientFailures; the controller probes).
//   - Until then it retries quickly (1 s doubling up to reconnectMaxMs, or a server's Retry-After
//     when longer), so mail resumes within seconds of a server's return; retries between two
//     counted failures cost nothing against the budget.
//   - A failure of an attempt that began before the last success is old news and is dropped, so a
//     slow timeout from the outage can never be reported after the recovery.

import { budgetOffsetMs, type RetryPolicy } from '../api/retry-policy.js';
import { retryDelay } from '../util/backoff.js';

export interface Failure {
  reason: string;
  /** Safe to show (no secrets): MailError and CrmError messages are. */
  message: string;
  permanent: boolean;
  retryAfterMs?: number;
  /** What the server or CRM said (MailError, CrmError serverText): for debug logs only. */
  serverText?: string;
}

export interface Failing {
  reason: string;
  message: string;
  permanent: boolean;
  /** The transient budget ran out: the direction stopped. */
  exhausted: boolean;
  /** Transient failures counted against the budget so far. */
  failures: number;
  since: Date;
}

export interface FailureVerdict {
  /** The state to report when it changed (first failure, another reason, another count, a stop). */
  report?: Failing;
  /** The direction must not try again by itself. */
  stop: boolean;
  /** When to try again, when it does not stop. */
  retryInMs: number;
}

/** A server's or CRM's Retry-After, capped: the loop must come back some day. */
const MAX_RETRY_AFTER_MS = 60 * 60_000;

export class DirectionHealth {
  private failing?: Failing;
  private attempts = 0;
  private lastOkAt = -Infinity;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  get current(): Failing | undefined {
    return this.failing;
  }

  /** A success at `now`; returns the failure it recovered from, if any. */
  ok(now = Date.now()): Failing | undefined {
    this.lastOkAt = now;
    this.attempts = 0;
    const was = this.failing;
    this.failing = undefined;
    return was;
  }

  /**
   * A failure of an attempt that began at `startedAt`; undefined when a success came after that
   * start (the failure is stale). Once stopped, further failures change nothing.
   */
  failed(f: Failure, startedAt: number, now = Date.now()): FailureVerdict | undefined {
    if (startedAt < this.lastOkAt) return undefined;
    const prev = this.failing;
    if (prev && (prev.permanent || prev.exhausted)) return { stop: true, retryInMs: 0 };
    const since = prev?.since ?? new Date(now);
    let failures = prev?.failures ?? 0;
    if (!f.permanent && (failures === 0 || now - since.getTime() >= budgetOffsetMs(failures + 1, this.policy.backoff))) failures++;
    const exhausted = !f.permanent && failures >= this.policy.maxTransientFailures;
    const next: Failing = { reason: f.reason, message: f.message, permanent: f.permanent, exhausted, failures, since };
    this.failing = next;
    const changed = !prev || prev.reason !== next.reason || prev.failures !== next.failures || next.permanent || next.exhausted;
    const stop = next.permanent || next.exhausted;
    this.attempts++;
    const retryInMs = stop
      ? 0
      : retryDelay(this.attempts, { baseMs: 1000, maxMs: this.policy.reconnectMaxMs, jitter: 0.2 }, f.retryAfterMs, {
          maxHintMs: MAX_RETRY_AFTER_MS,
          random: this.random,
        });
    return { ...(changed ? { report: next } : {}), stop, retryInMs };
  }
}

/** Reason, message and permanence of whatever a cycle threw (MailError, CrmError, anything else). */
export function failureOf(err: unknown): Failure {
  const e = err as { reason?: unknown; message?: unknown; permanent?: unknown; retryAfterMs?: unknown; serverText?: unknown } | undefined;
  const reason = typeof e?.reason === 'string' ? e.reason : 'SyncFailed';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return {
    reason,
    message,
    // Only classified errors may stop a direction; an unexpected one is retried.
    permanent: reason !== 'SyncFailed' && e?.permanent === true,
    retryAfterMs: typeof e?.retryAfterMs === 'number' && e.retryAfterMs > 0 ? e.retryAfterMs : undefined,
    serverText: typeof e?.serverText === 'string' ? e.serverText : undefined,
  };
}
