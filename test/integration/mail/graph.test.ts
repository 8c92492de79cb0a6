// GraphAdapter against fake Microsoft Graph and identity platform servers over HTTPS.
import { CORRELATION_HEADER, GraphAdapter, type GraphOptions } from '../../../src/mail/graph.js';
import { closeHttpDispatchers } from '../../../src/net/http.js';
import { ClientCredentialsTokenProvider } from '../../../src/mail/oauth.js';
import type { Credentials, Endpoint } from '../../../src/mail/types.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeOAuth } from '../../support/fake-oauth.js';
import { freePorts } from '../../support/free-port.js';
import { expectMailError } from '../../support/mail-assertions.js';
import { startSilentServer } from '../../support/silent-server.js';

const CLIENT = {
  tenantId: 'contoso-tenant',
  clientId: '11111111-2222-3333-4444-555555555555',
  clientSecret: 'graph~Secret.Value_0123456789',
};
const WRONG_SECRET = 'wr0ng~Secret.Value_9876543210';
const ALICE = 'alice@contoso.test';
const QUEUE = 'support@contoso.test';

let oauth: FakeOAuth;
let graph: FakeGraph;

beforeAll(async () => {
  oauth = await FakeOAuth.start({ clients: [CLIENT] });
  graph = await FakeGraph.start(oauth, [ALICE, QUEUE]);
});

afterAll(async () => {
  await graph?.close();
  await oauth?.close();
  await closeHttpDispatchers();
});

function tokens(secret = CLIENT.clientSecret, scope = 'https://graph.microsoft.com/.default'): ClientCredentialsTokenProvider {
  return new ClientCredentialsTokenProvider({ ...CLIENT, clientSecret: secret, scope, authorityUrl: oauth.authorityUrl, ca: oauth.caPem });
}

function adapter(
  opts: Partial<GraphOptions> & { secret?: string; url?: string; ca?: string | null; provider?: ClientCredentialsTokenProvider } = {},
): GraphAdapter {
  const endpoint: Endpoint = {
    host: '127.0.0.1',
    port: 443,
    tls: 'Implicit',
    url: opts.url ?? graph.baseUrl,
    ca: opts.ca === null ? undefined : (opts.ca ?? graph.caPem),
    timeoutMs: 5000,
  };
  const credentials: Credentials = { kind: 'oauth2', username: CLIENT.clientId, token: opts.provider ?? tokens(opts.secret) };
  return new GraphAdapter(endpoint, credentials, { mailbox: opts.mailbox ?? ALICE, pageSize: opts.pageSize });
}

const mime = (subject: string): string =>
  `From: customer@example.test\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.test>\r\n\r\nHello.\r\n`;

describe('test()', () => {
  test('succeeds for an existing mailbox, incoming and outgoing', async () => {
    const a = adapter();
    await a.test();
    await a.testOutgoing();
  });

  test('bad client secret: AuthenticationFailed, permanent, neither secret nor token in the message', async () => {
    const err = await expectMailError(adapter({ secret: WRONG_SECRET }).test(), 'AuthenticationFailed', [
      WRONG_SECRET,
      CLIENT.clientSecret,
    ]);
    expect(err.permanent).toBe(true);
    expect(err.message).toContain('invalid_client');
  });

  test('a token Graph rejects (wrong audience): AuthenticationFailed without the token in the message', async () => {
    const provider = tokens(CLIENT.clientSecret, 'https://outlook.office365.com/.default');
    const token = await provider.getToken();
    const before = graph.requests.length;
    const err = await expectMailError(adapter({ provider }).test(), 'AuthenticationFailed', [token, CLIENT.clientSecret]);
    expect(err.message).toContain('InvalidAuthenticationToken');
    // One retry with a fresh token, then the verdict.
    expect(graph.requests.length).toBe(before + 2);
  });

  test('a revoked token is replaced once and the call succeeds', async () => {
    const provider = tokens();
    const a = adapter({ provider });
    await a.test();
    oauth.revokeAll();
    await a.test();
  });

  test('unknown mailbox: MailboxNotFound, permanent', async () => {
    const err = await expectMailError(adapter({ mailbox: 'nobody@contoso.test' }).test(), 'MailboxNotFound', [CLIENT.clientSecret]);
    expect(err.permanent).toBe(true);
    expect(err.message).toContain('ErrorInvalidUser');
  });

  test('throttling: Throttled with retryAfterMs from Retry-After', async () => {
    graph.throttleNext(1, 7);
    const err = await expectMailError(adapter().test(), 'Throttled', [CLIENT.clientSecret]);
    expect(err.permanent).toBe(false);
    expect(err.retryAfterMs).toBe(7000);
  });

  test('server not listening: ServerUnreachable', async () => {
    const [port] = await freePorts(1);
    // The token comes from the live fake; only Graph is down.
    await expectMailError(adapter({ url: `https://127.0.0.1:${port}/v1.0` }).test(), 'ServerUnreachable', [CLIENT.clientSecret]);
  });

  test('a server that never answers: Timeout', async () => {
    const silent = await startSilentServer();
    try {
      const endpoint: Endpoint = {
        host: '127.0.0.1',
        port: silent.port,
        tls: 'Implicit',
        url: `https://127.0.0.1:${silent.port}/v1.0`,
        ca: graph.caPem,
        timeoutMs: 300,
      };
      await expectMailError(
        new GraphAdapter(endpoint, { kind: 'oauth2', username: CLIENT.clientId, token: tokens() }, { mailbox: ALICE }).test(),
        'Timeout',
        [CLIENT.clientSecret],
      );
    } finally {
      await silent.close();
    }
  });

  test('untrusted certificate (no extra CA): TLSError', async () => {
    const err = await expectMailError(adapter({ ca: null }).test(), 'TLSError', [CLIENT.clientSecret]);
    expect(err.message).toMatch(/certificate/);
  });

  test('password credentials are refused up front: UnsupportedConfiguration', () => {
    const endpoint: Endpoint = { host: '127.0.0.1', port: 443, tls: 'Implicit', url: graph.baseUrl };
    expect(() => new GraphAdapter(endpoint, { kind: 'password', username: ALICE, password: 'pw-123456' }, { mailbox: ALICE })).toThrow(
      /OAuth2/,
    );
  });
});

