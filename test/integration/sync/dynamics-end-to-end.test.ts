// A Dynamics365 Deployment where users run it: the real API server, the controllers and a sync
// worker, Dovecot and smtp-server, and the Dataverse fake. What a Dynamics user sees: mail to a
// user's mailbox owned by that user, mail to a queue with its queue item, replies under the
// Regarding of the email they answer, tracking tokens resolved, attachments out byte for byte;
// and a mailbox Dynamics still processes is not enabled until it is handed over.

import { waitFor } from '../../../dev/processes.js';
import { closeHttpDispatchers } from '../../../src/net/http.js';
import { goodMessage } from '../../support/corpus.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { FakeDynamics } from '../../support/fake-crm-dynamics.js';
import { clientsAs, condition, create, get, mergePatchSpec, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret, visibleText } from '../../support/mail-env.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtp-receiver.js';

const admin = clientsAs('admin');
const PASSWORD = 'dyn-E2E-Mail-Password-7';
const CLIENT = {
  tenantId: 'contoso-e2e',
  clientId: '5a5a5a5a-1111-4a4a-9b9b-123456789abc',
  clientSecret: 'dyn~E2E.Client-Secret_0123456789ab',
};
let dovecot: DovecotFixture;
let smtp: SmtpReceiver;
let dv: FakeDynamics;
let ns: string;
let op: InProcessOperator;
const ids: { ann: string; supervisor: string; support: string; incident: string } = { ann: '', supervisor: '', support: '', incident: '' };

beforeAll(async () => {
  dovecot = await startDovecot({ users: ['ann', 'support', 'carl'].map((u) => ({ username: u, password: PASSWORD })) });
  smtp = await startSmtpReceiver({ users: [{ username: 'ann', password: PASSWORD }] });
  dv = await FakeDynamics.start({ clients: [CLIENT] });
  // Ann's mailbox is still processed by Dynamics' own server-side synchronization.
  ids.ann = dv.addUser('ann@example.com', 'Ann Example', { incomingemaildeliverymethod: 2, outgoingemaildeliverymethod: 2 });
  ids.supervisor = dv.addUser('supervisor@example.com', 'Sue Pervisor');
  ids.support = dv.addQueue('support@example.com', 'Support', { ownerUserId: ids.supervisor });
  ids.incident = dv.addIncident('Pump broken');
  dv.addUser('carl@example.com', 'Carl Approved-in-Dynamics');
  dv.addContact('customer@customer.example', 'Cora Customer');

  ns = await newNamespace(admin, 'dynamics');
  await createSecret(admin, ns, 'ca', { 'ca.crt': `${dovecot.caPem}\n${smtp.caPem}\n${dv.caPem}` });
  for (const u of ['ann', 'support', 'carl']) await createSecret(admin, ns, `${u}-mail`, { username: u, password: PASSWORD });
  await createSecret(admin, ns, 'dynamics', { clientSecret: CLIENT.clientSecret });
  await create(admin, 'deployments', ns, 'contoso', {
    crm: {
      type: 'Dynamics365',
      url: dv.orgUrl,
      oauth: { tenantId: CLIENT.tenantId, clientId: CLIENT.clientId, authorityURL: dv.authorityUrl },
      credentialsSecretRef: { name: 'dynamics' },
      caBundle: { secretRef: { name: 'ca' } },
    },
    requireApprovedUsers: false,
    requireApprovedQueues: false,
    incomingFiltering: { users: 'All', queues: 'All' },
  });
  await create(admin, 'emailserverprofiles', ns, 'imap', {
    serverType: 'IMAP',
    incoming: { server: '127.0.0.1', port: dovecot.ports.imaps, caBundle: { secretRef: { name: 'ca' } } },
    outgoing: { server: '127.0.0.1', port: smtp.port, tls: 'STARTTLS', caBundle: { secretRef: { name: 'ca' } } },
  });
  op = await startOperator(admin, ns, { outgoingPollMs: 300, pollIntervalMs: 60_000 });
  await create(admin, 'mailboxes', ns, 'ann', {
    emailAddress: 'ann@example.com',
    owner: { kind: 'User', name: 'ann' },
    deploymentRef: { name: 'contoso' },
    serverProfileRef: { name: 'imap' },
    credentialsSecretRef: { name: 'ann-mail' },
  });
  await create(admin, 'mailboxes', ns, 'support', {
    emailAddress: 'support@example.com',
    owner: { kind: 'Queue', name: 'Support' },
    deploymentRef: { name: 'contoso' },
    serverProfileRef: { name: 'imap' },
    credentialsSecretRef: { name: 'support-mail' },
    outgoing: 'None',
  });
}, 120_000);
afterAll(async () => {
  await op?.stop();
  await dovecot?.cleanup();
  await smtp?.close();
  await dv?.close();
  await closeHttpDispatchers();
});

const incomingEmails = (messageId: string) => dv.emails().filter((e) => e.directioncode === false && e.messageid === `<${messageId}>`);

