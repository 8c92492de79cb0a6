// The kstatus summary of all three kinds and the direction conditions from sync failures.

import { DEFAULT_RETRY_POLICY } from '../../../src/api/retry-policy.js';
import { getCondition } from '../../../src/kube/conditions.js';
import { applySummary } from '../../../src/controllers/summary.js';
import { runsDirection } from '../../../src/domain/sync-failure.js';
import { syncedCondition, SYNC_FAILED } from '../../../src/controllers/sync-health.js';

const ready = { status: 'False' as const, reason: 'X', message: 'm' };

test('a retried failure is Reconciling, one that waits for a person is Stalled; never both', () => {
  let c = applySummary([], 1, { ready, failure: { reason: 'ProtocolError', message: 'garbled' } });
  expect(getCondition(c, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RetryingTest' });
  expect(getCondition(c, 'Stalled')).toBeUndefined();
  c = applySummary(c, 1, { ready, failure: { reason: 'AuthenticationFailed', message: 'rejected' } });
  expect(getCondition(c, 'Stalled')).toMatchObject({ status: 'True', reason: 'AuthenticationFailed' });
  expect(getCondition(c, 'Reconciling')).toBeUndefined();
  // The caller knows better for this very failure (a CRM TLS failure is permanent).
  c = applySummary(c, 1, { ready, failure: { reason: 'CRMUnreachable', message: 'TLS', retrying: false } });
  expect(getCondition(c, 'Stalled')?.reason).toBe('CRMUnreachable');
  c = applySummary(c, 1, { ready: { status: 'True', reason: 'Ready', message: 'ok' } });
  expect(c.map((x) => x.type)).toEqual(['Ready']);
  c = applySummary(c, 1, { ready, reconciling: { reason: 'RolloutInProgress', message: 'moving' } });
  expect(getCondition(c, 'Reconciling')?.reason).toBe('RolloutInProgress');
});

const record = (f: Record<string, unknown>) => ({
  reason: 'ServerUnreachable',
  message: 'refused',
  permanent: false,
  exhausted: false,
  failures: 2,
  since: '2026-01-01T00:00:00Z',
  basis: 'b1',
  ...f,
});
const passed = { type: 'IncomingEmailReady', status: 'True' as const, reason: 'Succeeded', message: 'ok', lastTransitionTime: 't' };

test('a current sync failure sets the direction condition; once gone, a condition it set returns to True', () => {
  const p = DEFAULT_RETRY_POLICY;
  expect(syncedCondition(passed, record({}), 'incoming', p, undefined)).toMatchObject({
    status: 'False',
    reason: 'ServerUnreachable',
    message: expect.stringMatching(/transient failure 2 of 10/),
  });
  expect(syncedCondition(passed, record({ permanent: true, reason: 'AuthenticationFailed' }), 'incoming', p, undefined)?.message).toMatch(
    /no further sign-in/,
  );
  expect(syncedCondition(passed, record({ exhausted: true }), 'incoming', p, '2026-01-01T01:00:00Z')).toMatchObject({
    reason: 'TooManyTransientFailures',
  });
  const fromSync = { ...passed, status: 'False' as const, reason: 'ServerUnreachable', message: `${SYNC_FAILED}refused` };
  expect(syncedCondition(fromSync, undefined, 'incoming', p, undefined)).toMatchObject({ status: 'True', reason: 'Succeeded' });
  // A failed test is left as it is.
  const failedTest = { ...passed, status: 'False' as const, reason: 'TLSError', message: 'untrusted' };
  expect(syncedCondition(failedTest, record({}), 'incoming', p, undefined)).toBeUndefined();
  expect(syncedCondition(passed, undefined, 'incoming', p, undefined)).toBeUndefined();
});

test('a worker runs a direction that passed its test unless a current record stopped it; a transient one keeps it running', () => {
  const status = (f: Record<string, unknown>) => ({ sync: { incoming: { failure: record(f) } } });
  expect(runsDirection(status({}), 'incoming', passed, 'b1')).toBe(true);
  expect(runsDirection(status({ permanent: true }), 'incoming', passed, 'b1')).toBe(false);
  expect(runsDirection(status({ exhausted: true }), 'incoming', passed, 'b1')).toBe(false);
  // Stale (the Secret, the profile or a test changed what it runs on): the condition decides.
  expect(runsDirection(status({ permanent: true }), 'incoming', passed, 'b2')).toBe(true);
  expect(runsDirection(status({}), 'incoming', { ...passed, status: 'False' }, 'b1')).toBe(true);
  expect(runsDirection(undefined, 'incoming', undefined, 'b1')).toBe(false);
});
