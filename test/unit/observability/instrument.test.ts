import type { MailboxTesting, TestOutcome } from '../../../src/domain/testing-ports.js';
import { instrumentManager, instrumentTesting, syncMetricsHooks } from '../../../src/observability/instrument.js';
import type { SyncMetricsHooks } from '../../../src/sync/status-reporter.js';
import type { ReconcileHook } from '../../../src/kube/workqueue.js';
import { createMetrics } from '../../../src/observability/metrics.js';

const outcome = (o: Partial<TestOutcome>): TestOutcome => ({ ok: false, reason: 'X', message: 'm', permanent: false, ...o });

test('instrumentTesting counts each step by direction and result, and failures by reason', async () => {
  const inner: MailboxTesting = {
    plan: (_m, _p, directions) => ({
      revision: 'r1',
      steps: directions.map((direction) => ({
        direction,
        run: async () =>
          direction === 'incoming'
            ? outcome({ ok: true, reason: 'Succeeded' })
            : direction === 'outgoing'
              ? outcome({ reason: 'AuthenticationFailed', permanent: true })
              : outcome({ reason: 'ServerUnreachable' }),
      })),
    }),
  };
  const metrics = createMetrics({ defaultMetrics: false });
  const plan = instrumentTesting(inner, metrics).plan(
    { metadata: { namespace: 'sales', name: 'ann' }, spec: { owner: { kind: 'Queue' } } } as never,
    { metadata: { name: 'exchange' } } as never,
    ['incoming', 'outgoing', 'appointmentsContactsTasks'],
    {
      secret: () => undefined,
      configMap: () => undefined,
    },
  );
  expect(plan.revision).toBe('r1');
  const results = await Promise.all(plan.steps.map((s) => s.run()));
  expect(results.map((r) => r.reason)).toEqual(['Succeeded', 'AuthenticationFailed', 'ServerUnreachable']);
  const text = await metrics.registry.metrics();
  expect(text).toContain('mailsync_tests_total{direction="in",result="success"} 1');
  expect(text).toContain('mailsync_tests_total{direction="out",result="permanent"} 1');
  expect(text).toContain('mailsync_tests_total{direction="act",result="transient"} 1');
  expect(text).toContain(
    'mailsync_failures_total{reason="AuthenticationFailed",direction="out",namespace="sales",owner_kind="Queue",profile="exchange"} 1',
  );
  expect(text).toContain(
    'mailsync_failures_total{reason="ServerUnreachable",direction="act",namespace="sales",owner_kind="Queue",profile="exchange"} 1',
  );
});

