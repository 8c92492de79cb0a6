// The ACT engine against the Graph and webhook fakes, without Kubernetes: appointments and
// contacts both ways, field directions, three-way merge and conflicts, invitations, deletes,
// a lost link rebuilt from the stamp, dry run, the one-organization claim and expired delta links.

import { ActEngine, type ActSettings } from '../../../src/act/engine.js';
import { directionTable } from '../../../src/act/directions.js';
import { actTestSettings } from '../../support/act-env.js';
import { GraphActAdapter } from '../../../src/act/exchange/graph.js';
import { WebhookActConnector } from '../../../src/crm/act-webhook.js';
import { ClientCredentialsTokenProvider } from '../../../src/mail/oauth.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { FakeCrmAct } from '../../support/fake-crm-webhook-act.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeGraphAct } from '../../support/fake-graph-act.js';
import { FakeOAuth } from '../../support/fake-oauth.js';

const APP = { tenantId: 'contoso-tenant', clientId: 'mailsync-app', clientSecret: 'graph-Client-Secret-42' };
const CRM = { token: 'act-Crm-Token-000000001', signingKey: 'act-Signing-Key-00000002' };
const ANN = 'ann@contoso.example';
const HOUR = 3_600_000;
let oauth: FakeOAuth;
let graph: FakeGraph;
let cal: FakeGraphAct;
let crm: FakeCrmWebhook;
let act: FakeCrmAct;
let connector: WebhookActConnector;
let adapter: (org: string) => GraphActAdapter;

const at = (offsetHours: number) => new Date(Date.now() + offsetHours * HOUR).toISOString().replace(/\.\d{3}Z$/, 'Z');
const graphTime = (iso: string) => ({ dateTime: iso.replace(/Z$/, ''), timeZone: 'UTC' });

const settings = actTestSettings;

function engine(extra: Partial<ActSettings> = {}, org = 'org-contoso-0001', mailbox = ANN): ActEngine {
  return new ActEngine({
    mailbox: { address: mailbox, ownerName: mailbox },
    org: { uid: org, name: `ns/${org}` },
    exchange: adapter(org),
    crm: connector,
    settings: settings(extra),
  });
}

const meeting = (subject: string, startH: number, extra: Record<string, unknown> = {}) => ({
  subject,
  body: 'agenda',
  location: 'Room 1',
  start: at(startH),
  end: at(startH + 1),
  isAllDay: false,
  importance: 'normal',
  showAs: 'busy',
  organizer: ANN,
  requiredAttendees: [{ address: 'cust@customer.example' }],
  optionalAttendees: [],
  ...extra,
});

beforeAll(async () => {
  oauth = await FakeOAuth.start({ clients: [APP] });
  graph = await FakeGraph.start(oauth, [ANN, 'bob@contoso.example']);
  cal = FakeGraphAct.attach(graph);
  crm = await FakeCrmWebhook.start(CRM);
  act = FakeCrmAct.attach(crm);
  connector = new WebhookActConnector({ url: crm.url, token: CRM.token, signingKey: CRM.signingKey });
  const ca = [oauth.caPem, graph.caPem].join('\n');
  const token = new ClientCredentialsTokenProvider({
    tenantId: APP.tenantId,
    clientId: APP.clientId,
    clientSecret: APP.clientSecret,
    scope: 'https://graph.microsoft.com/.default',
    authorityUrl: oauth.authorityUrl,
    ca,
  });
  adapter = (org) =>
    new GraphActAdapter(
      { host: '127.0.0.1', port: 443, tls: 'Implicit', url: graph.baseUrl, ca },
      { kind: 'oauth2', username: ANN, token },
      { mailbox: ANN, pastDays: 30, futureDays: 180 },
      org,
    );
});
afterAll(async () => {
  await Promise.all([graph?.close(), oauth?.close(), crm?.close()]);
});

