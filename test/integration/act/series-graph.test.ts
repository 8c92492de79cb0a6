// Recurring series and time zones over Graph, with the webhook CRM (issue 15): a weekly series
// with one moved occurrence arrives as master + exception from either side; shifting a series or
// making a single event recurring leaves exactly one series on each side; a deleted occurrence is
// never recreated; nothing is mailed at the first sync; Europe/Berlin round-trips as "W. Europe
// Standard Time"; a zone without a Windows id fails its item alone.

import { ActEngine, type ActSettings } from '../../../src/act/engine.js';
import type { ActKind } from '../../../src/act/model.js';
import { wallTime } from '../../../src/act/timezones.js';
import { WebhookActConnector } from '../../../src/crm/act-webhook.js';
import { actTestSettings } from '../../support/act-env.js';
import { fakeGraphActAdapter } from '../../support/act-graph.js';
import { berlin, DAY, plus, seriesFields, weekday, weekly } from '../../support/act-series.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { FakeCrmAct } from '../../support/fake-crm-webhook-act.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeGraphAct, type FakeGraphItem } from '../../support/fake-graph-act.js';
import { FakeOAuth } from '../../support/fake-oauth.js';

const APP = { tenantId: 'contoso-tenant', clientId: 'mailsync-app', clientSecret: 'graph-Client-Secret-42' };
const CRM = { token: 'act-Crm-Token-000000001', signingKey: 'act-Signing-Key-00000002' };
const ANN = 'ann@contoso.example';
const TRACKED = actTestSettings().trackingCategory;
let oauth: FakeOAuth;
let graph: FakeGraph;
let cal: FakeGraphAct;
let crm: FakeCrmWebhook;
let act: FakeCrmAct;
let failures: Array<{ kind: ActKind; item: string; reason: string; message: string }>;

beforeEach(async () => {
  oauth = await FakeOAuth.start({ clients: [APP] });
  graph = await FakeGraph.start(oauth, [ANN]);
  cal = FakeGraphAct.attach(graph);
  crm = await FakeCrmWebhook.start(CRM);
  act = FakeCrmAct.attach(crm);
  failures = [];
});
afterEach(async () => {
  await Promise.all([graph?.close(), oauth?.close(), crm?.close()]);
});

function engine(extra: Partial<ActSettings> = {}): ActEngine {
  return new ActEngine({
    mailbox: { address: ANN, ownerName: ANN },
    org: { uid: 'org-contoso-0001', name: 'ns/contoso' },
    exchange: fakeGraphActAdapter(oauth, graph, APP, ANN, 'org-contoso-0001'),
    crm: new WebhookActConnector({ url: crm.url, token: CRM.token, signingKey: CRM.signingKey }),
    settings: actTestSettings({ kinds: ['appointment'], ...extra }),
    itemFailed: (kind, item, reason, message) => failures.push({ kind, item, reason, message }),
  });
}

const fields = (subject: string, start: string, extra: Record<string, unknown> = {}) => seriesFields(ANN, subject, start, extra);
const masters = (): FakeGraphItem[] => cal.events(ANN).filter((e) => e.data.type === 'seriesMaster');
const crmMasters = () => act.live('appointment').filter((r) => r.fields.recurrence);
const graphTime = (iso: string) => ({ dateTime: iso.replace(/Z$/, ''), timeZone: 'UTC' });

