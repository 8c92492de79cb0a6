// Forward mailboxes as Dynamics has them, end to end on the real API server with Dovecot: two
// users whose incoming delivery method is ForwardMailbox forward mail (as an attachment) to a
// forward mailbox with no owner; each message becomes one activity attributed to its forwarder,
// the forwarding messages are deleted (deleteAfterProcessing), and the users' own mailboxes are
// never read.

import { ImapFlow } from 'imapflow';
import { waitFor } from '../../../dev/processes.js';
import { forwardedMessage, goodMessage } from '../../support/corpus.js';
import type { DovecotFixture } from '../../support/dovecot.js';
import type { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { startSyncEnvironment, type SyncEnvironment } from '../../support/sync-env.js';
import { clientsAs, condition, create, get, waitForCondition } from '../../support/kube.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';

const admin = clientsAs('admin');
const USERS = { fwd: 'fwd-Mailbox-Pass-1', ann: 'ann-Own-Mailbox-2', bob: 'bob-Own-Mailbox-3' };
const CRM = { token: 'fwd-Crm-Token-0001', signingKey: 'fwd-Signing-Key-0002' };
let env: SyncEnvironment;
let dovecot: DovecotFixture;
let crm: FakeCrmWebhook;
let ns: string;
let op: InProcessOperator;

beforeAll(async () => {
  env = await startSyncEnvironment(admin, { prefix: 'fwd', users: USERS, crm: CRM });
  ({ dovecot, crm, ns } = env);
  // Mail already in the users' own inboxes: reading it would make a second activity of each message.
  await dovecot.deliver('ann', goodMessage(1, { messageId: 'own-ann@customer.example' }));
  await dovecot.deliver('bob', goodMessage(2, { messageId: 'own-bob@customer.example', to: 'bob@example.com' }));
  op = await startOperator(admin, ns, { pollIntervalMs: 60_000 });
  const base = { deploymentRef: { name: 'crm' }, serverProfileRef: { name: 'imap' } };
  await create(admin, 'mailboxes', ns, 'fwd', {
    ...base,
    emailAddress: 'fwd@example.com',
    forwardMailbox: true,
    deleteAfterProcessing: true,
    credentialsSecretRef: { name: 'fwd-mail' },
  });
  for (const user of ['ann', 'bob']) {
    await create(admin, 'mailboxes', ns, user, {
      ...base,
      emailAddress: `${user}@example.com`,
      owner: { kind: 'User', name: user },
      incoming: 'ForwardMailbox',
      outgoing: 'None',
      credentialsSecretRef: { name: `${user}-mail` },
    });
  }
  await waitForCondition(admin, 'mailboxes', ns, 'fwd', 'Ready', (c) => c.status === 'True');
});
afterAll(async () => {
  await op?.stop();
  await env?.close();
});

const activities = (messageId: string) => crm.activities().filter((a) => a.messageId === messageId);

async function inboxSubjects(user: keyof typeof USERS): Promise<string[]> {
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
    await client.mailboxOpen('INBOX');
    const subjects: string[] = [];
    for await (const m of client.fetch('1:*', { envelope: true })) subjects.push(m.envelope?.subject ?? '');
    return subjects;
  } catch {
    return []; // an empty mailbox has no 1:*
  } finally {
    await client.logout();
  }
}

test('two users forward to the forward mailbox: one activity each, attributed to its forwarder; the forwarding messages are deleted', async () => {
  for (const [user, i] of [
    ['ann', 10],
    ['bob', 11],
  ] as const) {
    const inner = goodMessage(i, { to: `${user}@example.com`, messageId: `order-${user}@customer.example` });
    await dovecot.deliver(
      'fwd',
      forwardedMessage(inner, { from: `${user}@example.com`, to: 'fwd@example.com', messageId: `fw-${user}@example.com` }),
    );
  }
  await waitFor(
    'both activities',
    async () => (activities('order-ann@customer.example').length && activities('order-bob@customer.example').length ? true : undefined),
    { timeoutMs: 20_000 },
  );
  for (const user of ['ann', 'bob']) {
    const [a, ...more] = activities(`order-${user}@customer.example`);
    expect(more).toHaveLength(0);
    expect(a.email).toMatchObject({
      ownerKind: 'User',
      ownerName: user,
      mailbox: `${ns}/fwd`,
      forwardedBy: { mailbox: `${ns}/${user}`, address: `${user}@example.com` },
    });
    // The forwarded message itself, not the forwarding one.
    expect(a.email.from.address).not.toBe(`${user}@example.com`);
  }
  await waitFor('forwarding messages deleted', async () => ((await inboxSubjects('fwd')).length === 0 ? true : undefined), {
    timeoutMs: 10_000,
  });
});

test('a message not forwarded by a forwarding mailbox is reported and left in place', async () => {
  const inner = goodMessage(12, { to: 'carol@example.com', messageId: 'order-carol@customer.example' });
  await dovecot.deliver(
    'fwd',
    forwardedMessage(inner, { from: 'carol@example.com', to: 'fwd@example.com', messageId: 'fw-carol@example.com' }),
  );
  await waitFor('report', async () => {
    const ev = await admin.core.listNamespacedEvent({ namespace: ns });
    return ev.items.some(
      (e) => e.involvedObject.name === 'fwd' && e.reason === 'NotFromForwardingMailbox' && /carol@example.com/.test(e.message ?? ''),
    )
      ? true
      : undefined;
  });
  expect(activities('order-carol@customer.example')).toHaveLength(0);
  expect(await inboxSubjects('fwd')).toEqual(['FW: forwarded']);
});

test("the forwarding users' own mailboxes are never read, and they are Ready through the forward mailbox", async () => {
  for (const user of ['ann', 'bob'] as const) {
    const m = await waitForCondition(admin, 'mailboxes', ns, user, 'Ready', (c) => c.status === 'True');
    expect(condition(m, 'Enabled')?.reason).toBe('ThroughForwardMailbox');
    expect(condition(m, 'IncomingEmailReady')).toMatchObject({ status: 'Unknown', reason: 'NotRun' });
    expect(condition(m, 'IncomingEmailReady')?.message).toContain('ForwardMailbox');
    expect(await dovecot.loginAttempts(user)).toBe(0);
    expect(op.worker.syncing()).not.toContain(`${ns}/${user}`);
  }
  expect(activities('own-ann@customer.example')).toHaveLength(0);
  expect(activities('own-bob@customer.example')).toHaveLength(0);
  expect((await get(admin, 'mailboxes', ns, 'fwd')).status.counts.received).toBe(2);
});
