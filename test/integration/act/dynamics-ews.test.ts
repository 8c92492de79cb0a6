// The ACT engine over EWS (Exchange Server, impersonation) with the Dynamics 365 connector against
// the fake Dataverse: appointments both ways, parties as attendees and back, deletes both ways;
// contacts and tasks in the Contacts and Tasks folders both ways.

import type { ActKind } from '../../../src/act/model.js';
import { ActEngine } from '../../../src/act/engine.js';
import { EwsActAdapter } from '../../../src/act/exchange/ews.js';
import { DynamicsActConnector } from '../../../src/crm/dynamics-act.js';
import { clientCredentials } from '../../../src/mail/oauth.js';
import { closeHttpDispatchers } from '../../../src/net/http.js';
import { actTestSettings } from '../../support/act-env.js';
import { FakeDynamics } from '../../support/fake-crm-dynamics.js';
import { FakeDataverseAct } from '../../support/fake-crm-dynamics-act.js';
import { FakeEws } from '../../support/fake-ews.js';
import { FakeEwsAct } from '../../support/fake-ews-act.js';

const SVC = { username: 'CONTOSO\\svc-crm', password: 'svc-Ews-Password-8', canImpersonate: true };
const DV_CLIENT = {
  tenantId: 'contoso-tenant',
  clientId: '0d7c1f7e-2222-4a4a-9b9b-123456789abc',
  clientSecret: 'dyn~EwsAct.Secret_Value_0123456789',
};
const BOB = 'bob@contoso.example';
const ORG = 'org-onprem-0002';
const HOUR = 3_600_000;
let ews: FakeEws;
let cal: FakeEwsAct;
let dv: FakeDynamics;
let x: FakeDataverseAct;
let bobId: string;
let custId: string;
let crm: DynamicsActConnector;

const at = (h: number) => new Date(Date.now() + h * HOUR).toISOString().replace(/\.\d{3}Z$/, 'Z');
const engine = (kinds: ActKind[] = ['appointment']) =>
  new ActEngine({
    mailbox: { address: BOB, ownerName: 'Bob' },
    org: { uid: ORG, name: 'ns/onprem' },
    exchange: new EwsActAdapter(
      { host: '127.0.0.1', port: 443, tls: 'Implicit', url: ews.ewsUrl, ca: ews.caPem },
      { kind: 'password', username: SVC.username, password: SVC.password },
      { mailbox: BOB, impersonate: true, url: ews.ewsUrl },
      ORG,
    ),
    crm,
    settings: actTestSettings({ kinds }),
  });

beforeAll(async () => {
  ews = await FakeEws.start({ accounts: [SVC], mailboxes: [BOB] });
  cal = FakeEwsAct.attach(ews);
  dv = await FakeDynamics.start({ clients: [DV_CLIENT] });
  x = FakeDataverseAct.attach(dv);
  bobId = dv.addUser(BOB, 'Bob Organizer');
  custId = dv.addContact('cust@customer.example', 'Cust Omer');
  crm = new DynamicsActConnector({
    url: dv.orgUrl,
    ...DV_CLIENT,
    authorityUrl: dv.authorityUrl,
    ca: dv.caPem,
    timeoutMs: 5000,
    tokenSource: clientCredentials,
  });
});
afterAll(async () => {
  await Promise.all([ews?.close(), dv?.close()]);
  await closeHttpDispatchers();
});

test('a Dynamics appointment reaches the calendar with its required attendee; edits flow both ways; a CRM delete removes it', async () => {
  const id = x.add(
    'appointments',
    {
      subject: 'quarterly',
      description: 'agenda',
      location: 'Room 1',
      scheduledstart: at(24),
      scheduledend: at(25),
      statecode: 3,
      statuscode: 5,
      appointment_activity_parties: [
        { participationtypemask: 7, 'partyid_systemuser@odata.bind': `/systemusers(${bobId})` },
        { participationtypemask: 5, 'partyid_contact@odata.bind': `/contacts(${custId})` },
      ],
    },
    bobId,
  );
  const e = engine();
  expect((await e.cycle()).appointment).toMatchObject({ created: 1, failed: 0 });
  expect(cal.notices).toEqual([]);
  const item = cal.items(BOB).find((i) => i.fields.Subject === 'quarterly')!;
  expect(item.required).toEqual(['cust@customer.example']);
  expect(Object.values(item.props).some((v) => v.endsWith(id))).toBe(true);

  cal.edit(BOB, item.id, { Location: 'Room 9' });
  await e.cycle();
  expect(x.row('appointments', id)!.location).toBe('Room 9');
  x.update('appointments', id, { subject: 'quarterly review' });
  await e.cycle();
  expect(cal.items(BOB).find((i) => i.id === item.id)!.fields.Subject).toBe('quarterly review');

  x.remove('appointments', id);
  await e.cycle();
  expect(cal.items(BOB).some((i) => i.id === item.id)).toBe(false);
});

