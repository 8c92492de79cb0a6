// DynamicsConnector against the fake Dataverse Web API and its token endpoint, over HTTPS with the
// test CA (test/support/fake-crm-dynamics.ts).
import { DynamicsConnector, submittedByMarker, type DynamicsConnectorOptions } from '../../../src/crm/dynamics.js';
import type { IncomingEmail } from '../../../src/crm/types.js';
import { closeHttpDispatchers } from '../../../src/net/http.js';
import { clientCredentials } from '../../../src/mail/oauth.js';
import { FakeDynamics } from '../../support/fake-crm-dynamics.js';
import { freePorts } from '../../support/free-port.js';
import { expectCrmError } from './crm-assertions.js';

const CLIENT = { tenantId: 'contoso-tenant', clientId: '0d7c1f7e-1111-4a4a-9b9b-123456789abc', clientSecret: 'dyn~ClientSecret.Value_0123456789abcdef' };
const SECRETS = [CLIENT.clientSecret];

let dv: FakeDynamics;

beforeAll(async () => {
  dv = await FakeDynamics.start({ clients: [CLIENT] });
});

afterAll(async () => {
  await dv?.close();
  await closeHttpDispatchers();
});

function connector(overrides: Partial<DynamicsConnectorOptions> = {}): DynamicsConnector {
  return new DynamicsConnector({
    url: dv.orgUrl,
    ...CLIENT,
    authorityUrl: dv.authorityUrl,
    ca: dv.caPem,
    timeoutMs: 5000,
    secretName: 'Secret "dynamics"',
    tokenSource: clientCredentials,
    ...overrides,
  });
}

let seq = 0;
function incoming(overrides: Partial<IncomingEmail> = {}): IncomingEmail {
  seq++;
  return {
    mailbox: 'crm/support',
    mailboxAddress: 'support@contoso.com',
    ownerKind: 'Queue',
    ownerName: 'Support',
    messageId: `dyn-${seq}-${Date.now()}@mail.example.net`,
    sourceId: `7:${seq}`,
    from: { address: 'buyer@example.net', name: 'Buyer' },
    to: [{ address: 'support@contoso.com' }],
    cc: [],
    subject: `Order ${seq}`,
    receivedAt: new Date().toISOString(),
    textBody: 'Line 1\nLine <2>',
    references: [],
    attachments: [],
    ...overrides,
  };
}

/** No token (a JWT, three base64url parts) leaks into a message either. */
function expectNoToken(message: string): void {
  expect(message).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
}

test('test(): a client-credentials token for <org>/.default, then WhoAmI; the token is cached', async () => {
  const c = connector();
  const before = dv.oauth.requests;
  await c.test();
  await c.test();
  expect(dv.oauth.requests).toBe(before + 1);
  const whoami = dv.requests.filter((r) => r.path === '/api/data/v9.2/WhoAmI').at(-1)!;
  expect(whoami.headers).toMatchObject({ 'odata-maxversion': '4.0', 'odata-version': '4.0', accept: 'application/json' });
  expect(whoami.headers.authorization).toMatch(/^Bearer /);
});

test('wrong client secret: CRMAuthenticationFailed naming the fix, secret not in the message', async () => {
  const wrong = 'dyn~Wrong.Secret_abcdef0123456789';
  const err = await expectCrmError(connector({ clientSecret: wrong }).test(), 'CRMAuthenticationFailed', [...SECRETS, wrong]);
  expect(err.permanent).toBe(true);
  expect(err.message).toContain('invalid_client');
  expect(err.message).toContain('clientSecret');
});

test('a certificate from an untrusted CA: CRMUnreachable, permanent, pointing at spec.crm.caBundle or the CA', async () => {
  const err = await expectCrmError(connector({ ca: undefined }).test(), 'CRMUnreachable', SECRETS);
  expect(err.permanent).toBe(true);
  expect(err.message).toMatch(/TLS|certificate/);
});

