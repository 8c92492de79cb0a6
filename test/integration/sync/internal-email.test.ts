// Which mail is tracked, end to end (Dovecot -> worker -> webhook CRM): with the Deployment's
// internalEmail.ignore, mail between two users of the Deployment is not tracked, mail from outside
// is, and internal mail a queue's mailbox receives still is (Dynamics' exception for queues); with
// trackSentItems, what a user sent outside the CRM is tracked from the Sent folder, except mail the
// CRM sent itself and mail to colleagues only.

import { ImapFlow } from 'imapflow';
import { waitFor } from '../../../dev/processes.js';
import { goodMessage } from '../../support/corpus.js';
import type { DovecotFixture } from '../../support/dovecot.js';
import type { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { startSyncEnvironment, type SyncEnvironment } from '../../support/sync-env.js';
import { clientsAs, create, get, mergePatchSpec, waitForCondition } from '../../support/kube.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';

const admin = clientsAs('admin');
const USERS = { ann: 'ann-Internal-Pass-1', support: 'support-Internal-Pass-2' };
const CRM = { token: 'internal-Crm-Token-1', signingKey: 'internal-Signing-Key-2' };
let env: SyncEnvironment;
let dovecot: DovecotFixture;
let crm: FakeCrmWebhook;
let ns: string;
let op: InProcessOperator;

beforeAll(async () => {
  env = await startSyncEnvironment(admin, { prefix: 'internal', users: USERS, crm: CRM, deployment: { internalEmail: { ignore: true } } });
  ({ dovecot, crm, ns } = env);
  op = await startOperator(admin, ns, { pollIntervalMs: 60_000 });
  const base = { deploymentRef: { name: 'crm' }, serverProfileRef: { name: 'imap' }, outgoing: 'None' };
  await create(admin, 'mailboxes', ns, 'ann', {
    ...base,
    emailAddress: 'ann@example.com',
    owner: { kind: 'User', name: 'ann' },
    credentialsSecretRef: { name: 'ann-mail' },
  });
  await create(admin, 'mailboxes', ns, 'support', {
    ...base,
    emailAddress: 'support@example.com',
    owner: { kind: 'Queue', name: 'support' },
    credentialsSecretRef: { name: 'support-mail' },
  });
  // A colleague whose mailbox the operator does not read: still one of the organization's addresses.
  await create(admin, 'mailboxes', ns, 'bob', {
    ...base,
    emailAddress: 'bob@example.com',
    owner: { kind: 'User', name: 'bob' },
    incoming: 'None',
  });
  await waitForCondition(admin, 'mailboxes', ns, 'ann', 'Ready', (c) => c.status === 'True');
  await waitForCondition(admin, 'mailboxes', ns, 'support', 'Ready', (c) => c.status === 'True');
});
afterAll(async () => {
  await op?.stop();
  await env?.close();
});

const tracked = (messageId: string) => crm.activities().filter((a) => a.messageId === messageId).length;

test('mail between two users is not tracked; from a customer it is; to a queue it is, even from a colleague', async () => {
  await dovecot.deliver('ann', goodMessage(1, { from: 'Bob <bob@example.com>', messageId: 'colleague-1@example.com' }));
  await dovecot.deliver('ann', goodMessage(2, { messageId: 'customer-2@customer.example' }));
  await dovecot.deliver(
    'support',
    goodMessage(3, { from: 'Bob <bob@example.com>', to: 'support@example.com', messageId: 'colleague-3@example.com' }),
  );
  await waitFor(
    'external and queue mail',
    async () => (tracked('customer-2@customer.example') && tracked('colleague-3@example.com') ? true : undefined),
    { timeoutMs: 20_000 },
  );
  // The checkpoint passed the colleague's message (UID 1): it was read, and left out.
  await waitFor('checkpoint past it', async () =>
    (await get(admin, 'mailboxes', ns, 'ann')).status?.checkpoint?.lastUid >= 2 ? true : undefined,
  );
  expect(tracked('colleague-1@example.com')).toBe(0);
  expect(crm.activities().find((a) => a.messageId === 'colleague-3@example.com')?.email).toMatchObject({
    ownerKind: 'Queue',
    ownerName: 'support',
  });
});

/** Puts a message in the user's Sent folder, as a mail client does after sending. */
async function sentByClient(user: keyof typeof USERS, raw: string): Promise<void> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: dovecot.ports.imaps,
    secure: true,
    tls: { ca: [dovecot.caPem] },
    auth: { user, pass: USERS[user] },
    logger: false,
  });
  await client.connect();
  try {
    await client.append('Sent Messages', raw, ['\\Seen']);
  } finally {
    await client.logout();
  }
}

test('trackSentItems: mail a user sent outside the CRM is tracked from the Sent folder; mail the CRM sent, or sent to colleagues only, is not', async () => {
  crm.addPendingEmail('nobody@example.com', {
    from: { address: 'ann@example.com' },
    to: [{ address: 'c@customer.example' }],
    cc: [],
    bcc: [],
    subject: 'From the CRM',
    messageId: 'crm-sent@example.com',
  });
  await mergePatchSpec(admin, 'deployments', ns, 'crm', { spec: { trackSentItems: true } });
  await sentByClient(
    'ann',
    goodMessage(10, { from: 'Ann <ann@example.com>', to: 'c@customer.example', messageId: 'crm-sent@example.com' }),
  );
  await sentByClient(
    'ann',
    goodMessage(11, { from: 'Ann <ann@example.com>', to: 'bob@example.com', messageId: 'to-colleague@example.com' }),
  );
  await sentByClient(
    'ann',
    goodMessage(12, { from: 'Ann <ann@example.com>', to: 'c@customer.example', messageId: 'from-outlook@example.com' }),
  );
  await waitFor('sent item tracked', async () => (tracked('from-outlook@example.com') ? true : undefined), { timeoutMs: 20_000 });
  expect(crm.activities().find((a) => a.messageId === 'from-outlook@example.com')?.email).toMatchObject({
    sent: true,
    ownerName: 'ann',
    mailbox: `${ns}/ann`,
  });
  const m = await waitFor('checkpoint of Sent', async () => {
    const o = await get(admin, 'mailboxes', ns, 'ann');
    return o.status?.checkpoint?.sentItems?.lastUid >= 3 ? o : undefined;
  });
  expect(m.status.checkpoint.lastUid).toBeGreaterThanOrEqual(2); // the inbox's part is kept
  expect(tracked('crm-sent@example.com')).toBe(0);
  expect(tracked('to-colleague@example.com')).toBe(0);
});
