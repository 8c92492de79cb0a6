// Mail flowing end to end on the real API server: Dovecot -> sync worker -> webhook CRM, and
// CRM -> sync worker -> smtp-server, with the controllers enabling the mailbox first.

import { ImapFlow } from 'imapflow';
import { waitFor } from '../../../dev/processes.js';
import { goodMessage, malformedCorpus } from '../../support/corpus.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { clientsAs, condition, create, get, mergePatchSpec, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret, visibleText } from '../../support/mail-env.js';
import { operatorLog, startOperator, type InProcessOperator } from '../../support/operator.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtp-receiver.js';

const admin = clientsAs('admin');
const PASSWORD = 'ann-Sync-Password-9';
const ZOE_PASSWORD = 'zoe-Sync-Password-8';
const CRM = { token: 'crm-Bearer-Token-123456', signingKey: 'crm-Signing-Key-abcdef' };
let dovecot: DovecotFixture;
let smtp: SmtpReceiver;
let crm: FakeCrmWebhook;
let ns: string;
let op: InProcessOperator;

beforeAll(async () => {
  dovecot = await startDovecot({
    users: [
      { username: 'ann', password: PASSWORD },
      { username: 'zoe', password: ZOE_PASSWORD },
    ],
  });
  smtp = await startSmtpReceiver({
    users: [
      { username: 'ann', password: PASSWORD },
      { username: 'zoe', password: ZOE_PASSWORD },
    ],
  });
  crm = await FakeCrmWebhook.start(CRM);
  ns = await newNamespace(admin, 'sync');
  await createSecret(admin, ns, 'ca', { 'ca.crt': `${dovecot.caPem}\n${smtp.caPem}` });
  await createSecret(admin, ns, 'ann-mail', { username: 'ann', password: PASSWORD });
  await createSecret(admin, ns, 'crm', CRM);
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    incomingFiltering: { users: 'All' },
  });
  await create(admin, 'emailserverprofiles', ns, 'imap', {
    serverType: 'IMAP',
    incoming: { server: '127.0.0.1', port: dovecot.ports.imaps, caBundle: { secretRef: { name: 'ca' } } },
    outgoing: { server: '127.0.0.1', port: smtp.port, tls: 'STARTTLS', caBundle: { secretRef: { name: 'ca' } } },
  });
  op = await startOperator(admin, ns, { outgoingPollMs: 60_000, pollIntervalMs: 60_000 });
  await create(admin, 'mailboxes', ns, 'ann', {
    emailAddress: 'ann@example.com',
    owner: { kind: 'User', name: 'ann' },
    deploymentRef: { name: 'crm' },
    serverProfileRef: { name: 'imap' },
    credentialsSecretRef: { name: 'ann-mail' },
  });
  await waitForCondition(admin, 'mailboxes', ns, 'ann', 'Ready', (c) => c.status === 'True');
});
afterAll(async () => {
  await op?.stop();
  await dovecot?.cleanup();
  await smtp?.close();
  await crm?.close();
});

/** Message-ID, subject and \Seen of the messages in one of a Dovecot user's folders. */
async function messagesIn(
  user: string,
  password: string,
  folder: string,
): Promise<{ messageId?: string; subject?: string; seen: boolean }[]> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: dovecot.ports.imaps,
    secure: true,
    tls: { ca: [dovecot.caPem] },
    auth: { user, pass: password },
    logger: false,
  });
  await client.connect();
  try {
    const box = await client.mailboxOpen(folder);
    if (!box.exists) return [];
    const out: { messageId?: string; subject?: string; seen: boolean }[] = [];
    for await (const m of client.fetch('1:*', { envelope: true, flags: true }))
      out.push({ messageId: m.envelope?.messageId, subject: m.envelope?.subject, seen: m.flags?.has('\\Seen') ?? false });
    return out;
  } finally {
    await client.logout();
  }
}

const activity = (messageId: string) => crm.activities().filter((a) => a.messageId === messageId);

test('a message delivered to the INBOX appears in the CRM once, near real time (IDLE)', async () => {
  await dovecot.deliver('ann', goodMessage(1));
  await waitFor('activity', async () => (activity('msg-1@customer.example').length ? true : undefined), { timeoutMs: 15_000 });
  expect(activity('msg-1@customer.example')).toHaveLength(1);
  await waitForCondition(admin, 'mailboxes', ns, 'ann', 'Synced', (c) => c.status === 'True');
  // Synced may already be True from the first, empty cycle: wait for the status of this message.
  const o = await waitFor('counts and checkpoint', async () => {
    const m = await get(admin, 'mailboxes', ns, 'ann');
    return m.status.counts?.received === 1 && m.status.checkpoint?.lastUid >= 1 ? m : undefined;
  });
  expect(o.status.conditions.find((c: { type: string }) => c.type === 'Synced')?.status).toBe('True');
});

