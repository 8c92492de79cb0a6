// Rollouts of a Deployment's defaults and rollouts paused by hand, end to end (controllers and a
// sync worker in this process, real API server, Dovecot POP3, smtp-server, webhook CRM): a changed
// default reaches exactly the mailboxes that use it, batch by batch, each only after its test on
// the new configuration passed; until then they keep syncing on their last-known-good one.

import { waitFor } from '../../../dev/processes.js';
import { goodMessage } from '../../support/corpus.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { freePorts } from '../../support/free-port.js';
import { clientsAs, condition, create, get, mergePatchSpec, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtp-receiver.js';

const admin = clientsAs('admin');
const CRM = { token: 'defaults-Crm-Token-0123456789', signingKey: 'defaults-Signing-Key-0123456789' };
const DEFAULTED = ['d0', 'd1', 'd2', 'd3'];
const USERS = [...DEFAULTED, 'fixed'];
const password = (u: string) => `${u}-Defaults-Pass-1`;
const ROLLOUT = { batchSize: 2, maxConcurrentTests: 2, interval: '1s', failureThreshold: 50 };

let dovecot: DovecotFixture;
let smtp: SmtpReceiver;
let crm: FakeCrmWebhook;
let op: InProcessOperator;
let ns: string;
let closedPort: number;

const pop3 = (port: number, extra: object = {}) => ({
  serverType: 'POP3',
  incoming: { server: '127.0.0.1', port, tls: 'None', ...extra },
  outgoing: { server: '127.0.0.1', port: smtp.port, tls: 'STARTTLS', caBundle: { secretRef: { name: 'smtp-ca' } } },
  allowInsecureAuthentication: true,
  rollout: ROLLOUT,
});
const mbx = (name: string) => get(admin, 'mailboxes', ns, name);
const profileReady = (name: string) =>
  waitForCondition(admin, 'emailserverprofiles', ns, name, 'Ready', (c) => c.status === 'True', 30_000);
async function deliversToCrm(user: string, id: string): Promise<void> {
  await dovecot.deliver(user, goodMessage(0, { to: `${user}@example.com`, messageId: id }));
  await mergePatchSpec(admin, 'mailboxes', ns, user, { metadata: { annotations: { 'mailsync.dev/sync-requested-at': id } } });
  await waitFor(`${id} in the CRM`, async () => (crm.activities().some((a) => a.messageId === id) ? true : undefined), {
    timeoutMs: 15_000,
  });
}

beforeAll(async () => {
  const users = USERS.map((u) => ({ username: u, password: password(u) }));
  dovecot = await startDovecot({ users });
  smtp = await startSmtpReceiver({ users });
  crm = await FakeCrmWebhook.start(CRM);
  [closedPort] = await freePorts(1);
  ns = await newNamespace(admin, 'defaults');
  await createSecret(admin, ns, 'crm', CRM);
  await createSecret(admin, ns, 'smtp-ca', { 'ca.crt': smtp.caPem });
  for (const u of USERS) await createSecret(admin, ns, u, { username: u, password: password(u) });
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    incomingFiltering: { users: 'All' },
    defaults: { serverProfileRef: { name: 'a' }, outgoing: 'None' },
  });
  await create(admin, 'emailserverprofiles', ns, 'a', pop3(dovecot.ports.pop3));
  // b starts out broken: nobody uses it yet.
  await create(admin, 'emailserverprofiles', ns, 'b', pop3(closedPort));
  const mailbox = (u: string, extra: object = {}) => ({
    emailAddress: `${u}@example.com`,
    owner: { kind: 'User', name: u },
    deploymentRef: { name: 'crm' },
    credentialsSecretRef: { name: u },
    ...extra,
  });
  for (const u of DEFAULTED) await create(admin, 'mailboxes', ns, u, mailbox(u));
  // Names its profile and its outgoing method itself: no default reaches it.
  await create(admin, 'mailboxes', ns, 'fixed', mailbox('fixed', { serverProfileRef: { name: 'a' }, outgoing: 'None' }));
  op = await startOperator(admin, ns, { pollIntervalMs: 10 * 60_000, outgoingPollMs: 10 * 60_000 });
  await profileReady('a');
  await waitFor('all syncing', async () => (op.worker.syncing().length === USERS.length ? true : undefined), { timeoutMs: 30_000 });
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await dovecot?.cleanup();
  await smtp?.close();
  await crm?.close();
});