test('a mailbox Dynamics still processes is not enabled and says why; after the hand-over it is, and Dynamics is told to stop', async () => {
  const blocked = await waitForCondition(admin, 'mailboxes', ns, 'ann', 'IncomingEmailReady', (c) => c.reason === 'ProcessedByDynamics');
  // Each direction is checked once its own test passed, and says what the row says of it.
  expect(condition(blocked, 'IncomingEmailReady')?.message).toMatch(
    /test passed, but Dynamics 365 still processes ann@example.com itself \(Incoming Email: Server-Side Synchronization or Email Router \(enabled\)\).*spec.crm.dynamics.handOver/,
  );
  const outgoing = await waitForCondition(admin, 'mailboxes', ns, 'ann', 'OutgoingEmailReady', (c) => c.reason === 'ProcessedByDynamics');
  expect(condition(outgoing, 'OutgoingEmailReady')?.message).toMatch(
    /\(Outgoing Email: Server-Side Synchronization or Email Router \(enabled\)\)/,
  );
  expect(condition(blocked, 'Enabled')?.status).toBe('False');
  expect(condition(blocked, 'Stalled')?.status).toBe('True');
  // The queue's row leaves processing to us: enabled at once.
  await waitForCondition(admin, 'mailboxes', ns, 'support', 'Ready', (c) => c.status === 'True');

  await mergePatchSpec(admin, 'deployments', ns, 'contoso', {
    spec: { crm: { dynamics: { handOver: { addresses: ['ann@example.com'] } } } },
  });
  await waitForCondition(admin, 'mailboxes', ns, 'ann', 'Ready', (c) => c.status === 'True', 30_000);
  expect(dv.mailbox('ann@example.com')).toMatchObject({ incomingemaildeliverymethod: 0, outgoingemaildeliverymethod: 0 });
  const events = await admin.core.listNamespacedEvent({ namespace: ns });
  expect(events.items.find((e) => e.involvedObject.name === 'ann' && e.reason === 'HandedOverFromDynamics')?.message).toMatch(
    /no longer processes ann@example.com/,
  );
}, 60_000);

test('a message to a user mailbox becomes an activity owned by that user', async () => {
  await dovecot.deliver(
    'ann',
    goodMessage(1, { to: 'ann@example.com', from: 'Cora <customer@customer.example>', messageId: 'to-ann@customer.example' }),
  );
  const [email] = await waitFor(
    'activity',
    async () => (incomingEmails('to-ann@customer.example').length ? incomingEmails('to-ann@customer.example') : undefined),
    { timeoutMs: 20_000 },
  );
  expect(email).toMatchObject({
    _ownerid_value: ids.ann,
    submittedby: 'ann@example.com',
    statuscode: 4,
    _receivingmailboxid_value: dv.mailbox('ann@example.com')!.mailboxid,
  });
  expect(dv.queueItems().filter((q) => q._objectid_value === email.activityid)).toEqual([]);
});

test("a message to a queue mailbox becomes an activity of the queue's owner, with a queue item", async () => {
  await dovecot.deliver('support', goodMessage(2, { to: 'support@example.com', messageId: 'to-support@customer.example' }));
  const [email] = await waitFor(
    'activity',
    async () => (incomingEmails('to-support@customer.example').length ? incomingEmails('to-support@customer.example') : undefined),
    { timeoutMs: 20_000 },
  );
  expect(email._ownerid_value).toBe(ids.supervisor);
  expect(dv.queueItems().filter((q) => q._objectid_value === email.activityid)).toEqual([
    expect.objectContaining({ _queueid_value: ids.support }),
  ]);
});

test('an email pending send with two attachments (one of 5 MB) arrives with both, byte for byte, and is marked sent; the reply gets its Regarding', async () => {
  const quote = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(4000, 0x51)]);
  const big = Buffer.from(Array.from({ length: 5 * 1024 * 1024 }, (_, i) => (i * 13 + (i >> 11)) % 256));
  const id = dv.addOutgoingEmail({
    fromUserId: ids.ann,
    to: ['customer@customer.example'],
    subject: 'Your quote',
    description: '<p>Please find the quote attached.</p>',
    trackingtoken: 'CRM:0001001',
    regarding: ['incidents', ids.incident],
    attachments: [
      { filename: 'quote.pdf', mimetype: 'application/pdf', content: quote },
      { filename: 'data.bin', mimetype: 'application/octet-stream', content: big },
    ],
  });
  await waitFor('sent', async () => (dv.email(id)?.statuscode === 3 ? true : undefined), { timeoutMs: 30_000 });
  const m = smtp.messages.find((x) => x.parsed.subject === 'Your quote CRM:0001001')!;
  expect(m.parsed.attachments.map((a) => a.filename)).toEqual(['quote.pdf', 'data.bin']);
  expect(m.parsed.attachments[0].content.equals(quote)).toBe(true);
  expect(m.parsed.attachments[1].content.equals(big)).toBe(true);
  const sentId = String(dv.email(id)!.messageid);
  expect(m.parsed.messageId).toBe(sentId);

  await dovecot.deliver(
    'ann',
    goodMessage(3, {
      to: 'ann@example.com',
      from: 'customer@customer.example',
      subject: 'RE: Your quote',
      inReplyTo: sentId.replace(/^<|>$/g, ''),
      messageId: 'reply@customer.example',
    }),
  );
  const [reply] = await waitFor(
    'reply',
    async () => (incomingEmails('reply@customer.example').length ? incomingEmails('reply@customer.example') : undefined),
    { timeoutMs: 20_000 },
  );
  expect(reply).toMatchObject({ _parentactivityid_value: id, _regardingobjectid_value: ids.incident });

  // A reply that kept only the tracking token in its subject (no threading headers) resolves too.
  await dovecot.deliver(
    'ann',
    goodMessage(4, {
      to: 'ann@example.com',
      from: 'customer@customer.example',
      subject: 'Fwd: RE: Your quote CRM:0001001',
      messageId: 'token-only@customer.example',
    }),
  );
  const [byToken] = await waitFor(
    'token reply',
    async () => (incomingEmails('token-only@customer.example').length ? incomingEmails('token-only@customer.example') : undefined),
    { timeoutMs: 20_000 },
  );
  expect(byToken).toMatchObject({ _parentactivityid_value: id, _regardingobjectid_value: ids.incident, trackingtoken: 'CRM:0001001' });
}, 90_000);

