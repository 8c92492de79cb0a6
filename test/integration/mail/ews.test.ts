// EwsAdapter (ews-javascript-api) against a fake Exchange speaking EWS SOAP over HTTPS.
import { simpleParser } from 'mailparser';
import { EwsAdapter, type EwsOptions } from '../../../src/mail/ews.js';
import { closeHttpDispatchers } from '../../../src/net/http.js';
import { ClientCredentialsTokenProvider } from '../../../src/mail/oauth.js';
import type { Credentials, Endpoint, OutgoingMessage } from '../../../src/mail/types.js';
import { FakeEws } from '../../support/fake-ews.js';
import { FakeOAuth } from '../../support/fake-oauth.js';
import { freePorts } from '../../support/free-port.js';
import { expectMailError } from '../../support/mail-assertions.js';
import { startSilentServer } from '../../support/silent-server.js';
import { sendOutcome } from '../../../src/sync/outgoing.js';

const ALICE = { username: 'alice@contoso.test', password: 'alice-Pa55word-ews', mailbox: 'alice@contoso.test' };
const BOB = {
  username: 'bob@contoso.test',
  password: 'bob-Pa55word-ews',
  mailbox: 'bob@contoso.test',
  delegateOf: ['support@contoso.test'],
};
const CAROL = { username: 'carol@contoso.test', password: 'carol-Pa55word-ews', mailbox: 'carol@contoso.test' };
const SVC = { username: 'CONTOSO\\svc-crm', password: 'svc-Pa55word-ews', canImpersonate: true };
const QUEUE = 'support@contoso.test';
const APP = { tenantId: 'contoso-tenant', clientId: '99999999-8888-7777-6666-555555555555', clientSecret: 'ews~Secret.Value_0123456789' };
const WRONG = 'not-the-Right-password';

let ews: FakeEws;
let oauth: FakeOAuth;

beforeAll(async () => {
  oauth = await FakeOAuth.start({ clients: [APP] });
  ews = await FakeEws.start({ accounts: [ALICE, BOB, CAROL, SVC], mailboxes: [ALICE.mailbox, BOB.mailbox, CAROL.mailbox, QUEUE], oauth });
});

afterAll(async () => {
  await ews?.close();
  await oauth?.close();
  await closeHttpDispatchers();
});

const password = (u: { username: string; password: string }, pw = u.password): Credentials => ({
  kind: 'password',
  username: u.username,
  password: pw,
});

function endpoint(opts: { url?: string; ca?: string | null } = {}): Endpoint {
  return {
    host: '127.0.0.1',
    port: 443,
    tls: 'Implicit',
    url: opts.url ?? ews.ewsUrl,
    ca: opts.ca === null ? undefined : (opts.ca ?? ews.caPem),
    timeoutMs: 5000,
  };
}

function adapter(credentials: Credentials, options: Partial<EwsOptions> & { url?: string; ca?: string | null } = {}): EwsAdapter {
  const { url, ca, ...rest } = options;
  return new EwsAdapter(endpoint({ url, ca }), credentials, { mailbox: ALICE.mailbox, ...rest });
}

function appTokens(): ClientCredentialsTokenProvider {
  return new ClientCredentialsTokenProvider({
    ...APP,
    scope: 'https://outlook.office365.com/.default',
    authorityUrl: oauth.authorityUrl,
    ca: oauth.caPem,
  });
}

const mime = (subject: string): string =>
  `From: customer@example.test\r\nTo: ${QUEUE}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.test>\r\n\r\nHello.\r\n`;

