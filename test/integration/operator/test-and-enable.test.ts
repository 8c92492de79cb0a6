// Test and Enable end to end: the controllers against the real API server, real Dovecot (IMAP,
// POP3) and smtp-server, with the credentials in Secrets.

import type { Manager } from '../../../src/controllers/manager.js';
import { waitFor } from '../../../dev/processes.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { clientsAs, condition, create, get, mergePatchSpec, newNamespace, waitForCondition, userMailbox } from '../../support/kube.js';
import { createSecret, updateSecret, visibleText } from '../../support/mail-env.js';
import { startManager } from '../../support/operator.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtp-receiver.js';

const admin = clientsAs('admin');
const PASSWORDS = { ann: 'ann-Imap-Secret-1', bob: 'bob-Imap-Secret-2', carl: 'carl-Imap-Secret-3' };
let dovecot: DovecotFixture;
let smtp: SmtpReceiver;
let ns: string;
let manager: Manager;

const imapProfile = (extra: object = {}) => ({
  serverType: 'IMAP',
  incoming: { server: '127.0.0.1', port: dovecot.ports.imaps, tls: 'Implicit', caBundle: { secretRef: { name: 'dovecot-ca' } } },
  outgoing: { server: '127.0.0.1', port: smtp.port, tls: 'STARTTLS', caBundle: { secretRef: { name: 'smtp-ca' } } },
  ...extra,
});
const mailbox = userMailbox;

beforeAll(async () => {
  dovecot = await startDovecot({ users: Object.entries(PASSWORDS).map(([username, password]) => ({ username, password })) });
  smtp = await startSmtpReceiver({ users: Object.entries(PASSWORDS).map(([username, password]) => ({ username, password })) });
  ns = await newNamespace(admin, 'tae');
  await createSecret(admin, ns, 'dovecot-ca', { 'ca.crt': dovecot.caPem });
  await createSecret(admin, ns, 'smtp-ca', { 'ca.crt': smtp.caPem });
  for (const [user, password] of Object.entries(PASSWORDS)) await createSecret(admin, ns, `${user}-mail`, { username: user, password });
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: 'https://crm.example.com/hook' },
    requireApprovedUsers: false,
  });
  await create(admin, 'emailserverprofiles', ns, 'imap', imapProfile());
  manager = await startManager(admin, ns);
});
afterAll(async () => {
  await manager?.stop();
  await dovecot?.cleanup();
  await smtp?.close();
});

test('an IMAP mailbox with correct credentials is tested, enabled and Ready, with Events', async () => {
  await create(admin, 'mailboxes', ns, 'ann', mailbox('ann', { serverProfileRef: { name: 'imap' } }));
  const o = await waitForCondition(admin, 'mailboxes', ns, 'ann', 'Ready', (c) => c.status === 'True');
  expect(condition(o, 'IncomingEmailReady')).toMatchObject({ status: 'True', reason: 'Succeeded' });
  expect(condition(o, 'IncomingEmailReady')?.message).toMatch(/logged in to IMAP server 127.0.0.1:\d+ as ann and opened the inbox/);
  expect(condition(o, 'OutgoingEmailReady')).toMatchObject({ status: 'True', reason: 'Succeeded' });
  expect(condition(o, 'AppointmentsContactsTasksReady')).toMatchObject({ status: 'Unknown', reason: 'NotRun' });
  expect(condition(o, 'Enabled')).toMatchObject({ status: 'True', reason: 'Enabled' });
  expect(o.status.revision).toBe(o.status.testedRevision);
  expect(smtp.messages).toHaveLength(0); // the outgoing test authenticates without sending
  const ev = await waitFor('TestSucceeded event', async () =>
    (await admin.core.listNamespacedEvent({ namespace: ns })).items.find(
      (e) => e.involvedObject.name === 'ann' && e.reason === 'TestSucceeded',
    ),
  );
  expect(ev.type).toBe('Normal');
});