test('token endpoint or Dataverse down: CRMUnreachable, transient', async () => {
  const [port] = await freePorts(1);
  const noAuthority = await expectCrmError(connector({ authorityUrl: `https://127.0.0.1:${port}` }).test(), 'CRMUnreachable', SECRETS);
  expect(noAuthority.permanent).toBe(false);
  expect(noAuthority.message).toContain('ECONNREFUSED');
  // The token endpoint answers, Dataverse does not (the token's audience is the configured scope).
  const noDataverse = await expectCrmError(connector({ url: `https://127.0.0.1:${port}`, scope: `${dv.orgUrl}/.default` }).test(), 'CRMUnreachable', SECRETS);
  expect(noDataverse.message).toContain(`https://127.0.0.1:${port}/api/data/v9.2/WhoAmI`);
  expect(noDataverse.message).toContain('ECONNREFUSED');
});

test('a revoked token is replaced once; a token for another environment is refused', async () => {
  const c = connector();
  await c.test();
  dv.oauth.revokeAll();
  await expect(c.test()).resolves.toBeUndefined();
  const other = connector({ scope: 'https://other.crm.dynamics.com/.default' });
  const err = await expectCrmError(other.test(), 'CRMAuthenticationFailed', SECRETS);
  expect(err.message).toContain('HTTP 401');
  expect(err.message).toContain('application user');
  expectNoToken(err.message);
});

test('incoming: an email activity with resolved and unresolved parties, attachments, closed as Received', async () => {
  const contact = dv.addContact('Buyer@Example.net', 'Bea Buyer', 'emailaddress2');
  const queue = dv.addQueue('support@contoso.com', 'Support');
  const lead = dv.addLead('prospect@example.org', 'Pat Prospect');
  const c = connector();
  const email = incoming({
    cc: [{ address: 'prospect@example.org' }, { address: 'nobody@example.com', name: 'Nobody' }],
    attachments: [{ filename: 'order.pdf', contentType: 'application/pdf', size: 5, contentBase64: Buffer.from('%PDF-').toString('base64') }],
  });
  const result = await c.deliverIncoming(email);
  expect(result.created).toBe(true);

  const row = dv.email(result.crmId)!;
  expect(row).toMatchObject({
    directioncode: false,
    messageid: `<${email.messageId}>`,
    submittedby: 'mailsync:crm/support',
    subject: email.subject,
    description: 'Line 1<br>Line &lt;2&gt;',
    statecode: 1,
    statuscode: 4,
  });
  const parties = row.parties.map((p) => [p.participationtypemask, p._partyid_value ?? null, p.addressused]);
  expect(parties).toEqual([
    [1, contact, 'buyer@example.net'],
    [2, queue, 'support@contoso.com'],
    [3, lead, 'prospect@example.org'],
    [3, null, 'nobody@example.com'],
  ]);
  expect(dv.attachments(result.crmId)).toEqual([expect.objectContaining({ filename: 'order.pdf', mimetype: 'application/pdf', filesize: 5 })]);
  const create = dv.requests.find((r) => r.method === 'POST' && r.path === '/api/data/v9.2/emails')!;
  expect(create.headers.prefer).toBe('return=representation');
});

test('incoming is idempotent on (messageid, receiving mailbox): a redelivery returns created=false', async () => {
  const c = connector();
  const email = incoming();
  const first = await c.deliverIncoming(email);
  expect(await c.deliverIncoming({ ...email, sourceId: 'other' })).toEqual({ crmId: first.crmId, created: false });
  expect(dv.emails().filter((e) => e.messageid === `<${email.messageId}>`)).toHaveLength(1);
  // The same message received by another mailbox is that mailbox's own activity.
  const other = await c.deliverIncoming({ ...email, mailbox: 'crm/jane', mailboxAddress: 'jane@contoso.com', ownerKind: 'User' });
  expect(other.created).toBe(true);
  expect(dv.email(other.crmId)?.submittedby).toBe('mailsync:crm/jane');
});