test('a new default profile moves exactly the mailboxes that use it, each only after its test on it passed', async () => {
  const fixedBefore = (await mbx('fixed')).status;
  const a = await get(admin, 'emailserverprofiles', ns, 'a');
  await mergePatchSpec(admin, 'deployments', ns, 'crm', { spec: { defaults: { serverProfileRef: { name: 'b' } } } });
  // Paused from the first failure of two (50%); wait for both results.
  const paused = await waitFor('b paused with both failures', async () => {
    const p = await get(admin, 'emailserverprofiles', ns, 'b');
    return condition(p, 'RolloutPaused')?.reason === 'FailureThresholdReached' && p.status.mailboxes.failed === 2 ? p : undefined;
  });
  expect(paused.status.rollout.failures.map((f: { mailbox: string }) => f.mailbox)).toEqual(['d0', 'd1']);
  const d0 = await mbx('d0');
  expect(d0.status).toMatchObject({ serverProfile: 'a', revision: a.status.revision, targetRevision: paused.status.revision });
  expect(condition(d0, 'Enabled')).toMatchObject({ status: 'True', reason: 'RunningLastKnownGood' });
  expect(condition(await mbx('d2'), 'UpToDate')?.reason).toBe('WaitingForBatch');
  // The Deployment is not Ready while its defaults are still moving, so `kubectl wait` waits.
  const dep = await waitForCondition(admin, 'deployments', ns, 'crm', 'Ready', (c) => c.reason === 'RolloutInProgress');
  expect(condition(dep, 'Ready')?.message).toMatch(/still moving to the current configuration; 2 mailbox\(es\) failed .*: d0, d1/);
  await deliversToCrm('d0', 'default-paused@customer.example');

  // Fixing b is a new revision of b and a new rollout: everything moves.
  await mergePatchSpec(admin, 'emailserverprofiles', ns, 'b', { spec: { incoming: { port: dovecot.ports.pop3 } } });
  const b = await profileReady('b');
  expect(b.status.mailboxes).toMatchObject({ total: DEFAULTED.length, updated: DEFAULTED.length, failed: 0 });
  await waitForCondition(admin, 'deployments', ns, 'crm', 'Ready', (c) => c.status === 'True');
  for (const u of DEFAULTED) expect((await mbx(u)).status).toMatchObject({ serverProfile: 'b', revision: b.status.revision });
  const fixed = await mbx('fixed');
  expect(fixed.status).toMatchObject({
    serverProfile: 'a',
    revision: a.status.revision,
    testedRevision: fixedBefore.testedRevision,
    lastTestTime: fixedBefore.lastTestTime,
  });
  // a keeps the revision only `fixed` runs on; b's old broken revision is gone.
  expect((await get(admin, 'emailserverprofiles', ns, 'a')).status.mailboxes.total).toBe(1);
  expect(b.status.revisions.map((r: { revision: string }) => r.revision)).toEqual([b.status.revision]);
  await deliversToCrm('d0', 'default-moved@customer.example');
}, 60_000);