test('an email pending send in the CRM is sent (sync-now) and marked sent; a reply correlates to it', async () => {
  const id = crm.addPendingEmail('ann@example.com', {
    from: { address: 'ann@example.com', name: 'Ann' },
    to: [{ address: 'customer@customer.example' }],
    cc: [],
    bcc: [],
    subject: 'Your quote',
    textBody: 'Please find the quote below.',
    trackingToken: 'CRM:0001001',
  });
  await mergePatchSpec(admin, 'mailboxes', ns, 'ann', {
    metadata: { annotations: { 'mailsync.dev/sync-requested-at': new Date().toISOString() } },
  });
  await waitFor('sent', async () => (crm.outgoing(id)?.status === 'sent' ? true : undefined), { timeoutMs: 15_000 });
  const sentId = crm.outgoing(id)!.sentMessageId!;
  expect(smtp.messages).toHaveLength(1);
  expect(smtp.messages[0].parsed.subject).toBe('Your quote CRM:0001001');
  expect(smtp.messages[0].parsed.messageId).toBe(`<${sentId}>`);
  // A conversation header naming this email, which Outlook keeps in replies (correlation's last resort).
  expect(smtp.messages[0].parsed.headers.get('thread-index')).toEqual(expect.any(String));
  // SMTP keeps no copy: the operator saved one in the mailbox's Sent folder (special use \Sent) over IMAP.
  const copies = await waitFor('copy in Sent', async () => {
    const found = await messagesIn('ann', PASSWORD, 'Sent Messages');
    return found.length ? found : undefined;
  });
  expect(copies).toEqual([{ messageId: `<${sentId}>`, subject: 'Your quote CRM:0001001', seen: true }]);

  await dovecot.deliver(
    'ann',
    goodMessage(2, { from: 'customer@customer.example', subject: 'RE: Your quote CRM:0001001', inReplyTo: sentId }),
  );
  await waitFor('reply', async () => (activity('msg-2@customer.example').length ? true : undefined), { timeoutMs: 15_000 });
  const reply = activity('msg-2@customer.example')[0].email;
  expect(reply.regarding).toEqual({ crmEmailId: id, by: 'InReplyTo' });
  expect(reply.trackingToken).toBe('CRM:0001001');
});

test('malformed messages are reported and skipped; the good ones around them are delivered', async () => {
  const bad = malformedCorpus();
  for (let i = 0; i < bad.length; i++) {
    await dovecot.deliver('ann', goodMessage(100 + i));
    await dovecot.deliver('ann', bad[i].raw);
  }
  await dovecot.deliver('ann', goodMessage(199));
  await waitFor(
    'good ones',
    async () => ([...bad.keys(), 99].every((i) => activity(`msg-${100 + i}@customer.example`).length === 1) ? true : undefined),
    { timeoutMs: 20_000 },
  );
  for (const b of bad) expect(activity(`${b.id}@customer.example`)).toHaveLength(0);
  await waitFor('reports', async () => {
    const ev = await admin.core.listNamespacedEvent({ namespace: ns });
    return ev.items.filter((e) => e.involvedObject.name === 'ann' && e.reason === 'CorruptMessage').length >= bad.length ? true : undefined;
  });
  await waitFor('failed count', async () =>
    (await get(admin, 'mailboxes', ns, 'ann')).status.counts?.failed === bad.length ? true : undefined,
  );
  // The worker keeps running.
  await dovecot.deliver('ann', goodMessage(300));
  await waitFor('after', async () => (activity('msg-300@customer.example').length ? true : undefined), { timeoutMs: 15_000 });
});

test('/metrics counts the messages in and out, the failures and the sync latency', async () => {
  const text = await op.metrics.registry.metrics();
  const sum = (prefix: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(prefix))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  // Labelled by tenant, profile and owner kind, so Alertmanager can route.
  expect(sum(`mailsync_messages_total{direction="in",namespace="${ns}",owner_kind="User",profile="imap"}`)).toBeGreaterThanOrEqual(8);
  expect(sum(`mailsync_messages_total{direction="out",namespace="${ns}",owner_kind="User",profile="imap"}`)).toBe(1);
  expect(sum(`mailsync_failures_total{reason="CorruptMessage",direction="in",namespace="${ns}",`)).toBe(malformedCorpus().length);
  expect(sum('mailsync_sync_latency_seconds_count')).toBeGreaterThanOrEqual(8);
  expect(sum('mailsync_reconcile_total{kind="Mailbox"')).toBeGreaterThan(0);
});

