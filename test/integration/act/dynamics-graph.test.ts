// The ACT engine with the Dynamics 365 connector (DynamicsActConnector) against the fake Dataverse
// (appointments with activity parties, contacts, tasks, change tracking, the msync_actlink table)
// and the Graph fake: each kind both ways, one-way fields, parties and their masks, a contact
// leaving the filter, change tracking on the wire, expired delta tokens, a restart with a new
// connector, idempotent creates across a lost link write, throttling, and what Test and Enable checks.
// Recurring series: dynamics-series.test.ts.

import { ActEngine, type ActEngineOptions, type ActSettings } from '../../../src/act/engine.js';
import { directionTable } from '../../../src/act/directions.js';
import { GraphActAdapter } from '../../../src/act/exchange/graph.js';
import { DynamicsActConnector } from '../../../src/crm/dynamics-act.js';
import { clientCredentials, ClientCredentialsTokenProvider } from '../../../src/mail/oauth.js';
import { closeHttpDispatchers } from '../../../src/net/http.js';
import { actTestSettings } from '../../support/act-env.js';
import { FakeDynamics, type LoggedRequest } from '../../support/fake-crm-dynamics.js';
import { FakeDataverseAct } from '../../support/fake-crm-dynamics-act.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeGraphAct } from '../../support/fake-graph-act.js';
import { FakeOAuth } from '../../support/fake-oauth.js';

const APP = { tenantId: 'contoso-tenant', clientId: 'mailsync-app', clientSecret: 'graph-Client-Secret-42' };
const DV_CLIENT = {
  tenantId: 'contoso-tenant',
  clientId: '0d7c1f7e-1111-4a4a-9b9b-123456789abc',
  clientSecret: 'dyn~ClientSecret.Value_0123456789abcdef',
};
const ANN = 'ann@contoso.example';
const ORG = 'org-contoso-0001';
const HOUR = 3_600_000;
const API = '/api/data/v9.2';
let oauth: FakeOAuth;
let graph: FakeGraph;
let cal: FakeGraphAct;
let dv: FakeDynamics;
let x: FakeDataverseAct;
let annId: string;
let custId: string;
let adapter: () => GraphActAdapter;

const at = (offsetHours: number) => new Date(Date.now() + offsetHours * HOUR).toISOString().replace(/\.\d{3}Z$/, 'Z');
const graphTime = (iso: string) => ({ dateTime: iso.replace(/Z$/, ''), timeZone: 'UTC' });

function connector(): DynamicsActConnector {
  return new DynamicsActConnector({
    url: dv.orgUrl,
    ...DV_CLIENT,
    authorityUrl: dv.authorityUrl,
    ca: dv.caPem,
    timeoutMs: 5000,
    tokenSource: clientCredentials,
  });
}

let shared: DynamicsActConnector;

function engine(extra: Partial<ActSettings> = {}, crm = shared, itemFailed?: ActEngineOptions['itemFailed']): ActEngine {
  return new ActEngine({
    mailbox: { address: ANN, ownerName: 'Ann' },
    org: { uid: ORG, name: `ns/${ORG}` },
    exchange: adapter(),
    crm,
    settings: actTestSettings({ kinds: ['appointment', 'contact', 'task'], takeOver: true, ...extra }),
    itemFailed,
  });
}

/** An appointment Ann organizes, with Cy (a contact) required and an unresolved guest optional. */
function appointment(subject: string, startH: number, extra: Record<string, unknown> = {}): string {
  return x.add(
    'appointments',
    {
      subject,
      description: 'agenda',
      location: 'Room 1',
      scheduledstart: at(startH),
      scheduledend: at(startH + 1),
      isalldayevent: false,
      prioritycode: 1,
      statecode: 3,
      statuscode: 5,
      appointment_activity_parties: [
        { participationtypemask: 7, 'partyid_systemuser@odata.bind': `/systemusers(${annId})` },
        { participationtypemask: 5, 'partyid_contact@odata.bind': `/contacts(${custId})` },
        { participationtypemask: 6, addressused: 'guest@elsewhere.example' },
      ],
      ...extra,
    },
    annId,
  );
}

const trackedGets = (set: string): LoggedRequest[] =>
  dv.requests.filter(
    (r) => r.method === 'GET' && r.path === `${API}/${set}` && /odata\.track-changes/.test(String(r.headers.prefer ?? '')),
  );

