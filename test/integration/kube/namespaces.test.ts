// The operator limited to a set of namespaces: it reconciles there and nowhere else, with only
// namespaced RBAC (Roles) for those namespaces.

import { Applier } from '../../../src/kube/apply.js';
import { loadKubeConfig } from '../../../src/kube/client.js';
import { clientsAs, condition, controlPlaneInfo, create, get, newNamespace, waitForCondition } from '../../support/kube.js';
import { startManager } from '../../support/operator.js';
import type { Manager } from '../../../src/controllers/manager.js';

const info = controlPlaneInfo();
const admin = clientsAs('admin', info);
let manager: Manager;

afterAll(async () => manager?.stop());

test('only the listed namespaces are reconciled, with namespaced permissions only', async () => {
  const [a, b, outside] = [await newNamespace(admin, 'ns-a'), await newNamespace(admin, 'ns-b'), await newNamespace(admin, 'ns-out')];
  // A user with a Role in a and b only, nothing cluster-wide: the namespaced watches must suffice.
  const rules = [
    { apiGroups: ['mailsync.dev'], resources: ['emailserverprofiles', 'mailboxes', 'deployments'], verbs: ['get', 'list', 'watch'] },
    {
      apiGroups: ['mailsync.dev'],
      resources: ['emailserverprofiles/status', 'mailboxes/status', 'deployments/status'],
      verbs: ['get', 'patch', 'update'],
    },
    { apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  ];
  const applier = new Applier(loadKubeConfig(info.kubeconfigs.admin), 'namespaces-test');
  for (const ns of [a, b]) {
    await applier.applyAll([
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'limited-operator', namespace: ns }, rules } as never,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'limited-operator', namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'limited-operator' },
        subjects: [{ kind: 'User', name: 'eve-nobody', apiGroup: 'rbac.authorization.k8s.io' }],
      } as never,
    ]);
  }
  manager = await startManager(clientsAs('nobody', info), `${a},${b}`);
  const mbx = { emailAddress: 'x@example.com', owner: { kind: 'User', name: 'x' }, deploymentRef: { name: 'missing' } };
  for (const ns of [a, b, outside]) await create(admin, 'mailboxes', ns, 'x', mbx);
  await waitForCondition(admin, 'mailboxes', a, 'x', 'Ready', (c) => c.reason === 'DeploymentNotFound');
  await waitForCondition(admin, 'mailboxes', b, 'x', 'Ready', (c) => c.reason === 'DeploymentNotFound');
  await new Promise((r) => setTimeout(r, 1000));
  expect(condition(await get(admin, 'mailboxes', outside, 'x'), 'Ready')).toBeUndefined();
});