test('a new default delivery method rolls out the same way, and only to mailboxes that leave it to the default', async () => {
  const before = await get(admin, 'emailserverprofiles', ns, 'b');
  await mergePatchSpec(admin, 'deployments', ns, 'crm', { spec: { defaults: { outgoing: 'ServerSideSync' } } });
  await waitForCondition(admin, 'emailserverprofiles', ns, 'b', 'Ready', (c) => c.reason === 'RolloutInProgress');
  const b = await profileReady('b');
  expect(b.status.revision).toBe(before.status.revision); // same revision, other delivery methods
  // Two more batches of the same revision's rollout.
  expect(b.status.rollout.batch - before.status.rollout.batch).toBe(DEFAULTED.length / ROLLOUT.batchSize);
  for (const u of DEFAULTED) {
    expect(condition(await mbx(u), 'OutgoingEmailReady')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(smtp.authAttempts(u)).toBe(1);
  }
  expect(condition(await mbx('fixed'), 'OutgoingEmailReady')?.reason).toBe('NotRun');
  expect(smtp.authAttempts('fixed')).toBe(0);
}, 60_000);

test('a default naming a profile that does not exist keeps the mailboxes on their last-known-good configuration', async () => {
  await mergePatchSpec(admin, 'deployments', ns, 'crm', { spec: { defaults: { serverProfileRef: { name: 'typo' } } } });
  const d1 = await waitForCondition(admin, 'mailboxes', ns, 'd1', 'Ready', (c) => c.reason === 'ServerProfileNotFound');
  expect(condition(d1, 'Enabled')).toMatchObject({ status: 'True', reason: 'RunningLastKnownGood' });
  expect(condition(d1, 'UpToDate')).toMatchObject({ status: 'False', reason: 'ServerProfileNotFound' });
  expect(d1.status.serverProfile).toBe('b');
  await deliversToCrm('d1', 'default-typo@customer.example');
  await mergePatchSpec(admin, 'deployments', ns, 'crm', { spec: { defaults: { serverProfileRef: { name: 'b' } } } });
  await waitForCondition(admin, 'mailboxes', ns, 'd1', 'Ready', (c) => c.status === 'True');
  expect(condition(await mbx('d1'), 'Enabled')?.reason).toBe('Enabled');
}, 60_000);

test('spec.rollout.paused holds every batch until it is false again', async () => {
  const before = await get(admin, 'emailserverprofiles', ns, 'b');
  await mergePatchSpec(admin, 'emailserverprofiles', ns, 'b', { spec: { rollout: { paused: true }, incoming: { timeout: '20s' } } });
  const paused = await waitForCondition(admin, 'emailserverprofiles', ns, 'b', 'RolloutPaused', (c) => c.reason === 'PausedByUser');
  expect(paused.status.revision).not.toBe(before.status.revision);
  expect(condition(paused, 'Ready')).toMatchObject({ status: 'False', reason: 'RolloutPaused' });
  await new Promise((r) => setTimeout(r, 2000));
  const still = await get(admin, 'emailserverprofiles', ns, 'b');
  expect(still.status.rollout.batch).toBe(0);
  for (const u of DEFAULTED) {
    const m = await mbx(u);
    expect(m.status.revision).toBe(before.status.revision);
    expect(condition(m, 'UpToDate')?.reason).toBe('WaitingForBatch');
  }
  await mergePatchSpec(admin, 'emailserverprofiles', ns, 'b', { spec: { rollout: { paused: false } } });
  const done = await profileReady('b');
  expect(done.status.revision).toBe(paused.status.revision);
  for (const u of DEFAULTED) expect((await mbx(u)).status.revision).toBe(done.status.revision);
  const events = (await admin.core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.involvedObject.name === 'b');
  expect(events.some((e) => e.reason === 'RolloutPaused' && /paused by spec.rollout.paused/.test(e.message ?? ''))).toBe(true);
}, 60_000);

test('a test requested on the profile tests each of its mailboxes once, and no other', async () => {
  const before = new Map(await Promise.all(USERS.map(async (u) => [u, await dovecot.loginAttempts(u)] as const)));
  const smtpBefore = new Map(USERS.map((u) => [u, smtp.authAttempts(u)]));
  await mergePatchSpec(admin, 'emailserverprofiles', ns, 'b', {
    metadata: { annotations: { 'mailsync.dev/test-requested-at': '2026-11-24T12:00:00Z' } },
  });
  await waitFor('every mailbox of b answered', async () =>
    (await Promise.all(DEFAULTED.map(mbx))).every((m) => m.status.profileTestRequest === '2026-11-24T12:00:00Z') ? true : undefined,
  );
  for (const u of DEFAULTED) {
    // A login for the test; the worker's sync cycles (sync-requested-at above) may add their own.
    expect(await dovecot.loginAttempts(u)).toBeGreaterThan(before.get(u)!);
    expect(smtp.authAttempts(u)).toBe(smtpBefore.get(u)! + 1);
  }
  expect(await dovecot.loginAttempts('fixed')).toBe(before.get('fixed'));
  expect((await mbx('fixed')).status.profileTestRequest).toBeUndefined();
}, 60_000);