beforeAll(async () => {
  oauth = await FakeOAuth.start({ clients: [APP] });
  graph = await FakeGraph.start(oauth, [ANN]);
  cal = FakeGraphAct.attach(graph);
  dv = await FakeDynamics.start({ clients: [DV_CLIENT] });
  x = FakeDataverseAct.attach(dv);
  annId = dv.addUser(ANN, 'Ann Organizer');
  custId = dv.addContact('cy@customer.example', 'Cy Customer');
  shared = connector();
  const ca = [oauth.caPem, graph.caPem].join('\n');
  const token = new ClientCredentialsTokenProvider({
    ...APP,
    scope: 'https://graph.microsoft.com/.default',
    authorityUrl: oauth.authorityUrl,
    ca,
  });
  adapter = () =>
    new GraphActAdapter(
      { host: '127.0.0.1', port: 443, tls: 'Implicit', url: graph.baseUrl, ca },
      { kind: 'oauth2', username: ANN, token },
      { mailbox: ANN, pastDays: 30, futureDays: 180 },
      ORG,
    );
});
afterAll(async () => {
  await Promise.all([graph?.close(), oauth?.close(), dv?.close()]);
  await closeHttpDispatchers();
});

test('Test and Enable: the link table and the privileges ACT needs, each named when missing', async () => {
  expect(await shared.actMissingPrivileges(['appointment', 'contact', 'task'])).toEqual([]);
  x.denied.add('prvWriteTask');
  x.denied.add('prvCreatemsync_actlink');
  try {
    expect(await shared.actMissingPrivileges(['appointment', 'task'])).toEqual(['prvWriteTask', 'prvCreatemsync_actlink']);
    expect(await shared.actMissingPrivileges(['appointment'])).toEqual(['prvCreatemsync_actlink']);
    // Series masters are their own table: the appointment kind needs it too.
    x.denied.add('prvReadRecurringAppointmentMaster');
    expect(await shared.actMissingPrivileges(['appointment', 'contact'])).toEqual([
      'prvReadRecurringAppointmentMaster',
      'prvCreatemsync_actlink',
    ]);
  } finally {
    x.denied.clear();
  }
  x.withoutLinkTable = true;
  try {
    await expect(shared.actMissingPrivileges(['contact'])).rejects.toMatchObject({
      reason: 'CRMRejected',
      message: expect.stringMatching(/table msync_actlink .*does not exist: create it with the columns docs\/crm\.md lists/),
    });
  } finally {
    x.withoutLinkTable = false;
  }
});

test('appointments: first sync without invitations, parties as attendees, edits both ways, change tracking on the wire', async () => {
  const id = appointment('kick-off', 48);
  const notMine = x.add(
    'appointments',
    {
      subject: 'owned but not a party',
      scheduledstart: at(30),
      scheduledend: at(31),
      appointment_activity_parties: [{ participationtypemask: 7, addressused: 'someone@else.example' }],
    },
    annId,
  );
  const e = engine();
  const first = await e.cycle();
  expect(first.appointment).toMatchObject({ created: 1, failed: 0 });
  expect(cal.notices).toEqual([]);
  const ev = cal.events(ANN).find((v) => v.data.subject === 'kick-off')!;
  expect(ev).toBeDefined();
  expect(cal.events(ANN).some((v) => v.data.subject === 'owned but not a party')).toBe(false);
  void notMine;
  const held = JSON.stringify([ev.data.attendees, ev.props]); // attendees of a meeting nobody was invited to are kept in a property
  expect(held).toContain('cy@customer.example');
  expect(held).toContain('guest@elsewhere.example');
  // The link lives in Dataverse, in msync_actlink, beside the record.
  const link = x.links(ANN, 'appointment').find((r) => r.msync_crmid === id)!;
  expect(link.msync_exchangeid).toBe(ev.id);
  expect(x.links(ANN, 'state')).toHaveLength(1);

  // The first read was a full change-tracking read; the next cycle follows the delta link.
  const before = trackedGets('appointments').length;
  expect(trackedGets('appointments').every((r) => !r.query.has('$filter'))).toBe(true);
  await e.cycle();
  const next = trackedGets('appointments').slice(before);
  expect(next.length).toBeGreaterThan(0);
  expect(next.every((r) => r.query.has('$deltatoken'))).toBe(true);

  // CRM edits the location, Outlook edits the subject: both kept.
  x.update('appointments', id, { location: 'Room 2' });
  cal.edit(ANN, 'events', ev.id, { subject: 'kick-off (moved)' });
  await e.cycle();
  expect(cal.events(ANN).find((v) => v.id === ev.id)!.data.location).toEqual({ displayName: 'Room 2' });
  expect(x.row('appointments', id)!.subject).toBe('kick-off (moved)');
  // The parties were not touched by a subject change.
  expect(
    (x.row('appointments', id)!.parties as Array<{ participationtypemask: number }>).map((p) => p.participationtypemask).sort(),
  ).toEqual([5, 6, 7]);

  // Deleted in the CRM: Ann organizes this future meeting, so it goes from Exchange too.
  x.remove('appointments', id);
  const d = await e.cycle();
  expect(d.appointment?.deleted).toBe(1);
  expect(cal.events(ANN).some((v) => v.id === ev.id)).toBe(false);
  expect(x.links(ANN, 'appointment').some((r) => r.msync_crmid === id)).toBe(false);
});

