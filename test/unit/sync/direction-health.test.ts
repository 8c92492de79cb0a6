// The rules of a sync direction's health, without servers: permanent failures stop at once,
// transient ones count against the budget on the back-off schedule and are retried within
// seconds, and a failure older than the last success is dropped.

import { DEFAULT_RETRY_POLICY, budgetOffsetMs, retryPolicyOf, type RetryPolicy } from '../../../src/api/retry-policy.js';
import { DirectionHealth, failureOf } from '../../../src/sync/direction-health.js';
import { CrmError } from '../../../src/crm/types.js';
import { MailError } from '../../../src/mail/types.js';

const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, maxTransientFailures: 3, backoff: { baseMs: 1000, maxMs: 60_000, jitter: 0 } };
const unreachable = { reason: 'ServerUnreachable', message: 'connection refused', permanent: false };
const noJitter = () => 0.5;

test('a permanent failure stops the direction at once and is reported once', () => {
  const h = new DirectionHealth(policy, noJitter);
  const v = h.failed({ reason: 'AuthenticationFailed', message: 'rejected', permanent: true }, 0, 0)!;
  expect(v).toMatchObject({ stop: true, report: { reason: 'AuthenticationFailed', permanent: true, exhausted: false, failures: 0 } });
  expect(h.failed({ reason: 'AuthenticationFailed', message: 'rejected', permanent: true }, 10, 10)).toEqual({ stop: true, retryInMs: 0 });
});

test('transient failures count on the back-off schedule, not per attempt; the budget stops the direction', () => {
  const h = new DirectionHealth(policy, noJitter);
  // Attempts every 100 ms for 2.9 s count only at 0 s and 1 s (the next is due at 1 + 2 = 3 s).
  const counted = new Set<number>();
  for (let t = 0; t < 2900; t += 100) {
    const v = h.failed(unreachable, t, t)!;
    expect(v.stop).toBe(false);
    expect(v.retryInMs).toBeLessThanOrEqual(policy.reconnectMaxMs); // retried within seconds
    if (v.report) counted.add(v.report.failures);
  }
  expect([...counted]).toEqual([1, 2]);
  const last = h.failed(unreachable, 3000, 3000)!;
  expect(last).toMatchObject({ stop: true, report: { failures: 3, exhausted: true } });
});

test("a server's Retry-After is honoured; a success ends the failure; an older attempt's failure is dropped", () => {
  const h = new DirectionHealth(policy, noJitter);
  expect(h.failed({ ...unreachable, reason: 'Throttled', retryAfterMs: 45_000 }, 0, 0)!.retryInMs).toBe(45_000);
  expect(h.ok(5000)).toMatchObject({ reason: 'Throttled', failures: 1 });
  expect(h.current).toBeUndefined();
  // This attempt began before the success: the outage it saw is over.
  expect(h.failed(unreachable, 4000, 6000)).toBeUndefined();
  expect(h.failed(unreachable, 5001, 6000)?.report).toMatchObject({ failures: 1 });
});

test("the budget schedule and the Deployment's spec.retryPolicy", () => {
  const b = { baseMs: 30_000, maxMs: 30 * 60_000, jitter: 0.2 };
  expect([1, 2, 3, 4].map((n) => budgetOffsetMs(n, b))).toEqual([0, 30_000, 90_000, 210_000]);
  // With the defaults the tenth failure counts after about two hours: a three-minute outage is failure 4.
  expect(budgetOffsetMs(10, b) / 3_600_000).toBeCloseTo(2.03, 1);
  const p = retryPolicyOf({ maxTransientFailures: 3, backoff: '1s', probeInterval: '5m' });
  expect(p).toMatchObject({
    maxTransientFailures: 3,
    backoff: { baseMs: 1000, maxMs: 30 * 60_000 },
    probe: { baseMs: 300_000, maxMs: 3_600_000 },
  });
});

test('what a cycle threw: classified errors keep their permanence, anything else is retried', () => {
  expect(failureOf(new MailError('AuthenticationFailed', 'no'))).toMatchObject({ reason: 'AuthenticationFailed', permanent: true });
  expect(failureOf(new CrmError('CRMThrottled', 'slow down', { retryAfterMs: 1000 }))).toMatchObject({
    reason: 'CRMThrottled',
    permanent: false,
    retryAfterMs: 1000,
  });
  expect(failureOf(Object.assign(new Error('boom'), { permanent: true }))).toMatchObject({ reason: 'SyncFailed', permanent: false });
});
