// Pop3Adapter and Pop3Client against a real Dovecot.
import { ImapFlow } from 'imapflow';
import { classifyError } from '../../../src/mail/errors.js';
import { Pop3Adapter } from '../../../src/mail/pop3.js';
import { Pop3Client } from '../../../src/mail/pop3-client.js';
import type { Credentials, Endpoint, TlsMode } from '../../../src/mail/types.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { expectMailError } from '../../support/mail-assertions.js';
import { startSilentServer } from '../../support/silent-server.js';

const ALICE = { username: 'alice@example.test', password: 'alice-Pa55word-pop3' };
const BOB = { username: 'bob@example.test', password: 'bob-Pa55word-pop3' };
// Dovecot's XOAUTH2 checks the bearer token against the passdb password. One token is short enough
// for AUTH with an initial response on one line; the other, like real OAuth tokens, is not (RFC 5034
// limits the line to 255 octets) and goes after the "+" continuation instead.
const CAROL = { username: 'carol@example.test', password: 'carol-short-token-0123456789' };
const DAVE = { username: 'dave@example.test', password: `dave-long-token-${'x'.repeat(300)}` };
const ERIN = { username: 'erin@example.test', password: 'erin-Pa55word-pop3' };
const WRONG = 'not-the-Right-password';

let dovecot: DovecotFixture;

beforeAll(async () => {
  dovecot = await startDovecot({ users: [ALICE, BOB, CAROL, DAVE, ERIN] });
});

afterAll(async () => {
  await dovecot?.cleanup();
});

function endpoint(tls: TlsMode, opts: { trusted?: boolean; port?: number; timeoutMs?: number } = {}): Endpoint {
  const port = opts.port ?? (tls === 'Implicit' ? dovecot.ports.pop3s : dovecot.ports.pop3);
  return { host: dovecot.host, port, tls, ca: opts.trusted === false ? undefined : dovecot.caPem, timeoutMs: opts.timeoutMs ?? 5000 };
}

const password = (u: { username: string; password: string }, pw = u.password): Credentials => ({
  kind: 'password',
  username: u.username,
  password: pw,
});
const token = (u: { username: string }, value: string): Credentials => ({
  kind: 'oauth2',
  username: u.username,
  token: { getToken: async () => value },
});

describe('Pop3Adapter.test()', () => {
  test.each<TlsMode>(['Implicit', 'STARTTLS', 'None'])('succeeds over %s with the fixture CA', async (tls) => {
    await new Pop3Adapter(endpoint(tls), password(ALICE)).test();
  });

  test('STARTTLS re-reads capabilities after STLS and logs in over TLS', async () => {
    const client = await Pop3Client.connect(endpoint('STARTTLS'));
    try {
      expect(client.secure).toBe(true);
      // Dovecot no longer offers STLS once TLS is up: proof that CAPA was asked again.
      expect(client.capabilities.has('STLS')).toBe(false);
      expect(client.capabilities.get('SASL')).toEqual(expect.arrayContaining(['PLAIN', 'XOAUTH2']));
      await client.authenticate(ALICE);
      await client.quit();
    } finally {
      client.close();
    }
  });

  test.each([
    ['short token (initial response inline)', CAROL],
    ['long token (sent after the continuation)', DAVE],
  ])('XOAUTH2 with a %s', async (_name, user) => {
    await new Pop3Adapter(endpoint('Implicit'), token(user, user.password)).test();
  });

  test('wrong password: AuthenticationFailed ([AUTH]), permanent, one attempt, no password in the message', async () => {
    const before = await dovecot.loginAttempts(BOB.username);
    const err = await expectMailError(new Pop3Adapter(endpoint('Implicit'), password(BOB, WRONG)).test(), 'AuthenticationFailed', [
      WRONG,
      BOB.password,
    ]);
    expect(err.permanent).toBe(true);
    expect(err.message).toContain('[AUTH]');
    expect(await dovecot.loginAttempts(BOB.username)).toBe(before + 1);
  });

  test('wrong password over USER/PASS (no SASL): AuthenticationFailed', async () => {
    const client = await Pop3Client.connect(endpoint('Implicit'));
    try {
      client.capabilities.delete('SASL'); // force the fallback
      await expectMailError(
        client
          .authenticate({ username: BOB.username, password: WRONG })
          .catch((e) => Promise.reject(classifyError(e, { secrets: [WRONG] }))),
        'AuthenticationFailed',
        [WRONG],
      );
    } finally {
      client.close();
    }
  });

  test('rejected XOAUTH2 token (both lengths): AuthenticationFailed without the token', async () => {
    for (const bad of ['bad-token-abcdefghijklmnopqrstuvwxyz', `bad-long-token-${'y'.repeat(300)}`]) {
      await expectMailError(new Pop3Adapter(endpoint('STARTTLS'), token(CAROL, bad)).test(), 'AuthenticationFailed', [bad]);
    }
  });

  test.each<TlsMode>(['Implicit', 'STARTTLS'])('untrusted certificate over %s: TLSError', async (tls) => {
    const err = await expectMailError(new Pop3Adapter(endpoint(tls, { trusted: false }), password(ALICE)).test(), 'TLSError', [
      ALICE.password,
    ]);
    expect(err.message).toMatch(/certificate/);
  });

  test('Implicit TLS against the plaintext port: TLSError', async () => {
    await expectMailError(new Pop3Adapter(endpoint('Implicit', { port: dovecot.ports.pop3 }), password(ALICE)).test(), 'TLSError', [
      ALICE.password,
    ]);
  });

  test('a server that never answers: Timeout', async () => {
    const silent = await startSilentServer();
    try {
      await expectMailError(
        new Pop3Adapter({ host: '127.0.0.1', port: silent.port, tls: 'None', timeoutMs: 300 }, password(ALICE)).test(),
        'Timeout',
        [ALICE.password],
      );
    } finally {
      await silent.close();
    }
  });

  test('server stopped: ServerUnreachable, transient', async () => {
    await dovecot.stop();
    try {
      const err = await expectMailError(new Pop3Adapter(endpoint('Implicit'), password(ALICE)).test(), 'ServerUnreachable', [
        ALICE.password,
      ]);
      expect(err.permanent).toBe(false);
    } finally {
      await dovecot.start();
    }
    await new Pop3Adapter(endpoint('Implicit'), password(ALICE)).test();
  });
});