test('a tracked Outlook meeting becomes an appointment whose attendees are activity parties with the right masks', async () => {
  const e = engine();
  await e.cycle();
  const tracked = cal.addEvent(ANN, {
    subject: 'customer lunch',
    start: graphTime(at(26)),
    end: graphTime(at(27)),
    isAllDay: false,
    showAs: 'tentative',
    importance: 'high',
    organizer: { emailAddress: { address: ANN } },
    attendees: [
      { type: 'required', emailAddress: { address: 'cy@customer.example', name: 'Cy' } },
      { type: 'optional', emailAddress: { address: 'walk-in@nowhere.example', name: 'Walk In' } },
    ],
    categories: ['Tracked to Contoso CRM'],
  });
  const c = await e.cycle();
  expect(c.appointment?.created).toBe(1);
  const row = x.rows('appointments').find((r) => r.subject === 'customer lunch')!;
  expect(row).toMatchObject({ prioritycode: 2, statecode: 0, statuscode: 2 });
  const parties = (row.parties as Array<Record<string, unknown>>).map((p) => [p.participationtypemask, p._partyid_value, p.addressused]);
  expect(parties).toEqual(
    expect.arrayContaining([
      [7, annId, ANN],
      [5, custId, 'cy@customer.example'],
      [6, null, 'walk-in@nowhere.example'],
    ]),
  );
  expect(parties).toHaveLength(3);
  const link = x.links(ANN, 'appointment').find((r) => r.msync_crmid === row.activityid)!;
  expect(JSON.parse(String(link.msync_data))).toMatchObject({ origin: 'Exchange' });
  // Idle cycles change nothing (names kept beside the link; no echo).
  const idle = await e.cycle();
  expect(idle.appointment).toMatchObject({ created: 0, updated: 0, conflicts: 0 });

  // Deleted in Outlook: Ann's future meeting is deleted in the CRM.
  cal.remove(ANN, 'events', tracked.id);
  const d = await e.cycle();
  expect(d.appointment?.deleted).toBe(1);
  expect(x.row('appointments', String(row.activityid))).toBeUndefined();
});

test('a field set to ToExchange does not flow back to the CRM', async () => {
  const dirs = {
    appointment: directionTable('appointment', { subject: 'ToExchange' }),
    contact: directionTable('contact'),
    task: directionTable('task'),
  };
  const id = appointment('one-way', 20, {
    appointment_activity_parties: [{ participationtypemask: 7, 'partyid_systemuser@odata.bind': `/systemusers(${annId})` }],
  });
  const e = engine({ directions: dirs });
  await e.cycle();
  const ev = cal.events(ANN).find((v) => v.data.subject === 'one-way')!;
  cal.edit(ANN, 'events', ev.id, { subject: 'renamed in Outlook', body: { contentType: 'text', content: 'notes from Outlook' } });
  await e.cycle();
  expect(x.row('appointments', id)).toMatchObject({ subject: 'one-way', description: 'notes from Outlook' });
});