describe('test()', () => {
  test('Basic, own mailbox: incoming, outgoing and calendar', async () => {
    const a = adapter(password(ALICE));
    await a.test();
    await a.testOutgoing();
    await a.testAppointmentsContactsTasks();
  });

  test('wrong password: AuthenticationFailed, permanent, no password in the message', async () => {
    const err = await expectMailError(adapter(password(ALICE, WRONG)).test(), 'AuthenticationFailed', [WRONG, ALICE.password]);
    expect(err.permanent).toBe(true);
    expect(err.message).toContain('401');
  });

  test('impersonation by a service account', async () => {
    await adapter(password(SVC), { mailbox: QUEUE, impersonate: true }).test();
    expect(ews.requests.at(-1)).toMatchObject({ principal: SVC.username, mailbox: QUEUE });
  });

  test('impersonating an unknown mailbox: MailboxNotFound (ErrorNonExistentMailbox), permanent', async () => {
    const err = await expectMailError(
      adapter(password(SVC), { mailbox: 'nobody@contoso.test', impersonate: true }).test(),
      'MailboxNotFound',
      [SVC.password],
    );
    expect(err.permanent).toBe(true);
    expect(err.message).toContain('ErrorNonExistentMailbox');
  });

  test('an account without the impersonation role: AuthenticationFailed (ErrorImpersonateUserDenied)', async () => {
    const err = await expectMailError(adapter(password(CAROL), { mailbox: QUEUE, impersonate: true }).test(), 'AuthenticationFailed', [
      CAROL.password,
    ]);
    expect(err.message).toContain('ErrorImpersonateUserDenied');
  });

  test('delegate access to a queue mailbox, and a refusal without it', async () => {
    await adapter(password(BOB), { mailbox: QUEUE }).test();
    const err = await expectMailError(adapter(password(CAROL), { mailbox: QUEUE }).test(), 'AuthenticationFailed', [CAROL.password]);
    expect(err.message).toContain('ErrorAccessDenied');
  });

  test('unknown mailbox without impersonation: MailboxNotFound', async () => {
    await expectMailError(adapter(password(ALICE), { mailbox: 'nobody@contoso.test' }).test(), 'MailboxNotFound', [ALICE.password]);
  });

  test('throttling: Throttled with retryAfterMs from BackOffMilliseconds', async () => {
    ews.throttleNext(1, 4500);
    const err = await expectMailError(adapter(password(ALICE)).test(), 'Throttled', [ALICE.password]);
    expect(err.permanent).toBe(false);
    expect(err.retryAfterMs).toBe(4500);
    expect(err.message).toContain('ErrorServerBusy');
  });

  test('HTTP errors without a SOAP fault: a proxy page, an empty 500, a 503 with Retry-After', async () => {
    const a = adapter(password(ALICE));
    ews.failNext(500, '<html><body>Proxy Error</body></html>');
    expect((await expectMailError(a.test(), 'ServerError', [ALICE.password])).message).toContain('HTTP 500');
    // An empty 500 used to make the library throw inside a callback and never settle.
    ews.failNext(500, '');
    expect((await expectMailError(a.test(), 'ServerError', [ALICE.password])).message).toContain('HTTP 500');
    ews.failNext(503, 'Service Unavailable', { 'retry-after': '12' });
    expect((await expectMailError(a.test(), 'Throttled', [ALICE.password])).retryAfterMs).toBe(12_000);
    ews.failNext(200, 'not xml at all');
    await expectMailError(a.test(), 'ProtocolError', [ALICE.password]);
    await a.test();
  });

  test('server not listening: ServerUnreachable', async () => {
    const [port] = await freePorts(1);
    await expectMailError(adapter(password(ALICE), { url: `https://127.0.0.1:${port}/EWS/Exchange.asmx` }).test(), 'ServerUnreachable', [
      ALICE.password,
    ]);
  });

  test('a server that never answers: Timeout', async () => {
    const silent = await startSilentServer();
    try {
      const e: Endpoint = {
        host: '127.0.0.1',
        port: silent.port,
        tls: 'Implicit',
        url: `https://127.0.0.1:${silent.port}/EWS/Exchange.asmx`,
        ca: ews.caPem,
        timeoutMs: 300,
      };
      await expectMailError(new EwsAdapter(e, password(ALICE), { mailbox: ALICE.mailbox }).test(), 'Timeout', [ALICE.password]);
    } finally {
      await silent.close();
    }
  });

  test('untrusted certificate (no extra CA): TLSError', async () => {
    const err = await expectMailError(adapter(password(ALICE), { ca: null }).test(), 'TLSError', [ALICE.password]);
    expect(err.message).toMatch(/certificate/);
  });

  test('a URL that is not EWS: UnsupportedConfiguration', async () => {
    await expectMailError(adapter(password(ALICE), { url: ews.ewsUrl.replace('/EWS/', '/OWA/') }).test(), 'UnsupportedConfiguration', [
      ALICE.password,
    ]);
  });

  test('OAuth2 app token with impersonation', async () => {
    await adapter({ kind: 'oauth2', username: APP.clientId, token: appTokens() }, { mailbox: QUEUE, impersonate: true }).test();
    expect(ews.requests.at(-1)).toMatchObject({ principal: `app:${APP.clientId}`, scheme: 'Bearer', mailbox: QUEUE });
  });

  test('a token that is not a JWT is still sent (verbatim) and its rejection does not leak it', async () => {
    const opaque = 'opaque-access-token-0123456789abcdef';
    const err = await expectMailError(
      adapter(
        { kind: 'oauth2', username: APP.clientId, token: { getToken: async () => opaque } },
        { mailbox: QUEUE, impersonate: true },
      ).test(),
      'AuthenticationFailed',
      [opaque],
    );
    expect(err.permanent).toBe(true);
    expect(ews.requests.at(-1)?.scheme).toBe('Bearer');
  });

  test('a bad client secret: AuthenticationFailed from the token endpoint, no secret in the message', async () => {
    const tokens = new ClientCredentialsTokenProvider({
      ...APP,
      clientSecret: WRONG,
      scope: 'https://outlook.office365.com/.default',
      authorityUrl: oauth.authorityUrl,
      ca: oauth.caPem,
    });
    await expectMailError(
      adapter({ kind: 'oauth2', username: APP.clientId, token: tokens }, { mailbox: QUEUE, impersonate: true }).test(),
      'AuthenticationFailed',
      [WRONG, APP.clientSecret],
    );
  });

  test('NTLM (NTLMv2 handshake) with impersonation, and a wrong NTLM password', async () => {
    await adapter(password(SVC), { mailbox: QUEUE, impersonate: true, authentication: 'NTLM' }).test();
    expect(ews.requests.at(-1)).toMatchObject({ principal: SVC.username, scheme: 'NTLM' });
    await expectMailError(
      adapter(password(SVC, WRONG), { mailbox: QUEUE, impersonate: true, authentication: 'NTLM' }).test(),
      'AuthenticationFailed',
      [WRONG, SVC.password],
    );
  });

  test('Autodiscover finds the EWS URL', async () => {
    const before = ews.requests.length;
    await adapter(password(ALICE), { url: ews.autodiscoverUrl, autodiscover: true }).test();
    expect(ews.requests.slice(before).map((r) => r.path)).toEqual(['/autodiscover/autodiscover.svc', '/ews/exchange.asmx']);
  });

  test('Autodiscover for an unknown user: MailboxNotFound', async () => {
    await expectMailError(
      adapter(password(ALICE), { mailbox: 'nobody@contoso.test', url: ews.autodiscoverUrl, autodiscover: true }).test(),
      'MailboxNotFound',
      [ALICE.password],
    );
  });

  test('two adapters with different credentials in one process never swap them', async () => {
    const alice = adapter(password(ALICE));
    const carol = adapter(password(CAROL), { mailbox: CAROL.mailbox });
    const svc = adapter(password(SVC), { mailbox: QUEUE, impersonate: true, authentication: 'NTLM' });
    const before = ews.requests.length;
    // Each account may open only its own mailbox: a swapped credential fails with ErrorAccessDenied.
    await Promise.all(Array.from({ length: 4 }, () => [alice.test(), carol.test(), svc.test()]).flat());
    const seen = ews.requests.slice(before).filter((r) => r.principal);
    expect(seen).toHaveLength(12);
    for (const r of seen) expect(r.principal === SVC.username ? QUEUE : r.principal).toBe(r.mailbox);
  });
});

