// docs/crm-webhook.openapi.yaml is the contract a CRM implements: what the connector sends must
// validate against its request schemas, and what the fake CRM (our reference implementation)
// answers against its response schemas, so the document, the connector and the fake agree.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import yaml from 'js-yaml';
import type { IncomingEmail } from '../../../src/crm/types.js';
import { WebhookConnector } from '../../../src/crm/webhook.js';
import { signWebhookBody } from '../../../src/crm/webhook-signature.js';
import { closeHttpDispatchers } from '../../../src/net/http.js';
import { FakeCrmWebhook, type FakeExchange } from '../../support/fake-crm-webhook.js';

const TOKEN = 'contract-token-0123456789abcdef';
const KEY = 'contract-signing-key-0123456789';
const here = path.dirname(fileURLToPath(import.meta.url));
const doc = yaml.load(readFileSync(path.resolve(here, '../../../../docs/crm-webhook.openapi.yaml'), 'utf8')) as {
  paths: Record<
    string,
    Record<string, { requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, unknown> }>
  >;
  components: Record<string, unknown>;
};

// Formats (email, date-time) are documentation here; ajv-formats is not a dependency.
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: 'contract', components: doc.components });

/** Validates `value` against a schema given inline or as a $ref into the document. */
function expectValid(schema: unknown, value: unknown): void {
  const validate = ajv.compile(schema as object);
  if (!validate(value))
    throw new Error(`does not match the contract: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 400)}`);
}

function refSchema(ref: string): unknown {
  return { $ref: `contract${ref}` };
}

function responseSchema(p: string, method: string, status: string): unknown {
  let response = doc.paths[p][method].responses[status] as { $ref?: string; content?: Record<string, { schema: { $ref?: string } }> };
  if (response.$ref) {
    let o: unknown = doc;
    for (const k of response.$ref.slice(2).split('/')) o = (o as Record<string, unknown>)[k];
    response = o as typeof response;
  }
  const schema = response.content?.['application/json']?.schema;
  if (!schema) throw new Error(`${method} ${p} ${status} has no JSON body in the contract`);
  return rewriteRefs(schema);
}

function requestSchema(p: string, method: string): unknown {
  return rewriteRefs(doc.paths[p][method].requestBody!.content['application/json'].schema);
}

/** The document's path template a concrete path matches (`/emails/x/sent` -> `/emails/{crmEmailId}/sent`). */
function templateOf(p: string): string {
  const exact = Object.keys(doc.paths).find((t) => t === p);
  if (exact) return exact;
  const found = Object.keys(doc.paths).find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(p));
  if (!found) throw new Error(`${p} is not a path of the contract`);
  return found;
}

/** One exchange recorded at the fake: its request body and its answer, against the document. */
function expectExchangeValid(x: FakeExchange): void {
  const template = templateOf(x.path);
  const op = doc.paths[template][x.method.toLowerCase()];
  if (!op) throw new Error(`${x.method} ${template} is not an operation of the contract`);
  if (op.requestBody) expectValid(requestSchema(template, x.method.toLowerCase()), JSON.parse(x.request));
  else expect(x.request).toBe('');
  if (!op.responses[String(x.status)]) throw new Error(`${x.method} ${template} answered ${x.status}, which the contract does not list`);
  if (Buffer.isBuffer(x.answer)) {
    const content = (op.responses[String(x.status)] as { content?: Record<string, { schema: { maxLength?: number } }> }).content;
    expect(Object.keys(content ?? {})).toEqual(['application/octet-stream']);
    expect(x.answer.length).toBeLessThanOrEqual(content!['application/octet-stream'].schema.maxLength!);
  } else if (x.answer !== undefined && x.status !== 204) {
    expectValid(responseSchema(template, x.method.toLowerCase(), String(x.status)), x.answer);
  }
}

/** `#/components/...` -> `contract#/components/...`, so inline schemas resolve against the document. */
function rewriteRefs(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\//g, '"$ref":"contract#/'));
}

