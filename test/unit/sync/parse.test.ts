import { guardMessage } from '../../../src/sync/mime-guard.js';
import { parseMessage } from '../../../src/sync/parse.js';
import { findToken, formatToken, withToken, DEFAULT_TOKEN } from '../../../src/sync/tracking-token.js';
import { goodMessage, malformedCorpus } from '../../support/corpus.js';

test('good messages pass the guard and parse into activity fields', async () => {
  const raw = Buffer.from(goodMessage(7, { inReplyTo: 'crm-1@contoso.example' }));
  expect(guardMessage(raw)).toEqual({ ok: true });
  const r = await parseMessage(raw, { maxAttachmentBytes: 1e6 });
  if (!r.ok) throw new Error(r.message);
  expect(r.email).toMatchObject({
    messageId: 'msg-7@customer.example',
    subject: 'Hello 7',
    inReplyTo: 'crm-1@contoso.example',
    from: { address: 'sender7@customer.example', name: 'Sender 7' },
  });
  expect(r.email.to).toEqual([{ address: 'ann@example.com' }]);
});

test.each(malformedCorpus().map((m) => [m.id, m.raw]))('%s is refused as CorruptMessage with a reason', async (_id, raw) => {
  const started = Date.now();
  const r = await parseMessage(Buffer.from(raw), { maxAttachmentBytes: 1e6 });
  expect(r.ok).toBe(false);
  if (!r.ok) {
    expect(r.reason).toBe('CorruptMessage');
    expect(r.message.length).toBeGreaterThan(10);
  }
  expect(Date.now() - started).toBeLessThan(5000); // hostile input must not stall the worker
});

test('a message without Message-ID gets a stable synthetic one', async () => {
  const raw = Buffer.from(goodMessage(1).replace(/Message-ID: .*\r\n/, ''));
  const a = await parseMessage(raw, { maxAttachmentBytes: 1e6 });
  const b = await parseMessage(raw, { maxAttachmentBytes: 1e6 });
  expect(a.ok && b.ok && a.email.messageId === b.email.messageId && a.email.messageId.endsWith('@mailsync.invalid')).toBe(true);
});

test('an attachment over the limit is refused, naming the limit', async () => {
  const raw = [
    'From: a@customer.example',
    'To: ann@example.com',
    'Subject: big',
    'Message-ID: <big@x>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'see attached',
    '--b',
    'Content-Type: application/octet-stream; name="big.bin"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="big.bin"',
    '',
    Buffer.alloc(4096, 7).toString('base64'),
    '--b--',
    '',
  ].join('\r\n');
  const r = await parseMessage(Buffer.from(raw), { maxAttachmentBytes: 1024 });
  expect(r).toEqual({
    ok: false,
    reason: 'AttachmentTooLarge',
    message: expect.stringMatching(/"big.bin" is 4096 bytes, over the limit of 1024/),
  });
});

test('forward mailboxes unwrap the forwarded message', async () => {
  const inner = goodMessage(3, { from: 'Customer <c@customer.example>' });
  const raw = [
    'From: ann@example.com',
    'To: forward@example.com',
    'Subject: Fwd: Hello 3',
    'Message-ID: <fwd@example.com>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="f"',
    '',
    '--f',
    'Content-Type: text/plain',
    '',
    'fyi',
    '--f',
    'Content-Type: message/rfc822',
    '',
    inner,
    '--f--',
    '',
  ].join('\r\n');
  const r = await parseMessage(Buffer.from(raw), { maxAttachmentBytes: 1e6, unwrapForwarded: true });
  if (!r.ok) throw new Error(r.message);
  expect(r.email.messageId).toBe('msg-3@customer.example');
  expect(r.email.from.address).toBe('c@customer.example');
  expect(r.forwardedBy?.address).toBe('ann@example.com');
});

test('tracking tokens are written and found as Dynamics writes them', () => {
  const t = formatToken(DEFAULT_TOKEN, 1, 1);
  expect(t).toBe('CRM:0001001');
  expect(findToken(DEFAULT_TOKEN, `RE: Your order ${t}`)).toBe(t);
  expect(findToken(DEFAULT_TOKEN, 'RE: CRM:12 too short')).toBeUndefined();
  expect(findToken({ ...DEFAULT_TOKEN, enabled: false }, `x ${t}`)).toBeUndefined();
  expect(withToken('Hello', t)).toBe('Hello CRM:0001001');
  expect(withToken(`Hello ${t}`, t)).toBe(`Hello ${t}`);
});
