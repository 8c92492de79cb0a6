// The ACT engine over EWS (Exchange Server, impersonation) against the EWS fake and the webhook
// CRM fake: appointments both ways, no invitations on the first sync, a stale ChangeKey merged
// again, ErrorServerBusy retried, an expired SyncState, a missing right named.

import { ActEngine, type ActSettings } from '../../../src/act/engine.js';
import { actTestSettings } from '../../support/act-env.js';
import { EwsActAdapter } from '../../../src/act/exchange/ews.js';
import { WebhookActConnector } from '../../../src/crm/act-webhook.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { FakeCrmAct } from '../../support/fake-crm-webhook-act.js';
import { FakeEws } from '../../support/fake-ews.js';
import { FakeEwsAct } from '../../support/fake-ews-act.js';

const SVC = { username: 'CONTOSO\\svc-crm', password: 'svc-Ews-Password-7', canImpersonate: true };
const CRM = { token: 'ews-act-Crm-Token-00001', signingKey: 'ews-act-Signing-Key-002' };
const BOB = 'bob@contoso.example';
const HOUR = 3_600_000;
let ews: FakeEws;
let cal: FakeEwsAct;
let crm: FakeCrmWebhook;
let act: FakeCrmAct;
let connector: WebhookActConnector;

const at = (h: number) => new Date(Date.now() + h * HOUR).toISOString().replace(/\.\d{3}Z$/, 'Z');
const adapter = () =>
  new EwsActAdapter(
    { host: '127.0.0.1', port: 443, tls: 'Implicit', url: ews.ewsUrl, ca: ews.caPem },
    { kind: 'password', username: SVC.username, password: SVC.password },
    { mailbox: BOB, impersonate: true, url: ews.ewsUrl },
    'org-onprem-0001',
  );
const settings = actTestSettings;
const engine = (extra: Partial<ActSettings> = {}) =>
  new ActEngine({
    mailbox: { address: BOB, ownerName: BOB },
    org: { uid: 'org-onprem-0001', name: 'ns/onprem' },
    exchange: adapter(),
    crm: connector,
    settings: settings(extra),
  });
const meeting = (subject: string, h: number, attendees = ['cust@customer.example']) => ({
  subject,
  body: 'agenda',
  location: 'Room 1',
  start: at(h),
  end: at(h + 1),
  isAllDay: false,
  importance: 'normal',
  showAs: 'busy',
  organizer: BOB,
  requiredAttendees: attendees.map((address) => ({ address })),
  optionalAttendees: [],
});

beforeAll(async () => {
  ews = await FakeEws.start({ accounts: [SVC], mailboxes: [BOB] });
  cal = FakeEwsAct.attach(ews);
  crm = await FakeCrmWebhook.start(CRM);
  act = FakeCrmAct.attach(crm);
  connector = new WebhookActConnector({ url: crm.url, token: CRM.token, signingKey: CRM.signingKey });
});
afterAll(async () => {
  await Promise.all([ews?.close(), crm?.close()]);
});

test('first sync sends nothing; later, a new meeting invites; edits flow both ways; an Outlook edit under our update is merged, not lost', async () => {
  const old = act.add('appointment', { owner: BOB, fields: meeting('quarterly', 24) });
  const e = engine();
  expect((await e.cycle()).appointment?.created).toBe(1);
  expect(cal.notices).toEqual([]);
  const item = cal.items(BOB).find((i) => i.fields.Subject === 'quarterly')!;
  expect(item.required).toEqual(['cust@customer.example']);
  expect(Object.values(item.props).some((v) => v.endsWith(old))).toBe(true);

  act.add('appointment', { owner: BOB, fields: meeting('new demo', 48) });
  await e.cycle();
  expect(cal.notices.map((n) => [n.subject, n.kind])).toEqual([['new demo', 'invitation']]);

  cal.edit(BOB, item.id, { Location: 'Room 9' });
  await e.cycle();
  expect(act.get(old).fields.location).toBe('Room 9');

  // A CRM change whose update meets an item changed in Outlook meanwhile (stale ChangeKey).
  act.update(old, { fields: { subject: 'quarterly review' } });
  cal.beforeUpdate = (i) => {
    i.fields.Body = 'edited in Outlook meanwhile';
    i.seq += 0;
    i.changeKey = `${i.changeKey}x`;
  };
  await e.cycle();
  const now = cal.items(BOB).find((i) => i.id === item.id)!;
  expect(now.fields.Subject).toBe('quarterly review');
  expect(now.fields.Body).toBe('edited in Outlook meanwhile');
  await e.cycle();
  expect(act.get(old).fields.body).toBe('edited in Outlook meanwhile');
});