test('saveToSentFolder: false (a server that keeps sent mail itself): no copy is saved', async () => {
  await createSecret(admin, ns, 'zoe-mail', { username: 'zoe', password: ZOE_PASSWORD });
  await create(admin, 'emailserverprofiles', ns, 'imap-keeps-sent', {
    serverType: 'IMAP',
    incoming: { server: '127.0.0.1', port: dovecot.ports.imaps, caBundle: { secretRef: { name: 'ca' } } },
    outgoing: { server: '127.0.0.1', port: smtp.port, tls: 'STARTTLS', caBundle: { secretRef: { name: 'ca' } }, saveToSentFolder: false },
  });
  await create(admin, 'mailboxes', ns, 'zoe', {
    emailAddress: 'zoe@example.com',
    owner: { kind: 'User', name: 'zoe' },
    deploymentRef: { name: 'crm' },
    serverProfileRef: { name: 'imap-keeps-sent' },
    credentialsSecretRef: { name: 'zoe-mail' },
    incoming: 'None',
  });
  await waitForCondition(admin, 'mailboxes', ns, 'zoe', 'Ready', (c) => c.status === 'True');
  const id = crm.addPendingEmail('zoe@example.com', {
    from: { address: 'zoe@example.com' },
    to: [{ address: 'customer@customer.example' }],
    cc: [],
    bcc: [],
    subject: 'No copy',
    textBody: 'Hi.',
  });
  await mergePatchSpec(admin, 'mailboxes', ns, 'zoe', {
    metadata: { annotations: { 'mailsync.dev/sync-requested-at': new Date().toISOString() } },
  });
  await waitFor('sent', async () => (crm.outgoing(id)?.status === 'sent' ? true : undefined), { timeoutMs: 15_000 });
  expect(smtp.messages.some((m) => m.parsed.subject === 'No copy')).toBe(true);
  expect(await messagesIn('zoe', ZOE_PASSWORD, 'Sent Messages')).toEqual([]);
});

test('an operator restart with nothing new writes no status: a quiet first cycle is not news', async () => {
  const names = ['ann', 'zoe'];
  const versions = async () =>
    Promise.all(names.map(async (n) => String((await get(admin, 'mailboxes', ns, n)).metadata?.resourceVersion)));
  /** Waits until no status is written for 1.5 s (the worker writes at most every 200 ms). */
  const atRest = async () => {
    let before = await versions();
    await waitFor('status at rest', async () => {
      await new Promise((r) => setTimeout(r, 1500));
      const now = await versions();
      const still = now.every((v, i) => v === before[i]);
      before = now;
      return still ? true : undefined;
    });
    return before;
  };
  /** Restarts the operator and waits until it ran a whole cycle of each direction of each mailbox (zoe has no incoming). */
  const restart = async () => {
    await op.stop();
    const restartedAt = Date.now();
    op = await startOperator(admin, ns, { outgoingPollMs: 60_000, pollIntervalMs: 60_000 });
    const expected = [
      ['ann', 'incoming'],
      ['ann', 'outgoing'],
      ['zoe', 'outgoing'],
    ];
    await waitFor('first cycles after the restart', async () => {
      const done = operatorLog(ns)
        .map((l) => JSON.parse(l) as { time: string; mailbox?: string; msg: string })
        .filter((l) => Date.parse(l.time) >= restartedAt);
      return expected.every(([n, d]) => done.some((l) => l.mailbox === n && l.msg === `${d} cycle done`)) ? true : undefined;
    });
  };
  // The last cycles before this test carried mail, so the first restart writes their quiet
  // successors (lastCycle back to zero): that is news once.
  await atRest();
  await restart();
  const before = await atRest();
  await restart();
  await new Promise((r) => setTimeout(r, 1500));
  // The second restart found nothing new and wrote nothing: at 10,000 mailboxes, one write each
  // after a restart is more than an API server takes at once.
  expect(await versions()).toEqual(before);
  // New mail is news again.
  await dovecot.deliver('ann', goodMessage(40));
  await waitFor('status after new mail', async () => ((await versions())[0] !== before[0] ? true : undefined), { timeoutMs: 15_000 });
  expect(activity('msg-40@customer.example')).toHaveLength(1);
});

test('nothing was delivered twice, and no secret is visible', async () => {
  expect(crm.stats().duplicates).toBe(0);
  const ids = crm.activities().map((a) => a.messageId);
  expect(new Set(ids).size).toBe(ids.length);
  const text = await visibleText(admin, ns);
  for (const s of [PASSWORD, ZOE_PASSWORD, CRM.token, CRM.signingKey]) expect(text).not.toContain(s);
  expect(condition(await get(admin, 'mailboxes', ns, 'ann'), 'Ready')?.status).toBe('True');
});