/** A weekly series the user made in Outlook (Berlin time), tracked. */
function outlookSeries(subject: string, start: string): FakeGraphItem {
  return cal.addEvent(ANN, {
    subject,
    start: { dateTime: wallTime(start, 'Europe/Berlin'), timeZone: 'W. Europe Standard Time' },
    end: { dateTime: wallTime(plus(start, 3_600_000), 'Europe/Berlin'), timeZone: 'W. Europe Standard Time' },
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
}

test('a weekly series created in the CRM with one moved occurrence arrives as master + one exception, in Berlin time, without invitations', async () => {
  const start = berlin(3);
  const master = act.add('appointment', { owner: ANN, fields: fields('weekly sync', start, { recurrence: weekly(start) }) });
  const second = plus(start, 7 * DAY);
  const moved = act.add('appointment', {
    owner: ANN,
    fields: fields('weekly sync (moved)', plus(second, 2 * 3_600_000)),
    seriesMasterId: master,
    originalStart: second,
  });
  const e = engine();
  const first = await e.cycle();
  expect(first.appointment).toMatchObject({ created: 2, failed: 0 });
  expect(cal.notices).toEqual([]); // the first sync is a backfill

  // Exactly one series, one exception, and no occurrence stored as an event of its own.
  expect(masters()).toHaveLength(1);
  const m = masters()[0];
  expect(cal.events(ANN)).toHaveLength(2);
  expect(m.data.originalStartTimeZone).toBe('W. Europe Standard Time');
  expect(Date.parse(`${String((m.data.start as { dateTime: string }).dateTime)}Z`)).toBe(Date.parse(start));
  expect((m.data.recurrence as { pattern: { daysOfWeek: string[] } }).pattern.daysOfWeek).toEqual([weekday(start)]);
  const [ex] = cal.exceptionsOf(ANN, m.id);
  expect(ex.data).toMatchObject({ type: 'exception', subject: 'weekly sync (moved)', originalStart: second });
  expect(Date.parse(`${String((ex.data.start as { dateTime: string }).dateTime)}Z`)).toBe(Date.parse(second) + 2 * 3_600_000);
  expect(act.link(ANN, 'appointment', master)?.exchangeId).toBe(m.id);
  expect(act.link(ANN, 'appointment', moved)?.exchangeId).toBe(ex.id);

  // Read back: the zone is Europe/Berlin again, the pattern the same: nothing to do, on either side.
  const idle = await e.cycle();
  expect(idle.appointment).toMatchObject({ created: 0, updated: 0, conflicts: 0, failed: 0 });
  expect(act.get(master).fields.timeZone).toBe('Europe/Berlin');
  expect(crmMasters()).toHaveLength(1);
  expect(act.live('appointment')).toHaveLength(2);
});

test('a tracked weekly series from Outlook with one moved occurrence arrives in the CRM as master + exception', async () => {
  const start = berlin(4);
  const s = outlookSeries('planning', start);
  const second = plus(start, 7 * DAY);
  const ex = cal.editOccurrence(ANN, s.id, second, {
    subject: 'planning (moved)',
    start: graphTime(plus(second, DAY)),
    end: graphTime(plus(second, DAY + 3_600_000)),
  });
  const e = engine();
  const first = await e.cycle();
  expect(first.appointment).toMatchObject({ created: 2, failed: 0 });
  expect(failures).toEqual([]);
  const records = act.live('appointment');
  expect(records).toHaveLength(2);
  const master = records.find((r) => r.fields.recurrence)!;
  expect(master.fields).toMatchObject({ subject: 'planning', timeZone: 'Europe/Berlin', start });
  expect(master.fields.recurrence).toEqual(weekly(start));
  const exception = records.find((r) => r.seriesMasterId)!;
  expect(exception).toMatchObject({ seriesMasterId: master.crmId, originalStart: second });
  expect(exception.fields).toMatchObject({ subject: 'planning (moved)', start: plus(second, DAY), recurrence: null });
  expect(act.link(ANN, 'appointment', exception.crmId)?.exchangeId).toBe(ex.id);
  expect(cal.notices).toEqual([]);

  const idle = await e.cycle();
  expect(idle.appointment).toMatchObject({ created: 0, updated: 0, failed: 0 });
  expect(masters()).toHaveLength(1);
  expect(act.live('appointment')).toHaveLength(2);
});

test('shifting a series on either side leaves exactly one series on both sides', async () => {
  const start = berlin(5);
  const master = act.add('appointment', {
    owner: ANN,
    fields: fields('standup', start, { recurrence: weekly(start), requiredAttendees: [] }),
  });
  const e = engine();
  await e.cycle();
  const id = masters()[0].id;

  // The CRM moves the series an hour later.
  act.update(master, { fields: { start: plus(start, 3_600_000), end: plus(start, 2 * 3_600_000) } });
  await e.cycle();
  expect(masters().map((x) => x.id)).toEqual([id]);
  expect(Date.parse(`${String((masters()[0].data.start as { dateTime: string }).dateTime)}Z`)).toBe(Date.parse(start) + 3_600_000);
  expect(masters()[0].data.originalStartTimeZone).toBe('W. Europe Standard Time');

  // Outlook moves it to another day of the week.
  const next = plus(start, DAY + 2 * 3_600_000);
  cal.edit(ANN, 'events', id, {
    start: graphTime(next),
    end: graphTime(plus(next, 3_600_000)),
    recurrence: {
      pattern: { type: 'weekly', interval: 1, daysOfWeek: [weekday(next)], firstDayOfWeek: 'sunday' },
      range: {
        type: 'numbered',
        startDate: weekly(next).startDate,
        numberOfOccurrences: 10,
        recurrenceTimeZone: 'W. Europe Standard Time',
      },
    },
  });
  await e.cycle();
  await e.cycle();
  expect(masters().map((x) => x.id)).toEqual([id]);
  expect(crmMasters().map((r) => r.crmId)).toEqual([master]);
  expect(act.get(master).fields).toMatchObject({ start: next, recurrence: weekly(next) });
  expect(act.live('appointment')).toHaveLength(1);
});

test('making a single event recurring, on either side, leaves one series: the single item becomes the master', async () => {
  const start = berlin(6);
  const single = act.add('appointment', { owner: ANN, fields: fields('review', start, { requiredAttendees: [] }) });
  const e = engine();
  await e.cycle();
  const [ev] = cal.events(ANN);
  expect(ev.data.type).toBe('singleInstance');
  act.update(single, { fields: { recurrence: weekly(start) } });
  await e.cycle();
  expect(cal.events(ANN).map((x) => [x.id, x.data.type])).toEqual([[ev.id, 'seriesMaster']]);
  expect(act.live('appointment')).toHaveLength(1);

  // From Outlook: a tracked single event made recurring there.
  const other = berlin(8);
  const tracked = cal.addEvent(ANN, {
    subject: 'one-on-one',
    start: graphTime(other),
    end: graphTime(plus(other, 1_800_000)),
    originalStartTimeZone: 'W. Europe Standard Time',
    categories: [TRACKED],
  });
  await e.cycle();
  const rec = act.live('appointment').find((r) => r.fields.subject === 'one-on-one')!;
  expect(rec.fields.recurrence).toBeNull();
  cal.edit(ANN, 'events', tracked.id, {
    recurrence: {
      pattern: { type: 'weekly', interval: 1, daysOfWeek: [weekday(other)], firstDayOfWeek: 'sunday' },
      range: {
        type: 'numbered',
        startDate: weekly(other).startDate,
        numberOfOccurrences: 10,
        recurrenceTimeZone: 'W. Europe Standard Time',
      },
    },
  });
  await e.cycle();
  expect(act.get(rec.crmId).fields.recurrence).toEqual(weekly(other));
  expect(act.live('appointment')).toHaveLength(2);
  expect(masters()).toHaveLength(2);
  expect(cal.events(ANN)).toHaveLength(2);
});

test('a deleted occurrence is not recreated, whichever side deleted it', async () => {
  const start = berlin(2);
  const master = act.add('appointment', {
    owner: ANN,
    fields: fields('weekly 1:1', start, { recurrence: weekly(start), requiredAttendees: [] }),
  });
  const e = engine();
  await e.cycle();
  const id = masters()[0].id;
  const third = plus(start, 14 * DAY);
  cal.deleteOccurrence(ANN, id, third);
  await e.cycle();
  expect(act.get(master).fields.deletedOccurrences).toEqual([third]);

  // The CRM deletes another one.
  const fifth = plus(start, 28 * DAY);
  act.update(master, { fields: { deletedOccurrences: [third, fifth] } });
  await e.cycle();
  expect(masters()[0].data.cancelledOccurrences).toHaveLength(2);
  for (let i = 0; i < 3; i++) await e.cycle();
  expect(masters()[0].data.cancelledOccurrences).toHaveLength(2);
  expect(act.get(master).fields.deletedOccurrences).toEqual([third, fifth]);
  expect(cal.events(ANN)).toHaveLength(1);
  expect(act.live('appointment')).toHaveLength(1);
});

test('a zone without a Windows id fails its item alone; the others synchronize', async () => {
  act.add('appointment', { owner: ANN, fields: fields('on Mars', berlin(3), { timeZone: 'Mars/Olympus_Mons', requiredAttendees: [] }) });
  act.add('appointment', { owner: ANN, fields: fields('on Earth', berlin(3), { requiredAttendees: [] }) });
  const c = await engine().cycle();
  expect(c.appointment).toMatchObject({ created: 1, failed: 1 });
  expect(failures).toHaveLength(1);
  expect(failures[0].reason).toBe('ItemRejected');
  expect(failures[0].message).toContain('Mars/Olympus_Mons');
  expect(cal.events(ANN).map((x) => x.data.subject)).toEqual(['on Earth']);
});