test('an attachment that cannot be fetched: the email is not sent nor marked sent, is retried, then fails with a reason', async () => {
  const id = dv.addOutgoingEmail({
    fromUserId: ids.ann,
    to: ['customer@customer.example'],
    subject: 'Broken attachment',
    attachments: [{ filename: 'gone.pdf', mimetype: 'application/pdf', content: Buffer.from('%PDF-gone') }],
  });
  dv.failRequests((r) => r.path.includes('activitymimeattachments('), 503, 1000);
  await waitFor('failed', async () => (dv.email(id)?.statuscode === 8 ? true : undefined), { timeoutMs: 30_000 });
  const attempts = dv.requests.filter((r) => r.path.includes('activitymimeattachments(') && r.inBatch).length;
  expect(attempts).toBeGreaterThanOrEqual(3);
  expect(smtp.messages.filter((x) => x.parsed.subject?.startsWith('Broken attachment'))).toEqual([]);
  const mbx = await waitFor('reported', async () => {
    const o = await get(admin, 'mailboxes', ns, 'ann');
    return o.status?.recentFailures?.some((f: { reason: string }) => f.reason === 'AttachmentUnavailable') ? o : undefined;
  });
  expect(condition(mbx, 'OutgoingEmailReady')?.status).toBe('True');
}, 60_000);

test("approved in Dynamics (Approve Email): recorded as Approved, enabled; Dynamics' Mailboxes view shows the test results", async () => {
  const crm = (await get(admin, 'deployments', ns, 'contoso')).spec.crm;
  await create(admin, 'deployments', ns, 'approving', {
    crm: { ...crm, dynamics: { approvalSource: 'DynamicsOrKubernetes', statusMirror: true } },
    incomingFiltering: { users: 'All' },
  });
  await create(admin, 'mailboxes', ns, 'carl', {
    emailAddress: 'carl@example.com',
    owner: { kind: 'User', name: 'carl' },
    deploymentRef: { name: 'approving' },
    serverProfileRef: { name: 'imap' },
    credentialsSecretRef: { name: 'carl-mail' },
    outgoing: 'None',
  });
  await waitForCondition(admin, 'mailboxes', ns, 'carl', 'Enabled', (c) => c.reason === 'AwaitingApproval');
  await op.mirror.flush();
  expect(condition(await get(admin, 'mailboxes', ns, 'carl'), 'Approved')).toBeUndefined(); // Pending Approval in Dynamics too

  dv.setMailbox('carl@example.com', { emailrouteraccessapproval: 1 });
  const approved = await waitForCondition(admin, 'mailboxes', ns, 'carl', 'Approved', (c) => c.status === 'True', 20_000);
  expect(condition(approved, 'Approved')?.reason).toBe('ApprovedInDynamics');
  expect(approved.status.emailAddress).toBe('carl@example.com');
  await waitForCondition(admin, 'mailboxes', ns, 'carl', 'Ready', (c) => c.status === 'True', 30_000);
  // The mirror writes the results into the Dataverse mailbox row.
  await waitFor('mirrored', async () => (dv.mailbox('carl@example.com')?.incomingemailstatus === 1 ? true : undefined), {
    timeoutMs: 20_000,
  });
  expect(dv.mailbox('carl@example.com')).toMatchObject({
    incomingemailstatus: 1,
    outgoingemailstatus: 0,
    testmailboxaccesscompletedon: expect.any(String),
  });
  // A Deployment without the mirror leaves its rows alone.
  expect(dv.mailbox('support@example.com')).toMatchObject({ incomingemailstatus: 0 });
}, 90_000);

test('nothing was created twice, and no secret is visible', async () => {
  const incoming = dv.emails().filter((e) => e.directioncode === false);
  expect(new Set(incoming.map((e) => `${String(e.messageid)}|${String(e.submittedby)}`)).size).toBe(incoming.length);
  const text = await visibleText(admin, ns);
  for (const s of [PASSWORD, CLIENT.clientSecret]) expect(text).not.toContain(s);
});
