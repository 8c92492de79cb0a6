// Status patches remove keys inside nested objects too: a merge patch merges objects, so a key a
// rollout drops (status.rollout.batchCompletionTime when a batch starts) must be sent as null.

import type { KubeClients } from '../../../src/kube/client.js';
import { patchStatus } from '../../../src/kube/status.js';

test('a key removed inside a nested object is sent as null; unchanged fields are not sent', async () => {
  const bodies: unknown[] = [];
  const clients = {
    custom: { patchNamespacedCustomObjectStatus: async (req: { body: unknown }) => bodies.push(req.body) },
  } as unknown as KubeClients;
  const ref = { group: 'mailsync.dev', version: 'v1alpha1', plural: 'emailserverprofiles', namespace: 'ns', name: 'p' };
  const current = {
    revision: 'r1',
    rollout: { revision: 'r1', batch: 1, batchCompletionTime: '2026-01-01T00:00:00.000Z', failures: [{ mailbox: 'a', reason: 'X' }] },
    revisions: [{ revision: 'r1', spec: {} }],
  };
  const next = {
    revision: 'r1',
    rollout: { revision: 'r1', batch: 2, batchStartTime: '2026-01-01T00:00:30.000Z' },
    revisions: [{ revision: 'r1', spec: {} }],
  };
  await patchStatus<Record<string, unknown>>(clients, ref, current, next);
  expect(bodies).toEqual([
    { status: { rollout: { batch: 2, batchStartTime: '2026-01-01T00:00:30.000Z', batchCompletionTime: null, failures: null } } },
  ]);
});
