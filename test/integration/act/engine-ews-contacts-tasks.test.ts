// Contacts and tasks over EWS (Exchange Server, impersonation) against the EWS fake and the webhook
// CRM fake, through the ACT engine: both directions, field directions, tracking, three-way merge,
// a stale ChangeKey merged again, dictionary entries written one by one, Test and Enable.

import { ActEngine, type ActSettings } from '../../../src/act/engine.js';
import { directionTable } from '../../../src/act/directions.js';
import { EwsActAdapter } from '../../../src/act/exchange/ews.js';
import { WebhookActConnector } from '../../../src/crm/act-webhook.js';
import { actTestSettings } from '../../support/act-env.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { FakeCrmAct } from '../../support/fake-crm-webhook-act.js';
import { FakeEws } from '../../support/fake-ews.js';
import { FakeEwsAct, type FakeActItem } from '../../support/fake-ews-act.js';

const SVC = { username: 'CONTOSO\\svc-crm', password: 'svc-Ews-Password-8', canImpersonate: true };
const CRM = { token: 'ews-ct-Crm-Token-000001', signingKey: 'ews-ct-Signing-Key-0002' };
const DEE = 'dee@contoso.example';
const ORG = 'org-onprem-0002';
const TRACKED = 'Tracked to Contoso CRM';
let ews: FakeEws;
let ex: FakeEwsAct;
let crm: FakeCrmWebhook;
let act: FakeCrmAct;
let connector: WebhookActConnector;

const adapter = () =>
  new EwsActAdapter(
    { host: '127.0.0.1', port: 443, tls: 'Implicit', url: ews.ewsUrl, ca: ews.caPem },
    { kind: 'password', username: SVC.username, password: SVC.password },
    { mailbox: DEE, impersonate: true, url: ews.ewsUrl },
    ORG,
  );
const engine = (extra: Partial<ActSettings> = {}) =>
  new ActEngine({
    mailbox: { address: DEE, ownerName: DEE },
    org: { uid: ORG, name: 'ns/onprem' },
    exchange: adapter(),
    crm: connector,
    settings: actTestSettings({ kinds: ['contact', 'task'], ...extra }),
  });
const contacts = () => ex.items(DEE, 'contacts');
const tasks = () => ex.items(DEE, 'tasks');
const find = (list: FakeActItem[], field: string, value: string) => list.find((i) => i.fields[field] === value)!;
const stampedWith = (i: FakeActItem, crmId: string) => Object.values(i.props).includes(`${ORG}:${crmId}`);

beforeAll(async () => {
  ews = await FakeEws.start({ accounts: [SVC], mailboxes: [DEE] });
  ex = FakeEwsAct.attach(ews);
  crm = await FakeCrmWebhook.start(CRM);
  act = FakeCrmAct.attach(crm);
  connector = new WebhookActConnector({ url: crm.url, token: CRM.token, signingKey: CRM.signingKey });
});
afterAll(async () => {
  await Promise.all([ews?.close(), crm?.close()]);
});

