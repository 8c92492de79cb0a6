// Test and Enable for Exchange: on-premises Exchange over EWS and Exchange Online over Microsoft
// Graph, against the wire-format fakes (no real Exchange can run here), through the controllers.

import type { Manager } from '../../../src/controllers/manager.js';
import { FakeEws } from '../../support/fake-ews.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeOAuth } from '../../support/fake-oauth.js';
import { clientsAs, condition, create, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret, visibleText } from '../../support/mail-env.js';
import { startManager } from '../../support/operator.js';

const admin = clientsAs('admin');
const APP = { tenantId: 'contoso-tenant', clientId: 'mailsync-app', clientSecret: 'graph-Client-Secret-42' };
const SVC = { username: 'CONTOSO\\svc-crm', password: 'svc-Ews-Password-7', canImpersonate: true };
let oauth: FakeOAuth;
let graph: FakeGraph;
let ews: FakeEws;
let ns: string;
let manager: Manager;

const mailbox = (address: string, profile: string, extra: object = {}) => ({
  emailAddress: address,
  owner: { kind: 'User', name: address },
  deploymentRef: { name: 'crm' },
  serverProfileRef: { name: profile },
  ...extra,
});

beforeAll(async () => {
  oauth = await FakeOAuth.start({ clients: [APP] });
  graph = await FakeGraph.start(oauth, ['ann@contoso.example']);
  ews = await FakeEws.start({ accounts: [SVC], mailboxes: ['bob@contoso.example', 'cat@contoso.example'] });
  ns = await newNamespace(admin, 'exchange');
  await createSecret(admin, ns, 'ca', { 'ca.crt': [oauth.caPem, graph.caPem, ews.caPem].join('\n') });
  await createSecret(admin, ns, 'graph-app', { clientSecret: APP.clientSecret });
  await createSecret(admin, ns, 'ews-svc', { username: SVC.username, password: SVC.password });
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: 'https://crm.example.com/hook' },
    requireApprovedUsers: false,
  });
  await create(admin, 'emailserverprofiles', ns, 'online', {
    serverType: 'ExchangeOnline',
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
    incoming: {
      url: ews.ewsUrl,
      credentials: { source: 'Profile', secretRef: { name: 'ews-svc' }, impersonation: true },
      caBundle: { secretRef: { name: 'ca' } },
    },
    appointmentsContactsTasks: { enabled: true },
  });
  manager = await startManager(admin, ns);
});
afterAll(async () => {
  await manager?.stop();
  await Promise.all([graph?.close(), ews?.close(), oauth?.close()]);
});

test('Exchange Online over Graph with client credentials: incoming and outgoing pass', async () => {
  await create(admin, 'mailboxes', ns, 'ann', mailbox('ann@contoso.example', 'online'));
  const o = await waitForCondition(admin, 'mailboxes', ns, 'ann', 'Ready', (c) => c.status === 'True');
  expect(condition(o, 'IncomingEmailReady')?.message).toMatch(/Graph server/);
  expect(oauth.requests).toBeGreaterThan(0);
});

test('Exchange Server over EWS with impersonation, including appointments, contacts and tasks', async () => {
  await create(admin, 'mailboxes', ns, 'bob', mailbox('bob@contoso.example', 'onprem', { appointmentsContactsTasks: 'ServerSideSync' }));
  const o = await waitForCondition(admin, 'mailboxes', ns, 'bob', 'Ready', (c) => c.status === 'True');
  expect(condition(o, 'AppointmentsContactsTasksReady')).toMatchObject({ status: 'True', reason: 'Succeeded' });
  expect(condition(o, 'AppointmentsContactsTasksReady')?.message).toMatch(
    /^opened the calendar, contacts and tasks of bob@contoso.example on https:\/\/\S+$/,
  );
  expect(ews.requests.some((r) => r.mailbox === 'bob@contoso.example' && r.principal === SVC.username)).toBe(true);
});

test('an unknown Exchange mailbox is MailboxNotFound, a permanent failure', async () => {
  await create(admin, 'mailboxes', ns, 'ghost', mailbox('ghost@contoso.example', 'onprem'));
  const o = await waitForCondition(admin, 'mailboxes', ns, 'ghost', 'IncomingEmailReady', (c) => c.reason === 'MailboxNotFound');
  expect(condition(o, 'Stalled')?.status).toBe('True');
});

test('EWS throttling (BackOffMilliseconds) is retried after the back-off the server asked for', async () => {
  ews.throttleNext(2, 1500);
  const started = Date.now();
  await create(admin, 'mailboxes', ns, 'cat', mailbox('cat@contoso.example', 'onprem'));
  await waitForCondition(admin, 'mailboxes', ns, 'cat', 'IncomingEmailReady', (c) => c.reason === 'Throttled');
  await waitForCondition(admin, 'mailboxes', ns, 'cat', 'Ready', (c) => c.status === 'True', 30_000);
  expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
});

test('no secret appears in any Event or status', async () => {
  const text = await visibleText(admin, ns);
  expect(text).not.toContain(APP.clientSecret);
  expect(text).not.toContain(SVC.password);
});
