// The Manager's hook around reconciles, on the real Manager, work queue and reconcilers over
// in-memory caches: every reconcile of every queue goes through the hooks (outermost first),
// which see its result, so metrics need not replace a reconciler's method at run time.

import { waitFor } from '../../../dev/processes.js';
import { Manager } from '../../../src/controllers/manager.js';
import type { ReconcileResult } from '../../../src/kube/workqueue.js';
import { silentLogger } from '../../../src/log/logger.js';
import { ControllerWorld, NS, ScriptedMailboxTesting } from '../../support/controller-world.js';

test('hooks wrap each reconcile in the order they were added and see its result', async () => {
  const w = new ControllerWorld();
  w.put(w.deployments, {
    apiVersion: 'mailsync.dev/v1alpha1',
    kind: 'Deployment',
    metadata: { name: 'crm' },
    spec: { crm: { type: 'Webhook', url: 'https://crm.example.com/hook' } },
  });
  const manager = new Manager(w.clients, { logger: silentLogger(), testing: new ScriptedMailboxTesting(), caches: w.caches });
  const seen: string[] = [];
  const results: (ReconcileResult | void)[] = [];
  manager.aroundReconcile(async (queue, run) => {
    seen.push(`outer ${queue}`);
    const r = await run();
    results.push(r);
    return r;
  });
  manager.aroundReconcile(async (queue, run) => {
    seen.push(`inner ${queue}`);
    return run();
  });
  await manager.start();
  try {
    manager.queues.deployments.add(`${NS}/crm`);
    await waitFor('the Deployment reconciled', async () => (w.deployments.get(NS, 'crm')?.status ? true : undefined), {
      timeoutMs: 5000,
      intervalMs: 10,
    });
    await waitFor('the hooks returned', async () => (results.length ? true : undefined), { timeoutMs: 5000, intervalMs: 10 });
  } finally {
    await manager.stop();
  }
  expect(seen).toEqual(['outer deployments', 'inner deployments']);
  expect(w.deployments.get(NS, 'crm')?.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
    status: 'True',
    reason: 'Valid',
  });
});
