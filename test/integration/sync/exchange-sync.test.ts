// Incoming and outgoing sync over Exchange: EWS SyncFolderItems (on-premises) and Graph delta
// queries (Exchange Online), against the wire-format fakes, into the webhook CRM.

import { waitFor } from '../../../dev/processes.js';
import { goodMessage, malformedCorpus } from '../../support/corpus.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { FakeEws } from '../../support/fake-ews.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeOAuth } from '../../support/fake-oauth.js';
import { clientsAs, condition, create, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';

const admin = clientsAs('admin');
const APP = { tenantId: 'contoso-tenant', clientId: 'mailsync-app', clientSecret: 'graph-Client-Secret-42' };
const SVC = { username: 'CONTOSO\\svc-crm', password: 'svc-Ews-Password-7', canImpersonate: true };
const CRM = { token: 'exchange-Crm-Token-0001', signingKey: 'exchange-Signing-Key-0002' };
let oauth: FakeOAuth;
let graph: FakeGraph;
let ews: FakeEws;
let ews2010: FakeEws;
let crm: FakeCrmWebhook;
let op: InProcessOperator;
let ns: string;

beforeAll(async () => {
  oauth = await FakeOAuth.start({ clients: [APP] });
  graph = await FakeGraph.start(oauth, ['ann@contoso.example', 'sales@contoso.example']);
  ews = await FakeEws.start({ accounts: [SVC], mailboxes: ['bob@contoso.example'], release: 'Exchange2019' });
  ews2010 = await FakeEws.start({ accounts: [SVC], mailboxes: ['carl@contoso.example'], release: 'Exchange2010_SP2' });
  crm = await FakeCrmWebhook.start(CRM);
  ns = await newNamespace(admin, 'exsync');
  await createSecret(admin, ns, 'ca', { 'ca.crt': [oauth.caPem, graph.caPem, ews.caPem, ews2010.caPem].join('\n') });
  await createSecret(admin, ns, 'graph-app', { clientSecret: APP.clientSecret });
  await createSecret(admin, ns, 'ews-svc', { username: SVC.username, password: SVC.password });
  await createSecret(admin, ns, 'crm', CRM);
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    requireApprovedQueues: false,
    incomingFiltering: { users: 'All' },
  });
  await create(admin, 'emailserverprofiles', ns, 'online', {
    serverType: 'ExchangeOnline',
    moveFailedToUndeliverable: true,
    incoming: {
      url: graph.baseUrl,
      authentication: 'OAuth2',
      oauth: { tenantId: APP.tenantId, clientId: APP.clientId, authorityURL: oauth.authorityUrl },
      credentials: { source: 'Profile', secretRef: { name: 'graph-app' } },
      caBundle: { secretRef: { name: 'ca' } },
    },
  });
  await create(admin, 'emailserverprofiles', ns, 'onprem', {
    serverType: 'ExchangeServer',
    moveFailedToUndeliverable: true,
    incoming: {
      url: ews.ewsUrl,
      credentials: { source: 'Profile', secretRef: { name: 'ews-svc' }, impersonation: true },
      caBundle: { secretRef: { name: 'ca' } },
    },
  });
  await create(admin, 'emailserverprofiles', ns, 'onprem2010', {
    serverType: 'ExchangeServer',
    incoming: {
      url: ews2010.ewsUrl,
      credentials: { source: 'Profile', secretRef: { name: 'ews-svc' }, impersonation: true },
      caBundle: { secretRef: { name: 'ca' } },
    },
  });
  op = await startOperator(admin, ns, { pollIntervalMs: 500, outgoingPollMs: 500 });
  const mbx = (address: string, profile: string) => ({
    emailAddress: address,
    owner: { kind: 'User', name: address },
    deploymentRef: { name: 'crm' },
    serverProfileRef: { name: profile },
  });
  await create(admin, 'mailboxes', ns, 'ann', mbx('ann@contoso.example', 'online'));
  await create(admin, 'mailboxes', ns, 'bob', mbx('bob@contoso.example', 'onprem'));
  await waitForCondition(admin, 'mailboxes', ns, 'ann', 'Ready', (c) => c.status === 'True');
  await create(admin, 'mailboxes', ns, 'carl', mbx('carl@contoso.example', 'onprem2010'));
  await create(admin, 'mailboxes', ns, 'sales', {
    ...mbx('sales@contoso.example', 'online'),
    owner: { kind: 'Queue', name: 'sales' },
    deleteAfterProcessing: true,
  });
  await waitForCondition(admin, 'mailboxes', ns, 'bob', 'Ready', (c) => c.status === 'True');
  await waitForCondition(admin, 'mailboxes', ns, 'carl', 'Ready', (c) => c.status === 'True');
});
afterAll(async () => {
  await op?.stop();
  await Promise.all([graph?.close(), ews?.close(), ews2010?.close(), oauth?.close(), crm?.close()]);
});

const delivered = (id: string) => crm.activities().filter((a) => a.messageId === id).length;

test('Graph delta: messages reach the CRM once, including those that arrive later', async () => {
  graph.addMessage('ann@contoso.example', goodMessage(1, { messageId: 'graph-1@customer.example' }));
  await waitFor('first', async () => (delivered('graph-1@customer.example') ? true : undefined), { timeoutMs: 20_000 });
  graph.addMessage('ann@contoso.example', goodMessage(2, { messageId: 'graph-2@customer.example' }));
  await waitFor('second', async () => (delivered('graph-2@customer.example') ? true : undefined), { timeoutMs: 20_000 });
  await new Promise((r) => setTimeout(r, 1500));
  expect(delivered('graph-1@customer.example')).toBe(1);
  expect(crm.stats().duplicates).toBe(0);
});

