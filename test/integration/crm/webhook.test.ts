// WebhookConnector against the in-memory webhook CRM (test/support/fake-crm-webhook.ts), which
// checks bearer tokens and signatures as a real implementation of the contract would.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingEmail } from '../../../src/crm/types.js';
import { WebhookConnector, type WebhookConnectorOptions } from '../../../src/crm/webhook.js';
import { closeHttpDispatchers } from '../../../src/mail/http.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { freePorts } from '../../support/free-port.js';
import { expectCrmError } from './crm-assertions.js';

const TOKEN = 'wh-token-5c1f0e9a7b3d4e2f8a6b';
const SIGNING_KEY = 'wh-signing-key-9d8c7b6a5f4e3d2c1b0a';
const SECRETS = [TOKEN, SIGNING_KEY];

let crm: FakeCrmWebhook;

beforeAll(async () => {
  crm = await FakeCrmWebhook.start({ token: TOKEN, signingKey: SIGNING_KEY, basePath: '/crm/v1' });
});

afterAll(async () => {
  await crm?.close();
  await closeHttpDispatchers();
});

afterEach(() => {
  crm.latencyMs = 0;
  crm.failNext(0);
});

function connector(overrides: Partial<WebhookConnectorOptions> = {}): WebhookConnector {
  return new WebhookConnector({ url: crm.url, token: TOKEN, signingKey: SIGNING_KEY, timeoutMs: 5000, secretName: 'Secret "crm-credentials"', ...overrides });
}

let seq = 0;
function incoming(overrides: Partial<IncomingEmail> = {}): IncomingEmail {
  seq++;
  return {
    mailbox: 'crm/jane',
    mailboxAddress: 'jane@example.com',
    ownerKind: 'User',
    ownerName: 'jane',
    messageId: `msg-${seq}-${Date.now()}@example.net`,
    sourceId: `1:${seq}`,
    from: { address: 'customer@example.net', name: 'A Customer' },
    to: [{ address: 'jane@example.com' }],
    cc: [],
    subject: `Question ${seq}`,
    receivedAt: new Date().toISOString(),
    textBody: 'Hello',
    references: [],
    attachments: [],
    ...overrides,
  };
}

test('test() passes with the right token and signing key', async () => {
  await expect(connector().test()).resolves.toBeUndefined();
});

test('delivery is idempotent on (mailbox, Message-ID): a redelivery returns created=false and the same crmId', async () => {
  const c = connector();
  const before = crm.stats();
  const email = incoming();
  const first = await c.deliverIncoming(email);
  expect(first.created).toBe(true);
  const again = await c.deliverIncoming({ ...email, sourceId: 'different-uid' });
  expect(again).toEqual({ crmId: first.crmId, created: false });
  // The same message received by another mailbox is a separate activity.
  const queue = await c.deliverIncoming({ ...email, mailbox: 'crm/support', mailboxAddress: 'support@example.com', ownerKind: 'Queue' });
  expect(queue.created).toBe(true);
  expect(queue.crmId).not.toBe(first.crmId);
  expect(crm.stats().created - before.created).toBe(2);
  expect(crm.stats().duplicates - before.duplicates).toBe(1);
  const stored = crm.activities().find((a) => a.crmId === first.crmId);
  expect(stored?.email).toEqual(email);
});

test('many concurrent deliveries over the keep-alive pool each arrive exactly once', async () => {
  const c = connector();
  const emails = Array.from({ length: 300 }, () => incoming());
  const results = await Promise.all(emails.map((e) => c.deliverIncoming(e)));
  expect(results.every((r) => r.created)).toBe(true);
  const redelivered = await Promise.all(emails.map((e) => c.deliverIncoming(e)));
  expect(redelivered.map((r) => r.crmId)).toEqual(results.map((r) => r.crmId));
  expect(redelivered.every((r) => !r.created)).toBe(true);
});

test('wrong bearer token: CRMAuthenticationFailed, permanent, naming the Secret keys, no secret in the message', async () => {
  const wrong = 'wh-wrong-token-0a1b2c3d4e5f6a7b';
  const err = await expectCrmError(connector({ token: wrong }).test(), 'CRMAuthenticationFailed', [...SECRETS, wrong]);
  expect(err.permanent).toBe(true);
  expect(err.message).toContain('HTTP 401 invalid_token');
  expect(err.message).toContain('Secret "crm-credentials"');
  expect(err.message).toContain('"token"');
  await expectCrmError(connector({ token: wrong }).deliverIncoming(incoming()), 'CRMAuthenticationFailed', [...SECRETS, wrong]);
});