test('a tracked Outlook appointment comes to the CRM, stamped; deleting it in Outlook deletes the CRM record (organizer, future)', async () => {
  const e = engine();
  await e.cycle();
  const i = cal.add(BOB, { Subject: 'site visit', Start: at(30), End: at(31) }, { categories: ['Tracked to Contoso CRM'] });
  await e.cycle();
  const rec = act.live('appointment').find((r) => r.fields.subject === 'site visit')!;
  expect(rec).toBeDefined();
  expect(Object.values(cal.items(BOB).find((x) => x.id === i.id)!.props).some((v) => v.endsWith(rec.crmId))).toBe(true);
  cal.remove(BOB, i.id);
  await e.cycle();
  expect(act.get(rec.crmId).deleted).toBe(true);
});

test('ErrorServerBusy fails the cycle with the back-off; an expired SyncState resyncs; nothing twice', async () => {
  const e = engine();
  await e.cycle();
  for (let n = 0; n < 5; n++) act.add('appointment', { owner: BOB, fields: meeting(`busy ${n}`, 60 + n, []) });
  ews.throttleNext(1, 1500);
  await expect(e.cycle()).rejects.toMatchObject({ reason: 'Throttled', retryAfterMs: 1500 });
  await e.cycle();
  cal.invalidateSyncStates();
  await e.cycle();
  for (let n = 0; n < 5; n++) expect(cal.items(BOB).filter((x) => x.fields.Subject === `busy ${n}`)).toHaveLength(1);
});

test('Test and Enable names the folder and the right when the account may not open the calendar', async () => {
  cal.denied.add('calendar');
  try {
    await expect(adapter().test(['appointment'])).rejects.toThrow(/Calendar folder.*ApplicationImpersonation/);
  } finally {
    cal.denied.delete('calendar');
  }
});

test('time zones: Europe/Berlin is written as "W. Europe Standard Time" and read back; an Outlook zone reaches the CRM as IANA; a zone without a Windows id or one EWS refuses fails its item alone', async () => {
  const failures: string[] = [];
  const e = new ActEngine({
    mailbox: { address: BOB, ownerName: BOB },
    org: { uid: 'org-onprem-0001', name: 'ns/onprem' },
    exchange: adapter(),
    crm: connector,
    settings: settings({ kinds: ['appointment'] }),
    itemFailed: (_kind, _item, reason, message) => failures.push(`${reason}: ${message}`),
  });
  await e.cycle();
  cal.rejectedZones.add('Russia Time Zone 11');
  const berlin = act.add('appointment', { owner: BOB, fields: { ...meeting('zoned', 40, []), timeZone: 'Europe/Berlin' } });
  act.add('appointment', { owner: BOB, fields: { ...meeting('nowhere', 41, []), timeZone: 'Mars/Olympus_Mons' } });
  act.add('appointment', { owner: BOB, fields: { ...meeting('kamchatka', 42, []), timeZone: 'Asia/Kamchatka' } });
  const c = await e.cycle();
  expect(c.appointment).toMatchObject({ created: 1, failed: 2 });
  expect(failures).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^ItemRejected: the appointment's time zone "Mars\/Olympus_Mons" has no Windows time zone/),
      expect.stringMatching(
        /^ItemRejected: EWS refused the time zone "Asia\/Kamchatka" \(Windows id "Russia Time Zone 11"\).*ErrorTimeZone/,
      ),
    ]),
  );
  const item = cal.items(BOB).find((i) => i.fields.Subject === 'zoned')!;
  expect(item.fields).toMatchObject({ StartTimeZone: 'W. Europe Standard Time', EndTimeZone: 'W. Europe Standard Time' });
  const idle = await e.cycle();
  expect(idle.appointment).toMatchObject({ created: 0, updated: 0, failed: 0 });
  expect(act.get(berlin).fields.timeZone).toBe('Europe/Berlin');

  // A zone set in Outlook reaches the CRM as its IANA id.
  cal.edit(BOB, item.id, { StartTimeZone: 'Tokyo Standard Time', EndTimeZone: 'Tokyo Standard Time' });
  await e.cycle();
  expect(act.get(berlin).fields.timeZone).toBe('Asia/Tokyo');
  expect(cal.notices.filter((n) => ['zoned', 'nowhere', 'kamchatka'].includes(String(n.subject)))).toEqual([]);
});
