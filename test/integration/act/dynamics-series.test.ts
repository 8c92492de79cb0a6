// Recurring series with the Dynamics 365 connector (issue 15) against the fake Dataverse
// (recurringappointmentmasters with their pattern columns and parties, appointment rows of a series
// with instancetypecode, _seriesid_value and originalstartdate, change tracking on both tables)
// and the Graph fake: a Dynamics master with one exception arrives as one series + one exception
// with nobody mailed, and plain instance rows never become events; a tracked Outlook series with
// a moved occurrence arrives as master + exception row; shifting the series in Dynamics updates the
// one Exchange series; a deleted occurrence is never recreated, whichever side deleted it.

import { ActEngine } from '../../../src/act/engine.js';
import type { ActKind } from '../../../src/act/model.js';
import { wallTime } from '../../../src/act/timezones.js';
import { DynamicsActConnector } from '../../../src/crm/dynamics-act.js';
import { patternColumns } from '../../../src/crm/dynamics-act-map.js';
import { clientCredentials } from '../../../src/mail/oauth.js';
import { closeHttpDispatchers } from '../../../src/net/http.js';
import { actTestSettings } from '../../support/act-env.js';
import { fakeGraphActAdapter } from '../../support/act-graph.js';
import { berlin, DAY, plus, weekday, weekly } from '../../support/act-series.js';
import { FakeDynamics } from '../../support/fake-crm-dynamics.js';
import { FakeDataverseAct } from '../../support/fake-crm-dynamics-act.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeGraphAct, type FakeGraphItem } from '../../support/fake-graph-act.js';
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
const TRACKED = actTestSettings().trackingCategory;
let oauth: FakeOAuth;
let graph: FakeGraph;
let cal: FakeGraphAct;
let dv: FakeDynamics;
let x: FakeDataverseAct;
let annId: string;
let failures: Array<{ kind: ActKind; item: string; reason: string; message: string }>;

beforeEach(async () => {
  oauth = await FakeOAuth.start({ clients: [APP] });
  graph = await FakeGraph.start(oauth, [ANN]);
  cal = FakeGraphAct.attach(graph);
  dv = await FakeDynamics.start({ clients: [DV_CLIENT] });
  x = FakeDataverseAct.attach(dv);
  annId = dv.addUser(ANN, 'Ann Organizer');
  failures = [];
});
afterEach(async () => {
  await Promise.all([graph?.close(), oauth?.close(), dv?.close()]);
});
afterAll(async () => {
  await closeHttpDispatchers();
});

function engine(): ActEngine {
  return new ActEngine({
    mailbox: { address: ANN, ownerName: 'Ann' },
    org: { uid: ORG, name: `ns/${ORG}` },
    exchange: fakeGraphActAdapter(oauth, graph, APP, ANN, ORG),
    crm: new DynamicsActConnector({
      url: dv.orgUrl,
      ...DV_CLIENT,
      authorityUrl: dv.authorityUrl,
      ca: dv.caPem,
      timeoutMs: 5000,
      tokenSource: clientCredentials,
    }),
    settings: actTestSettings({ kinds: ['appointment'], takeOver: true }),
    itemFailed: (kind, item, reason, message) => failures.push({ kind, item, reason, message }),
  });
}

const graphTime = (iso: string) => ({ dateTime: iso.replace(/Z$/, ''), timeZone: 'UTC' });
const startOf = (e: FakeGraphItem) => Date.parse(`${String((e.data.start as { dateTime: string }).dateTime)}Z`);
const masters = (): FakeGraphItem[] => cal.events(ANN).filter((e) => e.data.type === 'seriesMaster');
const organizer = () => [{ participationtypemask: 7, 'partyid_systemuser@odata.bind': `/systemusers(${annId})` }];

/** A weekly series Ann organizes in Dynamics: the master row and its expanded instance rows (instancetypecode 2). */
function dynamicsSeries(subject: string, start: string, instances = 3): { master: string; instances: string[] } {
  const master = x.add(
    'recurringappointmentmasters',
    {
      subject,
      scheduledstart: start,
      scheduledend: plus(start, HOUR),
      ...patternColumns(weekly(start)),
      recurringappointmentmaster_activity_parties: organizer(),
    },
    annId,
  );
  const rows = Array.from({ length: instances }, (_, i) =>
    x.add(
      'appointments',
      {
        subject,
        scheduledstart: plus(start, i * 7 * DAY),
        scheduledend: plus(start, i * 7 * DAY + HOUR),
        instancetypecode: 2,
        'seriesid@odata.bind': `/recurringappointmentmasters(${master})`,
        originalstartdate: plus(start, i * 7 * DAY),
        appointment_activity_parties: organizer(),
      },
      annId,
    ),
  );
  return { master, instances: rows };
}