describe('delta() and getMime()', () => {
  test('pages through every message once, then returns only what changed', async () => {
    const ids = Array.from({ length: 7 }, (_, i) => graph.addMessage(QUEUE, mime(`m${i}`)));
    const a = adapter({ mailbox: QUEUE, pageSize: 3 });
    const before = graph.requests.length;
    const first = await a.delta('inbox');
    expect(first.messages).toEqual(ids);
    expect(first.removed).toEqual([]);
    expect(first.restarted).toBe(false);
    // 7 messages in pages of 3: three page requests.
    expect(graph.requests.length - before).toBe(3);

    const raw = await a.getMime(ids[2]);
    expect(raw?.id).toBe(ids[2]);
    expect(raw?.source.toString()).toContain('Subject: m2');

    const idle = await a.delta('inbox', first.nextDeltaLink);
    expect(idle.messages).toEqual([]);

    const added = graph.addMessage(QUEUE, mime('m7'));
    graph.removeMessage(QUEUE, ids[0]);
    const next = await a.delta('inbox', idle.nextDeltaLink);
    expect(next.messages).toEqual([added]);
    expect(next.removed).toEqual([ids[0]]);
    expect(await a.getMime(ids[0])).toBeUndefined();
  });

  test('an expired delta link restarts from the beginning and says so', async () => {
    const a = adapter({ mailbox: QUEUE, pageSize: 50 });
    const { nextDeltaLink } = await a.delta('inbox');
    graph.expireDeltaLinks();
    const again = await a.delta('inbox', nextDeltaLink);
    expect(again.restarted).toBe(true);
    expect(again.messages.length).toBeGreaterThan(0);
  });

  test('does not follow a paging link to another origin with the token', async () => {
    graph.addMessage(ALICE, mime('a1'));
    graph.addMessage(ALICE, mime('a2'));
    graph.linkOrigin = 'https://attacker.example.test';
    try {
      const err = await expectMailError(adapter({ pageSize: 1 }).delta('inbox'), 'ProtocolError', [CLIENT.clientSecret]);
      expect(err.message).toContain('https://attacker.example.test');
    } finally {
      graph.linkOrigin = undefined;
    }
  });

  test('throttled in the middle of paging: Throttled with retryAfterMs', async () => {
    const a = adapter({ mailbox: QUEUE, pageSize: 2 });
    const before = graph.requests.length;
    // The first page is served, the second one is throttled.
    graph.throttleNext(1, 3, 1);
    const err = await expectMailError(a.delta('inbox'), 'Throttled', [CLIENT.clientSecret]);
    expect(err.retryAfterMs).toBe(3000);
    expect(graph.requests.length - before).toBe(2);
  });
});