describe('syncFolderItems() and getMime()', () => {
  test('pages through every item once, then returns only creates and deletes', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => ews.addMessage(QUEUE, mime(`e${i}`)));
    const a = adapter(password(SVC), { mailbox: QUEUE, impersonate: true, pageSize: 2 });
    const before = ews.requests.length;
    const first = await a.syncFolderItems();
    expect(first.created).toEqual(ids);
    expect(first.restarted).toBe(false);
    expect(ews.requests.length - before).toBe(3);

    const raw = await a.getMime(ids[3]);
    expect(raw?.source.toString()).toContain('Subject: e3');

    expect((await a.syncFolderItems(first.syncState)).created).toEqual([]);

    const added = ews.addMessage(QUEUE, mime('e5'));
    ews.removeMessage(QUEUE, ids[1]);
    const next = await a.syncFolderItems(first.syncState);
    expect(next.created).toEqual([added]);
    expect(next.deleted).toEqual([ids[1]]);
    expect(await a.getMime(ids[1])).toBeUndefined();
  });

  test('a refused SyncState starts over and says so', async () => {
    const a = adapter(password(BOB), { mailbox: QUEUE });
    const { syncState } = await a.syncFolderItems();
    ews.invalidateSyncStates();
    const again = await a.syncFolderItems(syncState);
    expect(again.restarted).toBe(true);
    expect(again.created.length).toBeGreaterThan(0);
  });

  test('throttled during sync: Throttled with the server back-off', async () => {
    ews.throttleNext(1, 1200);
    const err = await expectMailError(adapter(password(SVC), { mailbox: QUEUE, impersonate: true }).syncFolderItems(), 'Throttled', [
      SVC.password,
    ]);
    expect(err.retryAfterMs).toBe(1200);
  });
});

