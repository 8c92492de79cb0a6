// Appointments, contacts and tasks through the operator (controllers and a sync worker, real API
// server) on an ExchangeServer profile: EWS with impersonation against the EWS fake, the webhook
// CRM. What a user of Exchange Server gets after turning ACT on, for all three kinds.

import { waitFor } from '../../../dev/processes.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { FakeCrmAct } from '../../support/fake-crm-webhook-act.js';
import { FakeEws } from '../../support/fake-ews.js';
import { FakeEwsAct } from '../../support/fake-ews-act.js';
import { clientsAs, condition, create, get, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret, visibleText } from '../../support/mail-env.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';

const admin = clientsAs('admin');
const SVC = { username: 'CONTOSO\\svc-act', password: 'svc-Act-Ews-Password-9', canImpersonate: true };
const CRM = { token: 'opews-Crm-Token-0000001', signingKey: 'opews-Signing-Key-000002' };
const EVE = 'eve@contoso.example';
const HOUR = 3_600_000;
let ews: FakeEws;
let ex: FakeEwsAct;
let crm: FakeCrmWebhook;
let act: FakeCrmAct;
let op: InProcessOperator;
let ns: string;

const at = (h: number) => new Date(Date.now() + h * HOUR).toISOString().replace(/\.\d{3}Z$/, 'Z');

beforeAll(async () => {
  ews = await FakeEws.start({ accounts: [SVC], mailboxes: [EVE] });
  ex = FakeEwsAct.attach(ews);
  crm = await FakeCrmWebhook.start(CRM);
  act = FakeCrmAct.attach(crm);
  ns = await newNamespace(admin, 'actews');
  await createSecret(admin, ns, 'ca', { 'ca.crt': ews.caPem });
  await createSecret(admin, ns, 'ews-svc', { username: SVC.username, password: SVC.password });
  await createSecret(admin, ns, 'crm', CRM);
  await create(admin, 'deployments', ns, 'contoso', {
    crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    defaults: { incoming: 'None', outgoing: 'None', appointmentsContactsTasks: 'ServerSideSync' },
    appointmentsContactsTasks: { interval: '1s', trackingCategory: 'Tracked to Contoso' },
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
  op = await startOperator(admin, ns);
});
afterAll(async () => {
  await op?.stop();
  await Promise.all([ews?.close(), crm?.close()]);
});

test('ACT on over EWS: Test and Enable opens the three folders, Enabled names all three kinds, each kind flows', async () => {
  act.add('appointment', {
    owner: EVE,
    fields: { subject: 'plant tour', start: at(24), end: at(25), organizer: EVE, showAs: 'busy', importance: 'normal', isAllDay: false },
  });
  const contact = act.add('contact', { owner: EVE, fields: { givenName: 'Cy', surname: 'Customer', email1: 'cy@customer.example' } });
  act.add('task', { owner: EVE, fields: { subject: 'send the offer', dueDate: '2027-01-15', status: 'notStarted' } });
  await create(admin, 'mailboxes', ns, 'eve', {
    emailAddress: EVE,
    owner: { kind: 'User', name: EVE },
    deploymentRef: { name: 'contoso' },
    serverProfileRef: { name: 'onprem' },
  });
  const o = await waitForCondition(admin, 'mailboxes', ns, 'eve', 'Ready', (c) => c.status === 'True');
  expect(condition(o, 'AppointmentsContactsTasksReady')).toMatchObject({ status: 'True', reason: 'Succeeded' });
  expect(condition(o, 'AppointmentsContactsTasksReady')?.message).toMatch(
    /^opened the calendar, contacts and tasks of eve@contoso.example on /,
  );
  expect(condition(o, 'Enabled')?.message).toBe('processing appointments, contacts and tasks');

  // CRM → Exchange, each kind into its folder.
  const c = await waitFor('contact in Exchange', async () => ex.items(EVE, 'contacts').find((i) => i.fields.Surname === 'Customer'), {
    timeoutMs: 30_000,
  });
  expect(c.fields.EmailAddress1).toBe('cy@customer.example');
  await waitFor('task in Exchange', async () => ex.items(EVE, 'tasks').find((i) => i.fields.Subject === 'send the offer'), {
    timeoutMs: 30_000,
  });
  await waitFor('appointment in Exchange', async () => ex.items(EVE).find((i) => i.fields.Subject === 'plant tour'), {
    timeoutMs: 30_000,
  });

  // Exchange → CRM: an Outlook edit of the contact, and a task tracked in Outlook.
  ex.edit(EVE, c.id, { JobTitle: 'Buyer' });
  ex.addTask(EVE, { Subject: 'call the supplier' }, { categories: ['Tracked to Contoso'] });
  await waitFor('contact edit in the CRM', async () => (act.get(contact).fields.jobTitle === 'Buyer' ? true : undefined), {
    timeoutMs: 30_000,
  });
  await waitFor('tracked task in the CRM', async () => act.live('task').find((r) => r.fields.subject === 'call the supplier'), {
    timeoutMs: 30_000,
  });
  const s = await waitFor(
    'status counts per kind',
    async () => {
      const m = await get(admin, 'mailboxes', ns, 'eve');
      return m.status?.act?.contacts?.updated >= 1 && m.status?.act?.tasks?.created >= 2 ? m.status : undefined;
    },
    { timeoutMs: 30_000 },
  );
  expect(s.act.contacts.created).toBe(1);
  expect(s.act.appointments.created).toBe(1);
  expect(ex.notices).toEqual([]);
});

test('Test and Enable names the Tasks folder when the account may not open it', async () => {
  ex.denied.add('tasks');
  try {
    await create(admin, 'mailboxes', ns, 'eve-2', {
      emailAddress: EVE,
      owner: { kind: 'User', name: EVE },
      deploymentRef: { name: 'contoso' },
      serverProfileRef: { name: 'onprem' },
      act: { dryRun: true },
    });
    const o = await waitForCondition(
      admin,
      'mailboxes',
      ns,
      'eve-2',
      'AppointmentsContactsTasksReady',
      (c) => c.reason === 'AuthenticationFailed',
      30_000,
    );
    expect(condition(o, 'AppointmentsContactsTasksReady')?.message).toMatch(
      /Tasks folder of eve@contoso.example.*ApplicationImpersonation/,
    );
  } finally {
    ex.denied.delete('tasks');
  }
});

test('no secret appears in any Event or status', async () => {
  const text = await visibleText(admin, ns);
  expect(text).not.toContain(SVC.password);
  expect(text).not.toContain(CRM.token);
});
