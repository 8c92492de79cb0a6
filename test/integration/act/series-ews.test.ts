// Recurring series over EWS (Exchange Server), with the webhook CRM (issue 15): a RecurringMaster
// with its t:Recurrence, ModifiedOccurrences read as exceptions and DeletedOccurrences; exceptions
// written through OccurrenceItemId; a weekly series with one moved occurrence arrives as master +
// exception from either side; shifting a series or making a single appointment recurring leaves
// exactly one series on each side; a deleted occurrence is never recreated; nothing is mailed at
// the first sync.

import { ActEngine } from '../../../src/act/engine.js';
import { EwsActAdapter } from '../../../src/act/exchange/ews.js';
import { WebhookActConnector } from '../../../src/crm/act-webhook.js';
import { actTestSettings } from '../../support/act-env.js';
import { berlin, dateOf, DAY, plus, seriesFields, weekday, weekly } from '../../support/act-series.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { FakeCrmAct } from '../../support/fake-crm-webhook-act.js';
import { FakeEws } from '../../support/fake-ews.js';
import { FakeEwsAct, type FakeActItem } from '../../support/fake-ews-act.js';

const SVC = { username: 'CONTOSO\\svc-series', password: 'series-Ews-Password-1', canImpersonate: true };
const CRM = { token: 'act-series-token-00000001', signingKey: 'act-series-key-000000002' };
const BOB = 'bob@contoso.example';
const TRACKED = actTestSettings().trackingCategory;
let ews: FakeEws;
let cal: FakeEwsAct;
let crm: FakeCrmWebhook;
let act: FakeCrmAct;
let failures: string[];

beforeEach(async () => {
  ews = await FakeEws.start({ accounts: [SVC], mailboxes: [BOB] });
  cal = FakeEwsAct.attach(ews);
  crm = await FakeCrmWebhook.start(CRM);
  act = FakeCrmAct.attach(crm);
  failures = [];
});
afterEach(async () => {
  await Promise.all([ews?.close(), crm?.close()]);
});

const engine = () =>
  new ActEngine({
    mailbox: { address: BOB, ownerName: BOB },
    org: { uid: 'org-onprem-0001', name: 'ns/onprem' },
    exchange: new EwsActAdapter(
      { host: '127.0.0.1', port: 443, tls: 'Implicit', url: ews.ewsUrl, ca: ews.caPem },
      { kind: 'password', username: SVC.username, password: SVC.password },
      { mailbox: BOB, impersonate: true, url: ews.ewsUrl },
      'org-onprem-0001',
    ),
    crm: new WebhookActConnector({ url: crm.url, token: CRM.token, signingKey: CRM.signingKey }),
    settings: actTestSettings({ kinds: ['appointment'] }),
    itemFailed: (_kind, _item, reason, message) => failures.push(`${reason}: ${message}`),
  });

/** The inside of t:Recurrence as Outlook writes it. */
const weeklyXml = (start: string, n = 10) =>
  `<t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>${weekday(start).replace(/^./, (c) => c.toUpperCase())}</t:DaysOfWeek><t:FirstDayOfWeek>Sunday</t:FirstDayOfWeek></t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>${dateOf(start)}</t:StartDate><t:NumberOfOccurrences>${n}</t:NumberOfOccurrences></t:NumberedRecurrence>`;
const fields = (subject: string, start: string, extra: Record<string, unknown> = {}) => seriesFields(BOB, subject, start, extra);
const masters = (): FakeActItem[] => cal.items(BOB).filter((i) => i.recurrence && !i.masterId);
const crmMasters = () => act.live('appointment').filter((r) => r.fields.recurrence);

test('a weekly series created in the CRM with one moved occurrence arrives as RecurringMaster + one exception, without invitations', async () => {
  const start = berlin(3);
  const master = act.add('appointment', { owner: BOB, fields: fields('weekly sync', start, { recurrence: weekly(start) }) });
  const second = plus(start, 7 * DAY);
  const moved = act.add('appointment', {
    owner: BOB,
    fields: fields('weekly sync (moved)', plus(second, 2 * 3_600_000)),
    seriesMasterId: master,
    originalStart: second,
  });
  const e = engine();
  const first = await e.cycle();
  expect(failures).toEqual([]);
  expect(first.appointment).toMatchObject({ created: 2, failed: 0 });
  expect(cal.notices).toEqual([]);
  expect(masters()).toHaveLength(1);
  const m = masters()[0];
  expect(m.fields).toMatchObject({ Start: start, StartTimeZone: 'W. Europe Standard Time' });
  expect(m.recurrence).toContain(`<t:DaysOfWeek>${weekday(start).replace(/^./, (c) => c.toUpperCase())}</t:DaysOfWeek>`);
  const [ex] = cal.exceptionsOf(BOB, m.id);
  expect(ex.fields).toMatchObject({ Subject: 'weekly sync (moved)', Start: plus(second, 2 * 3_600_000) });
  expect(ex.originalStart).toBe(Date.parse(second));
  expect(cal.items(BOB)).toHaveLength(2);
  expect(act.link(BOB, 'appointment', master)?.exchangeId).toBe(m.id);
  expect(act.link(BOB, 'appointment', moved)?.exchangeId).toBe(ex.id);

  const idle = await e.cycle();
  expect(idle.appointment).toMatchObject({ created: 0, updated: 0, conflicts: 0, failed: 0 });
  expect(act.live('appointment')).toHaveLength(2);
  expect(act.get(master).fields.recurrence).toEqual(weekly(start));
});

