// SmtpAdapter against nodemailer's smtp-server (a real SMTP server with STARTTLS and AUTH).
import { SmtpAdapter } from '../../../src/mail/smtp.js';
import { sendOutcome } from '../../../src/sync/outgoing.js';
import type { Credentials, Endpoint, OutgoingMessage, TlsMode } from '../../../src/mail/types.js';
import { expectMailError } from '../../support/mail-assertions.js';
import { startSilentServer } from '../../support/silent-server.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtp-receiver.js';

const MAILBOX = { username: 'queue@example.test', password: 'queue-Pa55word-smtp' };
const OVER_QUOTA = { username: 'busy@example.test', password: 'busy-Pa55word-smtp' };
const OAUTH = { username: 'oauth@example.test', accessToken: 'ya29.valid-access-token-0123456789' };
const WRONG = 'not-the-Right-password';

let starttls: SmtpReceiver;
let implicit: SmtpReceiver;
const adapters: SmtpAdapter[] = [];

beforeAll(async () => {
  const users = [MAILBOX, OAUTH];
  [starttls, implicit] = await Promise.all([
    startSmtpReceiver({ users: [...users, OVER_QUOTA], rejectRecipients: ['nobody@example.test'], overQuota: [OVER_QUOTA.username] }),
    startSmtpReceiver({ users, secure: true }),
  ]);
});

afterEach(() => {
  for (const a of adapters.splice(0)) a.close();
});

afterAll(async () => {
  await Promise.all([starttls?.close(), implicit?.close()]);
});

function endpoint(tls: TlsMode, opts: { trusted?: boolean; port?: number; timeoutMs?: number } = {}): Endpoint {
  const server = tls === 'Implicit' ? implicit : starttls;
  return {
    host: server.host,
    port: opts.port ?? server.port,
    tls,
    ca: opts.trusted === false ? undefined : server.caPem,
    timeoutMs: opts.timeoutMs ?? 5000,
  };
}

function adapter(ep: Endpoint, credentials: Credentials): SmtpAdapter {
  const a = new SmtpAdapter(ep, credentials);
  adapters.push(a);
  return a;
}

const password = (pw = MAILBOX.password): Credentials => ({ kind: 'password', username: MAILBOX.username, password: pw });
const token = (value: string): Credentials => ({ kind: 'oauth2', username: OAUTH.username, token: { getToken: async () => value } });

function outgoing(overrides: Partial<OutgoingMessage>): OutgoingMessage {
  return {
    from: MAILBOX.username,
    to: ['customer@example.test'],
    subject: 'Your case CRM:0001234',
    text: 'Hello from the CRM.\n',
    messageId: `<${Math.random().toString(36).slice(2)}@crm.example.test>`,
    ...overrides,
  };
}

describe('SmtpAdapter.test()', () => {
  test.each<TlsMode>(['STARTTLS', 'Implicit'])('verifies the login over %s without sending', async (tls) => {
    const server = tls === 'Implicit' ? implicit : starttls;
    const before = server.messages.length;
    await adapter(endpoint(tls), password()).test();
    expect(server.messages.length).toBe(before);
    expect(server.authAttempts(MAILBOX.username)).toBeGreaterThan(0);
  });

  test('verifies an XOAUTH2 login', async () => {
    const before = starttls.authMethods.length;
    await adapter(endpoint('STARTTLS'), token(OAUTH.accessToken)).test();
    expect(starttls.authMethods.slice(before)).toEqual(['XOAUTH2']);
  });

  test('wrong password: AuthenticationFailed, permanent, one attempt, no password in the message', async () => {
    const before = starttls.authAttempts(MAILBOX.username);
    const err = await expectMailError(adapter(endpoint('STARTTLS'), password(WRONG)).test(), 'AuthenticationFailed', [
      WRONG,
      MAILBOX.password,
    ]);
    expect(err.permanent).toBe(true);
    expect(err.message).toContain('535');
    expect(starttls.authAttempts(MAILBOX.username)).toBe(before + 1);
  });

  test('rejected XOAUTH2 token: AuthenticationFailed without the token in the message', async () => {
    const bad = 'ya29.expired-access-token-abcdefghij';
    await expectMailError(adapter(endpoint('STARTTLS'), token(bad)).test(), 'AuthenticationFailed', [bad]);
  });

  test.each<TlsMode>(['STARTTLS', 'Implicit'])('untrusted certificate over %s: TLSError', async (tls) => {
    const err = await expectMailError(adapter(endpoint(tls, { trusted: false }), password()).test(), 'TLSError', [MAILBOX.password]);
    expect(err.message).toMatch(/certificate/);
  });

  test('Implicit TLS against the STARTTLS port: TLSError', async () => {
    await expectMailError(adapter(endpoint('Implicit', { port: starttls.port }), password()).test(), 'TLSError', [MAILBOX.password]);
  });

  test('TLS mode None against a server that wants TLS before AUTH: UnsupportedConfiguration', async () => {
    const err = await expectMailError(adapter(endpoint('None'), password()).test(), 'UnsupportedConfiguration', [MAILBOX.password]);
    expect(err.message).toMatch(/STARTTLS or Implicit/);
  });

  test('nothing listening: ServerUnreachable, transient', async () => {
    const err = await expectMailError(
      adapter({ host: '127.0.0.1', port: 1, tls: 'STARTTLS', timeoutMs: 2000 }, password()).test(),
      'ServerUnreachable',
      [MAILBOX.password],
    );
    expect(err.permanent).toBe(false);
  });

  test('a server that never greets: Timeout', async () => {
    const silent = await startSilentServer();
    try {
      await expectMailError(
        adapter({ host: '127.0.0.1', port: silent.port, tls: 'STARTTLS', timeoutMs: 300 }, password()).test(),
        'Timeout',
        [MAILBOX.password],
      );
    } finally {
      await silent.close();
    }
  });
});