test('a POP3 mailbox the same way', async () => {
  await create(admin, 'emailserverprofiles', ns, 'pop3', {
    ...imapProfile(),
    serverType: 'POP3',
    incoming: { server: '127.0.0.1', port: dovecot.ports.pop3, tls: 'STARTTLS', caBundle: { secretRef: { name: 'dovecot-ca' } } },
  });
  await create(
    admin,
    'mailboxes',
    ns,
    'ann-pop',
    mailbox('ann', { serverProfileRef: { name: 'pop3' }, emailAddress: 'ann-pop@example.com' }),
  );
  const o = await waitForCondition(admin, 'mailboxes', ns, 'ann-pop', 'Ready', (c) => c.status === 'True');
  expect(condition(o, 'IncomingEmailReady')?.message).toMatch(/POP3 server/);
});

test('a wrong password disables at once without a retry storm; fixing the Secret re-tests and enables', async () => {
  await createSecret(admin, ns, 'bob-wrong', { username: 'bob', password: 'not-the-password' });
  await create(
    admin,
    'mailboxes',
    ns,
    'bob',
    mailbox('bob', { serverProfileRef: { name: 'imap' }, credentialsSecretRef: { name: 'bob-wrong' } }),
  );
  const o = await waitForCondition(admin, 'mailboxes', ns, 'bob', 'IncomingEmailReady', (c) => c.reason === 'AuthenticationFailed');
  expect(condition(o, 'IncomingEmailReady')?.message).toMatch(/processing is disabled until the configuration changes/);
  expect(condition(o, 'OutgoingEmailReady')?.reason).toBe('AuthenticationFailed');
  expect(condition(o, 'Enabled')?.status).toBe('False');
  expect(condition(o, 'Stalled')).toMatchObject({ status: 'True', reason: 'AuthenticationFailed' });
  await new Promise((r) => setTimeout(r, 4000)); // several retry periods of the fast test policy
  expect(await dovecot.loginAttempts('bob')).toBe(1);
  expect(smtp.authAttempts('bob')).toBe(1);
  await updateSecret(admin, ns, 'bob-wrong', { username: 'bob', password: PASSWORDS.bob });
  await waitForCondition(admin, 'mailboxes', ns, 'bob', 'Ready', (c) => c.status === 'True');
  expect(await dovecot.loginAttempts('bob')).toBe(2);
  const ev = await waitFor('AuthenticationFailed event', async () =>
    (await admin.core.listNamespacedEvent({ namespace: ns })).items.find(
      (e) => e.involvedObject.name === 'bob' && e.reason === 'AuthenticationFailed',
    ),
  );
  expect(ev.type).toBe('Warning');
});

test('an untrusted certificate is a TLSError unless the profile trusts the CA', async () => {
  await create(
    admin,
    'emailserverprofiles',
    ns,
    'no-ca',
    imapProfile({ incoming: { server: '127.0.0.1', port: dovecot.ports.imaps, tls: 'Implicit' } }),
  );
  await create(admin, 'mailboxes', ns, 'carl', mailbox('carl', { serverProfileRef: { name: 'no-ca' }, outgoing: 'None' }));
  const o = await waitForCondition(admin, 'mailboxes', ns, 'carl', 'IncomingEmailReady', (c) => c.reason === 'TLSError');
  expect(condition(o, 'IncomingEmailReady')?.message).toMatch(/certificate/i);
  await mergePatchSpec(admin, 'emailserverprofiles', ns, 'no-ca', {
    spec: { incoming: { caBundle: { secretRef: { name: 'dovecot-ca' } } } },
  });
  await waitForCondition(admin, 'mailboxes', ns, 'carl', 'Ready', (c) => c.status === 'True');
});

test('a test can be requested with an annotation (GitOps-friendly)', async () => {
  const before = await get(admin, 'mailboxes', ns, 'ann');
  const attempts = await dovecot.loginAttempts('ann');
  await mergePatchSpec(admin, 'mailboxes', ns, 'ann', {
    metadata: { annotations: { 'mailsync.dev/test-requested-at': '2026-11-24T10:00:00Z' } },
  });
  await waitFor('re-test', async () =>
    (await get(admin, 'mailboxes', ns, 'ann')).status.testRequest === '2026-11-24T10:00:00Z' ? true : undefined,
  );
  expect(await dovecot.loginAttempts('ann')).toBeGreaterThan(attempts);
  expect((await get(admin, 'mailboxes', ns, 'ann')).status.testedRevision).toBe(before.status.testedRevision);
});

test('no password appears in any Event or status', async () => {
  const text = await visibleText(admin, ns);
  for (const p of [...Object.values(PASSWORDS), 'not-the-password']) expect(text).not.toContain(p);
});
