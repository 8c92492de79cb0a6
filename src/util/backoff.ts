// Exponential back-off with jitter, the one model every retry loop of the operator uses (work
// queue, watch re-lists, sync loops, IMAP reconnects): base·2^(failures-1), capped, then moved at
// random by ±jitter so that many clients failing together do not retry together.

export interface Backoff {
  baseMs: number;
  maxMs: number;
  /** Fraction of the delay added or removed at random (0.2 = ±20%). */
  jitter: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 1000, maxMs: 300_000, jitter: 0.2 };

/** The delay before the next try after `failures` failures in a row (1 = the first failure). */
export function backoffDelay(failures: number, b: Backoff = DEFAULT_BACKOFF, random = Math.random): number {
  const raw = Math.min(b.maxMs, b.baseMs * 2 ** Math.min(Math.max(0, failures - 1), 30));
  const spread = raw * b.jitter;
  return Math.max(0, Math.round(raw - spread + random() * 2 * spread));
}

/**
 * Back off, but never sooner than the server asked (Retry-After, EWS BackOffMilliseconds,
 * imapflow's throttle reset): the larger of the back-off delay and `retryAfterMs`. `maxHintMs`
 * caps what a server may ask for, where a loop must not be parked for long by one answer.
 */
export function retryDelay(
  failures: number,
  b: Backoff,
  retryAfterMs: number | undefined,
  opts: { maxHintMs?: number; random?: () => number } = {},
): number {
  const hint = Math.min(retryAfterMs ?? 0, opts.maxHintMs ?? Number.POSITIVE_INFINITY);
  return Math.max(backoffDelay(failures, b, opts.random), hint);
}