describe('SmtpAdapter.send()', () => {
  test('SendAs: From is the mailbox, no Sender, envelope from the mailbox', async () => {
    const msg = outgoing({
      cc: ['cc@example.test'],
      inReplyTo: '<orig@customer.example.test>',
      references: ['<orig@customer.example.test>'],
      headers: { 'X-CRM-Activity': 'a1b2' },
    });
    const id = await adapter(endpoint('STARTTLS'), password()).send(msg);
    expect(id).toBe(msg.messageId);
    const got = starttls.messages.find((m) => m.parsed.messageId === msg.messageId);
    expect(got).toBeDefined();
    expect(got!.user).toBe(MAILBOX.username);
    expect(got!.mailFrom).toBe(MAILBOX.username);
    expect(got!.rcptTo.sort()).toEqual(['cc@example.test', 'customer@example.test']);
    expect(got!.parsed.from?.value[0].address).toBe(MAILBOX.username);
    expect(got!.parsed.headers.has('sender')).toBe(false);
    expect(got!.parsed.inReplyTo).toBe('<orig@customer.example.test>');
    expect(got!.parsed.headers.get('x-crm-activity')).toBe('a1b2');
    expect(got!.parsed.subject).toBe(msg.subject);
  });

  test('SendOnBehalf: From is the owner, Sender and envelope from are the mailbox', async () => {
    const msg = outgoing({ from: 'Owner Name <owner@example.test>', sender: MAILBOX.username, bcc: ['audit@example.test'] });
    const id = await adapter(endpoint('Implicit'), password()).send(msg);
    expect(id).toBe(msg.messageId);
    const got = implicit.messages.find((m) => m.parsed.messageId === msg.messageId)!;
    expect(got.parsed.from?.value[0]).toEqual({ name: 'Owner Name', address: 'owner@example.test' });
    const sender = got.parsed.headers.get('sender') as { value: Array<{ address: string }> };
    expect(sender.value[0].address).toBe(MAILBOX.username);
    expect(got.mailFrom).toBe(MAILBOX.username);
    // Bcc is an envelope recipient only.
    expect(got.rcptTo).toContain('audit@example.test');
    expect(got.raw.toString()).not.toMatch(/^Bcc:/im);
  });

  test('sends with XOAUTH2', async () => {
    const msg = outgoing({ from: OAUTH.username });
    await adapter(endpoint('STARTTLS'), token(OAUTH.accessToken)).send(msg);
    const got = starttls.messages.find((m) => m.parsed.messageId === msg.messageId)!;
    expect(got.user).toBe(OAUTH.username);
  });

  test('over the sending quota (5xx about the mailbox, not the message): Throttled, and the email is kept for later', async () => {
    const creds: Credentials = { kind: 'password', username: OVER_QUOTA.username, password: OVER_QUOTA.password };
    const err = await expectMailError(adapter(endpoint('STARTTLS'), creds).send(outgoing({ from: OVER_QUOTA.username })), 'Throttled', [
      OVER_QUOTA.password,
    ]);
    expect(err.message).toContain('(SMTP 554 5.2.0)');
    // The server's words are kept for the debug log, long names intact.
    expect(err.message).not.toContain('SubmissionQuotaExceeded');
    expect(err.serverText).toContain('SubmissionQuotaExceeded');
    // The outgoing rule: certainly not sent, so released rather than marked failed.
    expect(sendOutcome(err)).toBe('not-sent-transient');
  });

  test('a refused recipient: MessageRejected, not a mailbox failure', async () => {
    const err = await expectMailError(
      adapter(endpoint('STARTTLS'), password()).send(outgoing({ to: ['nobody@example.test'] })),
      'MessageRejected',
      [MAILBOX.password],
    );
    expect(err.permanent).toBe(false);
    expect(err.message).toContain('550');
  });

  test('many sends reuse pooled connections', async () => {
    const a = adapter(endpoint('STARTTLS'), password());
    const before = starttls.authAttempts(MAILBOX.username);
    const msgs = Array.from({ length: 10 }, (_, i) => outgoing({ subject: `bulk ${i}` }));
    await Promise.all(msgs.map((m) => a.send(m)));
    // At most one login per pooled connection (two by default), not one per message.
    expect(starttls.authAttempts(MAILBOX.username) - before).toBeLessThanOrEqual(2);
    for (const m of msgs) expect(starttls.messages.some((r) => r.parsed.messageId === m.messageId)).toBe(true);
  });
});