test('first sync: CRM appointments reach Exchange without invitations, then a change on each side flows, and a real new meeting invites', async () => {
  const past = act.add('appointment', { owner: ANN, fields: meeting('past review', -48) });
  const future = act.add('appointment', { owner: ANN, fields: meeting('kick-off', 48) });
  const e = engine();
  const first = await e.cycle();
  expect(first.appointment).toMatchObject({ created: 2, failed: 0 });
  expect(cal.notices).toEqual([]); // the first sync is a backfill: nobody is mailed
  const kickoff = cal.events(ANN).find((x) => x.data.subject === 'kick-off')!;
  expect(kickoff).toBeDefined();
  expect(act.link(ANN, 'appointment', future)?.exchangeId).toBe(kickoff.id);
  expect(act.link(ANN, 'appointment', past)).toBeDefined();

  // An idle cycle writes nothing.
  const idle = await e.cycle();
  expect(idle.appointment).toMatchObject({ created: 0, updated: 0, conflicts: 0 });

  // CRM edits the location, Outlook edits the subject: both kept.
  act.update(future, { fields: { location: 'Room 2' } });
  cal.edit(ANN, 'events', kickoff.id, { subject: 'kick-off (moved)' });
  await e.cycle();
  expect(cal.events(ANN).find((x) => x.id === kickoff.id)!.data.location).toEqual({ displayName: 'Room 2' });
  expect(act.get(future).fields.subject).toBe('kick-off (moved)');

  // A new CRM meeting after the first sync invites its attendees, once.
  act.add('appointment', { owner: ANN, fields: meeting('demo', 72) });
  await e.cycle();
  expect(cal.notices.filter((n) => n.subject === 'demo').map((n) => n.kind)).toEqual(['invitation']);
  await e.cycle();
  expect(cal.notices.filter((n) => n.subject === 'demo')).toHaveLength(1);
});

test('the same field changed on both sides: the policy decides and the conflict is counted', async () => {
  const id = act.add('appointment', { owner: ANN, fields: meeting('budget', 30, { requiredAttendees: [] }) });
  const e = engine();
  await e.cycle();
  const ev = cal.events(ANN).find((x) => x.data.subject === 'budget')!;
  act.update(id, { fields: { subject: 'budget (CRM)' } });
  cal.edit(ANN, 'events', ev.id, { subject: 'budget (Outlook)' });
  const c = await e.cycle();
  expect(c.appointment?.conflicts).toBe(1);
  expect(cal.events(ANN).find((x) => x.id === ev.id)!.data.subject).toBe('budget (CRM)');
  expect(act.get(id).fields.subject).toBe('budget (CRM)');

  act.update(id, { fields: { subject: 'budget 2 (CRM)' } });
  cal.edit(ANN, 'events', ev.id, { subject: 'budget 2 (Outlook)' });
  const d = await engine({ policy: 'ExchangeWins' }).cycle();
  expect(d.appointment?.conflicts).toBe(1);
  expect(act.get(id).fields.subject).toBe('budget 2 (Outlook)');
});

test('a field set to ToExchange does not flow back to the CRM', async () => {
  const dirs = {
    appointment: directionTable('appointment', { subject: 'ToExchange' }),
    contact: directionTable('contact'),
    task: directionTable('task'),
  };
  const id = act.add('appointment', { owner: ANN, fields: meeting('one-way', 20, { requiredAttendees: [] }) });
  const e = engine({ directions: dirs });
  await e.cycle();
  const ev = cal.events(ANN).find((x) => x.data.subject === 'one-way')!;
  cal.edit(ANN, 'events', ev.id, { subject: 'renamed in Outlook', body: { contentType: 'text', content: 'notes from Outlook' } });
  await e.cycle();
  expect(act.get(id).fields.subject).toBe('one-way');
  expect(act.get(id).fields.body).toBe('notes from Outlook');
});

test('Exchange → CRM only for tracked items; removing the category untracks; deletes follow the rules', async () => {
  const e = engine();
  await e.cycle();
  const untracked = cal.addEvent(ANN, {
    subject: 'dentist',
    start: graphTime(at(5)),
    end: graphTime(at(6)),
    isAllDay: false,
    showAs: 'busy',
    importance: 'normal',
  });
  const tracked = cal.addEvent(ANN, {
    subject: 'customer lunch',
    start: graphTime(at(26)),
    end: graphTime(at(27)),
    isAllDay: false,
    showAs: 'busy',
    importance: 'normal',
    categories: ['Tracked to Contoso CRM'],
  });
  const c = await e.cycle();
  expect(c.appointment?.created).toBe(1);
  expect(act.live('appointment').some((r) => r.fields.subject === 'dentist')).toBe(false);
  const rec = act.live('appointment').find((r) => r.fields.subject === 'customer lunch')!;
  expect(act.link(ANN, 'appointment', rec.crmId)?.origin).toBe('Exchange');
  // Stamped with the CRM id, so the link can be rebuilt from Exchange.
  expect(Object.values(cal.events(ANN).find((x) => x.id === tracked.id)!.props).some((v) => v.endsWith(rec.crmId))).toBe(true);
  void untracked;

  cal.edit(ANN, 'events', tracked.id, { categories: [] });
  await e.cycle();
  expect(act.link(ANN, 'appointment', rec.crmId)).toBeUndefined();
  expect(act.get(rec.crmId).deleted).toBe(false);

  // An organizer's future meeting deleted in Outlook is deleted in the CRM.
  const id = act.add('appointment', { owner: ANN, fields: meeting('to delete', 40, { requiredAttendees: [] }) });
  await e.cycle();
  cal.remove(ANN, 'events', cal.events(ANN).find((x) => x.data.subject === 'to delete')!.id);
  const d = await e.cycle();
  expect(d.appointment?.deleted).toBe(1);
  expect(act.get(id).deleted).toBe(true);
});

