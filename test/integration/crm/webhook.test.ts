// WebhookConnector against the in-memory webhook CRM (test/support/fake-crm-webhook.ts), which
// checks bearer tokens and signatures as a real implementation of the contract would.
import { spawn } from 'node:child_process';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingEmail } from '../../../src/crm/types.js';
import { WebhookConnector, type WebhookConnectorOptions } from '../../../src/crm/webhook.js';
import { closeHttpDispatchers } from '../../../src/net/http.js';
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

afterEach(async () => {
  // A request a test gave up on (timeoutMs below latencyMs) must not outlive the test: after its
  // latency it would take the next test's injected failure.
  await crm.settled();
  crm.latencyMs = 0;
  crm.failNext(0);
  crm.batchOff = undefined;
});

function connector(overrides: Partial<WebhookConnectorOptions> = {}): WebhookConnector {
  return new WebhookConnector({
    url: crm.url,
    token: TOKEN,
    signingKey: SIGNING_KEY,
    timeoutMs: 5000,
    secretName: 'Secret "crm-credentials"',
    ...overrides,
  });
}

/** How many contract requests (and of those, batch requests) `work` made the CRM receive. */
async function counting<T>(work: () => Promise<T>): Promise<{ result: T; requests: number; batchRequests: number }> {
  const before = crm.stats();
  const result = await work();
  const after = crm.stats();
  return { result, requests: after.requests - before.requests, batchRequests: after.batchRequests - before.batchRequests };
}

/** A settled result as a promise again, for expectCrmError. */
function settledAgain<T>(s: PromiseSettledResult<T>): Promise<T> {
  return s.status === 'rejected' ? Promise.reject(s.reason) : Promise.resolve(s.value);
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
  const bad = await expectCrmError(connector({ signingKey: wrongKey }).deliverIncoming(incoming()), 'CRMAuthenticationFailed', [
    ...SECRETS,
    wrongKey,
  ]);
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
  const id = crm.addPendingEmail(mailbox, {
    from: { address: mailbox, name: 'Sales' },
    to: [{ address: 'buyer@example.net' }],
    cc: [],
    bcc: [],
    subject: 'Offer',
    htmlBody: '<p>Hi</p>',
    trackingToken: 'CRM:0001',
  });
  const other = crm.addPendingEmail(mailbox, {
    from: { address: mailbox },
    to: [{ address: 'x@example.net' }],
    cc: [],
    bcc: [],
    subject: 'Second',
  });
  let pending = await c.listPendingSend(mailbox, 10);
  expect(pending.map((p) => [p.crmEmailId, p.state])).toEqual([
    [id, 'PendingSend'],
    [other, 'PendingSend'],
  ]);
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

/** The fake in its own process, as the crash test and the benchmarks run it. */
async function standalone(env: Record<string, string> = {}): Promise<{ port: number; url: string; stop: () => void }> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const script = path.resolve(here, '../../support/fake-crm-webhook.js');
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, PORT: '0', TOKEN, SIGNING_KEY, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = () => void child.kill('SIGTERM');
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      child.once('exit', (code) => reject(new Error(`fake exited with ${code}`)));
    });
    return { ...(JSON.parse(line) as { port: number; url: string }), stop };
  } catch (err) {
    stop();
    throw err;
  }
}

test('the fake runs standalone: prints its port, serves the contract, reports over /_test', async () => {
  const { port, url, stop } = await standalone();
  try {
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const c = connector({ url });
    const email = incoming();
    await c.deliverIncoming(email);
    await c.deliverIncoming(email);
    const stats = (await (await fetch(`${url}/_test/stats`)).json()) as { created: number; duplicates: number };
    expect(stats).toMatchObject({ created: 1, duplicates: 1 });
    const { activities } = (await (await fetch(`${url}/_test/activities`)).json()) as {
      activities: { mailbox: string; messageId: string }[];
    };
    expect(activities).toEqual([
      expect.objectContaining({
        mailbox: 'crm/jane',
        messageId: email.messageId,
        crmId: expect.any(String),
        createdAt: expect.any(String),
      }),
    ]);
    const one = (await (await fetch(`${url}/_test/activities?messageId=${encodeURIComponent(email.messageId)}`)).json()) as {
      activities: unknown[];
    };
    expect(one.activities).toHaveLength(1);
    const none = (await (await fetch(`${url}/_test/activities?messageId=nope`)).json()) as { activities: unknown[] };
    expect(none.activities).toHaveLength(0);
  } finally {
    stop();
  }
});

