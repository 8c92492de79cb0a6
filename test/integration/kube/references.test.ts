// Reconcilers resolve references and react to the referenced objects at once (event-driven, not
// at the next resync: the resync is set to an hour here).

import type { Manager } from '../../../src/controllers/manager.js';
import { clientsAs, create, get, mergePatchSpec, newNamespace, waitForCondition } from '../../support/kube.js';
import { startManager } from '../../support/operator.js';

const admin = clientsAs('admin');
let ns: string;
let manager: Manager;

const profile = {
  serverType: 'IMAP',
  incoming: { server: 'imap.example.com', credentials: { source: 'Mailbox' } },
  outgoing: { server: 'smtp.example.com', tls: 'STARTTLS' },
};
const mailbox = (extra: object = {}) => ({
  emailAddress: 'ann@example.com',
  owner: { kind: 'User', name: 'ann' },
  deploymentRef: { name: 'crm' },
  credentialsSecretRef: { name: 'ann' },
  ...extra,
});

beforeAll(async () => {
  ns = await newNamespace(admin, 'refs');
  manager = await startManager(admin, ns, { resyncMs: 3_600_000 });
});
afterAll(async () => manager.stop());

test('a Mailbox whose Deployment does not exist says so, and recovers when it appears', async () => {
  await create(admin, 'mailboxes', ns, 'orphan', mailbox({ serverProfileRef: { name: 'imap' } }));
  const o = await waitForCondition(admin, 'mailboxes', ns, 'orphan', 'Ready', (c) => c.reason === 'DeploymentNotFound');
  expect(o.status.conditions.find((c: { type: string }) => c.type === 'Ready').message).toMatch(
    /deployments.mailsync.dev "crm" not found.*spec.deploymentRef.name/,
  );
  expect(o.status.observedGeneration).toBe(1);
});

test('ServerProfileNotFound flips to Ready within seconds when the profile is created', async () => {
  await create(admin, 'deployments', ns, 'crm', { crm: { type: 'Webhook', url: 'https://crm.example.com/hook' } });
  await waitForCondition(admin, 'mailboxes', ns, 'orphan', 'Ready', (c) => c.reason === 'ServerProfileNotFound');
  const started = Date.now();
  await create(admin, 'emailserverprofiles', ns, 'imap', profile);
  // Resolved: the next thing missing is the mailbox's own Secret, which is not created here.
  const o = await waitForCondition(admin, 'mailboxes', ns, 'orphan', 'Ready', (c) => c.reason === 'SecretNotFound', 10_000);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(o.status.serverProfile).toBe('imap');
  expect(JSON.stringify(o.status.conditions)).toMatch(/Secret \\"ann\\" \(spec.credentialsSecretRef\) not found/);
});

test('the profile comes from the Deployment default and follows changes to it', async () => {
  await create(admin, 'emailserverprofiles', ns, 'imap2', profile);
  await create(admin, 'mailboxes', ns, 'defaulted', mailbox({ emailAddress: 'bob@example.com', owner: { kind: 'User', name: 'bob' } }));
  await waitForCondition(admin, 'mailboxes', ns, 'defaulted', 'Ready', (c) => c.reason === 'ServerProfileNotSet');
  await mergePatchSpec(admin, 'deployments', ns, 'crm', { spec: { defaults: { serverProfileRef: { name: 'imap2' } } } });
  const o = await waitForCondition(admin, 'mailboxes', ns, 'defaulted', 'Ready', (c) => c.reason === 'SecretNotFound');
  expect(o.status.serverProfile).toBe('imap2');
});

test('profiles and Deployments count their mailboxes', async () => {
  await waitForCondition(admin, 'emailserverprofiles', ns, 'imap2', 'Ready', (c) => c.status === 'True');
  const { waitFor } = await import('../../../dev/processes.js');
  await waitFor('profile count', async () =>
    (await get(admin, 'emailserverprofiles', ns, 'imap2')).status?.mailboxes?.total === 1 ? true : undefined,
  );
  await waitFor('deployment count', async () =>
    (await get(admin, 'deployments', ns, 'crm')).status?.mailboxes?.total === 2 ? true : undefined,
  );
});

test('deleting the profile is noticed by its mailboxes', async () => {
  await admin.custom.deleteNamespacedCustomObject({
    group: 'mailsync.dev',
    version: 'v1alpha1',
    namespace: ns,
    plural: 'emailserverprofiles',
    name: 'imap',
  });
  await waitForCondition(admin, 'mailboxes', ns, 'orphan', 'Ready', (c) => c.reason === 'ServerProfileNotFound');
});

test('ACT on a non-Exchange profile is refused with the reason, which CEL cannot see across objects', async () => {
  await create(
    admin,
    'mailboxes',
    ns,
    'act',
    mailbox({ emailAddress: 'cy@example.com', serverProfileRef: { name: 'imap2' }, appointmentsContactsTasks: 'ServerSideSync' }),
  );
  const o = await waitForCondition(admin, 'mailboxes', ns, 'act', 'Ready', (c) => c.reason === 'UnsupportedConfiguration');
  expect(JSON.stringify(o.status)).toMatch(/need an Exchange profile/);
});

test('a status write does not trigger another reconcile of the same object', async () => {
  const before = await get(admin, 'mailboxes', ns, 'defaulted');
  await new Promise((r) => setTimeout(r, 1500));
  const after = await get(admin, 'mailboxes', ns, 'defaulted');
  expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
});

test('Events record the transitions', async () => {
  const events = await admin.core.listNamespacedEvent({ namespace: ns });
  const reasons = events.items.filter((e) => e.involvedObject.name === 'orphan').map((e) => `${e.type}/${e.reason}`);
  expect(reasons).toEqual(
    expect.arrayContaining(['Warning/DeploymentNotFound', 'Warning/ServerProfileNotFound', 'Warning/SecretNotFound']),
  );
});