test('a weekly Dynamics master with one exception arrives as one series + one exception, nobody mailed; instance rows never become events', async () => {
  const start = berlin(3);
  const { master, instances } = dynamicsSeries('weekly sync', start);
  const second = plus(start, 7 * DAY);
  // Dynamics made the second occurrence an exception: moved two hours later, another subject.
  x.update('appointments', instances[1], {
    instancetypecode: 3,
    subject: 'weekly sync (moved)',
    scheduledstart: plus(second, 2 * HOUR),
    scheduledend: plus(second, 3 * HOUR),
  });
  const e = engine();
  const first = await e.cycle();
  expect(first.appointment).toMatchObject({ created: 2, failed: 0 });
  expect(failures).toEqual([]);
  expect(cal.notices).toEqual([]);
  expect(masters()).toHaveLength(1);
  const m = masters()[0];
  expect(cal.events(ANN)).toHaveLength(2); // the master and the exception: no instance row is an event
  expect(startOf(m)).toBe(Date.parse(start));
  expect(m.data.recurrence).toMatchObject({
    pattern: { type: 'weekly', interval: 1, daysOfWeek: [weekday(start)] },
    range: { type: 'numbered', numberOfOccurrences: 10 },
  });
  const [ex] = cal.exceptionsOf(ANN, m.id);
  expect(ex.data).toMatchObject({ type: 'exception', subject: 'weekly sync (moved)', originalStart: second });
  expect(startOf(ex)).toBe(Date.parse(second) + 2 * HOUR);
  expect(x.links(ANN, 'appointment').map((l) => [l.msync_crmid, l.msync_exchangeid])).toEqual(
    expect.arrayContaining([
      [master, m.id],
      [instances[1], ex.id],
    ]),
  );
  expect(x.links(ANN, 'appointment')).toHaveLength(2);

  // Idle: nothing to do on either side; a Dynamics edit of a plain instance row is no event either.
  x.update('appointments', instances[2], { description: 'instance note' });
  const idle = await e.cycle();
  expect(idle.appointment).toMatchObject({ created: 0, updated: 0, conflicts: 0, failed: 0 });
  expect(cal.events(ANN)).toHaveLength(2);

  // Outlook moves the third occurrence: the instance row Dynamics expanded becomes the exception.
  const third = plus(start, 14 * DAY);
  const moved = cal.editOccurrence(ANN, m.id, third, { subject: 'weekly sync (third, moved)' });
  const c = await e.cycle();
  expect(c.appointment).toMatchObject({ created: 1, failed: 0 });
  expect(x.row('appointments', instances[2])).toMatchObject({
    instancetypecode: 3,
    subject: 'weekly sync (third, moved)',
    _seriesid_value: master,
  });
  expect(x.rows('appointments')).toHaveLength(3);
  expect(x.links(ANN, 'appointment').find((l) => l.msync_crmid === instances[2])?.msync_exchangeid).toBe(moved.id);
  expect(cal.notices).toEqual([]);
});

test('a tracked Outlook weekly series with a moved occurrence arrives in Dataverse as master + exception row', async () => {
  const start = berlin(4);
  const s = cal.addEvent(ANN, {
    subject: 'planning',
    importance: 'normal',
    showAs: 'busy',
    start: { dateTime: wallTime(start, 'Europe/Berlin'), timeZone: 'W. Europe Standard Time' },
    end: { dateTime: wallTime(plus(start, HOUR), 'Europe/Berlin'), timeZone: 'W. Europe Standard Time' },
    recurrence: {
      pattern: { type: 'weekly', interval: 1, daysOfWeek: [weekday(start)], firstDayOfWeek: 'sunday' },
      range: {
        type: 'numbered',
        startDate: weekly(start).startDate,
        numberOfOccurrences: 10,
        recurrenceTimeZone: 'W. Europe Standard Time',
      },
    },
    categories: [TRACKED],
  });
  const second = plus(start, 7 * DAY);
  const ex = cal.editOccurrence(ANN, s.id, second, {
    subject: 'planning (moved)',
    start: graphTime(plus(second, DAY)),
    end: graphTime(plus(second, DAY + HOUR)),
  });
  const e = engine();
  const first = await e.cycle();
  expect(first.appointment).toMatchObject({ created: 2, failed: 0 });
  expect(failures).toEqual([]);
  const [master] = x.rows('recurringappointmentmasters');
  expect(x.rows('recurringappointmentmasters')).toHaveLength(1);
  expect(master).toMatchObject({
    subject: 'planning',
    scheduledstart: start,
    scheduledend: plus(start, HOUR),
    recurrencepatterntype: 1,
    interval: 1,
    daysofweekmask: 1 << ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'].indexOf(weekday(start)),
    patternstartdate: `${weekly(start).startDate}T00:00:00Z`,
    patternendtype: 2,
    occurrences: 10,
    duration: 60,
  });
  expect(
    (master.parties as Array<{ participationtypemask: number; _partyid_value: string }>).map((p) => [
      p.participationtypemask,
      p._partyid_value,
    ]),
  ).toEqual([[7, annId]]);
  const rows = x.rows('appointments');
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({
    subject: 'planning (moved)',
    instancetypecode: 3,
    _seriesid_value: master.activityid,
    originalstartdate: second,
    scheduledstart: plus(second, DAY),
  });
  expect(x.links(ANN, 'appointment').find((l) => l.msync_crmid === rows[0].activityid)?.msync_exchangeid).toBe(ex.id);
  expect(cal.notices).toEqual([]);

  const idle = await e.cycle();
  expect(idle.appointment).toMatchObject({ created: 0, updated: 0, failed: 0 });
  expect(x.rows('recurringappointmentmasters')).toHaveLength(1);
  expect(x.rows('appointments')).toHaveLength(1);
  // Exchange keeps its time zone (Dataverse has none: it flows nowhere).
  expect(cal.events(ANN).find((v) => v.id === s.id)!.data.originalStartTimeZone).toBe('W. Europe Standard Time');
});