test('EWS SyncFolderItems with impersonation: messages reach the CRM once', async () => {
  ews.addMessage('bob@contoso.example', goodMessage(3, { messageId: 'ews-3@customer.example' }));
  await waitFor('ews', async () => (delivered('ews-3@customer.example') ? true : undefined), { timeoutMs: 20_000 });
  ews.addMessage('bob@contoso.example', goodMessage(4, { messageId: 'ews-4@customer.example' }));
  await waitFor('ews 2', async () => (delivered('ews-4@customer.example') ? true : undefined), { timeoutMs: 20_000 });
  expect(delivered('ews-3@customer.example')).toBe(1);
});

test('Exchange 2010 SP2 and 2019: Test and Enable detects the version, and sync works on both', async () => {
  const bob = await waitForCondition(admin, 'mailboxes', ns, 'bob', 'IncomingEmailReady', (c) => c.status === 'True');
  const carl = await waitForCondition(admin, 'mailboxes', ns, 'carl', 'IncomingEmailReady', (c) => c.status === 'True');
  expect(condition(bob, 'IncomingEmailReady')?.message).toContain('(Exchange 2019, detected)');
  expect(condition(carl, 'IncomingEmailReady')?.message).toContain('(Exchange 2010 SP2, detected)');
  ews2010.addMessage('carl@contoso.example', goodMessage(5, { messageId: 'ews2010-5@customer.example' }));
  await waitFor('ews 2010', async () => (delivered('ews2010-5@customer.example') ? true : undefined), { timeoutMs: 20_000 });
  const c = crm.addPendingEmail('carl@contoso.example', {
    from: { address: 'carl@contoso.example' },
    to: [{ address: 'c@customer.example' }],
    cc: [],
    bcc: [],
    subject: 'via EWS 2010',
    textBody: 'hi',
  });
  await waitFor('sent via 2010', async () => (crm.outgoing(c)?.status === 'sent' ? true : undefined), { timeoutMs: 20_000 });
  // Requests after the first are written for the server's version; none is refused.
  expect(new Set(ews2010.requests.map((r) => r.version))).toEqual(new Set(['Exchange2010', 'Exchange2010_SP2']));
  expect(ews.requests.some((r) => r.version === 'Exchange2016')).toBe(true);
});

test('moveFailedToUndeliverable on EWS and Graph: a message that cannot be processed goes to the Undeliverable folder', async () => {
  const [bad] = malformedCorpus();
  graph.addMessage('ann@contoso.example', bad.raw);
  ews.addMessage('bob@contoso.example', bad.raw);
  graph.addMessage('ann@contoso.example', goodMessage(6, { messageId: 'graph-6@customer.example' }));
  ews.addMessage('bob@contoso.example', goodMessage(7, { messageId: 'ews-7@customer.example' }));
  await waitFor(
    'moved',
    async () =>
      graph.inFolder('ann@contoso.example', 'Undeliverable').length && ews.inFolder('bob@contoso.example', 'Undeliverable').length
        ? true
        : undefined,
    { timeoutMs: 20_000 },
  );
  for (const moved of [graph.inFolder('ann@contoso.example', 'Undeliverable'), ews.inFolder('bob@contoso.example', 'Undeliverable')])
    expect(moved).toEqual([bad.raw]);
  await waitFor(
    'the good ones',
    async () => (delivered('graph-6@customer.example') && delivered('ews-7@customer.example') ? true : undefined),
    { timeoutMs: 20_000 },
  );
});

test('deleteAfterProcessing on a queue mailbox over Graph: delivered messages go to Deleted Items', async () => {
  graph.addMessage('sales@contoso.example', goodMessage(8, { messageId: 'sales-8@customer.example' }));
  await waitFor('delivered', async () => (delivered('sales-8@customer.example') ? true : undefined), { timeoutMs: 20_000 });
  await waitFor('deleted', async () => (graph.inFolder('sales@contoso.example', 'deleteditems').length === 1 ? true : undefined), {
    timeoutMs: 10_000,
  });
  expect(graph.inFolder('sales@contoso.example', 'inbox')).toEqual([]);
});

test('outgoing through Graph and EWS: pending CRM emails are sent and marked sent', async () => {
  const a = crm.addPendingEmail('ann@contoso.example', {
    from: { address: 'ann@contoso.example' },
    to: [{ address: 'c@customer.example' }],
    cc: [],
    bcc: [],
    subject: 'via Graph',
    textBody: 'hi',
  });
  const b = crm.addPendingEmail('bob@contoso.example', {
    from: { address: 'bob@contoso.example' },
    to: [{ address: 'c@customer.example' }],
    cc: [],
    bcc: [],
    subject: 'via EWS',
    textBody: 'hi',
  });
  await waitFor('sent', async () => (crm.outgoing(a)?.status === 'sent' && crm.outgoing(b)?.status === 'sent' ? true : undefined), {
    timeoutMs: 20_000,
  });
  // Sent in MIME format, so the Message-ID the CRM recorded is the one the recipient sees.
  const viaGraph = graph.sent.find((m) => m.message.subject === 'via Graph');
  expect(viaGraph?.mime?.messageId).toBe(`<${crm.outgoing(a)?.sentMessageId}>`);
  expect(ews.sent.some((m) => m.subject === 'via EWS')).toBe(true);
});