test('a delivery interrupted after the email was created is finished, not duplicated, by the redelivery', async () => {
  const c = connector();
  const email = incoming({
    attachments: [
      { filename: 'a.txt', contentType: 'text/plain', size: 1, contentBase64: 'YQ==' },
      { filename: 'b.txt', contentType: 'text/plain', size: 1, contentBase64: 'Yg==' },
    ],
  });
  dv.failRequests((r) => r.method === 'POST' && r.path.endsWith('/activitymimeattachments'), 503, 1);
  await expectCrmError(c.deliverIncoming(email), 'CRMError', SECRETS);
  const [draft] = dv.emails().filter((e) => e.messageid === `<${email.messageId}>`);
  expect(draft.statuscode).toBe(1);
  const again = await c.deliverIncoming(email);
  expect(again).toEqual({ crmId: draft.activityid, created: false });
  expect(dv.email(draft.activityid)?.statuscode).toBe(4);
  expect(dv.attachments(draft.activityid).map((a) => a.filename).sort()).toEqual(['a.txt', 'b.txt']);
  expect(dv.emails().filter((e) => e.messageid === `<${email.messageId}>`)).toHaveLength(1);
});

test('a correlated reply points at the email it answers (parentactivityid)', async () => {
  const c = connector();
  const original = await c.deliverIncoming(incoming());
  const reply = await c.deliverIncoming(incoming({ regarding: { crmEmailId: original.crmId, by: 'InReplyTo' } }));
  expect(dv.email(reply.crmId)?._parentactivityid_value).toBe(original.crmId);
});

test('address lookup: contacts, leads and accounts are CRM records; users and queues email-enabled; answers are cached', async () => {
  dv.addAccount('orders@partner.example', 'Partner Ltd');
  dv.addUser('colleague@contoso.com', 'Cole League');
  dv.addLead('lead2@example.org');
  const c = connector();
  expect(await c.lookupAddress('ORDERS@partner.example')).toEqual({ isCrmRecord: true, isEmailEnabledRecord: true });
  expect(await c.lookupAddress('lead2@example.org')).toEqual({ isCrmRecord: true, isEmailEnabledRecord: true });
  expect(await c.lookupAddress('colleague@contoso.com')).toEqual({ isCrmRecord: false, isEmailEnabledRecord: true });
  expect(await c.lookupAddress("o'brien@example.com")).toEqual({ isCrmRecord: false, isEmailEnabledRecord: false });
  const before = dv.requestsTo('contacts').length;
  await c.lookupAddress('orders@partner.example');
  expect(dv.requestsTo('contacts').length).toBe(before);
});

test('an environment without leads (no Dynamics 365 Sales): lookups still work', async () => {
  dv.withoutLeads = true;
  try {
    dv.addContact('only-contact@example.net');
    const c = connector();
    expect(await c.lookupAddress('only-contact@example.net')).toEqual({ isCrmRecord: true, isEmailEnabledRecord: true });
    expect(await c.lookupAddress('nobody-here@example.net')).toEqual({ isCrmRecord: false, isEmailEnabledRecord: false });
    await expect(c.deliverIncoming(incoming({ from: { address: 'only-contact@example.net' } }))).resolves.toMatchObject({ created: true });
  } finally {
    dv.withoutLeads = false;
  }
});