test('a tracked Outlook appointment becomes a Dynamics appointment organized by the user; deleting it in Outlook deletes it', async () => {
  const e = engine();
  await e.cycle();
  const i = cal.add(BOB, { Subject: 'site visit', Start: at(30), End: at(31) }, { categories: ['Tracked to Contoso CRM'] });
  await e.cycle();
  const row = x.rows('appointments').find((r) => r.subject === 'site visit')!;
  expect(row).toBeDefined();
  expect((row.parties as Array<Record<string, unknown>>).find((p) => p.participationtypemask === 7)?._partyid_value).toBe(bobId);
  expect(Object.values(cal.items(BOB).find((v) => v.id === i.id)!.props).some((v) => v.endsWith(String(row.activityid)))).toBe(true);
  cal.remove(BOB, i.id);
  await e.cycle();
  expect(x.row('appointments', String(row.activityid))).toBeUndefined();
});

test('contacts and tasks: Dynamics rows reach the Contacts and Tasks folders; Outlook edits return; a tracked Outlook task becomes a task; deletes follow', async () => {
  const contact = x.add(
    'contacts',
    { firstname: 'Dee', lastname: 'Dealer', emailaddress1: 'dee@customer.example', telephone1: '+1 555 0100', statecode: 0, statuscode: 1 },
    bobId,
  );
  const task = x.add(
    'tasks',
    { subject: 'call back', description: 'about the offer', scheduledend: '2027-01-15T00:00:00Z', prioritycode: 2 },
    bobId,
  );
  const e = engine(['contact', 'task']);
  expect(await e.cycle()).toMatchObject({ contact: { created: 1, failed: 0 }, task: { created: 1, failed: 0 } });
  const c = cal.items(BOB, 'contacts').find((i) => i.fields.Surname === 'Dealer')!;
  expect(c.fields).toMatchObject({ GivenName: 'Dee', EmailAddress1: 'dee@customer.example', BusinessPhone: '+1 555 0100' });
  expect(Object.values(c.props).some((v) => v.endsWith(contact))).toBe(true);
  const t = cal.items(BOB, 'tasks').find((i) => i.fields.Subject === 'call back')!;
  expect(t.fields).toMatchObject({ Body: 'about the offer', DueDate: '2027-01-15T00:00:00Z', Importance: 'High' });

  // Outlook edits come back to Dataverse; a CRM edit reaches Outlook.
  cal.edit(BOB, c.id, { JobTitle: 'Buyer' });
  cal.edit(BOB, t.id, { Status: 'Completed' });
  await e.cycle();
  expect(x.row('contacts', contact)!.jobtitle).toBe('Buyer');
  expect(x.row('tasks', task)).toMatchObject({ statecode: 1, statuscode: 5 });
  x.update('contacts', contact, { telephone1: '+1 555 0199' });
  await e.cycle();
  expect(cal.items(BOB, 'contacts').find((i) => i.id === c.id)!.fields.BusinessPhone).toBe('+1 555 0199');

  // A tracked Outlook task becomes a task the user owns; deleting it in Outlook deletes it.
  const tracked = cal.addTask(BOB, { Subject: 'prepare demo', Status: 'InProgress' }, { categories: ['Tracked to Contoso CRM'] });
  expect((await e.cycle()).task?.created).toBe(1);
  const row = x.rows('tasks').find((r) => r.subject === 'prepare demo')!;
  expect(row).toMatchObject({ _ownerid_value: bobId, statecode: 0 });
  cal.remove(BOB, tracked.id);
  await e.cycle();
  expect(x.row('tasks', String(row.activityid))).toBeUndefined();

  // Deleted in Dynamics: deleted in Exchange.
  x.remove('contacts', contact);
  await e.cycle();
  expect(cal.items(BOB, 'contacts').some((i) => i.id === c.id)).toBe(false);
});
