// Appointments and contacts through the operator (controllers and a sync worker, real API server),
// Exchange Online over the Graph fake, the webhook CRM: what a user gets after turning ACT on.

import { waitFor } from '../../../dev/processes.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { FakeCrmAct } from '../../support/fake-crm-webhook-act.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeGraphAct } from '../../support/fake-graph-act.js';
import { FakeOAuth } from '../../support/fake-oauth.js';
import { clientsAs, condition, create, get, mergePatchSpec, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret, visibleText } from '../../support/mail-env.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';

const admin = clientsAs('admin');
const APP = { tenantId: 'contoso-tenant', clientId: 'mailsync-app', clientSecret: 'graph-Client-Secret-42' };
const CRM = { token: 'opact-Crm-Token-00000001', signingKey: 'opact-Signing-Key-0000002' };
const ANN = 'ann@contoso.example';
const HOUR = 3_600_000;
let oauth: FakeOAuth;
let graph: FakeGraph;
let cal: FakeGraphAct;
let crm: FakeCrmWebhook;
let act: FakeCrmAct;
let op: InProcessOperator;
let ns: string;

const at = (h: number) => new Date(Date.now() + h * HOUR).toISOString().replace(/\.\d{3}Z$/, 'Z');

beforeAll(async () => {
  oauth = await FakeOAuth.start({ clients: [APP] });
  graph = await FakeGraph.start(oauth, [ANN, 'bob@contoso.example']);
  cal = FakeGraphAct.attach(graph);
  crm = await FakeCrmWebhook.start(CRM);
  act = FakeCrmAct.attach(crm);
  ns = await newNamespace(admin, 'actop');
  await createSecret(admin, ns, 'ca', { 'ca.crt': [oauth.caPem, graph.caPem].join('\n') });
  await createSecret(admin, ns, 'graph-app', { clientSecret: APP.clientSecret });
  await createSecret(admin, ns, 'crm', CRM);
  const deployment = (extra: object = {}) => ({
    crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    defaults: { incoming: 'None', outgoing: 'None', appointmentsContactsTasks: 'ServerSideSync' },
    appointmentsContactsTasks: { interval: '1s', trackingCategory: 'Tracked to Contoso', ...extra },
  });
  await create(admin, 'deployments', ns, 'contoso', deployment());
  await create(admin, 'deployments', ns, 'fabrikam', deployment());
  await create(admin, 'emailserverprofiles', ns, 'online', {
    serverType: 'ExchangeOnline',
    incoming: {
      url: graph.baseUrl,
      authentication: 'OAuth2',
      oauth: { tenantId: APP.tenantId, clientId: APP.clientId, authorityURL: oauth.authorityUrl },
      credentials: { source: 'Profile', secretRef: { name: 'graph-app' } },
      caBundle: { secretRef: { name: 'ca' } },
    },
    appointmentsContactsTasks: { enabled: true },
  });
  op = await startOperator(admin, ns);
});
afterAll(async () => {
  await op?.stop();
  await Promise.all([graph?.close(), oauth?.close(), crm?.close()]);
});

/** A Mailbox that syncs no mail, only appointments, contacts and tasks: it claims no address for mail. */
const ACT_ONLY = { incoming: 'None', outgoing: 'None' };
const mailbox = (address: string, deployment: string, extra: object = {}) => ({
  emailAddress: address,
  owner: { kind: 'User', name: address },
  deploymentRef: { name: deployment },
  serverProfileRef: { name: 'online' },
  ...extra,
});

test('ACT on: Test and Enable says what it checked, appointments flow both ways, status counts them', async () => {
  const id = act.add('appointment', {
    owner: ANN,
    fields: {
      subject: 'kick-off',
      start: at(24),
      end: at(25),
      organizer: ANN,
      requiredAttendees: [{ address: 'cust@customer.example' }],
      showAs: 'busy',
      importance: 'normal',
      isAllDay: false,
    },
  });
  await create(admin, 'mailboxes', ns, 'ann', mailbox(ANN, 'contoso'));
  const o = await waitForCondition(admin, 'mailboxes', ns, 'ann', 'Ready', (c) => c.status === 'True');
  expect(condition(o, 'AppointmentsContactsTasksReady')).toMatchObject({ status: 'True', reason: 'Succeeded' });
  expect(condition(o, 'AppointmentsContactsTasksReady')?.message).toMatch(/opened the calendar, contacts and tasks of ann@contoso.example/);
  expect(condition(o, 'Enabled')?.message).toMatch(/appointments, contacts and tasks/);

  const ev = await waitFor('event in Exchange', async () => cal.events(ANN).find((e) => e.data.subject === 'kick-off'), {
    timeoutMs: 30_000,
  });
  expect(cal.notices).toEqual([]); // the first sync invites nobody
  cal.edit(ANN, 'events', ev.id, { location: { displayName: 'Room 7' } });
  await waitFor('location in the CRM', async () => (act.get(id).fields.location === 'Room 7' ? true : undefined), { timeoutMs: 30_000 });
  const s = await waitFor(
    'status counts',
    async () => {
      const m = await get(admin, 'mailboxes', ns, 'ann');
      return m.status?.act?.appointments?.updated >= 1 && m.status?.sync?.appointmentsContactsTasks?.lastSyncTime ? m.status : undefined;
    },
    { timeoutMs: 30_000 },
  );
  expect(s.act.appointments.created).toBe(1);
  expect(s.sync.appointmentsContactsTasks.nextSyncTime).toBeDefined();
  const metrics = await op.metrics.registry.getSingleMetricAsString('mailsync_act_items_total');
  expect(metrics).toMatch(/kind="appointment"/);
});