test('contacts: CRM → Contacts folder with e-mails, phones and address as dictionary entries; edits both ways; deletes as Dynamics does', async () => {
  const id = act.add('contact', {
    owner: DEE,
    fields: {
      givenName: 'Cy',
      surname: 'Customer',
      companyName: 'Customer & Co',
      email1: 'cy@customer.example',
      email2: 'cy.home@customer.example',
      businessPhone: '+1 555 0100',
      businessStreet: '1 Main St',
      businessCity: 'Springfield',
      birthday: '1980-05-01',
      notes: 'met at <the fair>',
    },
  });
  const e = engine();
  expect((await e.cycle()).contact).toMatchObject({ created: 1, failed: 0 });
  const c = find(contacts(), 'Surname', 'Customer');
  expect(c.cls).toBe('Contact');
  expect(c.fields).toMatchObject({
    GivenName: 'Cy',
    CompanyName: 'Customer & Co',
    EmailAddress1: 'cy@customer.example',
    EmailAddress2: 'cy.home@customer.example',
    BusinessPhone: '+1 555 0100',
    'Business:Street': '1 Main St',
    'Business:City': 'Springfield',
    Birthday: '1980-05-01T00:00:00Z',
    Body: 'met at <the fair>',
  });
  expect(stampedWith(c, id)).toBe(true);
  expect(ex.notices).toEqual([]);

  // Outlook edits a simple field and a phone; both return to the CRM.
  ex.edit(DEE, c.id, { JobTitle: 'Buyer', MobilePhone: '+1 555 0199' });
  expect((await e.cycle()).contact?.updated).toBe(1);
  expect(act.get(id).fields).toMatchObject({ jobTitle: 'Buyer', mobilePhone: '+1 555 0199', email1: 'cy@customer.example' });

  // The CRM changes one e-mail, clears another and the city: one entry each, through IndexedFieldURIs
  // (the fake, like Exchange, refuses setting a whole dictionary).
  act.update(id, { fields: { email1: 'cy@new.example', email2: null, businessCity: null, businessPostalCode: '12345' } });
  expect((await e.cycle()).contact).toMatchObject({ updated: 1, failed: 0 });
  const now = find(contacts(), 'Surname', 'Customer');
  expect(now.fields.EmailAddress1).toBe('cy@new.example');
  expect(now.fields.EmailAddress2).toBeUndefined();
  expect(now.fields['Business:City']).toBeUndefined();
  expect(now.fields['Business:Street']).toBe('1 Main St');
  expect(now.fields['Business:PostalCode']).toBe('12345');
  expect(now.fields.MobilePhone).toBe('+1 555 0199');
  // An idle cycle writes nothing.
  expect((await e.cycle()).contact).toMatchObject({ created: 0, updated: 0, conflicts: 0 });

  // Deleted in Outlook: the CRM keeps its contact, unlinked (contacts are untracked, as in Dynamics).
  ex.remove(DEE, c.id);
  expect((await e.cycle()).contact?.unlinked).toBe(1);
  expect(act.get(id).deleted).toBe(false);
  expect(act.link(DEE, 'contact', id)).toBeUndefined();

  // Deleted in the CRM: deleted in Exchange.
  const gone = act.add('contact', { owner: DEE, fields: { givenName: 'Gone', surname: 'Soon' } });
  await e.cycle();
  expect(contacts().some((x) => x.fields.Surname === 'Soon')).toBe(true);
  act.remove(gone);
  expect((await e.cycle()).contact?.deleted).toBe(1);
  expect(contacts().some((x) => x.fields.Surname === 'Soon')).toBe(false);
});

test('contacts: a field set to ToExchange does not flow back; edits of different fields on both sides are both kept', async () => {
  const directions = { ...actTestSettings().directions, contact: directionTable('contact', { jobTitle: 'ToExchange' }) };
  const e = engine({ directions });
  const id = act.add('contact', { owner: DEE, fields: { givenName: 'Una', surname: 'Oneway', jobTitle: 'CEO' } });
  await e.cycle();
  const c = find(contacts(), 'Surname', 'Oneway');
  ex.edit(DEE, c.id, { JobTitle: 'Intern', Department: 'Sales' });
  await e.cycle();
  expect(act.get(id).fields).toMatchObject({ jobTitle: 'CEO', department: 'Sales' });

  // Both sides between two cycles, different fields: both kept, no conflict.
  act.update(id, { fields: { companyName: 'Fabrikam' } });
  ex.edit(DEE, c.id, { HomePhone: '+1 555 0111' });
  expect((await e.cycle()).contact?.conflicts).toBe(0);
  expect(act.get(id).fields).toMatchObject({ companyName: 'Fabrikam', homePhone: '+1 555 0111' });
  expect(find(contacts(), 'Surname', 'Oneway').fields).toMatchObject({ CompanyName: 'Fabrikam', HomePhone: '+1 555 0111' });
});