describe('Pop3Client against Dovecot', () => {
  // Lines starting with "." are dot-stuffed on the wire; a line of just "." would end the reply if
  // the server did not stuff it, and the client must remove exactly one dot from each.
  const tricky = [
    'From: sender@example.test',
    'To: erin@example.test',
    'Subject: dots',
    'Message-ID: <dots@example.test>',
    '',
    '.leading dot',
    '..two leading dots',
    '.',
    '..',
    '...',
    'line with . inside',
    '. space after dot',
    '',
  ].join('\r\n');

  test('RETR returns the message byte for byte (dot-unstuffed), the same bytes IMAP serves', async () => {
    await dovecot.deliver(ERIN.username, tricky);
    const client = await new Pop3Adapter(endpoint('Implicit'), password(ERIN)).open();
    let retrieved: Buffer;
    try {
      const uidl = await client.uidl();
      const list = await client.list();
      expect(uidl).toHaveLength(1);
      expect(list).toEqual([{ msg: 1, size: expect.any(Number) }]);
      retrieved = await client.retr(1);
      expect(retrieved.length).toBe(list[0].size);
      expect((await client.top(1, 0)).toString()).toContain('Subject: dots');
      await client.quit();
    } finally {
      client.close();
    }
    // LMTP delivery prepends trace headers (Return-Path, Delivered-To, Received); the rest is ours.
    expect(retrieved.subarray(retrieved.length - tricky.length).toString('latin1')).toBe(tricky);

    const imap = new ImapFlow({
      host: dovecot.host,
      port: dovecot.ports.imaps,
      secure: true,
      tls: { ca: [dovecot.caPem] },
      auth: { user: ERIN.username, pass: ERIN.password },
      logger: false,
    });
    await imap.connect();
    try {
      await imap.mailboxOpen('INBOX', { readOnly: true });
      const viaImap = await imap.fetchOne('1', { source: true });
      expect(viaImap && viaImap.source?.equals(retrieved)).toBe(true);
    } finally {
      await imap.logout();
    }
  });

  test('UIDL is stable across sessions, DELE applies at QUIT, RSET undoes it', async () => {
    await dovecot.deliver(ERIN.username, 'Subject: two\r\n\r\ntwo\r\n');
    const adapter = new Pop3Adapter(endpoint('STARTTLS'), password(ERIN));

    let c = await adapter.open();
    const first = await c.uidl();
    expect(first.length).toBeGreaterThanOrEqual(2);
    await c.dele(1);
    await c.rset();
    await c.noop();
    await c.quit();

    c = await adapter.open();
    expect(await c.uidl()).toEqual(first);
    const before = await c.stat();
    await c.dele(1);
    await c.quit();

    c = await adapter.open();
    const after = await c.stat();
    expect(after.count).toBe(before.count - 1);
    expect((await c.uidl()).map((u) => u.uid)).toEqual(first.slice(1).map((u) => u.uid));
    await expectMailError(
      c.retr(99).catch((e) => Promise.reject(classifyError(e))),
      'ServerError',
      [],
    );
    await c.quit();
  });
});
