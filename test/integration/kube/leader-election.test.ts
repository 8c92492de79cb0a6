// Two operator processes: only the leader reconciles; killing it (SIGKILL, no lease release)
// hands over within the lease duration.

import { clientsAs, controlPlaneInfo, create, newNamespace, waitForCondition } from '../../support/kube.js';
import { spawnOperator, type OperatorProcess } from '../../support/operator.js';

const info = controlPlaneInfo();
const admin = clientsAs('admin', info);
let ns: string;
const procs: OperatorProcess[] = [];

const started = (l: Record<string, unknown>) => l.msg === 'controllers started';
const mailbox = (addr: string) => ({ emailAddress: addr, owner: { kind: 'User', name: addr }, deploymentRef: { name: 'missing' } });

beforeAll(async () => {
  ns = await newNamespace(admin, 'leader');
});
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
});

test('one leader reconciles; a SIGKILLed leader is replaced within the lease duration', async () => {
  const args = (id: string) => ['--kubeconfig', info.kubeconfigs.admin, '--namespace', ns, '--lease-namespace', ns, '--identity', id];
  const a = spawnOperator(args('replica-a'));
  procs.push(a);
  await a.waitForLog(started);
  const b = spawnOperator(args('replica-b'));
  procs.push(b);
  // b is up (it logs its start) but must not lead while a renews.
  await b.waitForLog((l) => l.msg === 'mailsync operator starting');
  await new Promise((r) => setTimeout(r, 4000));
  expect(b.lines.some(started)).toBe(false);
  const lease = await admin.coordination.readNamespacedLease({ name: 'mailsync-operator', namespace: ns });
  expect(lease.spec?.holderIdentity).toBe('replica-a');

  await create(admin, 'mailboxes', ns, 'one', mailbox('one@example.com'));
  await waitForCondition(admin, 'mailboxes', ns, 'one', 'Ready', (c) => c.reason === 'DeploymentNotFound');

  const killedAt = Date.now();
  await a.kill('SIGKILL');
  await b.waitForLog(started, 30_000);
  const handover = Date.now() - killedAt;
  // Lease duration 15 s, plus one retry period and start-up.
  expect(handover).toBeLessThan(15_000 + 5_000);
  await create(admin, 'mailboxes', ns, 'two', mailbox('two@example.com'));
  await waitForCondition(admin, 'mailboxes', ns, 'two', 'Ready', (c) => c.reason === 'DeploymentNotFound');
  const after = await admin.coordination.readNamespacedLease({ name: 'mailsync-operator', namespace: ns });
  expect(after.spec?.holderIdentity).toBe('replica-b');
  expect(after.spec?.leaseTransitions).toBe(1);
}, 90_000);

test('a graceful stop releases the lease so a standby takes over at once', async () => {
  const args = (id: string) => [
    '--kubeconfig',
    info.kubeconfigs.admin,
    '--namespace',
    ns,
    '--lease-namespace',
    ns,
    '--lease-name',
    'graceful',
    '--identity',
    id,
  ];
  const a = spawnOperator(args('g-a'));
  procs.push(a);
  await a.waitForLog(started);
  const b = spawnOperator(args('g-b'));
  procs.push(b);
  await b.waitForLog((l) => l.msg === 'mailsync operator starting');
  const stoppedAt = Date.now();
  await a.kill('SIGTERM');
  await b.waitForLog(started, 15_000);
  expect(Date.now() - stoppedAt).toBeLessThan(8_000);
}, 60_000);
