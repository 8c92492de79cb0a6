// The POP3 reply parser on its own: replies split at every possible byte, dot-unstuffing, response
// codes, SASL continuations and failure modes.
import { Pop3ResponseParser, type Pop3Reply } from '../../../src/mail/pop3-parser.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Feeds `wire` to a fresh parser in pieces of `size` bytes and returns the replies to `expectations`. */
async function parse(wire: Buffer, expectations: boolean[], size = 1): Promise<Pop3Reply[]> {
  const parser = new Pop3ResponseParser();
  const replies = Promise.all(expectations.map((multiline) => parser.expect(multiline)));
  for (let i = 0; i < wire.length; i += size) parser.push(wire.subarray(i, i + size));
  return replies;
}

// Lines that start with "." are sent with an extra "." (RFC 1939 §3); ".." alone is a line holding ".".
const stored = 'From: a@example.test\r\nSubject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n...\r\nend\r\n';
const stuffed = stored
  .split('\r\n')
  .map((l) => (l.startsWith('.') ? `.${l}` : l))
  .join('\r\n');
const retrWire = bytes(`+OK ${stored.length} octets\r\n${stuffed}.\r\n`);

describe('Pop3ResponseParser', () => {
  test('a RETR reply fed byte by byte is unstuffed back to the stored message', async () => {
    const [reply] = await parse(retrWire, [true], 1);
    expect(reply.kind).toBe('ok');
    expect(reply.kind === 'ok' && reply.data?.toString('latin1')).toBe(stored);
    expect(reply.text).toBe(`${stored.length} octets`);
  });

  test('every split point of the same reply gives the same result', async () => {
    for (let size = 2; size <= 13; size++) {
      const [reply] = await parse(retrWire, [true], size);
      expect(reply.kind === 'ok' && reply.data?.toString('latin1')).toBe(stored);
    }
    // Two pieces, cut at every offset: covers "+O" | "K", "\r" | "\n" and "\r\n." | "\r\n".
    for (let cut = 1; cut < retrWire.length; cut++) {
      const parser = new Pop3ResponseParser();
      const reply = parser.expect(true);
      parser.push(retrWire.subarray(0, cut));
      parser.push(retrWire.subarray(cut));
      const r = await reply;
      expect(r.kind === 'ok' && r.data?.toString('latin1')).toBe(stored);
    }
  });

  test('a terminator split from the CRLF before it', async () => {
    const parser = new Pop3ResponseParser();
    const reply = parser.expect(true);
    parser.push(bytes('+OK\r\nline1\r\n.'));
    let settled = false;
    void reply.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    parser.push(bytes('\r\n'));
    const r = await reply;
    expect(r.kind === 'ok' && r.data?.toString()).toBe('line1\r\n');
  });

  test('several replies in one chunk go to their expectations in order', async () => {
    const [stat, uidl, noop] = await parse(bytes('+OK 2 320\r\n+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n+OK done\r\n'), [false, true, false], 1024);
    expect(stat).toEqual({ kind: 'ok', text: '2 320' });
    expect(uidl.kind === 'ok' && uidl.data?.toString()).toBe('1 aaa\r\n2 bbb\r\n');
    expect(noop).toEqual({ kind: 'ok', text: 'done' });
  });

  test('a reply that arrives before anyone expects it (the greeting) is kept', async () => {
    const parser = new Pop3ResponseParser();
    parser.push(bytes('+OK Dovecot ready.\r\n'));
    expect(parser.buffered).toBeGreaterThan(0);
    await expect(parser.expect(false)).resolves.toEqual({ kind: 'ok', text: 'Dovecot ready.' });
    expect(parser.buffered).toBe(0);
  });

  test('-ERR with an RFC 2449 response code', async () => {
    const [reply] = await parse(bytes('-ERR [AUTH] Authentication failed.\r\n'), [false], 3);
    expect(reply).toEqual({ kind: 'err', text: '[AUTH] Authentication failed.', responseCode: 'AUTH' });
    const [sys] = await parse(bytes('-ERR [SYS/TEMP] try later\r\n'), [false]);
    expect(sys.kind === 'err' && sys.responseCode).toBe('SYS/TEMP');
  });

  test('-ERR to a multi-line command has no body', async () => {
    const [reply, next] = await parse(bytes('-ERR no such message\r\n+OK\r\n'), [true, false]);
    expect(reply).toEqual({ kind: 'err', text: 'no such message', responseCode: undefined });
    expect(next.kind).toBe('ok');
  });

  test('SASL continuations, with and without a challenge', async () => {
    const [a, b] = await parse(bytes('+ eyJzdGF0dXMiOiI0MDEifQ==\r\n+ \r\n'), [false, false]);
    expect(a).toEqual({ kind: 'continue', text: 'eyJzdGF0dXMiOiI0MDEifQ==' });
    expect(b).toEqual({ kind: 'continue', text: '' });
  });

  test('an empty multi-line reply', async () => {
    const [reply] = await parse(bytes('+OK 0 messages\r\n.\r\n'), [true]);
    expect(reply.kind === 'ok' && reply.data?.length).toBe(0);
  });

  test('bare LF line endings are accepted and kept', async () => {
    const [reply] = await parse(bytes('+OK\n..x\nplain\n.\n'), [true]);
    expect(reply.kind === 'ok' && reply.data?.toString()).toBe('.x\nplain\n');
  });

  test('a line that is not POP3 fails this and every later expectation', async () => {
    const parser = new Pop3ResponseParser();
    const first = parser.expect(false);
    parser.push(bytes('HTTP/1.1 400 Bad Request\r\n'));
    await expect(first).rejects.toMatchObject({ code: 'EPROTOCOL' });
    await expect(parser.expect(false)).rejects.toMatchObject({ code: 'EPROTOCOL' });
  });

  test('fail() rejects pending expectations', async () => {
    const parser = new Pop3ResponseParser();
    const pending = parser.expect(true);
    parser.push(bytes('+OK\r\npartial'));
    parser.fail(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    await expect(pending).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  test('an endless status line is cut off', async () => {
    const parser = new Pop3ResponseParser();
    const pending = parser.expect(false);
    const junk = Buffer.alloc(16 * 1024, 0x41);
    for (let i = 0; i < 5; i++) parser.push(junk);
    await expect(pending).rejects.toMatchObject({ code: 'EPROTOCOL' });
  });

  test('a large message in TLS-record-sized chunks', async () => {
    const line = 'x'.repeat(76);
    const body = Array.from({ length: 20_000 }, (_, i) => (i % 10 === 0 ? `.${line}` : line)).join('\r\n') + '\r\n';
    const wire = bytes(
      `+OK\r\n${body
        .split('\r\n')
        .map((l) => (l.startsWith('.') ? `.${l}` : l))
        .join('\r\n')}.\r\n`,
    );
    const [reply] = await parse(wire, [true], 16 * 1024);
    expect(reply.kind === 'ok' && reply.data?.toString()).toBe(body);
  });
});