let crm: FakeCrmWebhook;

beforeAll(async () => {
  crm = await FakeCrmWebhook.start({ token: TOKEN, signingKey: KEY });
});

afterAll(async () => {
  await crm?.close();
  await closeHttpDispatchers();
});

async function call(method: string, p: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const raw = body === undefined ? '' : JSON.stringify(body);
  const res = await fetch(`${crm.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'x-mailsync-signature': signWebhookBody(raw, KEY), 'content-type': 'application/json' },
    body: body === undefined ? undefined : raw,
  });
  return { status: res.status, json: await res.json() };
}

const email: IncomingEmail = {
  mailbox: 'crm/jane',
  mailboxAddress: 'jane@example.com',
  ownerKind: 'User',
  ownerName: 'jane',
  messageId: 'contract-1@example.net',
  sourceId: '1:1',
  from: { address: 'a@example.net', name: 'A' },
  to: [{ address: 'jane@example.com' }],
  cc: [],
  subject: 'Hello',
  receivedAt: '2025-01-15T12:00:00.000Z',
  textBody: 'Hi',
  references: ['older@example.net'],
  regarding: { crmEmailId: 'x', by: 'References' },
  trackingToken: 'CRM:0001001',
  attachments: [{ filename: 'a.txt', contentType: 'text/plain', size: 1, contentBase64: 'YQ==' }],
};

test('requests the connector sends match the request schemas', () => {
  expectValid(refSchema('#/components/schemas/IncomingEmail'), JSON.parse(JSON.stringify(email)));
  expectValid(requestSchema('/emails/lookup-by-message-id', 'post'), { messageIds: ['a@x'] });
  expectValid(requestSchema('/emails/{crmEmailId}/sending', 'post'), { crmEmailId: 'id', messageId: 'm@x' });
  expectValid(requestSchema('/emails/{crmEmailId}/release', 'post'), { crmEmailId: 'id' });
  expectValid(requestSchema('/emails/{crmEmailId}/sent', 'post'), {
    crmEmailId: 'id',
    messageId: 'm@x',
    sentAt: '2025-01-15T12:00:00.000Z',
  });
  expectValid(requestSchema('/emails/{crmEmailId}/failed', 'post'), { crmEmailId: 'id', reason: 'MessageRejected', message: 'no' });
  expect(() => expectValid(refSchema('#/components/schemas/IncomingEmail'), { ...email, messageId: undefined })).toThrow(/messageId/);
  // Every field the operator sends is defined: an undefined one is refused.
  expect(() => expectValid(refSchema('#/components/schemas/IncomingEmail'), { ...email, internalMarker: 'x' })).toThrow(/additional/);
  expect(() =>
    expectValid(requestSchema('/emails/{crmEmailId}/sent', 'post'), {
      crmEmailId: 'id',
      messageId: 'm@x',
      sentAt: '2025-01-15T12:00:00.000Z',
      extra: 1,
    }),
  ).toThrow(/additional/);
});

test('outgoing attachments: inline up to 1 MiB, by reference above, at most 150 MiB', () => {
  const attachment = refSchema('#/components/schemas/OutgoingAttachment');
  expectValid(attachment, { filename: 'a.pdf', contentType: 'application/pdf', size: 3, contentBase64: 'YWJj' });
  expectValid(attachment, { attachmentId: 'a1', filename: 'big.pdf', contentType: 'application/pdf', size: 5 * 1024 * 1024 });
  expect(() => expectValid(attachment, { filename: 'a.pdf', contentType: 'application/pdf', size: 3 })).toThrow(
    /contentBase64|attachmentId/,
  );
  expect(() =>
    expectValid(attachment, {
      attachmentId: 'a1',
      filename: 'big.pdf',
      contentType: 'application/pdf',
      size: 2 * 1024 * 1024,
      contentBase64: 'YWJj',
    }),
  ).toThrow();
  expect(() =>
    expectValid(attachment, { attachmentId: 'a1', filename: 'huge.bin', contentType: 'application/octet-stream', size: 200 * 1024 * 1024 }),
  ).toThrow(/157286400/);
});

test('every request the connector sends and every answer of the fake, for every method, match the contract', async () => {
  const exchanges: FakeExchange[] = [];
  crm.onExchange = (x) => exchanges.push(x);
  try {
    const c = new WebhookConnector({ url: crm.url, token: TOKEN, signingKey: KEY });
    await c.test();
    await c.lookupAddress('someone@example.net');
    await c.findEmailByMessageId(['contract-1@example.net']);
    await Promise.all([
      c.deliverIncoming({ ...email, messageId: 'every-1@example.net' }),
      c.deliverIncoming({ ...email, messageId: 'every-2@example.net' }),
    ]);
    await c.deliverIncoming({ ...email, messageId: 'every-3@example.net' });
    const big = Buffer.alloc(2 * 1024 * 1024, 1);
    const id = crm.addPendingEmail(
      'every@example.com',
      {
        from: { address: 'every@example.com' },
        to: [{ address: 'b@example.net' }],
        cc: [],
        bcc: [],
        subject: 'S',
        trackingToken: 'CRM:0002001',
        inReplyTo: 'q@x',
        references: ['q@x'],
      },
      [
        { filename: 'small.txt', contentType: 'text/plain', content: Buffer.from('small') },
        { filename: 'big.bin', contentType: 'application/octet-stream', content: big },
      ],
    );
    const found = await c.listPendingSendFor(['every@example.com', 'idle@example.com'], 10);
    const [pending] = found.get('every@example.com')!;
    expect(pending.attachments!.map((a) => [a.filename, a.contentBase64 !== undefined, a.attachmentId !== undefined])).toEqual([
      ['small.txt', true, false],
      ['big.bin', false, true],
    ]);
    expect((await c.fetchAttachment(id, pending.attachments![1])).equals(big)).toBe(true);
    await c.listPendingSend('every@example.com', 5);
    expect(await c.findEmailByTrackingToken('CRM:0002001')).toBe(id);
    await Promise.all([c.markSending(id, 'm@x')]);
    await c.releaseSending(id);
    await c.markSending(id, 'm@x');
    await c.markSent(id, 'm@x', '2025-01-15T12:00:00.000Z');
    await expect(c.markFailed(id, 'AttachmentUnavailable', 'no')).rejects.toMatchObject({ reason: 'CRMRejected' });
  } finally {
    crm.onExchange = undefined;
  }
  const paths = new Set(exchanges.map((x) => `${x.method} ${templateOf(x.path)}`));
  for (const expected of [
    'GET /health',
    'GET /addresses/{address}',
    'POST /emails/lookup-by-message-id',
    'POST /incoming-emails/batch',
    'POST /incoming-emails',
    'POST /pending-emails/query',
    'GET /emails/{crmEmailId}/attachments/{attachmentId}',
    'GET /mailboxes/{address}/pending-emails',
    'POST /emails/lookup-by-tracking-token',
    'POST /emails/{crmEmailId}/sending',
    'POST /emails/{crmEmailId}/release',
    'POST /emails/{crmEmailId}/sent',
    'POST /emails/{crmEmailId}/failed',
  ]) {
    expect([...paths]).toContain(expected);
  }
  for (const x of exchanges) expectExchangeValid(x);
});

test('the fake CRM answers as the contract says, and the connector reads those answers', async () => {
  const created = await call('POST', '/incoming-emails', email);
  expect(created.status).toBe(201);
  expectValid(responseSchema('/incoming-emails', 'post', '201'), created.json);
  const again = await call('POST', '/incoming-emails', email);
  expect(again.status).toBe(200);
  expectValid(responseSchema('/incoming-emails', 'post', '200'), again.json);

  expectValid(responseSchema('/health', 'get', '200'), (await call('GET', '/health')).json);
  expectValid(responseSchema('/addresses/{address}', 'get', '200'), (await call('GET', '/addresses/a%40example.net')).json);
  expectValid(
    responseSchema('/emails/lookup-by-message-id', 'post', '200'),
    (await call('POST', '/emails/lookup-by-message-id', { messageIds: ['contract-1@example.net'] })).json,
  );
  expectValid(
    responseSchema('/emails/lookup-by-message-id', 'post', '200'),
    (await call('POST', '/emails/lookup-by-message-id', { messageIds: ['none@x'] })).json,
  );

  const c = new WebhookConnector({ url: crm.url, token: TOKEN, signingKey: KEY });
  const id = crm.addPendingEmail('out@example.com', {
    from: { address: 'out@example.com' },
    to: [{ address: 'b@example.net' }],
    cc: [],
    bcc: [],
    subject: 'S',
    trackingToken: 'CRM:1',
  });
  const listed = await call('GET', '/mailboxes/out%40example.com/pending-emails?limit=5');
  expectValid(responseSchema('/mailboxes/{address}/pending-emails', 'get', '200'), listed.json);
  expectValid(
    responseSchema('/emails/{crmEmailId}/sending', 'post', '200'),
    (await call('POST', `/emails/${id}/sending`, { crmEmailId: id, messageId: 'm@x' })).json,
  );
  expect((await c.listPendingSend('out@example.com', 5))[0]).toMatchObject({ crmEmailId: id, state: 'Sending' });
  expectValid(
    responseSchema('/emails/{crmEmailId}/sent', 'post', '200'),
    (await call('POST', `/emails/${id}/sent`, { crmEmailId: id, messageId: 'm@x', sentAt: '2025-01-15T12:00:00.000Z' })).json,
  );
  const conflict = await call('POST', `/emails/${id}/failed`, { crmEmailId: id, reason: 'r', message: 'm' });
  expect(conflict.status).toBe(409);
  expectValid(responseSchema('/emails/{crmEmailId}/failed', 'post', '409'), conflict.json);
  expectValid(
    responseSchema('/emails/{crmEmailId}/sent', 'post', '404'),
    (await call('POST', '/emails/nope/sent', { crmEmailId: 'nope', messageId: 'm', sentAt: 'x' })).json,
  );
  const unauthorized = await fetch(`${crm.url}/health`);
  expect(unauthorized.status).toBe(401);
  expectValid(responseSchema('/health', 'get', '401'), await unauthorized.json());
});

describe('batch endpoints', () => {
  const BATCH_PATHS = ['/incoming-emails/batch', '/emails/status-changes'];
  let exchanges: FakeExchange[] = [];

  beforeEach(() => {
    exchanges = [];
    crm.onExchange = (x) => exchanges.push(x);
  });
  afterEach(() => {
    crm.onExchange = undefined;
    crm.batchOff = undefined;
  });

  /** Every batch request the connector sent, and every answer of the fake to it, against the document. */
  function expectBatchExchangesValid(): FakeExchange[] {
    const batches = exchanges.filter((x) => BATCH_PATHS.includes(x.path));
    for (const x of batches) {
      expect(x.method).toBe('POST');
      expectValid(requestSchema(x.path, 'post'), JSON.parse(x.request));
      expectValid(responseSchema(x.path, 'post', String(x.status)), x.answer);
    }
    return batches;
  }

  test('what the connector sends to the batch endpoints, and what the fake answers, match the contract', async () => {
    const c = new WebhookConnector({ url: crm.url, token: TOKEN, signingKey: KEY });
    const emails = Array.from({ length: 5 }, (_, i) => ({ ...email, messageId: `batch-${i}@example.net`, sourceId: `1:${i}` }));
    // New, already there (created above), the same one twice, and one the CRM refuses.
    const delivered = await Promise.allSettled([...emails, email, emails[0], { ...email, messageId: '' }].map((e) => c.deliverIncoming(e)));
    expect(delivered.map((d) => d.status)).toEqual([...Array(7).fill('fulfilled'), 'rejected']);

    const ids = Array.from({ length: 4 }, (_, i) =>
      crm.addPendingEmail('batch@example.com', {
        from: { address: 'batch@example.com' },
        to: [{ address: `b${i}@example.net` }],
        cc: [],
        bcc: [],
        subject: `S${i}`,
      }),
    );
    await Promise.all(ids.map((id) => c.markSending(id, `${id}@x`)));
    const changed = await Promise.allSettled([
      c.markSent(ids[0], `${ids[0]}@x`, '2025-01-15T12:00:00.000Z'),
      c.markFailed(ids[1], 'MessageRejected', 'SMTP 550'),
      c.releaseSending(ids[2]),
      c.markSent('nope', 'm@x', '2025-01-15T12:00:00.000Z'),
    ]);
    expect(changed.map((d) => d.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);

    const batches = expectBatchExchangesValid();
    expect(batches.map((x) => [x.path, x.status])).toEqual([
      ['/incoming-emails/batch', 200],
      ['/emails/status-changes', 200],
      ['/emails/status-changes', 200],
    ]);
    const results = (batches[0].answer as { results: { status: number }[] }).results.map((r) => r.status);
    expect(results).toEqual([201, 201, 201, 201, 201, 200, 200, 422]);
    expect((batches[2].answer as { results: { status: number }[] }).results.map((r) => r.status)).toEqual([204, 204, 204, 404]);
    // No change went to a single endpoint behind the connector's back.
    expect(exchanges.filter((x) => !BATCH_PATHS.includes(x.path))).toEqual([]);
  });

  test('the batch schemas say what each item needs, and the fake refuses what they refuse', async () => {
    const changes = requestSchema('/emails/status-changes', 'post');
    expectValid(changes, {
      changes: [
        { crmEmailId: 'a', state: 'PendingSend' },
        { crmEmailId: 'b', state: 'Failed', reason: 'r', message: 'm' },
      ],
    });
    expect(() => expectValid(changes, { changes: [{ crmEmailId: 'a', state: 'Sent', messageId: 'm@x' }] })).toThrow(/sentAt/);
    expect(() => expectValid(changes, { changes: [{ crmEmailId: 'a', state: 'Cancelled' }] })).toThrow(/state/);
    expect(() => expectValid(changes, { changes: [] })).toThrow(/fewer than 1/);
    expect(() => expectValid(requestSchema('/incoming-emails/batch', 'post'), { emails: Array(101).fill(email) })).toThrow(/more than 100/);

    const tooMany = await call('POST', '/incoming-emails/batch', { emails: Array(101).fill(email) });
    expect(tooMany.status).toBe(422);
    expectValid(responseSchema('/incoming-emails/batch', 'post', '422'), tooMany.json);
    const badState = await call('POST', '/emails/status-changes', { changes: [{ crmEmailId: 'x', state: 'Cancelled' }] });
    expect(badState.status).toBe(200);
    expectValid(responseSchema('/emails/status-changes', 'post', '200'), badState.json);
    expect(badState.json).toMatchObject({ results: [{ status: 422 }] });
  });

  test('a CRM without batch endpoints answers 404 or 405 as documented, and the connector then uses the single endpoints', async () => {
    for (const status of [404, 405] as const) {
      crm.batchOff = status;
      exchanges = [];
      const c = new WebhookConnector({ url: crm.url, token: TOKEN, signingKey: KEY });
      await Promise.all([1, 2].map((i) => c.deliverIncoming({ ...email, messageId: `off-${status}-${i}@example.net` })));
      const [batch, ...singles] = exchanges;
      expect(batch).toMatchObject({ path: '/incoming-emails/batch', status });
      expectValid(responseSchema(batch.path, 'post', String(status)), batch.answer);
      expect(singles.map((x) => [x.path, x.status])).toEqual([
        ['/incoming-emails', 201],
        ['/incoming-emails', 201],
      ]);
      for (const x of singles) expectValid(refSchema('#/components/schemas/IncomingEmail'), JSON.parse(x.request));
    }
  });
});