test('the standalone fake with BATCH=off answers the batch endpoints 404, and the connector falls back', async () => {
  const { url, stop } = await standalone({ BATCH: 'off' });
  try {
    const c = connector({ url });
    const results = await Promise.all(Array.from({ length: 10 }, () => c.deliverIncoming(incoming())));
    expect(results.every((r) => r.created)).toBe(true);
    const stats = (await (await fetch(`${url}/_test/stats`)).json()) as { requests: number; batchRequests: number; created: number };
    expect(stats).toMatchObject({ requests: 11, batchRequests: 1, created: 10 });
  } finally {
    stop();
  }
});

describe('batching', () => {
  function pendingEmails(mailbox: string, n: number): string[] {
    return Array.from({ length: n }, (_, i) =>
      crm.addPendingEmail(mailbox, {
        from: { address: mailbox },
        to: [{ address: `r${i}@example.net` }],
        cc: [],
        bcc: [],
        subject: `Out ${i}`,
      }),
    );
  }

  test('50 concurrent deliveries reach the CRM in one request, and each caller gets its own crmId', async () => {
    const c = connector();
    const emails = Array.from({ length: 50 }, () => incoming());
    const first = await counting(() => Promise.all(emails.map((e) => c.deliverIncoming(e))));
    expect(first).toMatchObject({ requests: 1, batchRequests: 1 });
    expect(first.result.every((r) => r.created)).toBe(true);
    expect(new Set(first.result.map((r) => r.crmId)).size).toBe(50);
    for (const [i, e] of emails.entries()) {
      const stored = crm.activities().find((a) => a.messageId === e.messageId);
      expect(stored?.crmId).toBe(first.result[i].crmId);
      expect(stored?.email).toEqual(e);
    }
    // Redelivering the same batch changes nothing.
    const again = await counting(() => Promise.all(emails.map((e) => c.deliverIncoming({ ...e, sourceId: 'another-uid' }))));
    expect(again.requests).toBe(1);
    expect(again.result).toEqual(first.result.map((r) => ({ crmId: r.crmId, created: false })));
  });

  test('a lone call goes to the single endpoint: a trickle keeps its latency and the old wire format', async () => {
    const c = connector();
    const lone = await counting(() => c.deliverIncoming(incoming()));
    expect(lone).toMatchObject({ requests: 1, batchRequests: 0, result: { created: true } });
    const [id] = pendingEmails('lone@example.com', 1);
    expect(await counting(() => c.markSending(id, 'lone-1@example.com'))).toMatchObject({ requests: 1, batchRequests: 0 });
    expect(crm.outgoing(id)).toMatchObject({ status: 'sending', sentMessageId: 'lone-1@example.com' });
  });

  test('more than 100 at once are split into batches of 100; the same message twice in a batch is created once', async () => {
    const c = connector();
    const emails = Array.from({ length: 250 }, () => incoming());
    const twice = incoming();
    const { result, requests } = await counting(() => Promise.all([...emails, twice, twice].map((e) => c.deliverIncoming(e))));
    expect(requests).toBe(3);
    expect(result.slice(0, 250).every((r) => r.created)).toBe(true);
    expect(result.slice(250)).toEqual([
      { crmId: result[250].crmId, created: true },
      { crmId: result[250].crmId, created: false },
    ]);
  });

  test('one invalid email in a batch is CRMRejected as on the single endpoint; the others are delivered', async () => {
    const c = connector();
    const emails = Array.from({ length: 10 }, (_, i) => incoming(i === 4 ? { messageId: '' } : {}));
    const { result: settled, requests } = await counting(() => Promise.allSettled(emails.map((e) => c.deliverIncoming(e))));
    expect(requests).toBe(1);
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(9);
    const rejected = await expectCrmError(settledAgain(settled[4]), 'CRMRejected', SECRETS);
    expect(rejected.permanent).toBe(true);
    expect(rejected.message).toContain('HTTP 422 invalid_email');
    // The CRM's words are for the debug log, not for the message (which reaches status and Events).
    expect(rejected.message).not.toContain('mailbox and messageId are required');
    expect(rejected.serverText).toContain('mailbox and messageId are required');
    const single = await expectCrmError(c.deliverIncoming(emails[4]), 'CRMRejected', SECRETS);
    expect(single.permanent).toBe(rejected.permanent);
  });

  test('a failure of the whole batch (401, 503) rejects every item with the reason the single endpoint gives', async () => {
    const wrong = 'wh-wrong-token-batch-0a1b2c3d4e5f';
    const unauthorized = connector({ token: wrong });
    const denied = await counting(() => Promise.allSettled(Array.from({ length: 20 }, () => unauthorized.deliverIncoming(incoming()))));
    expect(denied.requests).toBe(1);
    for (const s of denied.result) {
      const err = await expectCrmError(settledAgain(s), 'CRMAuthenticationFailed', [...SECRETS, wrong]);
      expect(err.message).toContain('HTTP 401 invalid_token');
      expect(err.message).toContain('Secret "crm-credentials"');
    }

    const c = connector();
    crm.failNext(1, { status: 503, retryAfterSec: 7 });
    const throttled = await Promise.allSettled(Array.from({ length: 20 }, () => c.deliverIncoming(incoming())));
    for (const s of throttled) expect((await expectCrmError(settledAgain(s), 'CRMThrottled', SECRETS)).opts.retryAfterMs).toBe(7000);
    crm.failNext(1, { status: 503 });
    const failed = await Promise.allSettled(Array.from({ length: 20 }, () => c.deliverIncoming(incoming())));
    for (const s of failed) expect((await expectCrmError(settledAgain(s), 'CRMError', SECRETS)).permanent).toBe(false);
    // Nothing was remembered: the next batch is one request again.
    expect((await counting(() => Promise.all(Array.from({ length: 20 }, () => c.deliverIncoming(incoming()))))).requests).toBe(1);
  });

  test('a batch refused as a whole (413) is not a verdict on its items: they are sent one by one', async () => {
    const c = connector();
    crm.failNext(1, { status: 413 });
    const refused = await counting(() => Promise.all(Array.from({ length: 10 }, () => c.deliverIncoming(incoming()))));
    expect(refused).toMatchObject({ requests: 11, batchRequests: 1 });
    expect(refused.result.every((r) => r.created)).toBe(true);
    expect((await counting(() => Promise.all(Array.from({ length: 10 }, () => c.deliverIncoming(incoming()))))).requests).toBe(1);
  });

  test('a CRM without batch endpoints (404): the connector falls back to single requests and remembers it', async () => {
    crm.batchOff = 404;
    const c = connector();
    const emails = Array.from({ length: 20 }, () => incoming());
    const first = await counting(() => Promise.all(emails.map((e) => c.deliverIncoming(e))));
    expect(first).toMatchObject({ requests: 21, batchRequests: 1 });
    expect(first.result.every((r) => r.created)).toBe(true);
    const again = await counting(() => Promise.all(emails.map((e) => c.deliverIncoming(e))));
    expect(again).toMatchObject({ requests: 20, batchRequests: 0 });
    expect(again.result).toEqual(first.result.map((r) => ({ crmId: r.crmId, created: false })));
    // Per-item errors are the single endpoint's own.
    const bad = await counting(() => Promise.allSettled([incoming(), incoming({ messageId: '' })].map((e) => c.deliverIncoming(e))));
    expect(bad.result[0].status).toBe('fulfilled');
    expect((await expectCrmError(settledAgain(bad.result[1]), 'CRMRejected', SECRETS)).message).toContain(
      '/incoming-emails: HTTP 422 invalid_email',
    );
    // Once the CRM has them (after an upgrade), a new connector uses them.
    crm.batchOff = undefined;
    const fresh = connector();
    expect((await counting(() => Promise.all(Array.from({ length: 5 }, () => fresh.deliverIncoming(incoming()))))).requests).toBe(1);
  });

  test('status changes are batched the same way; a change the CRM refuses is CRMRejected alone', async () => {
    const c = connector();
    const ids = pendingEmails('batch-out@example.com', 20);
    const claimed = await counting(() => Promise.all(ids.map((id, i) => c.markSending(id, `out-${i}@example.com`))));
    expect(claimed).toMatchObject({ requests: 1, batchRequests: 1 });
    expect(ids.map((id) => crm.outgoing(id)?.status)).toEqual(ids.map(() => 'sending'));

    const mixed = await counting(() =>
      Promise.all(
        ids.map((id, i) => {
          if (i < 5) return c.releaseSending(id);
          if (i < 15) return c.markSent(id, `out-${i}@example.com`, '2025-01-15T12:00:00.000Z');
          return c.markFailed(id, 'MessageRejected', `SMTP 550 for ${i}`);
        }),
      ),
    );
    expect(mixed.requests).toBe(1);
    expect(ids.map((id) => crm.outgoing(id)?.status)).toEqual([
      ...Array(5).fill('pending'),
      ...Array(10).fill('sent'),
      ...Array(5).fill('failed'),
    ]);
    expect(crm.outgoing(ids[7])).toMatchObject({ sentMessageId: 'out-7@example.com', sentAt: '2025-01-15T12:00:00.000Z', attempts: 1 });
    expect(crm.outgoing(ids[17])?.failure).toEqual({ reason: 'MessageRejected', message: 'SMTP 550 for 17' });

    // A sent email cannot fail (409) and an unknown one cannot be sent (404): refused alone, as on the single endpoints.
    const refused = await counting(() =>
      Promise.allSettled([
        c.markFailed(ids[7], 'X', 'y'),
        c.markSent('no-such-email', 'm@example.com', '2025-01-15T12:00:00.000Z'),
        c.markSending(ids[0], 'out-0b@example.com'),
      ]),
    );
    expect(refused.requests).toBe(1);
    expect((await expectCrmError(settledAgain(refused.result[0]), 'CRMRejected', SECRETS)).message).toContain('HTTP 409 already_sent');
    expect((await expectCrmError(settledAgain(refused.result[1]), 'CRMRejected', SECRETS)).message).toContain('HTTP 404 not_found');
    expect(refused.result[2].status).toBe('fulfilled');
    expect(crm.outgoing(ids[0])).toMatchObject({ status: 'sending', attempts: 2 });

    crm.failNext(1, { status: 429, retryAfterSec: 3 });
    const throttled = await Promise.allSettled(ids.slice(1, 5).map((id) => c.markSending(id, 'x@example.com')));
    for (const s of throttled) expect((await expectCrmError(settledAgain(s), 'CRMThrottled', SECRETS)).opts.retryAfterMs).toBe(3000);
  });

  test('a CRM without the status-changes endpoint (405): single requests from then on', async () => {
    crm.batchOff = 405;
    const c = connector();
    const ids = pendingEmails('batch-off@example.com', 10);
    const first = await counting(() => Promise.all(ids.map((id) => c.markSending(id, `${id}@example.com`))));
    expect(first).toMatchObject({ requests: 11, batchRequests: 1 });
    const then = await counting(() => Promise.all(ids.map((id) => c.markSent(id, `${id}@example.com`, '2025-01-15T12:00:00.000Z'))));
    expect(then).toMatchObject({ requests: 10, batchRequests: 0 });
    expect(ids.every((id) => crm.outgoing(id)?.status === 'sent')).toBe(true);
    // The incoming endpoint is judged on its own.
    crm.batchOff = undefined;
    expect((await counting(() => Promise.all(Array.from({ length: 5 }, () => c.deliverIncoming(incoming()))))).requests).toBe(1);
  });

  test('a batch answer of the wrong shape is a CRMError for every item of that batch, with no secret in it', async () => {
    let answer: unknown = { results: [{ status: 201, crmId: 'only-one' }] };
    const sockets = new Set<net.Socket>();
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)));
    });
    server.on('connection', (s: net.Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const c = connector({ url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/crm/v1` });
      const three = await Promise.allSettled([incoming(), incoming(), incoming()].map((e) => c.deliverIncoming(e)));
      for (const s of three) {
        const err = await expectCrmError(settledAgain(s), 'CRMError', SECRETS);
        expect(err.message).toContain('/crm/v1/incoming-emails/batch: the answer is not an object with "results", an array of 3 results');
      }
      answer = { results: [{ status: 201, crmId: 'a' }, { status: 201 }] };
      const two = await Promise.allSettled([incoming(), incoming()].map((e) => c.deliverIncoming(e)));
      expect(two[0]).toEqual({ status: 'fulfilled', value: { crmId: 'a', created: true } });
      expect((await expectCrmError(settledAgain(two[1]), 'CRMError', SECRETS)).message).toContain(
        'whose item 1 has a non-empty string "crmId"',
      );
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