test('a tracked series from Outlook with one moved occurrence arrives in the CRM as master + exception', async () => {
  const start = berlin(4);
  const s = cal.addSeries(
    BOB,
    { Subject: 'planning', Start: start, End: plus(start, 3_600_000), StartTimeZone: 'W. Europe Standard Time' },
    weeklyXml(start),
    { categories: [TRACKED] },
  );
  const second = plus(start, 7 * DAY);
  const ex = cal.editOccurrence(BOB, s.id, second, {
    Subject: 'planning (moved)',
    Start: plus(second, DAY),
    End: plus(second, DAY + 3_600_000),
  });
  const e = engine();
  const first = await e.cycle();
  expect(failures).toEqual([]);
  expect(first.appointment).toMatchObject({ created: 2, failed: 0 });
  const records = act.live('appointment');
  expect(records).toHaveLength(2);
  const master = records.find((r) => r.fields.recurrence)!;
  expect(master.fields).toMatchObject({ subject: 'planning', timeZone: 'Europe/Berlin', start, recurrence: weekly(start) });
  const exception = records.find((r) => r.seriesMasterId)!;
  expect(exception).toMatchObject({ seriesMasterId: master.crmId, originalStart: second });
  expect(exception.fields).toMatchObject({ subject: 'planning (moved)', start: plus(second, DAY) });
  expect(act.link(BOB, 'appointment', exception.crmId)?.exchangeId).toBe(ex.id);
  const idle = await e.cycle();
  expect(idle.appointment).toMatchObject({ created: 0, updated: 0, failed: 0 });
  expect(cal.notices).toEqual([]);
});

test('shifting a series on either side, or making a single appointment recurring, leaves exactly one series on both sides', async () => {
  const start = berlin(5);
  const master = act.add('appointment', {
    owner: BOB,
    fields: fields('standup', start, { recurrence: weekly(start), requiredAttendees: [] }),
  });
  const e = engine();
  await e.cycle();
  const id = masters()[0].id;
  act.update(master, { fields: { start: plus(start, 3_600_000), end: plus(start, 2 * 3_600_000) } });
  await e.cycle();
  expect(masters().map((x) => x.id)).toEqual([id]);
  expect(masters()[0].fields.Start).toBe(plus(start, 3_600_000));

  // Outlook moves it to the next day of the week.
  const next = plus(start, DAY);
  cal.edit(BOB, id, { Start: next, End: plus(next, 3_600_000) });
  masters()[0].recurrence = weeklyXml(next);
  await e.cycle();
  await e.cycle();
  expect(masters().map((x) => x.id)).toEqual([id]);
  expect(crmMasters().map((r) => r.crmId)).toEqual([master]);
  expect(act.get(master).fields).toMatchObject({ start: next, recurrence: weekly(next) });

  // A single CRM appointment made recurring: the same item becomes the RecurringMaster.
  const other = berlin(6);
  const single = act.add('appointment', { owner: BOB, fields: fields('review', other, { requiredAttendees: [] }) });
  await e.cycle();
  const item = cal.items(BOB).find((i) => i.fields.Subject === 'review')!;
  expect(item.recurrence).toBeUndefined();
  act.update(single, { fields: { recurrence: weekly(other) } });
  await e.cycle();
  expect(
    cal
      .items(BOB)
      .filter((i) => i.fields.Subject === 'review')
      .map((i) => [i.id, !!i.recurrence]),
  ).toEqual([[item.id, true]]);
  expect(act.live('appointment')).toHaveLength(2);
  expect(masters()).toHaveLength(2);
  expect(failures).toEqual([]);
});

test('a deleted occurrence is not recreated, whichever side deleted it', async () => {
  const start = berlin(2);
  const master = act.add('appointment', {
    owner: BOB,
    fields: fields('weekly 1:1', start, { recurrence: weekly(start), requiredAttendees: [] }),
  });
  const e = engine();
  await e.cycle();
  const id = masters()[0].id;
  const third = plus(start, 14 * DAY);
  cal.deleteOccurrence(BOB, id, third);
  await e.cycle();
  expect(act.get(master).fields.deletedOccurrences).toEqual([third]);
  const fifth = plus(start, 28 * DAY);
  act.update(master, { fields: { deletedOccurrences: [third, fifth] } });
  await e.cycle();
  expect(masters()[0].deleted).toEqual([Date.parse(third), Date.parse(fifth)]);
  for (let i = 0; i < 3; i++) await e.cycle();
  expect(masters()[0].deleted).toHaveLength(2);
  expect(act.get(master).fields.deletedOccurrences).toEqual([third, fifth]);
  expect(cal.items(BOB)).toHaveLength(1);
  expect(act.live('appointment')).toHaveLength(1);
  expect(failures).toEqual([]);
});