describe('deleteItem() and moveToFolder()', () => {
  test('a deleted item goes to Deleted Items and leaves the Inbox; deleting it again is no error', async () => {
    const id = ews.addMessage(QUEUE, mime('to-delete'));
    const a = adapter(password(SVC), { mailbox: QUEUE, impersonate: true });
    const { syncState } = await a.syncFolderItems();
    await a.deleteItem(id);
    await a.deleteItem(id);
    expect(ews.inFolder(QUEUE, 'deleteditems').some((m) => m.includes('Subject: to-delete'))).toBe(true);
    expect((await a.syncFolderItems(syncState)).deleted).toContain(id);
  });

  test('moveToFolder creates the folder once (delegate access too) and moves items into it', async () => {
    const a = adapter(password(BOB), { mailbox: QUEUE });
    const first = ews.addMessage(QUEUE, mime('bad-1'));
    const second = ews.addMessage(QUEUE, mime('bad-2'));
    await a.moveToFolder(first, 'Undeliverable');
    await a.moveToFolder(second, 'Undeliverable');
    expect(ews.inFolder(QUEUE, 'Undeliverable').map((m) => /Subject: (\S+)/.exec(m)?.[1])).toEqual(['bad-1', 'bad-2']);
    expect(ews.requests.filter((r) => r.op === 'CreateFolder')).toHaveLength(1);
  });
});