test('a second Deployment claiming ACT for the same address does not write; its condition says why; takeOver moves it', async () => {
  const before = cal.events(ANN).length;
  act.add('appointment', {
    owner: ANN,
    fields: { subject: 'fabrikam only', start: at(30), end: at(31), organizer: ANN, showAs: 'busy', importance: 'normal', isAllDay: false },
  });
  // One Mailbox per address syncs mail (AddressInUse): the second organization's is for ACT only.
  await create(admin, 'mailboxes', ns, 'ann-fabrikam', mailbox(ANN, 'fabrikam', ACT_ONLY));
  const o = await waitForCondition(
    admin,
    'mailboxes',
    ns,
    'ann-fabrikam',
    'AppointmentsContactsTasksReady',
    (c) => c.reason === 'ClaimedByAnotherOrganization',
    30_000,
  );
  expect(condition(o, 'AppointmentsContactsTasksReady')?.message).toMatch(/Deployment .*\/contoso/);
  expect(condition(o, 'AppointmentsContactsTasksReady')?.message).toMatch(/spec\.act\.takeOver/);
  // The records of both CRMs are the same fake here: contoso (the holder) syncs the new one, once.
  await waitFor(
    'one copy',
    async () => (cal.events(ANN).filter((e) => e.data.subject === 'fabrikam only').length === 1 ? true : undefined),
    { timeoutMs: 30_000 },
  );
  expect(cal.events(ANN).length).toBe(before + 1);

  await mergePatchSpec(admin, 'mailboxes', ns, 'ann-fabrikam', { spec: { act: { takeOver: true } } });
  await waitForCondition(
    admin,
    'mailboxes',
    ns,
    'ann-fabrikam',
    'AppointmentsContactsTasksReady',
    (c) => c.status === 'True' && c.observedGeneration === 2,
    30_000,
  );
  await waitForCondition(
    admin,
    'mailboxes',
    ns,
    'ann',
    'AppointmentsContactsTasksReady',
    (c) => c.reason === 'ClaimedByAnotherOrganization',
    60_000,
  );
});

test('dry run: status and an Event say what a first sync would do; nothing is written', async () => {
  act.add('appointment', {
    owner: 'bob@contoso.example',
    fields: {
      subject: 'bob 1',
      start: at(5),
      end: at(6),
      organizer: 'bob@contoso.example',
      showAs: 'busy',
      importance: 'normal',
      isAllDay: false,
    },
  });
  act.add('contact', { owner: 'bob@contoso.example', fields: { givenName: 'Dee', surname: 'Dry' } });
  await create(admin, 'mailboxes', ns, 'bob', mailbox('bob@contoso.example', 'contoso', { act: { dryRun: true } }));
  const m = await waitFor(
    'dry run',
    async () => {
      const x = await get(admin, 'mailboxes', ns, 'bob');
      return x.status?.act?.dryRun ? x : undefined;
    },
    { timeoutMs: 30_000 },
  );
  expect(m.status.act.dryRun).toMatch(/appointments: 1 to create.*contacts: 1 to create.*nothing was written/);
  expect(cal.events('bob@contoso.example')).toEqual([]);
  expect(cal.contacts('bob@contoso.example')).toEqual([]);
});

test('a missing Graph permission fails Test and Enable with the permission to grant', async () => {
  cal.denied.add('Calendars');
  try {
    await create(admin, 'mailboxes', ns, 'cy', mailbox('bob@contoso.example', 'contoso', { ...ACT_ONLY, act: { dryRun: true } }));
    const o = await waitForCondition(
      admin,
      'mailboxes',
      ns,
      'cy',
      'AppointmentsContactsTasksReady',
      (c) => c.reason === 'AuthenticationFailed',
      30_000,
    );
    expect(condition(o, 'AppointmentsContactsTasksReady')?.message).toMatch(/Calendars\.ReadWrite/);
  } finally {
    cal.denied.delete('Calendars');
  }
});

test('no secret appears in any Event or status', async () => {
  const text = await visibleText(admin, ns);
  expect(text).not.toContain(APP.clientSecret);
  expect(text).not.toContain(CRM.token);
});