describe('send()', () => {
  const base = {
    to: ['customer@example.test'],
    subject: 'Your case CRM:0001',
    text: 'We are on it.',
    messageId: '<crm-0001@mailsync.test>',
  };

  test('SendAs, in MIME format: From is the mailbox; our Message-ID, In-Reply-To and References reach the recipient', async () => {
    await adapter({ mailbox: QUEUE }).send({
      ...base,
      from: QUEUE,
      inReplyTo: '<cust-1@customer.example>',
      references: ['<crm-0000@mailsync.test>', '<cust-1@customer.example>'],
      bcc: ['audit@contoso.test'],
      headers: { 'X-CRM-Tracking': 'CRM:0001' },
    });
    const sent = graph.sent.at(-1)!;
    expect(sent.mailbox).toBe(QUEUE);
    expect(sent.message.from?.emailAddress.address).toBe(QUEUE);
    expect(sent.message.sender).toBeUndefined();
    expect(sent.mime).toMatchObject({
      messageId: base.messageId,
      inReplyTo: '<cust-1@customer.example>',
      references: ['<crm-0000@mailsync.test>', '<cust-1@customer.example>'],
    });
    // Graph takes Bcc from the MIME headers (and strips it before delivery).
    expect(sent.mime!.raw).toMatch(/^Bcc: audit@contoso\.test\r$/m);
    expect(sent.message.internetMessageHeaders).toEqual(
      expect.arrayContaining([
        { name: CORRELATION_HEADER.toLowerCase(), value: base.messageId },
        { name: 'x-crm-tracking', value: 'CRM:0001' },
      ]),
    );
    expect(sent.message.body).toEqual({ contentType: 'Text', content: expect.stringMatching(/^We are on it\.\s*$/) });
  });

  test('SendOnBehalf: From is the owner, Sender is the mailbox', async () => {
    await adapter({ mailbox: QUEUE }).send({ ...base, from: ALICE, sender: QUEUE, html: '<p>Hi</p>' });
    const sent = graph.sent.at(-1)!;
    expect(sent.mailbox).toBe(QUEUE);
    expect(sent.message.from?.emailAddress.address).toBe(ALICE);
    expect(sent.message.sender?.emailAddress.address).toBe(QUEUE);
    expect(sent.message.body).toEqual({ contentType: 'HTML', content: '<p>Hi</p>' });
  });

  test("concurrent sends from one mailbox, over two adapters, stay within Graph's 4 per mailbox (no 429)", async () => {
    graph.sendDelayMs = 40;
    try {
      const before = graph.sent.length;
      // The incoming and outgoing adapters of a mailbox are separate objects; the limit is the mailbox's.
      const [a, b] = [adapter({ mailbox: QUEUE }), adapter({ mailbox: QUEUE })];
      await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).send({ ...base, from: QUEUE, subject: `burst ${i}` })));
      expect(graph.sent.length - before).toBe(12);
      expect(graph.mostConcurrent.get(QUEUE)).toBe(4);
    } finally {
      graph.sendDelayMs = 0;
    }
  });

  test('a message Graph refuses: MessageRejected, not a mailbox failure', async () => {
    const err = await expectMailError(adapter({ mailbox: QUEUE }).send({ ...base, to: [], from: QUEUE }), 'MessageRejected', [
      CLIENT.clientSecret,
    ]);
    expect(err.permanent).toBe(false);
    expect(err.message).toContain('ErrorInvalidRecipients');
  });
});

describe('deleteMessage() and moveToFolder()', () => {
  test('a deleted message goes to Deleted Items and leaves the delta; deleting it again is no error', async () => {
    const id = graph.addMessage(QUEUE, mime('to-delete'));
    const a = adapter({ mailbox: QUEUE });
    const { nextDeltaLink } = await a.delta();
    await a.deleteMessage(id);
    await a.deleteMessage(id);
    expect(graph.inFolder(QUEUE, 'deleteditems').some((m) => m.includes('Subject: to-delete'))).toBe(true);
    expect((await a.delta('inbox', nextDeltaLink)).removed).toContain(id);
  });

  test('moveToFolder creates the folder once and moves messages into it', async () => {
    const a = adapter({ mailbox: QUEUE });
    const first = graph.addMessage(QUEUE, mime('bad-1'));
    const second = graph.addMessage(QUEUE, mime('bad-2'));
    await a.moveToFolder(first, 'Undeliverable');
    await a.moveToFolder(second, 'Undeliverable');
    expect(graph.inFolder(QUEUE, 'Undeliverable').map((m) => /Subject: (\S+)/.exec(m)?.[1])).toEqual(['bad-1', 'bad-2']);
    expect(graph.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/mailFolders'))).toHaveLength(1);
  });
});

test('sent mail keeps a copy in Sent Items, which delta reads as it reads the Inbox', async () => {
  const a = adapter({ mailbox: QUEUE });
  const { nextDeltaLink } = await a.delta('sentitems');
  await a.send({ from: QUEUE, to: ['c@customer.example'], subject: 'copy kept', text: 'Hi', messageId: '<graph-copy@mailsync.test>' });
  const { messages } = await a.delta('sentitems', nextDeltaLink);
  expect(messages).toHaveLength(1);
  expect((await a.getMime(messages[0]))?.source.toString()).toContain('graph-copy@mailsync.test');
});