test('contacts: a stale ChangeKey under our update is merged, not lost', async () => {
  const e = engine();
  const id = act.add('contact', { owner: DEE, fields: { givenName: 'Sam', surname: 'Stale' } });
  await e.cycle();
  const c = find(contacts(), 'Surname', 'Stale');
  act.update(id, { fields: { jobTitle: 'Head of Buying' } });
  ex.beforeUpdate = (i) => {
    i.fields.Department = 'Operations'; // edited in Outlook between our read and our write
    i.changeKey = `${i.changeKey}x`;
  };
  await e.cycle();
  expect(find(contacts(), 'Surname', 'Stale').fields).toMatchObject({ JobTitle: 'Head of Buying', Department: 'Operations' });
  await e.cycle();
  expect(act.get(id).fields).toMatchObject({ jobTitle: 'Head of Buying', department: 'Operations' });
  expect(find(contacts(), 'Surname', 'Stale').id).toBe(c.id);
});

test('contacts: a categorized Outlook contact is not brought to the CRM (contacts cannot be tracked, as in Dynamics); a contact group is skipped', async () => {
  const e = engine();
  await e.cycle();
  ex.addContact(DEE, { GivenName: 'Tia', Surname: 'Tagged', EmailAddress1: 'tia@customer.example' }, { categories: [TRACKED] });
  ex.addDistributionList(DEE, 'Buyers');
  const c = await e.cycle();
  expect(c.contact).toMatchObject({ created: 0, failed: 0 });
  expect(act.live('contact').some((r) => r.fields.surname === 'Tagged')).toBe(false);
});

test('tasks: CRM → Tasks folder with dates, status and percent; completed in Outlook returns; deletes follow Dynamics; nothing is mailed', async () => {
  const e = engine();
  const id = act.add('task', {
    owner: DEE,
    fields: {
      subject: 'call back',
      body: 'about the offer',
      dueDate: '2027-01-15',
      startDate: '2027-01-10',
      importance: 'high',
      status: 'inProgress',
      percentComplete: 40,
    },
  });
  expect((await e.cycle()).task).toMatchObject({ created: 1, failed: 0 });
  const t = find(tasks(), 'Subject', 'call back');
  expect(t.cls).toBe('Task');
  expect(t.fields).toMatchObject({
    Body: 'about the offer',
    DueDate: '2027-01-15T00:00:00Z',
    StartDate: '2027-01-10T00:00:00Z',
    Importance: 'High',
    Status: 'InProgress',
    PercentComplete: '40',
  });
  expect(stampedWith(t, id)).toBe(true);

  ex.edit(DEE, t.id, { Status: 'Completed', PercentComplete: '100', CompleteDate: '2027-01-12T00:00:00Z' });
  expect((await e.cycle()).task?.updated).toBe(1);
  expect(act.get(id).fields).toMatchObject({ status: 'completed', percentComplete: 100, completedDate: '2027-01-12' });

  act.update(id, { fields: { subject: 'call back (done)', dueDate: null } });
  await e.cycle();
  expect(find(tasks(), 'Subject', 'call back (done)').fields.DueDate).toBeUndefined();

  // Deleted in Outlook: deleted in the CRM (Dynamics' rule for tasks).
  ex.remove(DEE, t.id);
  expect((await e.cycle()).task?.deleted).toBe(1);
  expect(act.get(id).deleted).toBe(true);

  // Deleted in the CRM: an open task is deleted in Exchange, a completed one stays there, unlinked.
  const open = act.add('task', { owner: DEE, fields: { subject: 'open one', status: 'notStarted' } });
  const done = act.add('task', { owner: DEE, fields: { subject: 'done one', status: 'completed' } });
  await e.cycle();
  expect(find(tasks(), 'Subject', 'done one').fields.PercentComplete).toBe('100'); // Exchange completes it fully
  await e.cycle();
  expect(act.get(done).fields.percentComplete).toBe(100);
  act.remove(open);
  act.remove(done);
  expect((await e.cycle()).task).toMatchObject({ deleted: 1, unlinked: 1 });
  expect(tasks().map((x) => x.fields.Subject)).toContain('done one');
  expect(tasks().map((x) => x.fields.Subject)).not.toContain('open one');
  expect(ex.notices).toEqual([]);
});

