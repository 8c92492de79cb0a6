import type { MailboxStateCount } from '../../../src/observability/mailbox-state.js';
import { createMetrics, directionLabel } from '../../../src/observability/metrics.js';

/** The value of one sample line of the Prometheus text output, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

test('each createMetrics() has its own registry: counts never leak between instances', async () => {
  const a = createMetrics({ defaultMetrics: false });
  const b = createMetrics({ defaultMetrics: false });
  a.messages.inc({ direction: 'in', namespace: 'sales', owner_kind: 'User', profile: 'imap' }, 3);
  expect(sample(await a.registry.metrics(), 'mailsync_messages_total', { direction: 'in', namespace: 'sales' })).toBe(3);
  expect(sample(await b.registry.metrics(), 'mailsync_messages_total', { direction: 'in', namespace: 'sales' })).toBeUndefined();
});

test('every metric family is registered with HELP and TYPE, default process metrics included', async () => {
  const text = await createMetrics().registry.metrics();
  for (const [name, type] of [
    ['mailsync_messages_total', 'counter'],
    ['mailsync_failures_total', 'counter'],
    ['mailsync_sync_latency_seconds', 'histogram'],
    ['mailsync_mailboxes', 'gauge'],
    ['mailsync_reconcile_duration_seconds', 'histogram'],
    ['mailsync_reconcile_total', 'counter'],
    ['mailsync_workqueue_depth', 'gauge'],
    ['mailsync_tests_total', 'counter'],
    ['mailsync_crm_connected', 'gauge'],
    ['mailsync_rollout_paused', 'gauge'],
    ['process_cpu_user_seconds_total', 'counter'],
    ['nodejs_eventloop_lag_seconds', 'gauge'],
  ]) {
    expect(text).toContain(`# TYPE ${name} ${type}`);
  }
});

test('sync latency uses buckets between 50 ms and minutes, and clamps clock skew to zero', async () => {
  const m = createMetrics({ defaultMetrics: false });
  const now = new Date('2026-01-01T10:00:10Z');
  const labels = { namespace: 'ns', owner_kind: 'Queue', profile: 'imap' };
  m.syncLatency.observeSince(labels, new Date('2026-01-01T10:00:07Z'), now); // 3 s
  m.syncLatency.observeSince(labels, new Date('2026-01-01T10:00:12Z'), now); // server clock ahead
  const text = await m.registry.metrics();
  expect(sample(text, 'mailsync_sync_latency_seconds_bucket', { le: '0.05', namespace: 'ns' })).toBe(1);
  expect(sample(text, 'mailsync_sync_latency_seconds_bucket', { le: '2', namespace: 'ns' })).toBe(1);
  expect(sample(text, 'mailsync_sync_latency_seconds_bucket', { le: '5', namespace: 'ns' })).toBe(2);
  expect(sample(text, 'mailsync_sync_latency_seconds_bucket', { le: '60', namespace: 'ns' })).toBe(2);
  expect(sample(text, 'mailsync_sync_latency_seconds_sum', { namespace: 'ns' })).toBe(3);
});

test('timeReconcile records success, requeue and error, and rethrows the error', async () => {
  const m = createMetrics({ defaultMetrics: false });
  await m.timeReconcile('Mailbox', async () => undefined);
  expect(await m.timeReconcile('Mailbox', async () => ({ requeueAfterMs: 1000 }))).toEqual({ requeueAfterMs: 1000 });
  await expect(m.timeReconcile('Deployment', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  const text = await m.registry.metrics();
  expect(sample(text, 'mailsync_reconcile_total', { kind: 'Mailbox', result: 'success' })).toBe(1);
  expect(sample(text, 'mailsync_reconcile_total', { kind: 'Mailbox', result: 'requeue' })).toBe(1);
  expect(sample(text, 'mailsync_reconcile_total', { kind: 'Deployment', result: 'error' })).toBe(1);
  expect(sample(text, 'mailsync_reconcile_duration_seconds_count', { kind: 'Deployment', result: 'error' })).toBe(1);
});

test('mailbox and queue gauges are read from the callbacks at scrape time', async () => {
  const m = createMetrics({ defaultMetrics: false });
  let depth = 2;
  let states: MailboxStateCount[] = [{ state: 'Ready', namespace: 'a', profile: 'imap', ownerKind: 'User', count: 5 }];
  m.observeQueues({ mailboxes: { len: () => depth } });
  m.setMailboxSource(() => states);
  let text = await m.registry.metrics();
  expect(sample(text, 'mailsync_workqueue_depth', { queue: 'mailboxes' })).toBe(2);
  expect(sample(text, 'mailsync_mailboxes', { state: 'Ready', namespace: 'a', profile: 'imap' })).toBe(5);
  depth = 0;
  states = [{ state: 'Failing', namespace: 'b', profile: 'pop', ownerKind: 'Queue', count: 1 }];
  text = await m.registry.metrics();
  expect(sample(text, 'mailsync_workqueue_depth', { queue: 'mailboxes' })).toBe(0);
  // A namespace that disappeared is gone from the output, not frozen at its last count.
  expect(sample(text, 'mailsync_mailboxes', { namespace: 'a' })).toBeUndefined();
  expect(sample(text, 'mailsync_mailboxes', { state: 'Failing', namespace: 'b', owner_kind: 'Queue' })).toBe(1);
});

test('failure and test counters take the short direction labels', async () => {
  const m = createMetrics({ defaultMetrics: false });
  m.failures.inc({
    reason: 'AuthenticationFailed',
    direction: directionLabel('outgoing'),
    namespace: 'x',
    owner_kind: 'User',
    profile: 'p',
  });
  m.tests.inc({ direction: directionLabel('appointmentsContactsTasks'), result: 'permanent' });
  const text = await m.registry.metrics();
  expect(sample(text, 'mailsync_failures_total', { reason: 'AuthenticationFailed', direction: 'out', namespace: 'x' })).toBe(1);
  expect(sample(text, 'mailsync_tests_total', { direction: 'act', result: 'permanent' })).toBe(1);
});
