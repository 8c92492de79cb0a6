// DynamicsConnector against the fake Dataverse Web API and its token endpoint, over HTTPS with the
// test CA (test/support/fake-crm-dynamics.ts), which holds it to Dataverse's rules: binds to
// existing records, closed activities, change sets as transactions, ETags, the documented actions.
import { DynamicsConnector, type DynamicsConnectorOptions } from '../../../src/crm/dynamics.js';
import { handOver, processedByDynamics, readMailboxRow } from '../../../src/crm/dynamics-coexistence.js';
import type { IncomingEmail } from '../../../src/crm/types.js';
import { closeHttpDispatchers } from '../../../src/net/http.js';
import { clientCredentials } from '../../../src/mail/oauth.js';
import { FakeDynamics } from '../../support/fake-crm-dynamics.js';
import { freePorts } from '../../support/free-port.js';
import { expectCrmError } from './crm-assertions.js';

const CLIENT = {
  tenantId: 'contoso-tenant',
  clientId: '0d7c1f7e-1111-4a4a-9b9b-123456789abc',
  clientSecret: 'dyn~ClientSecret.Value_0123456789abcdef',
};
const SECRETS = [CLIENT.clientSecret];

let dv: FakeDynamics;
let support: { queue: string; owner: string };
let jane: string;