test('contacts both ways; one leaving the filter (deactivated) is unlinked, not deleted; a CRM delete removes the Outlook contact', async () => {
  const id = x.add(
    'contacts',
    { firstname: 'Dee', lastname: 'Dealer', emailaddress1: 'dee@customer.example', telephone1: '+1 555 0100', statecode: 0, statuscode: 1 },
    annId,
  );
  const gone = x.add('contacts', { firstname: 'Gone', lastname: 'Soon', statecode: 0, statuscode: 1 }, annId);
  const e = engine();
  await e.cycle();
  const c = cal.contacts(ANN).find((v) => v.data.surname === 'Dealer')!;
  expect(c.data.emailAddresses).toEqual([{ address: 'dee@customer.example' }]);
  cal.edit(ANN, 'contacts', c.id, { jobTitle: 'Buyer' });
  await e.cycle();
  expect(x.row('contacts', id)!.jobtitle).toBe('Buyer');
  x.update('contacts', id, { telephone1: '+1 555 0199' });
  await e.cycle();
  expect(cal.contacts(ANN).find((v) => v.id === c.id)!.data.businessPhones).toEqual(['+1 555 0199']);

  x.update('contacts', id, { statecode: 1, statuscode: 2 });
  const left = await e.cycle();
  expect(left.contact?.unlinked).toBe(1);
  expect(cal.contacts(ANN).some((v) => v.id === c.id)).toBe(true);
  expect(x.row('contacts', id)).toBeDefined();
  expect(x.links(ANN, 'contact').some((r) => r.msync_crmid === id)).toBe(false);

  const outlook = cal.contacts(ANN).find((v) => v.data.surname === 'Soon')!;
  x.remove('contacts', gone);
  await e.cycle();
  expect(cal.contacts(ANN).some((v) => v.id === outlook.id)).toBe(false);

  // Deleted in Outlook: untracked, the CRM keeps its contact (Dynamics' rule).
  const kept = x.add('contacts', { firstname: 'Kay', lastname: 'Kept', statecode: 0, statuscode: 1 }, annId);
  await e.cycle();
  cal.remove(ANN, 'contacts', cal.contacts(ANN).find((v) => v.data.surname === 'Kept')!.id);
  await e.cycle();
  expect(x.row('contacts', kept)).toBeDefined();
  expect(x.links(ANN, 'contact').some((r) => r.msync_crmid === kept)).toBe(false);
});

test('tasks through To Do both ways: an open task arrives, completion returns as Completed, deletes follow both ways', async () => {
  const id = x.add(
    'tasks',
    { subject: 'call back', description: 'about the offer', scheduledend: '2027-01-15T00:00:00Z', prioritycode: 2, percentcomplete: 40 },
    annId,
  );
  const e = engine({ kinds: ['task'] });
  await e.cycle();
  const t = cal.tasks(ANN).find((v) => v.data.title === 'call back')!;
  expect(t.data.dueDateTime).toEqual({ dateTime: '2027-01-15T00:00:00', timeZone: 'UTC' });
  cal.edit(ANN, 'tasks', t.id, { status: 'completed', completedDateTime: { dateTime: '2027-01-10T00:00:00', timeZone: 'UTC' } });
  await e.cycle();
  expect(x.row('tasks', id)).toMatchObject({ statecode: 1, statuscode: 5, actualend: '2027-01-10T00:00:00Z', percentcomplete: 40 });
  // Completed, it stays linked (it is no longer open, but it is this mailbox's).
  await e.cycle();
  expect(x.links(ANN, 'task').some((r) => r.msync_crmid === id)).toBe(true);
  cal.remove(ANN, 'tasks', t.id);
  await e.cycle();
  expect(x.row('tasks', id)).toBeUndefined();

  // A CRM edit reaches To Do; a CRM delete removes the To Do task.
  const other = x.add('tasks', { subject: 'send offer', prioritycode: 1 }, annId);
  await e.cycle();
  const todo = cal.tasks(ANN).find((v) => v.data.title === 'send offer')!;
  x.update('tasks', other, { subject: 'send the offer' });
  await e.cycle();
  expect(cal.tasks(ANN).find((v) => v.id === todo.id)!.data.title).toBe('send the offer');
  x.remove('tasks', other);
  await e.cycle();
  expect(cal.tasks(ANN).some((v) => v.id === todo.id)).toBe(false);

  // A tracked To Do task becomes a task the user owns, linked and stamped.
  const tracked = cal.addTask(ANN, { title: 'prepare demo', status: 'inProgress', categories: ['Tracked to Contoso CRM'] });
  expect((await e.cycle()).task?.created).toBe(1);
  const row = x.rows('tasks').find((r) => r.subject === 'prepare demo')!;
  expect(row).toMatchObject({ _ownerid_value: annId, statecode: 0, statuscode: 3 });
  expect(x.links(ANN, 'task').find((r) => r.msync_crmid === row.activityid)?.msync_exchangeid).toBe(tracked.id);
});