test('wrong signing key or a clock outside the 5-minute tolerance: the CRM rejects the signature', async () => {
  const wrongKey = 'wh-wrong-signing-key-1234567890';
  const bad = await expectCrmError(connector({ signingKey: wrongKey }).deliverIncoming(incoming()), 'CRMAuthenticationFailed', [...SECRETS, wrongKey]);
  expect(bad.message).toContain('invalid_signature');
  const before = crm.stats().badSignatures;
  const skewed = connector({ now: () => Date.now() - 6 * 60_000 });
  await expectCrmError(skewed.test(), 'CRMAuthenticationFailed', SECRETS);
  expect(crm.stats().badSignatures).toBe(before + 1);
});

test('503 with Retry-After: CRMThrottled with retryAfterMs; 429 too; then it works again', async () => {
  const c = connector();
  crm.failNext(1, { status: 503, retryAfterSec: 7 });
  const err = await expectCrmError(c.deliverIncoming(incoming()), 'CRMThrottled', SECRETS);
  expect(err.opts.retryAfterMs).toBe(7000);
  expect(err.permanent).toBe(false);
  crm.failNext(1, { status: 429, retryAfterSec: 2 });
  expect((await expectCrmError(c.lookupAddress('x@example.net'), 'CRMThrottled', SECRETS)).opts.retryAfterMs).toBe(2000);
  await expect(c.deliverIncoming(incoming())).resolves.toMatchObject({ created: true });
});

test('other 5xx: CRMError, transient; 4xx: CRMRejected, permanent', async () => {
  const c = connector();
  crm.failNext(1, { status: 503 });
  expect((await expectCrmError(c.deliverIncoming(incoming()), 'CRMError', SECRETS)).permanent).toBe(false);
  crm.failNext(1, { status: 500 });
  await expectCrmError(c.deliverIncoming(incoming()), 'CRMError', SECRETS);
  const rejected = await expectCrmError(c.deliverIncoming(incoming({ messageId: '' })), 'CRMRejected', SECRETS);
  expect(rejected.permanent).toBe(true);
  expect(rejected.message).toContain('HTTP 422 invalid_email');
});

test('CRM down: CRMUnreachable (connection refused), transient; too slow: CRMUnreachable after the timeout', async () => {
  const [port] = await freePorts(1);
  const down = connector({ url: `http://127.0.0.1:${port}/crm/v1` });
  const err = await expectCrmError(down.deliverIncoming(incoming()), 'CRMUnreachable', SECRETS);
  expect(err.message).toContain('ECONNREFUSED');
  expect(err.permanent).toBe(false);
  crm.latencyMs = 400;
  const slow = await expectCrmError(connector({ timeoutMs: 100 }).test(), 'CRMUnreachable', SECRETS);
  expect(slow.message).toContain('no answer within 100 ms');
});

test('a base URL without the contract: test() says to check spec.crm.url', async () => {
  const err = await expectCrmError(connector({ url: `http://127.0.0.1:${crm.port}/elsewhere` }).test(), 'CRMError', SECRETS);
  expect(err.permanent).toBe(true);
  expect(err.message).toContain('spec.crm.url');
});

test('address lookup: CRM records, other email-enabled records, unknown addresses', async () => {
  crm.addRecord('Contact@Example.net', { isCrmRecord: true, isEmailEnabledRecord: true });
  crm.addRecord('colleague@example.com', { isCrmRecord: false, isEmailEnabledRecord: true });
  const c = connector();
  expect(await c.lookupAddress('contact@example.net')).toEqual({ isCrmRecord: true, isEmailEnabledRecord: true });
  expect(await c.lookupAddress('colleague@example.com')).toEqual({ isCrmRecord: false, isEmailEnabledRecord: true });
  expect(await c.lookupAddress('stranger+tag@example.org')).toEqual({ isCrmRecord: false, isEmailEnabledRecord: false });
});

test('findEmailByMessageId: incoming activities and sent emails, first match wins, none is undefined', async () => {
  const c = connector();
  const email = incoming();
  const { crmId } = await c.deliverIncoming(email);
  expect(await c.findEmailByMessageId(['unknown@example.net', email.messageId])).toBe(crmId);
  expect(await c.findEmailByMessageId(['unknown@example.net'])).toBeUndefined();
  expect(await c.findEmailByMessageId([])).toBeUndefined();
});

