// ImapAdapter.test() and ImapSession against a real Dovecot.
import { ImapAdapter, ImapSession } from '../../../src/mail/imap.js';
import type { Credentials, Endpoint, MailError, TlsMode } from '../../../src/mail/types.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { expectMailError } from '../../support/mail-assertions.js';
import { startSilentServer } from '../../support/silent-server.js';

const ALICE = { username: 'alice@example.test', password: 'alice-Pa55word-imap' };
const BOB = { username: 'bob@example.test', password: 'bob-Pa55word-imap' };
// Dovecot's XOAUTH2/OAUTHBEARER check the bearer token against the passdb password.
const CAROL = { username: 'carol@example.test', password: 'carol-access-token-0123456789' };
const DAVE = { username: 'dave@example.test', password: 'dave-Pa55word-imap' };
const WRONG = 'not-the-Right-password';

let dovecot: DovecotFixture;

beforeAll(async () => {
  dovecot = await startDovecot({ users: [ALICE, BOB, CAROL, DAVE] });
});

afterAll(async () => {
  await dovecot?.cleanup();
});

function endpoint(tls: TlsMode, opts: { trusted?: boolean; port?: number; timeoutMs?: number } = {}): Endpoint {
  const port = opts.port ?? (tls === 'Implicit' ? dovecot.ports.imaps : dovecot.ports.imap);
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

function message(subject: string, body = 'Hello.\r\n'): string {
  return `From: sender@example.test\r\nTo: alice@example.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.test>\r\n\r\n${body}`;
}

describe('ImapAdapter.test()', () => {
  test.each<TlsMode>(['Implicit', 'STARTTLS', 'None'])('succeeds over %s with the fixture CA', async (tls) => {
    await new ImapAdapter(endpoint(tls), password(ALICE)).test();
  });

  test('succeeds with an OAuth access token', async () => {
    await new ImapAdapter(endpoint('Implicit'), token(CAROL, CAROL.password)).test();
  });

  test('wrong password: AuthenticationFailed, permanent, one login attempt, no password in the message', async () => {
    const before = await dovecot.loginAttempts(BOB.username);
    const err = await expectMailError(new ImapAdapter(endpoint('Implicit'), password(BOB, WRONG)).test(), 'AuthenticationFailed', [
      WRONG,
      BOB.password,
    ]);
    expect(err.permanent).toBe(true);
    expect(err.message).toContain('AUTHENTICATIONFAILED');
    expect(await dovecot.loginAttempts(BOB.username)).toBe(before + 1);
  });

  test('rejected access token: AuthenticationFailed without the token in the message', async () => {
    const bad = 'expired-token-abcdefghijklmnopqrstuvwxyz';
    await expectMailError(new ImapAdapter(endpoint('STARTTLS'), token(CAROL, bad)).test(), 'AuthenticationFailed', [bad]);
  });

  test.each<TlsMode>(['Implicit', 'STARTTLS'])('untrusted certificate over %s: TLSError', async (tls) => {
    const err = await expectMailError(new ImapAdapter(endpoint(tls, { trusted: false }), password(ALICE)).test(), 'TLSError', [
      ALICE.password,
    ]);
    expect(err.message).toMatch(/certificate/);
  });

  test('Implicit TLS against the plaintext port: TLSError', async () => {
    await expectMailError(new ImapAdapter(endpoint('Implicit', { port: dovecot.ports.imap }), password(ALICE)).test(), 'TLSError', [
      ALICE.password,
    ]);
  });

  test('a folder that does not exist: MailboxNotFound', async () => {
    const err = await expectMailError(
      new ImapAdapter(endpoint('Implicit'), password(ALICE), { mailbox: 'No/Such/Folder' }).test(),
      'MailboxNotFound',
      [ALICE.password],
    );
    expect(err.permanent).toBe(true);
  });

  test('a server that never answers: Timeout', async () => {
    const silent = await startSilentServer();
    try {
      await expectMailError(
        new ImapAdapter({ host: '127.0.0.1', port: silent.port, tls: 'None', timeoutMs: 300 }, password(ALICE)).test(),
        'Timeout',
        [ALICE.password],
      );
    } finally {
      await silent.close();
    }
  });

  test('the TokenProvider failing is reported without a token', async () => {
    const failing: Credentials = {
      kind: 'oauth2',
      username: CAROL.username,
      token: { getToken: async () => Promise.reject(Object.assign(new Error('token endpoint down'), { status: 503 })) },
    };
    await expectMailError(new ImapAdapter(endpoint('Implicit'), failing).test(), 'ServerError', []);
  });
});

describe('ImapSession', () => {
  test('status, fetchSince, IDLE notifications, moveTo and delete', async () => {
    const exists: number[] = [];
    const session = new ImapSession(endpoint('Implicit'), password(DAVE), { onExists: (n) => exists.push(n), idleDelayMs: 50 });
    try {
      await session.ready();
      const empty = await session.status();
      expect(empty.messages).toBe(0);
      expect(typeof empty.uidValidity).toBe('bigint');

      const sources = ['one', 'two', 'three'].map((s) => message(s));
      for (const s of sources) await dovecot.deliver(DAVE.username, s);
      // IDLE reports the new messages without us asking.
      await waitFor(() => exists.includes(3), 5000);

      const status = await session.status();
      expect(status.messages).toBe(3);
      expect(status.uidNext).toBeGreaterThan(3);

      const fetched = [];
      for await (const m of session.fetchSince(0)) {
        fetched.push(m);
        // Commands between messages must not deadlock (the fetch loop is finished by now).
        if (m === fetched[0]) await session.status();
      }
      expect(fetched.map((m) => m.id)).toEqual([1, 2, 3].map((uid) => `${status.uidValidity}:${uid}`));
      fetched.forEach((m, i) => expect(m.source.toString()).toContain(sources[i].split('\r\n\r\n')[1]));

      const since2 = [];
      for await (const m of session.fetchSince(2)) since2.push(m.id);
      expect(since2).toEqual([`${status.uidValidity}:3`]);
      // "N:*" matches the newest message even when N is past it; none may come back.
      const none = [];
      for await (const m of session.fetchSince(3)) none.push(m);
      expect(none).toEqual([]);

      await session.moveTo(1, 'Archive');
      await session.delete(2);
      const after = await session.status();
      expect(after.messages).toBe(1);
      const left = [];
      for await (const m of session.fetchSince(0)) left.push(m.id);
      expect(left).toEqual([`${status.uidValidity}:3`]);

      await expectMailError(session.moveTo(3, 'Missing-Folder'), 'MailboxNotFound', [DAVE.password]);
    } finally {
      await session.close();
    }
  });

  test('reconnects after the server comes back', async () => {
    const errors: MailError[] = [];
    let connects = 0;
    const session = new ImapSession(endpoint('STARTTLS', { timeoutMs: 1000 }), password(ALICE), {
      backoff: { initialMs: 50, maxMs: 200 },
      onError: (e) => errors.push(e),
      onConnected: () => connects++,
    });
    try {
      await session.ready();
      await session.status();
      await dovecot.stop();
      try {
        await waitFor(() => !session.connected, 5000);
        const err = await expectMailError(session.status(), 'ServerUnreachable', [ALICE.password]);
        expect(err.permanent).toBe(false);
      } finally {
        await dovecot.start();
      }
      const status = await waitForValue(() => session.status(), 10_000);
      expect(typeof status.uidValidity).toBe('bigint');
      expect(connects).toBeGreaterThanOrEqual(2);
      expect(errors.every((e) => !e.permanent && !e.message.includes(ALICE.password))).toBe(true);
    } finally {
      await session.close();
    }
  });

  test('stops retrying rejected credentials', async () => {
    const before = await dovecot.loginAttempts(BOB.username);
    const session = new ImapSession(endpoint('Implicit'), password(BOB, WRONG), { backoff: { initialMs: 10, maxMs: 20 } });
    try {
      await expectMailError(session.ready(), 'AuthenticationFailed', [WRONG]);
      await new Promise((r) => setTimeout(r, 200));
      expect(await dovecot.loginAttempts(BOB.username)).toBe(before + 1);
      await expectMailError(session.status(), 'AuthenticationFailed', [WRONG]);
    } finally {
      await session.close();
    }
  });

  test('close() stops the reconnect loop of a session that never connected', async () => {
    const session = new ImapSession({ host: '127.0.0.1', port: 1, tls: 'None', timeoutMs: 500 }, password(ALICE), {
      backoff: { initialMs: 10, maxMs: 50 },
    });
    await expectMailError(session.ready(), 'ServerUnreachable', [ALICE.password]);
    await session.close();
    await expectMailError(session.status(), 'ServerUnreachable', []);
  });
});

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function waitForValue<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