test('instrumentManager times reconciles, reads queue depths and counts cached mailboxes', async () => {
  const hooks: ReconcileHook[] = [];
  const manager = {
    aroundReconcile: (h: ReconcileHook) => hooks.push(h),
    queues: { mailboxes: { len: () => 3 }, profiles: { len: () => 0 }, deployments: { len: () => 1 } },
    caches: {
      mailboxes: {
        list: () => [
          {
            metadata: { namespace: 'ns', generation: 1 },
            spec: { owner: { kind: 'User' } },
            status: { observedGeneration: 1, serverProfile: 'imap', conditions: [{ type: 'Ready', status: 'True' }] },
          },
        ],
      },
      deployments: {
        list: () => [
          {
            metadata: { namespace: 'ns', name: 'crm' },
            status: { conditions: [{ type: 'Ready', status: 'False', reason: 'CRMUnreachable' }] },
          },
          {
            metadata: { namespace: 'ns', name: 'rolling' },
            status: { conditions: [{ type: 'Ready', status: 'False', reason: 'RolloutInProgress' }] },
          },
        ],
      },
      profiles: {
        list: () => [
          {
            metadata: { namespace: 'ns', name: 'imap' },
            status: { conditions: [{ type: 'RolloutPaused', status: 'True', reason: 'FailureThresholdReached' }] },
          },
        ],
      },
    },
  };
  const metrics = createMetrics({ defaultMetrics: false });
  instrumentManager(manager, metrics);
  expect(hooks).toHaveLength(1);
  expect(await hooks[0]('mailboxes', async () => undefined)).toBeUndefined();
  expect(await hooks[0]('profiles', async () => ({ requeueAfterMs: 5 }))).toEqual({ requeueAfterMs: 5 });
  await expect(hooks[0]('deployments', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  const text = await metrics.registry.metrics();
  expect(text).toContain('mailsync_reconcile_total{kind="Mailbox",result="success"} 1');
  expect(text).toContain('mailsync_reconcile_total{kind="EmailServerProfile",result="requeue"} 1');
  expect(text).toContain('mailsync_reconcile_total{kind="Deployment",result="error"} 1');
  expect(text).toContain('mailsync_workqueue_depth{queue="mailboxes"} 3');
  expect(text).toContain('mailsync_mailboxes{state="Ready",namespace="ns",owner_kind="User",profile="imap"} 1');
  // A CRM failure reason means the connector cannot be used; a rollout of the defaults does not.
  expect(text).toContain('mailsync_crm_connected{namespace="ns",deployment="crm"} 0');
  expect(text).toContain('mailsync_crm_connected{namespace="ns",deployment="rolling"} 1');
  expect(text).toContain('mailsync_rollout_paused{namespace="ns",profile="imap",reason="FailureThresholdReached"} 1');
});

test("syncMetricsHooks fits the sync workers' hooks and counts messages, latency and failures", async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const hooks: SyncMetricsHooks = syncMetricsHooks(metrics); // compile-time check of the fit
  const ann = { namespace: 'sales', profile: 'imap', ownerKind: 'User' };
  const l = 'namespace="sales",owner_kind="User",profile="imap"';
  hooks.delivered?.(ann, new Date(Date.now() - 1500));
  hooks.delivered?.(ann);
  hooks.sent?.(ann);
  hooks.failed?.('MessageRejected', 'out', ann);
  hooks.failed?.('CRMRejected', 'in', { ...ann, ownerKind: 'Queue' });
  const text = await metrics.registry.metrics();
  expect(text).toContain(`mailsync_messages_total{direction="in",${l}} 2`);
  expect(text).toContain(`mailsync_messages_total{direction="out",${l}} 1`);
  expect(text).toContain(`mailsync_sync_latency_seconds_count{${l}} 1`);
  expect(text).toContain(`mailsync_sync_latency_seconds_bucket{le="1",${l}} 0`);
  expect(text).toContain(`mailsync_sync_latency_seconds_bucket{le="2",${l}} 1`);
  expect(text).toContain(`mailsync_failures_total{reason="MessageRejected",direction="out",${l}} 1`);
  expect(text).toContain(
    'mailsync_failures_total{reason="CRMRejected",direction="in",namespace="sales",owner_kind="Queue",profile="imap"} 1',
  );
});

test('a standby (not active) reports no mailboxes and empty queues, so sums over replicas stay right', async () => {
  let leading = false;
  const manager = {
    aroundReconcile: () => undefined,
    queues: { mailboxes: { len: () => 7 } },
    caches: {
      mailboxes: {
        list: () => [
          {
            metadata: { namespace: 'ns', generation: 1 },
            status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] },
          },
        ],
      },
      deployments: {
        list: () => [
          {
            metadata: { namespace: 'ns', name: 'crm' },
            status: { conditions: [{ type: 'Ready', status: 'False', reason: 'CRMUnreachable' }] },
          },
        ],
      },
      profiles: { list: () => [] },
    },
  };
  const metrics = createMetrics({ defaultMetrics: false });
  instrumentManager(manager, metrics, { active: () => leading });
  let text = await metrics.registry.metrics();
  expect(text).toContain('mailsync_workqueue_depth{queue="mailboxes"} 0');
  expect(text).not.toMatch(/^mailsync_mailboxes\{/m);
  expect(text).not.toMatch(/^mailsync_crm_connected\{/m);
  leading = true;
  text = await metrics.registry.metrics();
  expect(text).toContain('mailsync_workqueue_depth{queue="mailboxes"} 7');
  expect(text).toContain('mailsync_mailboxes{state="Ready",namespace="ns",owner_kind="",profile=""} 1');
});