beforeAll(async () => {
  dv = await FakeDynamics.start({ clients: [CLIENT] });
  const owner = dv.addUser('supervisor@contoso.com', 'Sue Pervisor');
  support = { queue: dv.addQueue('support@contoso.com', 'Support', { ownerUserId: owner }), owner };
  jane = dv.addUser('jane@contoso.com', 'Jane Doe');
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
  const noDataverse = await expectCrmError(
    connector({ url: `https://127.0.0.1:${port}`, scope: `${dv.orgUrl}/.default` }).test(),
    'CRMUnreachable',
    SECRETS,
  );
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

test("incoming to a queue mailbox: owned by the queue's owner, a queue item, resolved parties, attachments, closed as Received, in one change set", async () => {
  const contact = dv.addContact('Buyer@Example.net', 'Bea Buyer', 'emailaddress2');
  const lead = dv.addLead('prospect@example.org', 'Pat Prospect');
  const c = connector();
  const email = incoming({
    cc: [{ address: 'prospect@example.org' }, { address: 'nobody@example.com', name: 'Nobody' }],
    attachments: [
      { filename: 'order.pdf', contentType: 'application/pdf', size: 5, contentBase64: Buffer.from('%PDF-').toString('base64') },
    ],
  });
  const before = dv.httpRequests;
  const result = await c.deliverIncoming(email);
  expect(result.created).toBe(true);
  // One $batch of reads (existing? owners of the addresses? mailbox rows?), one of writes.
  expect(dv.httpRequests - before).toBe(2);

  const row = dv.email(result.crmId)!;
  expect(row).toMatchObject({
    directioncode: false,
    messageid: `<${email.messageId}>`,
    submittedby: 'support@contoso.com',
    subject: email.subject,
    description: 'Line 1<br>Line &lt;2&gt;',
    statecode: 1,
    statuscode: 4,
    _ownerid_value: support.owner,
    _receivingmailboxid_value: dv.mailbox('support@contoso.com')!.mailboxid,
  });
  const parties = row.parties.map((p) => [p.participationtypemask, p._partyid_value ?? null, p.addressused]);
  expect(parties).toEqual([
    [1, contact, 'buyer@example.net'],
    [2, support.queue, 'support@contoso.com'],
    [3, lead, 'prospect@example.org'],
    [3, null, 'nobody@example.com'],
  ]);
  expect(dv.attachments(result.crmId)).toEqual([
    expect.objectContaining({ filename: 'order.pdf', mimetype: 'application/pdf', filesize: 5 }),
  ]);
  expect(dv.queueItems().filter((q) => q._objectid_value === result.crmId)).toEqual([
    expect.objectContaining({ _queueid_value: support.queue }),
  ]);
  // Nothing internal is visible: no marker, only the receiving mailbox's address.
  expect(JSON.stringify(row)).not.toContain('mailsync');
});

test("incoming to a user mailbox: owned by that user; internal mail names the sender's mailbox too; no queue item", async () => {
  const c = connector();
  const result = await c.deliverIncoming(
    incoming({
      mailbox: 'crm/jane',
      mailboxAddress: 'jane@contoso.com',
      ownerKind: 'User',
      ownerName: 'jane',
      from: { address: 'supervisor@contoso.com' },
      to: [{ address: 'jane@contoso.com' }],
    }),
  );
  expect(dv.email(result.crmId)).toMatchObject({
    _ownerid_value: jane,
    _receivingmailboxid_value: dv.mailbox('jane@contoso.com')!.mailboxid,
    _sendermailboxid_value: dv.mailbox('supervisor@contoso.com')!.mailboxid,
    submittedby: 'jane@contoso.com',
  });
  expect(dv.queueItems().filter((q) => q._objectid_value === result.crmId)).toEqual([]);
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
  expect(dv.email(other.crmId)?.submittedby).toBe('jane@contoso.com');
});

test('a change set that fails leaves nothing behind (one transaction); the redelivery creates the email once', async () => {
  const c = connector();
  const email = incoming({ attachments: [{ filename: 'a.txt', contentType: 'text/plain', size: 1, contentBase64: 'YQ==' }] });
  // The queue item (after the email and its attachment were created in the same change set) fails.
  dv.failRequests((r) => !!r.inBatch && r.method === 'POST' && r.path.endsWith('/queueitems'), 503, 1);
  await expectCrmError(c.deliverIncoming(email), 'CRMError', SECRETS);
  expect(dv.emails().filter((e) => e.messageid === `<${email.messageId}>`)).toEqual([]);
  const again = await c.deliverIncoming(email);
  expect(again.created).toBe(true);
  expect(dv.attachments(again.crmId).map((a) => a.filename)).toEqual(['a.txt']);
  expect(dv.emails().filter((e) => e.messageid === `<${email.messageId}>`)).toHaveLength(1);
});

test('a batch: 60 concurrent deliveries (some twice, one refused) in a few requests, each with its own result', async () => {
  const c = connector();
  await c.test();
  const emails = Array.from({ length: 60 }, (_, i) => incoming({ from: { address: `batch-sender-${i}@example.net` } }));
  // Answers an email that does not exist: Dataverse refuses the bind, for this email only.
  const refused = incoming({ regarding: { crmEmailId: '00000000-0000-4000-8000-000000000001', by: 'InReplyTo' } });
  const before = dv.httpRequests;
  const results = await Promise.allSettled([...emails, emails[0], emails[1], refused].map((e) => c.deliverIncoming(e)));
  expect(dv.httpRequests - before).toBeLessThanOrEqual(4);
  expect(results.slice(0, 60).filter((r) => r.status !== 'fulfilled' || !r.value.created)).toEqual([]);
  expect(results.slice(60, 62).map((r) => r.status === 'fulfilled' && r.value.created)).toEqual([false, false]);
  expect(results[62].status).toBe('rejected');
  expect((results[62] as PromiseRejectedResult).reason).toMatchObject({ name: 'CrmError', reason: 'CRMRejected' });
  for (const e of emails) expect(dv.emails().filter((x) => x.messageid === `<${e.messageId}>`)).toHaveLength(1);
});

test('a correlated reply points at the email it answers and gets its Regarding', async () => {
  const c = connector();
  const incident = dv.addIncident('Broken pump');
  const sales = dv.addUser('regarding@contoso.com', 'Reg Arding');
  const original = dv.addOutgoingEmail({
    fromUserId: sales,
    to: ['buyer@example.net'],
    subject: 'About your case',
    statuscode: 3,
    regarding: ['incidents', incident],
  });
  const reply = await c.deliverIncoming(incoming({ regarding: { crmEmailId: original, by: 'InReplyTo' } }));
  expect(dv.email(reply.crmId)).toMatchObject({ _parentactivityid_value: original, _regardingobjectid_value: incident });
  // A parent without Regarding: the reply still points at it.
  const plain = await c.deliverIncoming(incoming());
  const second = await c.deliverIncoming(incoming({ regarding: { crmEmailId: plain.crmId, by: 'References' } }));
  expect(dv.email(second.crmId)).toMatchObject({ _parentactivityid_value: plain.crmId, _regardingobjectid_value: null });
});

test("tracking tokens: read in the organization's own format, resolved to the email that carried them, kept on the incoming email", async () => {
  const c = connector();
  expect(await c.trackingTokenFormat()).toEqual({
    prefix: 'CRM',
    previousPrefixes: [],
    deploymentBase: 0,
    userDigits: 3,
    counterDigits: 3,
  });
  const sales = dv.addUser('tokens@contoso.com', 'Toke Ens');
  const sent = dv.addOutgoingEmail({
    fromUserId: sales,
    to: ['buyer@example.net'],
    subject: 'Quote',
    statuscode: 3,
    trackingtoken: 'CRM:0042007',
  });
  expect(await c.findEmailByTrackingToken('CRM:0042007')).toBe(sent);
  expect(await c.findEmailByTrackingToken('CRM:0099999')).toBeUndefined();
  const reply = await c.deliverIncoming(
    incoming({ subject: 'RE: Quote CRM:0042007', trackingToken: 'CRM:0042007', regarding: { crmEmailId: sent, by: 'TrackingToken' } }),
  );
  expect(dv.email(reply.crmId)).toMatchObject({ trackingtoken: 'CRM:0042007', _parentactivityid_value: sent });
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

test('outgoing: BackgroundSendEmail for several mailboxes at once, oldest first; parties, attachments, threading', async () => {
  const sales = dv.addUser('sales@contoso.com', 'Sam Sales');
  const ops = dv.addUser('ops@contoso.com', 'Opal Ops');
  dv.addContact('customer@example.net', 'Cora Customer');
  const parent = await connector().deliverIncoming(
    incoming({ mailbox: 'crm/sales', mailboxAddress: 'sales@contoso.com', messageId: 'asked-for-a-quote@example.net' }),
  );
  const pdf = Buffer.alloc(3000, 7);
  const first = dv.addOutgoingEmail({
    fromUserId: sales,
    to: ['customer@example.net'],
    cc: ['cc@example.net'],
    subject: 'Quote',
    description: '<p>Quote</p>',
    trackingtoken: 'CRM:0001001',
    parentId: parent.crmId,
    attachments: [{ filename: 'quote.pdf', mimetype: 'application/pdf', content: pdf }],
  });
  const second = dv.addOutgoingEmail({ fromUserId: sales, to: ['other@example.net'], subject: 'Follow-up' });
  const opsMail = dv.addOutgoingEmail({ fromUserId: ops, to: ['x@example.net'], subject: 'Ops' });
  dv.addOutgoingEmail({ fromUserId: sales, to: ['x@example.net'], subject: 'Already sent', statuscode: 3 });
  const c = connector();

  const before = dv.httpRequests;
  const found = await c.listPendingSendFor(['sales@contoso.com', 'OPS@contoso.com', 'idle@contoso.com'], 10);
  // One BackgroundSendEmail query for all mailboxes, one $batch for the details.
  expect(dv.httpRequests - before).toBe(2);
  expect([...found.keys()].sort()).toEqual(['ops@contoso.com', 'sales@contoso.com']);
  expect(found.get('ops@contoso.com')!.map((p) => p.crmEmailId)).toEqual([opsMail]);
  const pending = found.get('sales@contoso.com')!;
  expect(pending.map((p) => p.crmEmailId)).toEqual([first, second]);
  const [attachment] = pending[0].attachments!;
  expect(pending[0]).toEqual({
    crmEmailId: first,
    from: { address: 'sales@contoso.com', name: 'Sam Sales' },
    to: [{ address: 'customer@example.net', name: 'Cora Customer' }],
    cc: [{ address: 'cc@example.net' }],
    bcc: [],
    subject: 'Quote',
    htmlBody: '<p>Quote</p>',
    trackingToken: 'CRM:0001001',
    inReplyTo: 'asked-for-a-quote@example.net',
    references: ['asked-for-a-quote@example.net'],
    attachments: [{ attachmentId: expect.any(String), filename: 'quote.pdf', contentType: 'application/pdf', size: 3000 }],
    state: 'PendingSend',
  });
  expect((await c.fetchAttachment(first, attachment)).equals(pdf)).toBe(true);
  expect(await c.listPendingSend('sales@contoso.com', 1)).toHaveLength(1);
  expect(await c.listPendingSend('nobody@contoso.com', 10)).toEqual([]);
  const fetch = dv.requests.filter((r) => r.path === '/api/data/v9.2/BackgroundSendEmail');
  expect(fetch.length).toBeGreaterThan(0);
});

test('a large attachment is downloaded in 4 MB blocks, byte for byte', async () => {
  const sales = dv.addUser('big@contoso.com', 'Big Sender');
  const big = Buffer.from(Array.from({ length: 5 * 1024 * 1024 + 123 }, (_, i) => (i * 31) % 256));
  const id = dv.addOutgoingEmail({
    fromUserId: sales,
    to: ['x@example.net'],
    subject: 'Big',
    attachments: [{ filename: 'big.bin', mimetype: 'application/octet-stream', content: big }],
  });
  const c = connector();
  const [email] = await c.listPendingSend('big@contoso.com', 10);
  const before = dv.requests.length;
  const content = await c.fetchAttachment(id, email.attachments![0]);
  expect(content.equals(big)).toBe(true);
  expect(dv.requests.slice(before).map((r) => r.path.split('/').at(-1))).toEqual([
    'InitializeAttachmentBlocksDownload',
    'DownloadBlock',
    'DownloadBlock',
  ]);
});

test('status changes: claimed (only the version listed), released, recorded as sent with SendEmail, failed; a closed email keeps its content', async () => {
  const sales = dv.addUser('status@contoso.com', 'Stat Us');
  const first = dv.addOutgoingEmail({ fromUserId: sales, to: ['customer@example.net'], subject: 'One', trackingtoken: 'CRM:0001002' });
  const second = dv.addOutgoingEmail({ fromUserId: sales, to: ['other@example.net'], subject: 'Two' });
  const c = connector();
  await c.listPendingSend('status@contoso.com', 10);

  await c.markSending(first, 'out-1@contoso.com');
  expect(dv.email(first)).toMatchObject({ statecode: 1, statuscode: 7, deliveryattempts: 1, messageid: '<out-1@contoso.com>' });
  expect((await c.listPendingSend('status@contoso.com', 10))[0]).toMatchObject({
    crmEmailId: first,
    state: 'Sending',
    messageId: 'out-1@contoso.com',
  });
  await c.releaseSending(first);
  expect(dv.email(first)).toMatchObject({ statecode: 1, statuscode: 6 });
  await c.listPendingSend('status@contoso.com', 10);
  await c.markSending(first, 'out-1@contoso.com');
  await c.markSent(first, 'out-1@contoso.com', '2025-01-15T12:00:00.000Z');
  expect(dv.email(first)).toMatchObject({
    statecode: 1,
    statuscode: 3,
    deliveryattempts: 2,
    messageid: '<out-1@contoso.com>',
    actualend: '2025-01-15T12:00:00.000Z',
    trackingtoken: 'CRM:0001002',
  });
  const sendEmail = dv.requests.filter((r) => r.inBatch && r.path === `/api/data/v9.2/emails(${first})/Microsoft.Dynamics.CRM.SendEmail`);
  expect(sendEmail).toHaveLength(1);
  // Recording it as sent again (an answer that was lost) is not an error.
  await c.markSent(first, 'out-1@contoso.com', '2025-01-15T12:00:00.000Z');
  expect(await c.findEmailByMessageId(['unknown@x', 'out-1@contoso.com'])).toBe(first);

  // Changed in Dynamics after it was listed (say, its subject): the claim is refused for that email only.
  const listed = await c.listPendingSend('status@contoso.com', 10);
  expect(listed.map((p) => p.crmEmailId)).toEqual([second]);
  (dv.email(second) as Record<string, unknown>).versionnumber = 99;
  expect((await expectCrmError(c.markSending(second, 'two@contoso.com'), 'CRMRejected', SECRETS)).message).toContain('412');
  await c.listPendingSend('status@contoso.com', 10);
  await c.markSending(second, 'two@contoso.com');
  await c.markFailed(second, 'MessageRejected', 'SMTP 550');
  expect(dv.email(second)).toMatchObject({ statecode: 0, statuscode: 8 });

  expect((await expectCrmError(c.markFailed(first, 'X', 'y'), 'CRMRejected', SECRETS)).message).toContain('Sent (3)');
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

test('CRMDecides: CheckIncomingEmail says whether Dynamics would track a message, and why', async () => {
  const c = connector();
  dv.addContact('known@example.net', 'Kno Wn');
  expect(await c.checkIncoming(incoming({ from: { address: 'known@example.net' }, to: [{ address: 'jane@contoso.com' }] }))).toEqual({
    deliver: true,
    reason: 'SenderMatch',
  });
  expect(await c.checkIncoming(incoming({ from: { address: 'stranger@example.net' }, to: [{ address: 'jane@contoso.com' }] }))).toEqual({
    deliver: false,
    reason: 'NoRecipientMatch',
  });
  expect(await c.checkIncoming(incoming({ from: { address: 'stranger@example.net' } }))).toEqual({ deliver: true, reason: 'AcceptAll' });
  // Already delivered: Dynamics says Duplicate, which is delivered (idempotently) all the same.
  const done = incoming();
  await c.deliverIncoming(done);
  expect(await c.checkIncoming(done)).toEqual({ deliver: true, reason: 'Duplicate' });
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

test('coexistence: a mailbox row Dynamics still processes, and the hand-over that stops it', async () => {
  const c = connector();
  dv.addUser('busy@contoso.com', 'Busy Bee', { incomingemaildeliverymethod: 2, outgoingemaildeliverymethod: 2, actdeliverymethod: 1 });
  const row = await readMailboxRow(c.client, 'BUSY@contoso.com');
  expect(processedByDynamics(row, ['incoming', 'outgoing'])).toEqual({
    processedByDynamics: ['incoming', 'outgoing'],
    detail:
      'Incoming Email: Server-Side Synchronization or Email Router (enabled); Outgoing Email: Server-Side Synchronization or Email Router (enabled)',
  });
  // Disabled by Dynamics' own Test and Enable, or inactive: not processed.
  expect(processedByDynamics({ ...row!, enabledforincomingemail: false }, ['incoming']).processedByDynamics).toEqual([]);
  expect(processedByDynamics({ ...row!, statecode: 1 }, ['incoming']).processedByDynamics).toEqual([]);
  expect(processedByDynamics(undefined, ['incoming']).processedByDynamics).toEqual([]);
  // Only the directions the operator takes over are handed over.
  expect(await handOver(c.client, row!, ['incoming'])).toEqual({
    mailboxid: row!.mailboxid,
    before: { incomingemaildeliverymethod: 2 },
    after: { incomingemaildeliverymethod: 0 },
  });
  expect(dv.mailbox('busy@contoso.com')).toMatchObject({
    incomingemaildeliverymethod: 0,
    outgoingemaildeliverymethod: 2,
    actdeliverymethod: 1,
  });
  expect(processedByDynamics(await readMailboxRow(c.client, 'busy@contoso.com'), ['incoming']).processedByDynamics).toEqual([]);
  expect(await handOver(c.client, (await readMailboxRow(c.client, 'busy@contoso.com'))!, ['incoming'])).toBeUndefined();
});
