// One mailbox, one organization: a second Mailbox with an address already in use (in the same
// namespace or another watched one) is not enabled and names the first, until the first goes or a
// take-over is set. Controllers against the real API server and Dovecot, watching two namespaces.

import { waitFor } from '../../../dev/processes.js';
import type { Manager } from '../../../src/controllers/manager.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { clientsAs, condition, create, mergePatchSpec, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { startManager } from '../../support/operator.js';
import { GROUP, VERSION } from '../../../src/api/schema.js';

const admin = clientsAs('admin');
const PASSWORD = 'ann-Claims-Secret-1';
let dovecot: DovecotFixture;
let manager: Manager;
let first: string;
let second: string;

beforeAll(async () => {
  dovecot = await startDovecot({ users: [{ username: 'ann', password: PASSWORD }] });
  first = await newNamespace(admin, 'claims-a');
  second = await newNamespace(admin, 'claims-b');
  for (const ns of [first, second]) {
    await createSecret(admin, ns, 'dovecot-ca', { 'ca.crt': dovecot.caPem });
    await createSecret(admin, ns, 'ann-mail', { username: 'ann', password: PASSWORD });
    await create(admin, 'deployments', ns, 'crm', {
      crm: { type: 'Webhook', url: 'https://crm.example.com/hook' },
      requireApprovedUsers: false,
    });
    await create(admin, 'emailserverprofiles', ns, 'imap', {
      serverType: 'IMAP',
      incoming: { server: '127.0.0.1', port: dovecot.ports.imaps, caBundle: { secretRef: { name: 'dovecot-ca' } } },
    });
  }
  manager = await startManager(admin, `${first},${second}`);
});
afterAll(async () => {
  await manager?.stop();
  await dovecot?.cleanup();
});

const ann = (extra: object = {}) => ({
  emailAddress: 'Ann@Example.com',
  owner: { kind: 'User', name: 'ann' },
  deploymentRef: { name: 'crm' },
  serverProfileRef: { name: 'imap' },
  credentialsSecretRef: { name: 'ann-mail' },
  outgoing: 'None',
  ...extra,
});
const ready = (ns: string, name: string) => waitForCondition(admin, 'mailboxes', ns, name, 'Ready', (c) => c.status === 'True');
const inUse = (ns: string, name: string, holder: string) =>
  waitForCondition(admin, 'mailboxes', ns, name, 'Ready', (c) => c.reason === 'AddressInUse' && c.message.includes(`Mailbox ${holder} `));

test('a second Mailbox with the address in another namespace is not enabled and names the first', async () => {
  await create(admin, 'mailboxes', first, 'ann', ann());
  await ready(first, 'ann');
  await create(admin, 'mailboxes', second, 'ann', ann({ emailAddress: 'ann@example.com' }));
  const o = await inUse(second, 'ann', `${first}/ann`);
  expect(condition(o, 'Enabled')).toMatchObject({ status: 'False', reason: 'AddressInUse' });
  expect(condition(o, 'Stalled')).toMatchObject({ status: 'True', reason: 'AddressInUse' });
  expect(condition(o, 'Ready')?.message).toContain('spec.takeOverAddress');
  // Never tested: it would only sign in to a mailbox it may not sync.
  expect(condition(o, 'IncomingEmailReady')).toBeUndefined();
  await waitFor('a Warning Event', async () => {
    const events = await admin.core.listNamespacedEvent({ namespace: second });
    return events.items.some((e) => e.involvedObject.name === 'ann' && e.reason === 'AddressInUse' && e.type === 'Warning')
      ? true
      : undefined;
  });
});

test('in the same namespace, a take-over moves the address; across namespaces only once approved', async () => {
  await create(admin, 'mailboxes', first, 'ann-new', ann());
  await inUse(first, 'ann-new', `${first}/ann`);
  await mergePatchSpec(admin, 'mailboxes', first, 'ann-new', { spec: { takeOverAddress: true } });
  await ready(first, 'ann-new');
  await inUse(first, 'ann', `${first}/ann-new`);
  await inUse(second, 'ann', `${first}/ann-new`);

  // Another tenant's take-over needs an approver's approval of the address on its Mailbox.
  await mergePatchSpec(admin, 'mailboxes', second, 'ann', { spec: { takeOverAddress: true } });
  await new Promise((r) => setTimeout(r, 1500));
  await inUse(second, 'ann', `${first}/ann-new`);
  await mergePatchSpec(admin, 'mailboxes', second, 'ann', {
    metadata: { annotations: { 'mailsync.dev/approved-address': 'ann@example.com' } },
  });
  await ready(second, 'ann');
  await inUse(first, 'ann-new', `${second}/ann`);
});

test('when the holder goes, the next one is enabled without any change to it', async () => {
  await admin.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: second, plural: 'mailboxes', name: 'ann' });
  await ready(first, 'ann-new');
  await inUse(first, 'ann', `${first}/ann-new`);
  await waitFor('one enabled', async () =>
    manager.caches.mailboxes.list().filter((m) => condition(m, 'Enabled')?.status === 'True').length === 1 ? true : undefined,
  );
});