test('outgoing: pending -> sending -> released -> sending -> sent, and failed; the sent Message-ID correlates', async () => {
  const c = connector();
  const mailbox = 'sales@example.com';
  const id = crm.addPendingEmail(mailbox, { from: { address: mailbox, name: 'Sales' }, to: [{ address: 'buyer@example.net' }], cc: [], bcc: [], subject: 'Offer', htmlBody: '<p>Hi</p>', trackingToken: 'CRM:0001' });
  const other = crm.addPendingEmail(mailbox, { from: { address: mailbox }, to: [{ address: 'x@example.net' }], cc: [], bcc: [], subject: 'Second' });
  let pending = await c.listPendingSend(mailbox, 10);
  expect(pending.map((p) => [p.crmEmailId, p.state])).toEqual([[id, 'PendingSend'], [other, 'PendingSend']]);
  expect(pending[0]).toMatchObject({ subject: 'Offer', trackingToken: 'CRM:0001', from: { address: mailbox, name: 'Sales' } });
  expect(await c.listPendingSend(mailbox, 1)).toHaveLength(1);

  await c.markSending(id, 'out-1@example.com');
  expect((await c.listPendingSend(mailbox, 10)).find((p) => p.crmEmailId === id)?.state).toBe('Sending');
  await c.releaseSending(id);
  expect((await c.listPendingSend(mailbox, 10)).find((p) => p.crmEmailId === id)?.state).toBe('PendingSend');
  await c.markSending(id, 'out-1@example.com');
  await c.markSent(id, 'out-1@example.com', '2025-01-15T12:00:00.000Z');
  await c.markSent(id, 'out-1@example.com', '2025-01-15T12:00:00.000Z'); // idempotent
  expect(crm.outgoing(id)).toMatchObject({ status: 'sent', attempts: 2, sentMessageId: 'out-1@example.com' });
  expect(await c.findEmailByMessageId(['out-1@example.com'])).toBe(id);

  await c.markFailed(other, 'MessageRejected', 'SMTP 550 5.1.1 no such user');
  expect(crm.outgoing(other)).toMatchObject({ status: 'failed', failure: { reason: 'MessageRejected' } });
  pending = await c.listPendingSend(mailbox, 10);
  expect(pending).toEqual([]);

  // State changes the CRM cannot make are rejected for that email only.
  await expectCrmError(c.markFailed(id, 'X', 'y'), 'CRMRejected', SECRETS);
  await expectCrmError(c.markSending(other, 'again@example.com'), 'CRMRejected', SECRETS);
  await expectCrmError(c.markSent('no-such-email', 'm@example.com', new Date().toISOString()), 'CRMRejected', SECRETS);
});

test('the fake runs standalone: prints its port, serves the contract, reports over /_test', async () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const script = path.resolve(here, '../../support/fake-crm-webhook.js');
  const child = spawn(process.execPath, [script], { env: { ...process.env, PORT: '0', TOKEN, SIGNING_KEY }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      child.once('exit', (code) => reject(new Error(`fake exited with ${code}`)));
    });
    const { port, url } = JSON.parse(line) as { port: number; url: string };
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const c = connector({ url });
    const email = incoming();
    await c.deliverIncoming(email);
    await c.deliverIncoming(email);
    const stats = (await (await fetch(`${url}/_test/stats`)).json()) as { created: number; duplicates: number };
    expect(stats).toMatchObject({ created: 1, duplicates: 1 });
    const { activities } = (await (await fetch(`${url}/_test/activities`)).json()) as { activities: { mailbox: string; messageId: string }[] };
    expect(activities).toEqual([expect.objectContaining({ mailbox: 'crm/jane', messageId: email.messageId, crmId: expect.any(String), createdAt: expect.any(String) })]);
    const one = (await (await fetch(`${url}/_test/activities?messageId=${encodeURIComponent(email.messageId)}`)).json()) as { activities: unknown[] };
    expect(one.activities).toHaveLength(1);
    const none = (await (await fetch(`${url}/_test/activities?messageId=nope`)).json()) as { activities: unknown[] };
    expect(none.activities).toHaveLength(0);
  } finally {
    child.kill('SIGTERM');
  }
});
