// Change notifications wake ACT, through the operator (controllers and a sync worker, real API
// server), the webhook CRM: Microsoft Graph subscriptions on events and contacts (To Do refused:
// tasks polled) and EWS streaming subscriptions on the calendar, contacts and tasks folders. ACT's
// interval is 10 minutes here (the Deployment's, and fixed by the worker so no busy cycle shortens
// it): an Outlook edit that reaches the CRM within the test's timeout was brought by a notification.

import { waitFor } from '../../../dev/processes.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { FakeCrmAct } from '../../support/fake-crm-webhook-act.js';
import { FakeEws } from '../../support/fake-ews.js';
import { FakeEwsAct } from '../../support/fake-ews-act.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeGraphAct } from '../../support/fake-graph-act.js';
import { FakeOAuth } from '../../support/fake-oauth.js';
import { clientsAs, create, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';

const admin = clientsAs('admin');
const APP = { tenantId: 'contoso-tenant', clientId: 'mailsync-actnotify-app', clientSecret: 'graph-ActNotify-Secret-31' };
const SVC = { username: 'CONTOSO\\svc-actnotify', password: 'svc-ActNotify-Password-5', canImpersonate: true };
const CRM = { token: 'actnotify-Crm-Token-0001', signingKey: 'actnotify-Signing-Key-002' };
const ANN = 'ann@contoso.example';
const TIA = 'tia@contoso.example';
const EVE = 'eve@contoso.example';
const HOUR = 3_600_000;
const INTERVAL_MS = 10 * 60_000;
/** Well within the interval: what arrives before this was not polled. */
const WITHIN = { timeoutMs: 30_000 };
const at = (h: number) => new Date(Date.now() + h * HOUR).toISOString().replace(/\.\d{3}Z$/, 'Z');

let oauth: FakeOAuth;
let graph: FakeGraph;
let cal: FakeGraphAct;
let ews: FakeEws;
let ex: FakeEwsAct;
let crm: FakeCrmWebhook;
let act: FakeCrmAct;
const operators: InProcessOperator[] = [];

async function namespaceWith(prefix: string, profile: object, ca: string): Promise<string> {
  const ns = await newNamespace(admin, prefix);
  await createSecret(admin, ns, 'ca', { 'ca.crt': ca });
  await createSecret(admin, ns, 'graph-app', { clientSecret: APP.clientSecret });
  await createSecret(admin, ns, 'ews-svc', { username: SVC.username, password: SVC.password });
  await createSecret(admin, ns, 'crm', CRM);
  await create(admin, 'deployments', ns, 'contoso', {
    crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    defaults: { incoming: 'None', outgoing: 'None', appointmentsContactsTasks: 'ServerSideSync' },
    appointmentsContactsTasks: { interval: '10m', trackingCategory: 'Tracked to Contoso' },
  });
  await create(admin, 'emailserverprofiles', ns, 'exchange', { ...profile, appointmentsContactsTasks: { enabled: true } });
  operators.push(await startOperator(admin, ns, { graphEndpoint: true, parts: { actIntervalMs: INTERVAL_MS } }));
  return ns;
}

async function mailboxFor(ns: string, address: string): Promise<void> {
  await create(admin, 'mailboxes', ns, address.split('@')[0], {
    emailAddress: address,
    owner: { kind: 'User', name: address },
    deploymentRef: { name: 'contoso' },
    serverProfileRef: { name: 'exchange' },
  });
  await waitForCondition(admin, 'mailboxes', ns, address.split('@')[0], 'AppointmentsContactsTasksReady', (c) => c.status === 'True');
}

let graphNs: string;
let ewsNs: string;

beforeAll(async () => {
  oauth = await FakeOAuth.start({ clients: [APP] });
  graph = await FakeGraph.start(oauth, [ANN, TIA]);
  cal = FakeGraphAct.attach(graph);
  ews = await FakeEws.start({ accounts: [SVC], mailboxes: [EVE] });
  ex = FakeEwsAct.attach(ews);
  crm = await FakeCrmWebhook.start(CRM);
  act = FakeCrmAct.attach(crm);
  // Graph refuses subscriptions on To Do here: tasks are polled, the other kinds still notify.
  graph.subscriptions.refused.push(/^todo\//);
  graphNs = await namespaceWith(
    'actnotg',
    {
      serverType: 'ExchangeOnline',
      incoming: {
        url: graph.baseUrl,
        authentication: 'OAuth2',
        oauth: { tenantId: APP.tenantId, clientId: APP.clientId, authorityURL: oauth.authorityUrl },
        credentials: { source: 'Profile', secretRef: { name: 'graph-app' } },
        caBundle: { secretRef: { name: 'ca' } },
      },
    },
    [oauth.caPem, graph.caPem].join('\n'),
  );
  ewsNs = await namespaceWith(
    'actnote',
    {
      serverType: 'ExchangeServer',
      incoming: {
        url: ews.ewsUrl,
        credentials: { source: 'Profile', secretRef: { name: 'ews-svc' }, impersonation: true },
        caBundle: { secretRef: { name: 'ca' } },
      },
    },
    ews.caPem,
  );
});

afterAll(async () => {
  for (const op of operators) await op.stop();
  await Promise.all([graph?.close(), oauth?.close(), ews?.close(), crm?.close()]);
});

const delivered = (resource: string, after: number) =>
  graph.subscriptions.posted.slice(after).filter((p) => p.kind === 'change' && p.resource === resource && p.status === 202).length;

test('Graph: an Outlook edit of a synced appointment and of a contact reach the CRM at once, woken by change notifications', async () => {
  const appointment = act.add('appointment', {
    owner: ANN,
    fields: { subject: 'notified', start: at(24), end: at(25), organizer: ANN, showAs: 'busy', importance: 'normal', isAllDay: false },
  });
  const contact = act.add('contact', { owner: ANN, fields: { givenName: 'Nia', surname: 'Notified' } });
  await mailboxFor(graphNs, ANN);
  const ev = await waitFor('event in Exchange', async () => cal.events(ANN).find((e) => e.data.subject === 'notified'), WITHIN);
  const ct = await waitFor('contact in Exchange', async () => cal.contacts(ANN).find((c) => c.data.surname === 'Notified'), WITHIN);
  // One subscription per kind synchronized; To Do's was refused (tasks are polled), not given up.
  await waitFor('subscriptions on events and contacts', async () => (graph.subscriptions.of(ANN) === 2 ? true : undefined), WITHIN);
  const resources = graph.subscriptions.creations.filter((c) => c.mailbox === ANN).map((c) => c.resource);
  expect(resources).toEqual(expect.arrayContaining(['events', 'contacts', 'todo/lists/AAMkTaskList0001=/tasks']));
  expect(graph.subscriptions.creations.find((c) => c.resource.startsWith('todo/'))?.validated).toBe(false);

  const before = graph.subscriptions.posted.length;
  const editedAt = Date.now();
  cal.edit(ANN, 'events', ev.id, { location: { displayName: 'Room 12' } });
  await waitFor('location in the CRM', async () => (act.get(appointment).fields.location === 'Room 12' ? true : undefined), WITHIN);
  expect(delivered('events', before)).toBeGreaterThan(0);
  expect(Date.now() - editedAt).toBeLessThan(INTERVAL_MS); // no poll interval elapsed

  const beforeContact = graph.subscriptions.posted.length;
  cal.edit(ANN, 'contacts', ct.id, { jobTitle: 'Buyer' });
  await waitFor('job title in the CRM', async () => (act.get(contact).fields.jobTitle === 'Buyer' ? true : undefined), WITHIN);
  expect(delivered('contacts', beforeContact)).toBeGreaterThan(0);
});

test('Graph: where To Do accepts subscriptions, a task edit in To Do reaches the CRM at once', async () => {
  graph.subscriptions.refused.length = 0;
  const task = act.add('task', { owner: TIA, fields: { subject: 'call back', dueDate: '2027-01-15', status: 'notStarted' } });
  await mailboxFor(graphNs, TIA);
  const t = await waitFor('task in To Do', async () => cal.tasks(TIA).find((x) => x.data.title === 'call back'), WITHIN);
  await waitFor('subscriptions on all three kinds', async () => (graph.subscriptions.of(TIA) === 3 ? true : undefined), WITHIN);
  const before = graph.subscriptions.posted.length;
  cal.edit(TIA, 'tasks', t.id, { title: 'call back today' });
  await waitFor('title in the CRM', async () => (act.get(task).fields.subject === 'call back today' ? true : undefined), WITHIN);
  expect(delivered('todo/lists/AAMkTaskList0001=/tasks', before)).toBeGreaterThan(0);
});

test('EWS: an Outlook edit of a synced appointment and of a contact reach the CRM at once, woken by streaming notifications', async () => {
  const appointment = act.add('appointment', {
    owner: EVE,
    fields: { subject: 'streamed', start: at(24), end: at(25), organizer: EVE, showAs: 'busy', importance: 'normal', isAllDay: false },
  });
  const contact = act.add('contact', { owner: EVE, fields: { givenName: 'Sol', surname: 'Streamed' } });
  await mailboxFor(ewsNs, EVE);
  const item = await waitFor('appointment in Exchange', async () => ex.items(EVE).find((i) => i.fields.Subject === 'streamed'), WITHIN);
  const c = await waitFor(
    'contact in Exchange',
    async () => ex.items(EVE, 'contacts').find((i) => i.fields.Surname === 'Streamed'),
    WITHIN,
  );
  // The ACT folders have a subscription of their own (the Inbox's would be another one).
  await waitFor(
    'a subscription on the ACT folders',
    async () => ews.notifications.subscribes.find((s) => s.mailbox === EVE && s.folders.includes('calendar')),
    WITHIN,
  );
  expect(ews.notifications.subscribes.find((s) => s.mailbox === EVE)?.folders).toEqual(['calendar', 'contacts', 'tasks']);
  await waitFor('the streaming connection', async () => (ews.notifications.openConnections > 0 ? true : undefined), WITHIN);

  const queued = (folder: string, after: number) => ews.notifications.queued.slice(after).filter((q) => q.folder === folder).length;
  const before = ews.notifications.queued.length;
  const editedAt = Date.now();
  ex.edit(EVE, item.id, { Location: 'Room 12' });
  await waitFor('location in the CRM', async () => (act.get(appointment).fields.location === 'Room 12' ? true : undefined), WITHIN);
  expect(queued('calendar', before)).toBeGreaterThan(0);
  expect(Date.now() - editedAt).toBeLessThan(INTERVAL_MS);

  const beforeContact = ews.notifications.queued.length;
  ex.edit(EVE, c.id, { JobTitle: 'Buyer' });
  await waitFor('job title in the CRM', async () => (act.get(contact).fields.jobTitle === 'Buyer' ? true : undefined), WITHIN);
  expect(queued('contacts', beforeContact)).toBeGreaterThan(0);
});

test('without notifications the same edit waits for the interval (the test above is not explained by polling)', async () => {
  // The Graph mailbox's subscriptions go away and nothing notifies: an edit stays in Outlook.
  const ev = cal.events(ANN).find((e) => e.data.subject === 'notified')!;
  graph.subscriptions.dropNext = 1_000;
  try {
    cal.edit(ANN, 'events', ev.id, { location: { displayName: 'Room 99' } });
    await new Promise((r) => setTimeout(r, 5000));
    const appointment = act.live('appointment').find((r) => r.fields.subject === 'notified')!;
    expect(appointment.fields.location).toBe('Room 12');
  } finally {
    graph.subscriptions.dropNext = 0;
  }
});