describe('send()', () => {
  const base: OutgoingMessage = {
    from: QUEUE,
    to: ['customer@example.test'],
    subject: 'Your case CRM:0002',
    text: 'We are on it.',
    messageId: '<crm-0002@mailsync.test>',
    inReplyTo: '<question@example.test>',
    references: ['<question@example.test>'],
    headers: { 'X-CRM-Tracking': 'CRM:0002' },
  };

  test('SendAs through impersonation: From is the mailbox, our Message-ID and threading headers are set', async () => {
    await adapter(password(SVC), { mailbox: QUEUE, impersonate: true }).send(base);
    const sent = ews.sent.at(-1)!;
    expect(sent).toMatchObject({
      principal: SVC.username,
      mailbox: QUEUE,
      from: QUEUE,
      to: ['customer@example.test'],
      subject: base.subject,
      bodyType: 'Text',
    });
    expect(sent.sender).toBeUndefined();
    expect(sent.properties).toEqual({
      '0x1035': base.messageId,
      '0x1042': base.inReplyTo,
      '0x1039': '<question@example.test>',
      'X-CRM-Tracking': 'CRM:0002',
    });
  });

  test('SendOnBehalf with delegate access: From is the owner, Sender the mailbox, copy in the mailbox', async () => {
    await adapter(password(BOB), { mailbox: QUEUE }).send({ ...base, from: ALICE.mailbox, sender: QUEUE, html: '<p>Hi</p>' });
    const sent = ews.sent.at(-1)!;
    expect(sent).toMatchObject({
      principal: BOB.username,
      mailbox: QUEUE,
      savedIn: QUEUE,
      from: ALICE.mailbox,
      sender: QUEUE,
      bodyType: 'HTML',
      body: '<p>Hi</p>',
    });
  });

  test('attachments: the message goes as its MIME content, with every attachment byte for byte', async () => {
    const pdf = Buffer.from('%PDF-1.7 quote');
    await adapter(password(SVC), { mailbox: QUEUE, impersonate: true }).send({
      ...base,
      attachments: [{ filename: 'quote.pdf', contentType: 'application/pdf', content: pdf }],
    });
    const sent = ews.sent.at(-1)!;
    expect(sent.to).toEqual(['customer@example.test']);
    const parsed = await simpleParser(sent.mime!);
    expect(parsed.attachments.map((a) => [a.filename, a.content.equals(pdf)])).toEqual([['quote.pdf', true]]);
    expect(parsed.messageId).toBe(base.messageId);
    expect(parsed.inReplyTo).toBe(base.inReplyTo);
  });

  test('text with XML special characters arrives intact (the library does not escape it)', async () => {
    const subject = 'Q&A <urgent> "now" & \'later\' </t:Subject><t:Sensitivity>Private</t:Sensitivity>';
    const html = '<p>Fish &amp; chips & <b>peas</b></p>';
    await adapter(password(SVC), { mailbox: QUEUE, impersonate: true }).send({ ...base, subject, html, headers: { 'X-Note': 'a<b>&c' } });
    const sent = ews.sent.at(-1)!;
    expect(sent.subject).toBe(subject);
    expect(sent.body).toBe(html);
    expect(sent.properties['X-Note']).toBe('a<b>&c');
    expect(sent.properties['0x1035']).toBe(base.messageId);
  });

  test('a mailbox over its sending quota: Throttled, and the outgoing rule keeps the email for later', async () => {
    ews.overQuota.add(QUEUE.toLowerCase());
    try {
      const err = await expectMailError(adapter(password(SVC), { mailbox: QUEUE, impersonate: true }).send(base), 'Throttled', [
        SVC.password,
      ]);
      expect(err.message).toContain('ErrorSubmissionQuotaExceeded');
      expect(sendOutcome(err)).toBe('not-sent-transient');
    } finally {
      ews.overQuota.clear();
    }
  });

  test('the saved copy is in Sent Items, which syncFolderItems reads as it reads the Inbox', async () => {
    const a = adapter(password(SVC), { mailbox: QUEUE, impersonate: true });
    const before = (await a.syncFolderItems(undefined, undefined, 'SentItems')).syncState;
    await a.send({ ...base, subject: 'copy kept', messageId: '<copy-kept@mailsync.test>' });
    const { created } = await a.syncFolderItems(before, undefined, 'SentItems');
    expect(created).toHaveLength(1);
    expect((await a.getMime(created[0]))?.source.toString()).toContain('Message-ID: <copy-kept@mailsync.test>');
  });

  test('a message the server refuses: MessageRejected', async () => {
    await expectMailError(adapter(password(SVC), { mailbox: QUEUE, impersonate: true }).send({ ...base, to: [] }), 'MessageRejected', [
      SVC.password,
    ]);
  });
});
