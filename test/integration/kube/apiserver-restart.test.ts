// The API server goes away while the operator runs: changes made just before and just after the
// outage are all reconciled once it is back, without restarting the operator.

import { ControlPlane } from '../../../dev/control-plane.js';
import { installCrds } from '../../../dev/crds.js';
import type { Manager } from '../../../src/controllers/manager.js';
import { createClients, loadKubeConfig } from '../../../src/kube/client.js';
import { create, mergePatchSpec, newNamespace, waitForCondition } from '../../support/kube.js';
import { startManager } from '../../support/operator.js';

let cp: ControlPlane;
let manager: Manager | undefined;

afterAll(async () => {
  await manager?.stop();
  await cp?.stop();
});

test('changes around an API server outage are reconciled after it returns', async () => {
  cp = await ControlPlane.start();
  const kc = loadKubeConfig(cp.info.kubeconfigs.admin);
  await installCrds(kc);
  const admin = createClients(kc);
  const ns = await newNamespace(admin, 'outage');
  manager = await startManager(createClients(loadKubeConfig(cp.info.kubeconfigs.admin)), ns, { resyncMs: 3_600_000 });
  const mbx = (n: string) => ({
    emailAddress: `${n}@example.com`,
    owner: { kind: 'User', name: n },
    deploymentRef: { name: 'crm' },
    serverProfileRef: { name: 'imap' },
    credentialsSecretRef: { name: 'x' },
  });
  await create(admin, 'deployments', ns, 'crm', { crm: { type: 'Webhook', url: 'https://crm.example.com/hook' } });
  await create(admin, 'mailboxes', ns, 'before', mbx('before'));
  await waitForCondition(admin, 'mailboxes', ns, 'before', 'Ready', (c) => c.reason === 'ServerProfileNotFound');

  // The last change before the outage, then the outage itself (etcd keeps the data).
  await create(admin, 'emailserverprofiles', ns, 'imap', { serverType: 'IMAP', incoming: { server: 'imap.example.com' } });
  await cp.stopApiserver();
  await new Promise((r) => setTimeout(r, 3000));
  await cp.restartApiserver();

  // The first change after it.
  await create(admin, 'mailboxes', ns, 'after', mbx('after'));
  await mergePatchSpec(admin, 'mailboxes', ns, 'before', {
    spec: { serverProfileRef: { name: 'imap' }, owner: { kind: 'User', name: 'renamed' } },
  });
  await waitForCondition(
    admin,
    'mailboxes',
    ns,
    'before',
    'Ready',
    (c) => c.reason === 'SecretNotFound' && c.observedGeneration === 2,
    60_000,
  );
  await waitForCondition(admin, 'mailboxes', ns, 'after', 'Ready', (c) => c.reason === 'SecretNotFound', 60_000);
  expect(manager.caches.mailboxes.stats.errors).toBeGreaterThan(0);
}, 120_000);