test('tasks: a field set to ToExchange does not flow back; both sides edit different fields; a stale ChangeKey is merged', async () => {
  const directions = { ...actTestSettings().directions, task: directionTable('task', { dueDate: 'ToExchange' }) };
  const e = engine({ directions });
  const id = act.add('task', { owner: DEE, fields: { subject: 'one-way task', dueDate: '2027-02-01', status: 'notStarted' } });
  await e.cycle();
  const t = find(tasks(), 'Subject', 'one-way task');
  ex.edit(DEE, t.id, { DueDate: '2027-03-01T00:00:00Z', Body: 'notes from Outlook' });
  await e.cycle();
  expect(act.get(id).fields).toMatchObject({ dueDate: '2027-02-01', body: 'notes from Outlook' });

  act.update(id, { fields: { importance: 'low' } });
  ex.edit(DEE, t.id, { StartDate: '2027-01-20T00:00:00Z' });
  expect((await e.cycle()).task?.conflicts).toBe(0);
  expect(act.get(id).fields).toMatchObject({ importance: 'low', startDate: '2027-01-20' });
  expect(find(tasks(), 'Subject', 'one-way task').fields).toMatchObject({ Importance: 'Low', StartDate: '2027-01-20T00:00:00Z' });

  act.update(id, { fields: { subject: 'one-way task (renamed)' } });
  ex.beforeUpdate = (i) => {
    i.fields.Status = 'InProgress';
    i.changeKey = `${i.changeKey}x`;
  };
  await e.cycle();
  expect(ex.items(DEE, 'tasks').find((x) => x.id === t.id)!.fields).toMatchObject({
    Subject: 'one-way task (renamed)',
    Status: 'InProgress',
  });
  await e.cycle();
  expect(act.get(id).fields.status).toBe('inProgress');
});

test('tasks: a tracked Outlook task comes to the CRM, stamped; untracked and recurring ones do not', async () => {
  const e = engine();
  await e.cycle();
  const tracked = ex.addTask(DEE, { Subject: 'send quote', DueDate: '2027-04-01T00:00:00Z' }, { categories: [TRACKED] });
  ex.addTask(DEE, { Subject: 'buy milk' });
  ex.addTask(DEE, { Subject: 'weekly report', IsRecurring: 'true' }, { categories: [TRACKED] });
  expect((await e.cycle()).task).toMatchObject({ created: 1, failed: 0 });
  const rec = act.live('task').find((r) => r.fields.subject === 'send quote')!;
  expect(rec.fields.dueDate).toBe('2027-04-01');
  expect(act.link(DEE, 'task', rec.crmId)?.origin).toBe('Exchange');
  expect(
    stampedWith(
      ex.items(DEE, 'tasks').find((x) => x.id === tracked.id)!,
      rec.crmId,
    ),
  ).toBe(true);
  expect(act.live('task').some((r) => r.fields.subject === 'buy milk' || r.fields.subject === 'weekly report')).toBe(false);
});

test('an expired SyncState of the Contacts and Tasks folders resyncs without duplicates', async () => {
  const e = engine();
  await e.cycle();
  const before = [contacts().length, tasks().length];
  ex.invalidateSyncStates();
  await e.cycle();
  await e.cycle();
  expect([contacts().length, tasks().length]).toEqual(before);
});

test('Test and Enable opens the Contacts and Tasks folders and names the one the account may not open', async () => {
  await expect(adapter().test(['appointment', 'contact', 'task'])).resolves.toBeUndefined();
  ex.denied.add('contacts');
  try {
    await expect(adapter().test(['appointment', 'contact', 'task'])).rejects.toThrow(
      /Contacts folder of dee@contoso.example.*ApplicationImpersonation/,
    );
  } finally {
    ex.denied.delete('contacts');
  }
  ex.denied.add('tasks');
  try {
    await expect(adapter().test(['task'])).rejects.toThrow(/Tasks folder of dee@contoso.example.*ApplicationImpersonation/);
  } finally {
    ex.denied.delete('tasks');
  }
});