test('a record leaving the filter is unlinked, not deleted; a CRM delete of a future meeting cancels it', async () => {
  const e = engine();
  const leaving = act.add('appointment', { owner: ANN, fields: meeting('leaves filter', 50) });
  const deleted = act.add('appointment', { owner: ANN, fields: meeting('cancel me', 52) });
  await e.cycle();
  const before = cal.events(ANN).length;
  act.update(leaving, { fields: { organizer: 'someone@contoso.example', requiredAttendees: [] } });
  const c = await e.cycle();
  expect(c.appointment?.unlinked).toBe(1);
  expect(cal.events(ANN).length).toBe(before);
  const ev = cal.events(ANN).find((x) => x.data.subject === 'cancel me')!;
  const notices = cal.notices.length;
  act.remove(deleted);
  await e.cycle();
  expect(cal.events(ANN).some((x) => x.id === ev.id)).toBe(false);
  // It was created after the first sync, so its attendee was invited, and now gets the cancellation.
  expect(cal.notices.slice(notices).map((n) => [n.subject, n.kind])).toEqual([['cancel me', 'cancellation']]);
  expect(cal.notices.filter((n) => n.subject === 'leaves filter').map((n) => n.kind)).toEqual(['invitation']);
});

test('a create whose link was lost is linked again from its stamp, never created twice', async () => {
  const e = engine();
  await e.cycle();
  const id = act.add('appointment', { owner: ANN, fields: meeting('crash', 60, { requiredAttendees: [] }) });
  await e.cycle();
  const count = cal.events(ANN).filter((x) => x.data.subject === 'crash').length;
  // Lose the link and the cursors, as if killed after the create.
  act.links.delete(`${ANN}|appointment|${id}`);
  act.states.delete(ANN);
  await engine().cycle();
  await engine().cycle();
  expect(cal.events(ANN).filter((x) => x.data.subject === 'crash').length).toBe(count);
  expect(act.link(ANN, 'appointment', id)?.exchangeId).toBe(cal.events(ANN).find((x) => x.data.subject === 'crash')!.id);
});

test('contacts both ways: created in Exchange from the CRM, an Outlook edit returns to the CRM', async () => {
  const id = act.add('contact', {
    owner: ANN,
    fields: { givenName: 'Cy', surname: 'Customer', email1: 'cy@customer.example', businessPhone: '+1 555 0100' },
  });
  const e = engine();
  await e.cycle();
  const c = cal.contacts(ANN).find((x) => x.data.surname === 'Customer')!;
  expect(c.data.emailAddresses).toEqual([{ address: 'cy@customer.example' }]);
  cal.edit(ANN, 'contacts', c.id, { jobTitle: 'Buyer' });
  await e.cycle();
  expect(act.get(id).fields.jobTitle).toBe('Buyer');
  // Leaving the filter (inactive) unlinks; Outlook keeps its contact.
  act.update(id, { state: 'inactive' });
  await e.cycle();
  expect(cal.contacts(ANN).some((x) => x.id === c.id)).toBe(true);
  expect(act.link(ANN, 'contact', id)).toBeUndefined();
});

test('dry run reports and writes nothing; an expired delta link (410) resyncs without duplicates', async () => {
  await createBobMeeting();
  const exBefore = cal.events('bob@contoso.example').length;
  expect(exBefore).toBe(0);
  const bobAdapter = (org: string) => adapter(org);
  void bobAdapter;
  const dry = await engine({ dryRun: true }, 'org-contoso-0001').cycle();
  expect(dry.appointment?.created).toBeGreaterThanOrEqual(0);
  const requests = graph.requests.filter((r) => r.method !== 'GET').length;
  await engine({ dryRun: true }).cycle();
  expect(graph.requests.filter((r) => r.method !== 'GET').length).toBe(requests);

  const events = cal.events(ANN).length;
  cal.expireDeltaLinks();
  await engine().cycle();
  expect(cal.events(ANN).length).toBe(events);
  expect(cal.withoutImmutableIds).toBe(0);
});

async function createBobMeeting(): Promise<void> {
  act.add('appointment', {
    owner: 'bob@contoso.example',
    fields: meeting('bob only', 10, { organizer: 'bob@contoso.example', requiredAttendees: [] }),
  });
}