test('shifting the series in Dynamics updates the one Exchange series', async () => {
  const start = berlin(5);
  const { master } = dynamicsSeries('standup', start, 0);
  const e = engine();
  await e.cycle();
  const id = masters()[0].id;

  const next = plus(start, DAY + HOUR);
  x.update('recurringappointmentmasters', master, {
    scheduledstart: next,
    scheduledend: plus(next, HOUR),
    ...patternColumns(weekly(next)),
  });
  const c = await e.cycle();
  expect(c.appointment).toMatchObject({ created: 0, updated: 1, failed: 0 });
  expect(masters().map((v) => v.id)).toEqual([id]);
  expect(cal.events(ANN)).toHaveLength(1);
  expect(startOf(masters()[0])).toBe(Date.parse(next));
  expect((masters()[0].data.recurrence as { pattern: { daysOfWeek: string[] } }).pattern.daysOfWeek).toEqual([weekday(next)]);
  expect(x.rows('recurringappointmentmasters')).toHaveLength(1);
});

test('a deleted occurrence is not recreated, whichever side deleted it', async () => {
  const start = berlin(2);
  const { master, instances } = dynamicsSeries('weekly 1:1', start, 3);
  const e = engine();
  await e.cycle();
  const id = masters()[0].id;

  // Outlook deletes the third occurrence: Dynamics records it on the master.
  const third = plus(start, 14 * DAY);
  cal.deleteOccurrence(ANN, id, third);
  await e.cycle();
  expect(String(x.row('recurringappointmentmasters', master)!.deletedexceptionslist).split('\n')).toEqual([third]);

  // A Dynamics user deletes the second occurrence's instance row.
  const second = plus(start, 7 * DAY);
  x.remove('appointments', instances[1]);
  await e.cycle();
  expect(masters()[0].data.cancelledOccurrences).toHaveLength(2);
  for (let i = 0; i < 3; i++) await e.cycle();
  expect(masters()[0].data.cancelledOccurrences).toHaveLength(2);
  expect(String(x.row('recurringappointmentmasters', master)!.deletedexceptionslist).split('\n').sort()).toEqual([second, third]);
  expect(cal.events(ANN)).toHaveLength(1);
  expect(failures).toEqual([]);
  expect(cal.notices).toEqual([]);
});

test('a tracked single event made recurring in Outlook is refused for that item: Dataverse keeps one appointment, no master', async () => {
  const start = berlin(6);
  const ev = cal.addEvent(ANN, {
    subject: 'one-on-one',
    start: graphTime(start),
    end: graphTime(plus(start, HOUR)),
    importance: 'normal',
    showAs: 'busy',
    categories: [TRACKED],
  });
  const e = engine();
  await e.cycle();
  expect(x.rows('appointments')).toHaveLength(1);
  cal.edit(ANN, 'events', ev.id, {
    recurrence: {
      pattern: { type: 'weekly', interval: 1, daysOfWeek: [weekday(start)], firstDayOfWeek: 'sunday' },
      range: { type: 'noEnd', startDate: weekly(start).startDate },
    },
  });
  const c = await e.cycle();
  expect(c.appointment).toMatchObject({ created: 0, failed: 1 });
  expect(failures.map((f) => `${f.reason}: ${f.message}`)).toEqual([
    expect.stringMatching(
      /^CRMRejected: .*became recurring in Exchange, and a Dataverse row cannot change between appointment and recurringappointmentmaster/,
    ),
  ]);
  expect(x.rows('appointments')).toHaveLength(1);
  expect(x.rows('recurringappointmentmasters')).toEqual([]);
});
