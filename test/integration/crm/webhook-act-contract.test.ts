// docs/crm-webhook-act.openapi.yaml is the contract a CRM implements for appointments, contacts
// and tasks: every request the connector sends during real sync cycles must validate against its
// request schema, and every answer of the fake CRM (our reference implementation) against the
// response schema of its status, so the document, the connector and the fake agree.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import yaml from 'js-yaml';
import { ActEngine } from '../../../src/act/engine.js';
import { directionTable } from '../../../src/act/directions.js';
import { EwsActAdapter } from '../../../src/act/exchange/ews.js';
import { WebhookActConnector } from '../../../src/crm/act-webhook.js';
import { FakeCrmWebhook, type FakeExchange } from '../../support/fake-crm-webhook.js';
import { FakeCrmAct } from '../../support/fake-crm-webhook-act.js';
import { FakeEws } from '../../support/fake-ews.js';
import { FakeEwsAct } from '../../support/fake-ews-act.js';
import { actTestSettings } from '../../support/act-env.js';
import { fakeGraphActAdapter } from '../../support/act-graph.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeGraphAct } from '../../support/fake-graph-act.js';
import { FakeOAuth } from '../../support/fake-oauth.js';

type Op = {
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }>;
};
const here = path.dirname(fileURLToPath(import.meta.url));
const doc = yaml.load(readFileSync(path.resolve(here, '../../../../docs/crm-webhook-act.openapi.yaml'), 'utf8')) as {
  paths: Record<string, Record<string, Op>>;
  components: Record<string, unknown>;
};
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: 'act', components: doc.components });
const rewrite = (s: unknown) => JSON.parse(JSON.stringify(s).replace(/"\$ref":"#\//g, '"$ref":"act#/'));

/** The contract's operation for a method and path, with the path template matched. */
function operation(method: string, p: string): Op | undefined {
  for (const [template, ops] of Object.entries(doc.paths)) {
    const re = new RegExp(`^${template.replace(/\{kind\}/, '(appointments|contacts|tasks)').replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (re.test(p) && ops[method.toLowerCase()]) return ops[method.toLowerCase()];
  }
  return undefined;
}

function check(schema: unknown, value: unknown, what: string): void {
  const validate = ajv.compile(rewrite(schema));
  if (!validate(value))
    throw new Error(`${what} does not match the contract: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 400)}`);
}

/** Checks every ACT request and answer against the contract; the operations used. */
function validate(seen: FakeExchange[]): Set<string> {
  const ops = new Set<string>();
  for (const x of seen.filter((s) => s.path.startsWith('/act/'))) {
    const path = x.path.split('?')[0];
    const op = operation(x.method, path);
    if (!op) throw new Error(`${x.method} ${path} is not in the contract`);
    ops.add(`${x.method} ${path.replace(/\/act\/mailboxes\/[^/]+/, '').replace(/\/[0-9a-f-]{36}/, '/{crmId}')}`);
    if (op.requestBody) check(op.requestBody.content['application/json'].schema, JSON.parse(x.request), `${x.method} ${path} request`);
    const response = op.responses[String(x.status)] ?? op.responses.default;
    const schema = response?.content?.['application/json']?.schema;
    if (schema) check(schema, x.answer, `${x.method} ${path} ${x.status} answer`);
  }
  return ops;
}

test('every ACT request and answer of real cycles matches docs/crm-webhook-act.openapi.yaml', async () => {
  const SVC = { username: 'CONTOSO\\svc', password: 'contract-Ews-Password-1', canImpersonate: true };
  const CRM = { token: 'act-contract-token-0000001', signingKey: 'act-contract-key-00000002' };
  const ews = await FakeEws.start({ accounts: [SVC], mailboxes: ['cy@contoso.example'] });
  const cal = FakeEwsAct.attach(ews);
  const crm = await FakeCrmWebhook.start(CRM);
  const act = FakeCrmAct.attach(crm);
  const seen: FakeExchange[] = [];
  crm.onExchange = (x) => seen.push(x);
  try {
    const connector = new WebhookActConnector({ url: crm.url, token: CRM.token, signingKey: CRM.signingKey });
    const adapter = new EwsActAdapter(
      { host: '127.0.0.1', port: 443, tls: 'Implicit', url: ews.ewsUrl, ca: ews.caPem },
      { kind: 'password', username: SVC.username, password: SVC.password },
      { mailbox: 'cy@contoso.example', impersonate: true, url: ews.ewsUrl },
      'org-c',
    );
    const e = new ActEngine({
      mailbox: { address: 'cy@contoso.example', ownerName: 'cy' },
      org: { uid: 'org-c', name: 'ns/c' },
      exchange: adapter,
      crm: connector,
      settings: {
        kinds: ['appointment'],
        directions: { appointment: directionTable('appointment'), contact: directionTable('contact'), task: directionTable('task') },
        policy: 'CRMWins',
        trackingCategory: 'Tracked',
        propagateCancellations: false,
        dryRun: false,
        takeOver: false,
        pageSize: 2,
      },
    });
    const soon = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const ids = [1, 2, 3].map((n) =>
      act.add('appointment', {
        owner: 'cy@contoso.example',
        fields: {
          subject: `m${n}`,
          start: soon(n),
          end: soon(n + 1),
          organizer: 'cy@contoso.example',
          requiredAttendees: [{ address: 'x@customer.example', name: 'X' }],
        },
      }),
    );
    await e.cycle();
    cal.add('cy@contoso.example', { Subject: 'tracked', Start: soon(9), End: soon(10) }, { categories: ['Tracked'] });
    cal.edit('cy@contoso.example', cal.items('cy@contoso.example')[0].id, { Location: 'there' });
    act.update(ids[1], { fields: { subject: 'm2 renamed' } });
    await e.cycle();
    act.remove(ids[2]);
    cal.remove('cy@contoso.example', cal.items('cy@contoso.example').find((i) => i.fields.Subject === 'tracked')!.id);
    await e.cycle();
    await e.cycle();
  } finally {
    await Promise.all([ews.close(), crm.close()]);
  }
  const ops = validate(seen);
  // The cycles used every operation of the contract.
  expect([...ops].sort()).toEqual(
    [
      'DELETE /appointments/{crmId}',
      'DELETE /appointments/{crmId}/link',
      'GET /appointments/changes',
      'GET /state',
      'PATCH /appointments/{crmId}',
      'POST /appointments',
      'POST /appointments/lookup',
      'PUT /appointments/{crmId}/link',
      'PUT /state',
    ].sort(),
  );
});

test('recurring series (masters with recurrence and time zone, exceptions with seriesMasterId) match the contract both ways', async () => {
  const APP = { tenantId: 'contoso-tenant', clientId: 'mailsync-app', clientSecret: 'graph-Client-Secret-42' };
  const CRM = { token: 'act-contract-token-0000003', signingKey: 'act-contract-key-00000004' };
  const DY = 'dy@contoso.example';
  const oauth = await FakeOAuth.start({ clients: [APP] });
  const graph = await FakeGraph.start(oauth, [DY]);
  const cal = FakeGraphAct.attach(graph);
  const crm = await FakeCrmWebhook.start(CRM);
  const act = FakeCrmAct.attach(crm);
  const seen: FakeExchange[] = [];
  crm.onExchange = (x) => seen.push(x);
  try {
    const e = new ActEngine({
      mailbox: { address: DY, ownerName: 'dy' },
      org: { uid: 'org-d', name: 'ns/d' },
      exchange: fakeGraphActAdapter(oauth, graph, APP, DY, 'org-d'),
      crm: new WebhookActConnector({ url: crm.url, token: CRM.token, signingKey: CRM.signingKey }),
      settings: actTestSettings({ kinds: ['appointment'], trackingCategory: 'Tracked' }),
    });
    const day = (n: number, h: number) => {
      const d = new Date(Date.now() + n * 86_400_000);
      d.setUTCHours(h, 0, 0, 0);
      return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
    };
    const weekday = (iso: string) =>
      ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'][new Date(iso).getUTCDay()];
    const start = day(3, 8);
    const master = act.add('appointment', {
      owner: DY,
      fields: {
        subject: 'weekly',
        start,
        end: day(3, 9),
        organizer: DY,
        timeZone: 'Europe/Berlin',
        recurrence: {
          type: 'weekly',
          interval: 1,
          daysOfWeek: [weekday(start) as 'monday'],
          rangeType: 'noEnd',
          startDate: start.slice(0, 10),
        },
      },
    });
    const second = day(10, 8);
    act.add('appointment', {
      owner: DY,
      fields: { subject: 'weekly (moved)', start: day(10, 10), end: day(10, 11), organizer: DY, timeZone: 'Europe/Berlin' },
      seriesMasterId: master,
      originalStart: second,
    });
    await e.cycle();
    // From Outlook: a tracked series with a moved occurrence.
    const other = day(5, 12);
    const s = cal.addEvent(DY, {
      subject: 'outlook weekly',
      start: { dateTime: other.slice(0, 19), timeZone: 'UTC' },
      end: { dateTime: day(5, 13).slice(0, 19), timeZone: 'UTC' },
      originalStartTimeZone: 'W. Europe Standard Time',
      recurrence: {
        pattern: { type: 'weekly', interval: 1, daysOfWeek: [weekday(other)], firstDayOfWeek: 'sunday' },
        range: { type: 'endDate', startDate: other.slice(0, 10), endDate: day(60, 0).slice(0, 10) },
      },
      categories: ['Tracked'],
    });
    await e.cycle();
    cal.editOccurrence(DY, s.id, day(12, 12), { subject: 'outlook weekly (moved)' });
    cal.deleteOccurrence(DY, s.id, day(19, 12));
    await e.cycle();
    await e.cycle();
    expect(act.live('appointment').filter((r) => r.seriesMasterId)).toHaveLength(2);
    expect(act.live('appointment').filter((r) => r.fields.recurrence)).toHaveLength(2);
  } finally {
    await Promise.all([graph.close(), oauth.close(), crm.close()]);
  }
  const ops = validate(seen);
  expect(ops).toContain('POST /appointments');
  expect(seen.some((x) => x.path.endsWith('/appointments') && x.method === 'POST' && /"seriesMasterId"/.test(x.request))).toBe(true);
  expect(seen.some((x) => /"recurrence":\{/.test(x.request))).toBe(true);
});
