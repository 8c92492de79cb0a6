import { parseMessage, type ParseResult } from '../../../src/sync/parse.js';
import { defaultParserThreads, ParserPool } from '../../../src/sync/parser-pool.js';
import { goodMessage, malformedCorpus } from '../../support/corpus.js';

// receivedAt is the parse time; everything else must be what the inline parser gives.
const comparable = (r: ParseResult) => (r.ok ? { ...r, email: { ...r.email, receivedAt: 'x' } } : r);

const forwarded = Buffer.from(
  [
    'From: Forwarder <fwd@example.com>',
    'To: crm@example.com',
    'Subject: Fwd: order',
    'Message-ID: <outer@example.com>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'see below',
    '--b',
    'Content-Type: message/rfc822',
    '',
    goodMessage(42),
    '--b--',
    '',
  ].join('\r\n'),
);

const inputs = [
  ...Array.from({ length: 40 }, (_, i) => Buffer.from(goodMessage(i))),
  ...malformedCorpus().map((m) => Buffer.from(m.raw)),
  forwarded,
];

test('a pool parses exactly as the inline parser does, good, malformed and forwarded messages alike', async () => {
  const pool = new ParserPool({ threads: 2 });
  try {
    const opts = { maxAttachmentBytes: 1e6, unwrapForwarded: true };
    const pooled = await Promise.all(inputs.map((raw) => pool.parse(raw, opts)));
    const inline = await Promise.all(inputs.map((raw) => parseMessage(raw, opts)));
    expect(pooled.map(comparable)).toEqual(inline.map(comparable));
    expect(pooled.filter((r) => !r.ok)).toHaveLength(malformedCorpus().length);
    expect(pooled.at(-1)).toMatchObject({
      ok: true,
      email: { messageId: 'msg-42@customer.example' },
      forwardedBy: { address: 'fwd@example.com' },
    });
    expect(pool.workers).toHaveLength(2);
  } finally {
    await pool.close();
  }
});

test('messages in flight on a thread that ends are parsed again, none is lost', async () => {
  const pool = new ParserPool({ threads: 1 });
  try {
    const messages = Array.from({ length: 300 }, (_, i) => Buffer.from(goodMessage(i, { size: 8000 })));
    const pending = messages.map((raw) => pool.parse(raw, { maxAttachmentBytes: 1e6 }));
    const [thread] = pool.workers;
    await thread.terminate();
    const results = await Promise.all(pending);
    expect(results.map((r) => (r.ok ? r.email.subject : r.message))).toEqual(messages.map((_, i) => `Hello ${i}`));
    expect(pool.workers).not.toContain(thread);
  } finally {
    await pool.close();
  }
});

test('a message that kills its parser thread is reported as CorruptMessage; the ones beside it are parsed', async () => {
  // 30 MB of text needs far more than a 16 MB heap: the thread dies, then again in quarantine.
  const pool = new ParserPool({ threads: 1, maxHeapMb: 16 });
  try {
    const big = Buffer.from(goodMessage(1, { size: 30 * 1024 * 1024 }));
    const [before, poison, after] = await Promise.all([
      pool.parse(Buffer.from(goodMessage(2)), { maxAttachmentBytes: 1e9 }),
      pool.parse(big, { maxAttachmentBytes: 1e9 }),
      pool.parse(Buffer.from(goodMessage(3)), { maxAttachmentBytes: 1e9 }),
    ]);
    expect(before).toMatchObject({ ok: true, email: { subject: 'Hello 2' } });
    expect(after).toMatchObject({ ok: true, email: { subject: 'Hello 3' } });
    expect(poison).toMatchObject({ ok: false, reason: 'CorruptMessage' });
    if (!poison.ok) expect(poison.message).toMatch(/parser failed on this message \(.*memory.*\); it is skipped/);
    // The pool goes on working after it.
    expect(await pool.parse(Buffer.from(goodMessage(4)), { maxAttachmentBytes: 1e9 })).toMatchObject({
      ok: true,
      email: { subject: 'Hello 4' },
    });
  } finally {
    await pool.close();
  }
});

test('after close, parsing goes on inline', async () => {
  const pool = new ParserPool({ threads: 1 });
  await pool.close();
  expect(await pool.parse(Buffer.from(goodMessage(5)), { maxAttachmentBytes: 1e6 })).toMatchObject({
    ok: true,
    email: { subject: 'Hello 5' },
  });
  expect(pool.workers).toHaveLength(0);
});

test('default pool size: none on 2 cores or fewer, then one per extra core up to 4', () => {
  expect([1, 2, 3, 4, 8, 64].map(defaultParserThreads)).toEqual([0, 0, 2, 3, 4, 4]);
});