test('outgoing: Pending Send emails of the mailbox, oldest first, across pages; Sending, released, Sent, Failed', async () => {
  const sales = dv.addUser('sales@contoso.com', 'Sam Sales');
  dv.addContact('customer@example.net', 'Cora Customer');
  const first = dv.addOutgoingEmail({ fromUserId: sales, to: ['customer@example.net'], cc: ['cc@example.net'], subject: 'Quote', description: '<p>Quote</p>', trackingtoken: 'CRM:0001001' });
  const second = dv.addOutgoingEmail({ fromUserId: sales, to: ['other@example.net'], subject: 'Follow-up' });
  const third = dv.addOutgoingEmail({ fromUserId: sales, to: ['third@example.net'], subject: 'Third' });
  dv.addOutgoingEmail({ fromUserId: sales, to: ['x@example.net'], subject: 'Already sent', statuscode: 3 });
  const c = connector({ pageSize: 2 });

  const pending = await c.listPendingSend('sales@contoso.com', 10);
  expect(pending.map((p) => p.crmEmailId)).toEqual([first, second, third]);
  expect(pending[0]).toEqual({
    crmEmailId: first,
    from: { address: 'sales@contoso.com', name: 'Sam Sales' },
    to: [{ address: 'customer@example.net', name: 'Cora Customer' }],
    cc: [{ address: 'cc@example.net' }],
    bcc: [],
    subject: 'Quote',
    htmlBody: '<p>Quote</p>',
    trackingToken: 'CRM:0001001',
    state: 'PendingSend',
  });
  const listing = dv.requests.filter((r) => r.method === 'GET' && r.path === '/api/data/v9.2/emails' && /statuscode eq 6/.test(r.query.get('$filter') ?? ''));
  expect(listing.some((r) => r.query.has('$skiptoken'))).toBe(true);
  expect(await c.listPendingSend('sales@contoso.com', 1)).toHaveLength(1);
  expect(await c.listPendingSend('nobody@contoso.com', 10)).toEqual([]);

  await c.markSending(first, 'out-1@contoso.com');
  expect(dv.email(first)).toMatchObject({ statecode: 1, statuscode: 7, deliveryattempts: 1, messageid: '<out-1@contoso.com>' });
  expect((await c.listPendingSend('sales@contoso.com', 10))[0]).toMatchObject({ crmEmailId: first, state: 'Sending', messageId: 'out-1@contoso.com' });
  await c.releaseSending(first);
  expect(dv.email(first)).toMatchObject({ statecode: 1, statuscode: 6 });
  await c.releaseSending(first); // already pending: nothing to do
  await c.markSending(first, 'out-1@contoso.com');
  await c.markSent(first, 'out-1@contoso.com', '2025-01-15T12:00:00.000Z');
  expect(dv.email(first)).toMatchObject({ statecode: 1, statuscode: 3, deliveryattempts: 2, messageid: '<out-1@contoso.com>', actualend: '2025-01-15T12:00:00.000Z' });
  expect(await c.findEmailByMessageId(['unknown@x', 'out-1@contoso.com'])).toBe(first);
  expect(await c.findEmailByMessageId(['<out-1@contoso.com>'])).toBe(first);

  await c.markFailed(second, 'MessageRejected', 'SMTP 550');
  expect(dv.email(second)).toMatchObject({ statecode: 0, statuscode: 8 });
  expect((await c.listPendingSend('sales@contoso.com', 10)).map((p) => p.crmEmailId)).toEqual([third]);

  // Transitions that make no sense for the email's status are refused for that email only.
  expect((await expectCrmError(c.markFailed(first, 'X', 'y'), 'CRMRejected', SECRETS)).message).toContain('Sent (3)');
  await expectCrmError(c.markSending(second, 'again@contoso.com'), 'CRMRejected', SECRETS);
  await expectCrmError(c.markSent('not-a-guid', 'm@x', new Date().toISOString()), 'CRMRejected', SECRETS);
  await expectCrmError(c.markSent('00000000-0000-4000-8000-000000000000', 'm@x', new Date().toISOString()), 'CRMRejected', SECRETS);
});

test('findEmailByMessageId matches incoming activities too, in the order given', async () => {
  const c = connector();
  const a = incoming();
  const b = incoming();
  const ra = await c.deliverIncoming(a);
  const rb = await c.deliverIncoming(b);
  expect(await c.findEmailByMessageId([b.messageId, a.messageId])).toBe(rb.crmId);
  expect(await c.findEmailByMessageId([`<${a.messageId}>`])).toBe(ra.crmId);
  expect(await c.findEmailByMessageId([])).toBeUndefined();
  expect(await c.findEmailByMessageId(['nope@example.net'])).toBeUndefined();
});

test('service protection limits: 429 with Retry-After becomes CRMThrottled with retryAfterMs', async () => {
  const c = connector();
  await c.test();
  dv.throttleNext(1, 7);
  const err = await expectCrmError(c.deliverIncoming(incoming()), 'CRMThrottled', SECRETS);
  expect(err.opts.retryAfterMs).toBe(7000);
  expect(err.permanent).toBe(false);
  expect(err.message).toContain('0x80072322');
  expectNoToken(err.message);
  await expect(c.deliverIncoming(incoming())).resolves.toMatchObject({ created: true });
});

test('the submittedby marker fits its column for any Mailbox name', () => {
  expect(submittedByMarker('ns/name')).toBe('mailsync:ns/name');
  const long = submittedByMarker(`${'n'.repeat(63)}/${'m'.repeat(253)}`);
  expect(long.length).toBeLessThanOrEqual(250);
  expect(long).toMatch(/^mailsync:sha256:[0-9a-f]{64}$/);
});
