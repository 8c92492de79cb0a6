// A mailbox's first sync with 1,000 appointments, 1,000 contacts and 1,000 tasks already on both
// sides (the same meetings, known to the CRM by iCalUId; contacts and To Do tasks stamped by an
// earlier sync whose links the CRM lost): everything is linked, nothing is created twice, nobody is
// mailed; then a contact that leaves the filter is unlinked, not deleted.

import { randomUUID } from 'node:crypto';
import { ActEngine } from '../../../src/act/engine.js';
import { directionTable } from '../../../src/act/directions.js';
import { GraphActAdapter, STAMP_PROPERTY, stampValue } from '../../../src/act/exchange/graph.js';
import { WebhookActConnector } from '../../../src/crm/act-webhook.js';
import { ClientCredentialsTokenProvider } from '../../../src/mail/oauth.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { FakeCrmAct } from '../../support/fake-crm-webhook-act.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeGraphAct } from '../../support/fake-graph-act.js';
import { FakeOAuth } from '../../support/fake-oauth.js';

const N = 1000;
const ORG = 'org-first-sync-01';
const DEE = 'dee@contoso.example';
const APP = { tenantId: 't', clientId: 'first-sync-app', clientSecret: 'first-Sync-Secret-000042' };
const CRM = { token: 'first-sync-Crm-Token-0001', signingKey: 'first-sync-Signing-Key-02' };

test(`first sync with ${N} appointments, ${N} contacts and ${N} tasks on both sides: linked, not duplicated, nobody mailed`, async () => {
  const oauth = await FakeOAuth.start({ clients: [APP] });
  const graph = await FakeGraph.start(oauth, [DEE]);
  const cal = FakeGraphAct.attach(graph);
  const crm = await FakeCrmWebhook.start(CRM);
  const act = FakeCrmAct.attach(crm);
  try {
    const ca = [oauth.caPem, graph.caPem].join('\n');
    const token = new ClientCredentialsTokenProvider({
      tenantId: APP.tenantId,
      clientId: APP.clientId,
      clientSecret: APP.clientSecret,
      scope: 'https://graph.microsoft.com/.default',
      authorityUrl: oauth.authorityUrl,
      ca,
    });
    const at = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const appointments: string[] = [];
    const contacts: string[] = [];
    const tasks: string[] = [];
    for (let i = 0; i < N; i++) {
      const uid = `040000008200E00074C5B7101A82E008${randomUUID().replace(/-/g, '')}`;
      const fields = {
        subject: `meeting ${i}`,
        start: at(1 + i),
        end: at(2 + i),
        organizer: DEE,
        requiredAttendees: [{ address: `c${i}@customer.example` }],
        showAs: 'busy',
        importance: 'normal',
        isAllDay: false,
      };
      appointments.push(act.add('appointment', { owner: DEE, fields: { ...fields, location: 'CRM room' }, iCalUId: uid }));
      cal.addEvent(DEE, {
        iCalUId: uid,
        subject: fields.subject,
        location: { displayName: 'Outlook room' },
        start: { dateTime: fields.start.replace(/Z$/, ''), timeZone: 'UTC' },
        end: { dateTime: fields.end.replace(/Z$/, ''), timeZone: 'UTC' },
        isAllDay: false,
        showAs: 'busy',
        importance: 'normal',
        attendees: [{ emailAddress: { address: `c${i}@customer.example` }, type: 'required' }],
      });
      const crmId = act.add('contact', {
        owner: DEE,
        fields: { givenName: `Given${i}`, surname: `Sur${i}`, email1: `p${i}@customer.example` },
      });
      contacts.push(crmId);
      cal.addContact(DEE, { givenName: `Given${i}`, surname: `Sur${i}`, emailAddresses: [{ address: `p${i}@customer.example` }] }).props[
        STAMP_PROPERTY
      ] = stampValue(ORG, crmId);
      const taskId = act.add('task', { owner: DEE, fields: { subject: `task ${i}`, status: 'notStarted', importance: 'normal' } });
      tasks.push(taskId);
      cal.addTask(DEE, {
        title: `task ${i}`,
        linkedResources: [{ applicationName: 'mailsync', displayName: 'CRM record', externalId: stampValue(ORG, taskId) }],
      });
    }
    const engine = new ActEngine({
      mailbox: { address: DEE, ownerName: DEE },
      org: { uid: ORG, name: 'ns/first' },
      exchange: new GraphActAdapter(
        { host: '127.0.0.1', port: 443, tls: 'Implicit', url: graph.baseUrl, ca },
        { kind: 'oauth2', username: DEE, token },
        { mailbox: DEE, pastDays: 30, futureDays: 365 * 4, pageSize: 500 },
        ORG,
      ),
      crm: new WebhookActConnector({ url: crm.url, token: CRM.token, signingKey: CRM.signingKey }),
      settings: {
        kinds: ['appointment', 'contact', 'task'],
        directions: { appointment: directionTable('appointment'), contact: directionTable('contact'), task: directionTable('task') },
        policy: 'CRMWins',
        trackingCategory: 'Tracked',
        propagateCancellations: false,
        dryRun: false,
        takeOver: false,
        pageSize: 200,
      },
    });
    const first = await engine.cycle();
    expect(first.appointment?.created).toBe(0);
    expect(first.contact?.created).toBe(0);
    expect(first.task?.created).toBe(0);
    expect(cal.events(DEE)).toHaveLength(N);
    expect(cal.contacts(DEE)).toHaveLength(N);
    expect(cal.tasks(DEE)).toHaveLength(N);
    expect(act.live('task')).toHaveLength(N);
    expect(cal.notices).toEqual([]);
    for (const id of appointments) expect(act.link(DEE, 'appointment', id)).toBeDefined();
    for (const id of contacts) expect(act.link(DEE, 'contact', id)).toBeDefined();
    for (const id of tasks) expect(act.link(DEE, 'task', id)).toBeDefined();
    // The first link of a meeting whose attendees Exchange invited: changing its location would mail
    // them, which a first sync must not, so Exchange's value stands on both sides (docs/act.md).
    expect(new Set(cal.events(DEE).map((e) => (e.data.location as { displayName: string }).displayName))).toEqual(
      new Set(['Outlook room']),
    );
    expect(new Set(act.live('appointment').map((r) => r.fields.location))).toEqual(new Set(['Outlook room']));
    await engine.cycle();
    expect(cal.events(DEE)).toHaveLength(N);
    expect(cal.notices).toEqual([]);

    act.update(contacts[7], { state: 'inactive' });
    const c = await engine.cycle();
    expect(c.contact?.unlinked).toBe(1);
    expect(cal.contacts(DEE)).toHaveLength(N);
    expect(act.link(DEE, 'contact', contacts[7])).toBeUndefined();
  } finally {
    await Promise.all([graph.close(), oauth.close(), crm.close()]);
  }
}, 120_000);