test('one organization per mailbox: a second Deployment does not write until it takes over', async () => {
  await engine().cycle();
  await expect(engine({}, 'org-fabrikam-0002').cycle()).rejects.toMatchObject({ reason: 'ClaimedByAnotherOrganization' });
  await engine({ takeOver: true }, 'org-fabrikam-0002').cycle();
  await expect(engine({}, 'org-contoso-0001').cycle()).rejects.toThrow(/Deployment ns\/org-fabrikam-0002/);
});

test('a missing Graph permission is named by Test and Enable', async () => {
  cal.denied.add('Contacts');
  try {
    await expect(adapter('x').test(['appointment', 'contact'])).rejects.toThrow(/Contacts\.ReadWrite/);
  } finally {
    cal.denied.delete('Contacts');
  }
});

test('throttling (Graph 429 with Retry-After, CRM 503) fails the cycle, which is retried: nothing lost, nothing twice', async () => {
  const e = engine({ takeOver: true }); // back from the takeover test above
  await e.cycle();
  const ids = Array.from({ length: 30 }, (_, i) =>
    act.add('appointment', { owner: ANN, fields: meeting(`throttled ${i}`, 100 + i, { requiredAttendees: [] }) }),
  );
  graph.throttleNext(2, 1, 12);
  await expect(e.cycle()).rejects.toMatchObject({ reason: 'Throttled', retryAfterMs: 1000 });
  crm.failNext(1, { status: 503, retryAfterSec: 1 });
  await expect(e.cycle()).rejects.toMatchObject({ retryAfterMs: 1000 });
  for (let i = 0; i < 5; i++) await e.cycle().catch(() => undefined);
  for (const id of ids) {
    const link = act.link(ANN, 'appointment', id);
    expect(link).toBeDefined();
    expect(cal.events(ANN).filter((x) => x.data.subject === act.get(id).fields.subject)).toHaveLength(1);
  }
});

test('a contact created before a crash whose link was lost is found by its stamp, not created twice', async () => {
  const e = engine({ takeOver: true });
  await e.cycle();
  const id = act.add('contact', { owner: ANN, fields: { givenName: 'Lost', surname: 'Link' } });
  // The cycle dies right after the create (the CRM refuses the link write once, permanently for that request).
  const created = cal.contacts(ANN).length;
  crm.extensions.unshift((method, path) =>
    method === 'PUT' && path.endsWith(`/contacts/${id}/link`)
      ? (crm.extensions.shift(), { status: 503, body: { error: { code: 'unavailable', message: 'down' } } })
      : undefined,
  );
  await expect(e.cycle()).rejects.toMatchObject({ reason: 'CRMError' }); // 503 without Retry-After
  expect(cal.contacts(ANN).length).toBe(created + 1);
  expect(act.link(ANN, 'contact', id)).toBeUndefined();
  await engine({ takeOver: true }).cycle();
  expect(cal.contacts(ANN).filter((c) => c.data.surname === 'Link')).toHaveLength(1);
  expect(act.link(ANN, 'contact', id)?.exchangeId).toBe(cal.contacts(ANN).find((c) => c.data.surname === 'Link')!.id);
});

test('tasks through Microsoft To Do: stamped with a linkedResource, an edit in To Do returns, percent complete (not in To Do) stays in the CRM', async () => {
  const e = engine({ takeOver: true, kinds: ['task'] });
  await e.cycle();
  const id = act.add('task', {
    owner: ANN,
    fields: {
      subject: 'call back',
      body: 'about the offer',
      dueDate: '2027-01-15',
      importance: 'high',
      status: 'notStarted',
      percentComplete: 40,
    },
  });
  await e.cycle();
  const t = cal.tasks(ANN).find((x) => x.data.title === 'call back')!;
  expect(t.data.dueDateTime).toEqual({ dateTime: '2027-01-15T00:00:00', timeZone: 'UTC' });
  expect((t.data.linkedResources as Array<{ externalId: string }>)[0].externalId).toBe(`org-contoso-0001:${id}`);
  cal.edit(ANN, 'tasks', t.id, { status: 'completed', completedDateTime: { dateTime: '2027-01-10T00:00:00', timeZone: 'UTC' } });
  await e.cycle();
  expect(act.get(id).fields).toMatchObject({ status: 'completed', completedDate: '2027-01-10', percentComplete: 40 });
  await e.cycle();
  expect(act.get(id).fields.percentComplete).toBe(40);
  // Deleted in To Do: deleted in the CRM (Dynamics' rule for tasks).
  cal.remove(ANN, 'tasks', t.id);
  await e.cycle();
  expect(act.get(id).deleted).toBe(true);
});