test('an expired delta token restarts with a full read, without duplicates; a new connector resumes from the stored state', async () => {
  await engine().cycle();
  const counts = () => [cal.events(ANN).length, cal.contacts(ANN).length, cal.tasks(ANN).length];
  /** Items that exist more than once in Exchange (by subject, surname, title). */
  const duplicates = () =>
    [
      ...cal.events(ANN).map((v) => `event ${String(v.data.subject)}`),
      ...cal.contacts(ANN).map((v) => `contact ${String(v.data.surname)}`),
      ...cal.tasks(ANN).map((v) => `task ${String(v.data.title)}`),
    ].filter((k, i, all) => all.indexOf(k) !== i);
  const before = counts();
  appointment('after expiry', 70);
  x.expireDeltaTokens();
  const fulls = trackedGets('appointments').filter((r) => !r.query.has('$deltatoken')).length;
  const c = await engine().cycle();
  expect(c.appointment).toMatchObject({ created: 1, failed: 0 });
  // Refused (400), then read in full once.
  expect(trackedGets('appointments').filter((r) => !r.query.has('$deltatoken')).length).toBe(fulls + 1);
  // The full read brings every record again: linked ones find their links (no duplicates); a
  // contact the user deleted in Outlook (unlinked, still in the filter) comes back, as at a first sync.
  expect(counts()[0]).toBe(before[0] + 1);
  expect(duplicates()).toEqual([]);
  const after = counts();

  // A new connector and engine (a restarted pod): the cursors come from Dataverse; only deltas are read.
  const fresh = connector();
  const mark = dv.requests.length;
  const again = await engine({}, fresh).cycle();
  expect(again.appointment).toMatchObject({ created: 0, updated: 0 });
  expect(counts()).toEqual(after);
  const reads = dv.requests.slice(mark).filter((r) => /odata\.track-changes/.test(String(r.headers.prefer ?? '')));
  expect(reads.length).toBe(4); // recurringappointmentmasters, appointments, contacts, tasks
  expect(reads.every((r) => r.query.has('$deltatoken'))).toBe(true);
});

test('creates are idempotent on (mailbox, kind, key); a create whose link write failed is not made twice', async () => {
  const mailbox = { address: ANN, ownerName: 'Ann' };
  const fields = {
    subject: 'direct',
    body: null,
    dueDate: null,
    startDate: null,
    completedDate: null,
    percentComplete: null,
    importance: 'normal',
    status: 'notStarted',
  };
  const link = { exchangeId: 'AAMk-direct', snapshot: {}, origin: 'Exchange' as const };
  const a = await shared.actCreate(mailbox, 'task', { key: 'key-1', fields, link });
  const b = await shared.actCreate(mailbox, 'task', { key: 'key-1', fields, link });
  expect(a.created).toBe(true);
  expect(b).toMatchObject({ crmId: a.crmId, created: false, record: { crmId: a.crmId, fields: { subject: 'direct' } } });
  expect(x.rows('tasks').filter((r) => r.subject === 'direct')).toHaveLength(1);

  // Outlook tracks a meeting; the link write after the create fails (the pod dies there).
  const e = engine();
  await e.cycle();
  cal.addEvent(ANN, {
    subject: 'crash lunch',
    start: graphTime(at(90)),
    end: graphTime(at(91)),
    isAllDay: false,
    showAs: 'busy',
    importance: 'normal',
    categories: ['Tracked to Contoso CRM'],
  });
  dv.failRequests((r) => r.method === 'PATCH' && r.path.startsWith(`${API}/msync_actlinks(`), 503, 1);
  await expect(e.cycle()).rejects.toMatchObject({ reason: 'CRMError' });
  await engine().cycle();
  await engine().cycle();
  expect(x.rows('appointments').filter((r) => r.subject === 'crash lunch')).toHaveLength(1);
  expect(cal.events(ANN).filter((v) => v.data.subject === 'crash lunch')).toHaveLength(1);
  const row = x.rows('appointments').find((r) => r.subject === 'crash lunch')!;
  expect(x.links(ANN, 'appointment').find((r) => r.msync_crmid === row.activityid)?.msync_exchangeid).toBe(
    cal.events(ANN).find((v) => v.data.subject === 'crash lunch')!.id,
  );
});

test('Dataverse throttling (429 with Retry-After) fails the cycle with its wait; the next cycle loses nothing', async () => {
  const e = engine();
  await e.cycle();
  const id = appointment('throttled', 110);
  dv.throttleNext(1, 2);
  await expect(e.cycle()).rejects.toMatchObject({ reason: 'CRMThrottled', retryAfterMs: 2000 });
  await e.cycle();
  expect(cal.events(ANN).filter((v) => v.data.subject === 'throttled')).toHaveLength(1);
  expect(x.links(ANN, 'appointment').some((r) => r.msync_crmid === id)).toBe(true);
});
