// The webhook contract end to end, on the real API server with Dovecot and smtp-server:
// attachments of CRM email through the contract (inline and by reference), byte for byte; an
// attachment that cannot be fetched; tracking tokens resolved through the contract; and the CRM
// asked for pending email once per Deployment, however many mailboxes are idle.

import { waitFor } from '../../../dev/processes.js';
import { goodMessage } from '../../support/corpus.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { clientsAs, create, get, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtp-receiver.js';

const admin = clientsAs('admin');
const PASSWORD = 'hook-E2E-Password-42';
const CRM = { token: 'hook-e2e-Bearer-Token-0123', signingKey: 'hook-e2e-Signing-Key-0123' };
const IDLE = ['idle1', 'idle2', 'idle3', 'idle4', 'idle5'];
const POLL_MS = 400;
let dovecot: DovecotFixture;
let smtp: SmtpReceiver;
let crm: FakeCrmWebhook;
let ns: string;
let op: InProcessOperator;

beforeAll(async () => {
  const users = ['ann', ...IDLE].map((u) => ({ username: u, password: PASSWORD }));
  dovecot = await startDovecot({ users });
  smtp = await startSmtpReceiver({ users });
  crm = await FakeCrmWebhook.start(CRM);
  ns = await newNamespace(admin, 'hook');
  await createSecret(admin, ns, 'ca', { 'ca.crt': `${dovecot.caPem}\n${smtp.caPem}` });
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
  op = await startOperator(admin, ns, { outgoingPollMs: POLL_MS, pollIntervalMs: 60_000 });
  for (const u of ['ann', ...IDLE]) {
    await createSecret(admin, ns, `${u}-mail`, { username: u, password: PASSWORD });
    await create(admin, 'mailboxes', ns, u, {
      emailAddress: `${u}@example.com`,
      owner: { kind: 'User', name: u },
      deploymentRef: { name: 'crm' },
      serverProfileRef: { name: 'imap' },
      credentialsSecretRef: { name: `${u}-mail` },
    });
  }
  for (const u of ['ann', ...IDLE]) await waitForCondition(admin, 'mailboxes', ns, u, 'Ready', (c) => c.status === 'True', 30_000);
}, 120_000);
afterAll(async () => {
  await op?.stop();
  await dovecot?.cleanup();
  await smtp?.close();
  await crm?.close();
});

test('at rest, the CRM is asked for pending email once per poll for the whole Deployment, not once per mailbox', async () => {
  // Let every mailbox's sync start, then count.
  await waitFor('all syncing', async () => (op.worker.syncing().length === 1 + IDLE.length ? true : undefined));
  const before = crm.stats().pendingQueries;
  const windowMs = 20 * POLL_MS;
  await new Promise((r) => setTimeout(r, windowMs));
  const queries = crm.stats().pendingQueries - before;
  // One query per interval (plus one for a straggler); per-mailbox polling would be six times that.
  expect(queries).toBeGreaterThan(0);
  expect(queries).toBeLessThanOrEqual(windowMs / POLL_MS + 2);
  expect(crm.stats().pendingQueries).toBeGreaterThan(0);
}, 30_000);

test('an email pending send with two attachments (one of 5 MB, by reference) arrives with both, byte for byte, and is marked sent', async () => {
  const quote = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(3000, 0x52)]);
  const big = Buffer.from(Array.from({ length: 5 * 1024 * 1024 }, (_, i) => (i * 17 + (i >> 10)) % 256));
  const id = crm.addPendingEmail(
    'ann@example.com',
    {
      from: { address: 'ann@example.com', name: 'Ann' },
      to: [{ address: 'customer@customer.example' }],
      cc: [],
      bcc: [],
      subject: 'Your quote',
      htmlBody: '<p>Attached.</p>',
      trackingToken: 'CRM:0003001',
      inReplyTo: 'question@customer.example',
      references: ['question@customer.example'],
    },
    [
      { filename: 'quote.pdf', contentType: 'application/pdf', content: quote },
      { filename: 'data.bin', contentType: 'application/octet-stream', content: big },
    ],
  );
  await waitFor('sent', async () => (crm.outgoing(id)?.status === 'sent' ? true : undefined), { timeoutMs: 30_000 });
  const m = smtp.messages.find((x) => x.parsed.subject === 'Your quote CRM:0003001')!;
  expect(m.parsed.attachments.map((a) => a.filename)).toEqual(['quote.pdf', 'data.bin']);
  expect(m.parsed.attachments[0].content.equals(quote)).toBe(true);
  expect(m.parsed.attachments[1].content.equals(big)).toBe(true);
  expect(m.parsed.inReplyTo).toBe('<question@customer.example>');
  expect(crm.stats().attachmentFetches).toBeGreaterThanOrEqual(1);

  // A reply that kept only the tracking token in its subject resolves to that email.
  await dovecot.deliver(
    'ann',
    goodMessage(1, {
      to: 'ann@example.com',
      from: 'customer@customer.example',
      subject: 'Fwd: Your quote CRM:0003001',
      messageId: 'token-only@customer.example',
    }),
  );
  const activity = await waitFor('activity', async () => crm.activities().find((a) => a.messageId === 'token-only@customer.example'), {
    timeoutMs: 20_000,
  });
  expect(activity.email).toMatchObject({ trackingToken: 'CRM:0003001', regarding: { crmEmailId: id, by: 'TrackingToken' } });
}, 90_000);

test('an attachment that cannot be fetched: not sent, not marked sent, retried, then failed with AttachmentUnavailable', async () => {
  const id = crm.addPendingEmail(
    'ann@example.com',
    { from: { address: 'ann@example.com' }, to: [{ address: 'customer@customer.example' }], cc: [], bcc: [], subject: 'Broken attachment' },
    [{ filename: 'big.bin', contentType: 'application/octet-stream', content: Buffer.alloc(2 * 1024 * 1024, 3) }],
  );
  crm.failAttachment(id, { status: 500 });
  const fetchesBefore = crm.stats().attachmentFetches;
  await waitFor('failed', async () => (crm.outgoing(id)?.status === 'failed' ? true : undefined), { timeoutMs: 30_000 });
  expect(crm.outgoing(id)?.failure?.reason).toBe('AttachmentUnavailable');
  expect(crm.stats().attachmentFetches - fetchesBefore).toBe(3);
  expect(crm.outgoing(id)?.attempts).toBe(0); // never claimed, so never sent
  expect(smtp.messages.filter((x) => x.parsed.subject?.startsWith('Broken attachment'))).toEqual([]);
  await waitFor('reported', async () =>
    (await get(admin, 'mailboxes', ns, 'ann')).status?.recentFailures?.some((f: { reason: string }) => f.reason === 'AttachmentUnavailable')
      ? true
      : undefined,
  );
}, 60_000);
