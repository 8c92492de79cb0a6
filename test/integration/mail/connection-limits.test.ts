// maxConcurrentConnections against real servers: IMAP sessions (Dovecot), SMTP pooled sends
// (smtp-server) and Graph requests (the Graph fake) stay within the connection slots of one
// server and identity.
import { waitFor } from '../../../dev/processes.js';
import { connectionSlots, type SlotClaim } from '../../../src/mail/connection-slots.js';
import { GraphAdapter } from '../../../src/mail/graph.js';
import { closeHttpDispatchers } from '../../../src/net/http.js';
import { ImapSession } from '../../../src/mail/imap.js';
import { ClientCredentialsTokenProvider } from '../../../src/mail/oauth.js';
import { SmtpAdapter } from '../../../src/mail/smtp.js';
import type { Credentials } from '../../../src/mail/types.js';
import { Pacer } from '../../../src/util/pacer.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeOAuth } from '../../support/fake-oauth.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtp-receiver.js';

const SVC = { username: 'svc', password: 'svc-Limits-Pass-1' };
const APP = { tenantId: 'contoso-tenant', clientId: 'limits-app', clientSecret: 'limits-Graph-Secret-2' };
const svc: Credentials = { kind: 'password', ...SVC };
let dovecot: DovecotFixture;
let smtp: SmtpReceiver;
let oauth: FakeOAuth;
let graph: FakeGraph;

beforeAll(async () => {
  dovecot = await startDovecot({ users: [SVC] });
  smtp = await startSmtpReceiver({ users: [SVC] });
  oauth = await FakeOAuth.start({ clients: [APP] });
  graph = await FakeGraph.start(oauth, ['queue@contoso.test']);
});
afterAll(async () => {
  await dovecot?.cleanup();
  await Promise.all([smtp?.close(), graph?.close(), oauth?.close()]);
  await closeHttpDispatchers();
});

test('IMAP: a session waits for a slot while the limit is in use, and connects when one frees', async () => {
  const slots: SlotClaim = { key: 'imap-limit svc', limit: 1 };
  const endpoint = { host: '127.0.0.1', port: dovecot.ports.imaps, tls: 'Implicit' as const, ca: dovecot.caPem, timeoutMs: 5000 };
  const first = new ImapSession(endpoint, svc, { slots });
  await first.ready();
  const second = new ImapSession(endpoint, svc, { slots });
  try {
    await new Promise((r) => setTimeout(r, 500));
    expect(second.connected).toBe(false);
    expect(connectionSlots.inUse(slots.key)).toBe(1);
    await first.close();
    await second.ready();
    expect(second.connected).toBe(true);
  } finally {
    await Promise.all([first.close(), second.close()]);
  }
  expect(connectionSlots.inUse(slots.key)).toBe(0);
});

test('IMAP: waiting for our own turn (a connection slot, the sign-in pacer) past the timeout is no timeout', async () => {
  // After a restart at 10,000 mailboxes the last sign-ins wait minutes for their turn; the
  // session's timeout (1 s here) is for the server, not for our own queue.
  const endpoint = { host: '127.0.0.1', port: dovecot.ports.imaps, tls: 'Implicit' as const, ca: dovecot.caPem, timeoutMs: 1000 };
  const slots: SlotClaim = { key: 'imap-turn svc', limit: 1 };
  const holder = new ImapSession(endpoint, svc, { slots });
  await holder.ready();
  const queued = new ImapSession(endpoint, svc, { slots });
  const pacer = new Pacer({ concurrency: 1, perSecond: 100 });
  // The turns come just before a second timeout would end: the timeout starts with the turn.
  const busy = pacer.run(() => new Promise((r) => setTimeout(r, 1950)));
  const paced = new ImapSession(endpoint, svc, { pacer });
  try {
    const ready = Promise.allSettled([queued.ready(), paced.ready()]);
    await new Promise((r) => setTimeout(r, 1950));
    await holder.close();
    await busy;
    expect((await ready).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect([queued.connected, paced.connected]).toEqual([true, true]);
  } finally {
    await Promise.all([holder.close(), queued.close(), paced.close()]);
  }
});

test('SMTP: twenty concurrent sends use at most the limit of connections, though the pool could open five', async () => {
  const slots: SlotClaim = { key: 'smtp-limit svc', limit: 2 };
  const smtpAdapter = new SmtpAdapter({ host: '127.0.0.1', port: smtp.port, tls: 'STARTTLS', ca: smtp.caPem, timeoutMs: 5000 }, svc, {
    maxConnections: 5,
    slots,
  });
  try {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        smtpAdapter.send({
          from: 'svc@example.com',
          to: ['c@customer.example'],
          subject: `limit ${i}`,
          text: 'Hi',
          messageId: `<limit-${i}@example.com>`,
        }),
      ),
    );
  } finally {
    smtpAdapter.close();
  }
  expect(smtp.messages.filter((m) => m.parsed.subject?.startsWith('limit '))).toHaveLength(20);
  expect(smtp.mostConnections()).toBe(2);
  expect(connectionSlots.inUse(slots.key)).toBe(0);
});

test("Graph: requests of one identity stay within the limit, below Graph's 4 per mailbox", async () => {
  const slots: SlotClaim = { key: 'graph-limit app', limit: 2 };
  const ids = Array.from({ length: 8 }, (_, i) =>
    graph.addMessage('queue@contoso.test', `Subject: g${i}\r\nMessage-ID: <g${i}@x>\r\n\r\nHi\r\n`),
  );
  const tokens = new ClientCredentialsTokenProvider({
    ...APP,
    scope: 'https://graph.microsoft.com/.default',
    authorityUrl: oauth.authorityUrl,
    ca: oauth.caPem,
  });
  const a = new GraphAdapter(
    { host: '127.0.0.1', port: 443, tls: 'Implicit', url: graph.baseUrl, ca: graph.caPem, timeoutMs: 5000 },
    { kind: 'oauth2', username: APP.clientId, token: tokens },
    { mailbox: 'queue@contoso.test', slots },
  );
  graph.sendDelayMs = 0;
  await Promise.all(ids.map((id) => a.getMime(id)));
  await waitFor('all read', async () => (graph.requests.filter((r) => r.path.endsWith('/$value')).length >= 8 ? true : undefined));
  expect(graph.mostConcurrent.get('queue@contoso.test')).toBe(2);
});
