// Microsoft Graph change notifications against the fake Graph: the operator's endpoint answers the
// validation handshake, notifications wake mailboxes (a wrong clientState does not), lifecycle
// notifications are handled (reauthorizationRequired, subscriptionRemoved, missed), subscriptions
// are renewed before they expire, a lost notification is caught by the safety resync, and an
// endpoint Graph cannot reach means polling, with the reason in the mailbox's status and an Event.

import { waitFor } from '../../../dev/processes.js';
import { goodMessage } from '../../support/corpus.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeOAuth } from '../../support/fake-oauth.js';
import { freePorts } from '../../support/free-port.js';
import { clientsAs, create, get, newNamespace } from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { startOperator, startTestEndpoint, type InProcessOperator } from '../../support/operator.js';
import type { NotificationEndpoint } from '../../../src/connect/notification-endpoint.js';

const admin = clientsAs('admin');
const APP = { tenantId: 'contoso-tenant', clientId: 'mailsync-notify-app', clientSecret: 'graph-Notify-Secret-77' };
const CRM = { token: 'graph-Notify-Crm-Token-01', signingKey: 'graph-Notify-Signing-Key-02' };
const PUSHED = ['ann@contoso.example', 'ben@contoso.example'];
const RESYNCED = 'cleo@contoso.example';
const UNREACHABLE = 'dora@contoso.example';

let oauth: FakeOAuth;
let graph: FakeGraph;
let crm: FakeCrmWebhook;
const operators: InProcessOperator[] = [];
let late: NotificationEndpoint | undefined;

const delivered = (id: string) => crm.activities().filter((a) => a.messageId === id).length;
const until = (what: string, id: string) => waitFor(what, async () => (delivered(id) ? true : undefined), { timeoutMs: 30_000 });
const deltaRequests = (mailbox: string) =>
  graph.requests.filter((r) => r.path.includes(encodeURIComponent(mailbox)) && r.path.endsWith('/delta')).length;

async function setUp(
  prefix: string,
  mailboxes: string[],
  opts: Parameters<typeof startOperator>[2],
): Promise<{ ns: string; op: InProcessOperator }> {
  const ns = await newNamespace(admin, prefix);
  await createSecret(admin, ns, 'ca', { 'ca.crt': [oauth.caPem, graph.caPem].join('\n') });
  await createSecret(admin, ns, 'graph-app', { clientSecret: APP.clientSecret });
  await createSecret(admin, ns, 'crm', CRM);
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    incomingFiltering: { users: 'All' },
    defaults: { outgoing: 'None' },
  });
  await create(admin, 'emailserverprofiles', ns, 'online', {
    serverType: 'ExchangeOnline',
    incoming: {
      url: graph.baseUrl,
      authentication: 'OAuth2',
      oauth: { tenantId: APP.tenantId, clientId: APP.clientId, authorityURL: oauth.authorityUrl },
      credentials: { source: 'Profile', secretRef: { name: 'graph-app' } },
      caBundle: { secretRef: { name: 'ca' } },
    },
  });
  const op = await startOperator(admin, ns, opts);
  operators.push(op);
  for (const address of mailboxes) {
    await create(admin, 'mailboxes', ns, address.split('@')[0], {
      emailAddress: address,
      owner: { kind: 'User', name: address },
      deploymentRef: { name: 'crm' },
      serverProfileRef: { name: 'online' },
    });
  }
  return { ns, op };
}

const notificationsOf = async (ns: string, address: string): Promise<{ method?: string; message?: string } | undefined> =>
  (await get(admin, 'mailboxes', ns, address.split('@')[0])).status?.sync?.incoming?.notifications;
const untilMethod = (ns: string, address: string, method: string) =>
  waitFor(`${address} notified by ${method}`, async () => ((await notificationsOf(ns, address))?.method === method ? true : undefined), {
    timeoutMs: 30_000,
  });

let push: { ns: string; op: InProcessOperator };
let resync: { ns: string; op: InProcessOperator };
let unreachable: { ns: string; op: InProcessOperator };
let unreachablePort: number;

beforeAll(async () => {
  oauth = await FakeOAuth.start({ clients: [APP] });
  graph = await FakeGraph.start(oauth, [...PUSHED, RESYNCED, UNREACHABLE]);
  crm = await FakeCrmWebhook.start(CRM);
  // Safety resyncs every 10 minutes: within a test only a notification brings a message in.
  // Subscriptions live 4 s, so renewals happen all the time.
  push = await setUp('graphpush', PUSHED, {
    pollIntervalMs: 10 * 60_000,
    graphEndpoint: true,
    parts: { graph: { lifetimeMs: 4000, retryMs: 300 } },
  });
  resync = await setUp('graphresync', [RESYNCED], { pollIntervalMs: 2000, graphEndpoint: true });
  // Graph is told a URL where nothing answers (yet).
  [unreachablePort] = await freePorts(1);
  unreachable = await setUp('graphdown', [UNREACHABLE], {
    pollIntervalMs: 2000,
    parts: { graph: { notificationUrl: `https://127.0.0.1:${unreachablePort}/graph/notifications`, retryMs: 500, retryMaxMs: 1000 } },
  });
  for (const a of PUSHED) await untilMethod(push.ns, a, 'GraphChangeNotifications');
  await untilMethod(resync.ns, RESYNCED, 'GraphChangeNotifications');
});

afterAll(async () => {
  for (const op of operators) await op.stop();
  await late?.close();
  await Promise.all([graph?.close(), oauth?.close(), crm?.close()]);
});

test("a notification brings new mail in at once; the endpoint passed Graph's validation and answers 202", async () => {
  graph.addMessage(PUSHED[0], goodMessage(1, { messageId: 'graph-push-1@customer.example' }));
  graph.addMessage(PUSHED[1], goodMessage(2, { messageId: 'graph-push-2@customer.example' }));
  await until('push 1', 'graph-push-1@customer.example');
  await until('push 2', 'graph-push-2@customer.example');
  expect(graph.subscriptions.creations.filter((c) => PUSHED.includes(c.mailbox)).every((c) => c.validated)).toBe(true);
  const changes = graph.subscriptions.posted.filter((p) => p.kind === 'change');
  expect(changes.length).toBeGreaterThan(0);
  expect(changes.every((p) => p.status === 202)).toBe(true);
  expect((await notificationsOf(push.ns, PUSHED[0]))?.message).toMatch(
    /change notifications to https:\/\/127\.0\.0\.1:\d+\/graph\/notifications/,
  );
});

test('a notification with a wrong clientState wakes nothing', async () => {
  const before = deltaRequests(PUSHED[0]);
  const refused = push.op.parts.graphNotifications.stats.badClientState;
  expect(await graph.subscriptions.forge(PUSHED[0])).toBe(202);
  await new Promise((r) => setTimeout(r, 1500));
  expect(push.op.parts.graphNotifications.stats.badClientState).toBe(refused + 1);
  expect(deltaRequests(PUSHED[0])).toBe(before);
});

test('subscriptions are renewed before they expire, and one that expired anyway is made again', async () => {
  const renewed = graph.subscriptions.renewals.length;
  await waitFor('renewals', async () => (graph.subscriptions.renewals.length >= renewed + 2 ? true : undefined), { timeoutMs: 20_000 });
  const created = graph.subscriptions.creations.length;
  graph.subscriptions.expireAll();
  await waitFor('made again', async () => (graph.subscriptions.creations.length >= created + PUSHED.length ? true : undefined), {
    timeoutMs: 20_000,
  });
  graph.addMessage(PUSHED[1], goodMessage(3, { messageId: 'after-expiry@customer.example' }));
  await until('after expiry', 'after-expiry@customer.example');
});

test('reauthorizationRequired: the subscription is reauthorized and held notifications arrive', async () => {
  const reauthorized = graph.subscriptions.reauthorizations.length;
  graph.subscriptions.requireReauthorization();
  graph.addMessage(PUSHED[0], goodMessage(4, { messageId: 'held-for-reauthorization@customer.example' }));
  await until('after reauthorization', 'held-for-reauthorization@customer.example');
  expect(graph.subscriptions.reauthorizations.length).toBeGreaterThan(reauthorized);
});

test('subscriptionRemoved: a new subscription is made and the mailbox syncs; missed: the mailbox syncs', async () => {
  const created = graph.subscriptions.creations.length;
  graph.subscriptions.removeAll();
  await waitFor('subscribed again', async () => (graph.subscriptions.creations.length >= created + PUSHED.length + 1 ? true : undefined), {
    timeoutMs: 20_000,
  });
  graph.addMessage(PUSHED[1], goodMessage(5, { messageId: 'after-removal@customer.example' }));
  await until('after removal', 'after-removal@customer.example');

  // Lost on the way, then announced as missed.
  graph.subscriptions.dropNext = 1;
  graph.addMessage(PUSHED[0], goodMessage(6, { messageId: 'missed@customer.example' }));
  expect(graph.subscriptions.dropNext).toBe(0);
  graph.subscriptions.missedAll();
  await until('missed', 'missed@customer.example');
});

test('a lost notification is caught by the safety resync', async () => {
  graph.subscriptions.dropNext = 1;
  graph.addMessage(RESYNCED, goodMessage(7, { messageId: 'graph-lost@customer.example' }));
  expect(graph.subscriptions.dropNext).toBe(0);
  await until('lost', 'graph-lost@customer.example');
  expect(delivered('graph-lost@customer.example')).toBe(1);
});

test('an endpoint Graph cannot reach means polling, said in status and an Event; push resumes once it is reachable', async () => {
  const name = UNREACHABLE.split('@')[0];
  await untilMethod(unreachable.ns, UNREACHABLE, 'Polling');
  const status = await notificationsOf(unreachable.ns, UNREACHABLE);
  expect(status?.message).toMatch(/could not validate the notification URL https:\/\/127\.0\.0\.1:\d+\/graph\/notifications/);
  expect(status?.message).toMatch(/polled meanwhile/);
  const events = await admin.core.listNamespacedEvent({ namespace: unreachable.ns, fieldSelector: `involvedObject.name=${name}` });
  expect(events.items.some((e) => e.reason === 'NotificationsUnavailable' && e.type === 'Warning')).toBe(true);
  // Mail still arrives, by polling.
  graph.addMessage(UNREACHABLE, goodMessage(8, { messageId: 'polled@customer.example' }));
  await until('polled', 'polled@customer.example');

  late = await startTestEndpoint((items) => unreachable.op.parts.graphNotifications.receive(items), unreachablePort);
  await untilMethod(unreachable.ns, UNREACHABLE, 'GraphChangeNotifications');
  await waitFor('NotificationsActive event', async () => {
    const list = await admin.core.listNamespacedEvent({ namespace: unreachable.ns, fieldSelector: `involvedObject.name=${name}` });
    return list.items.some((e) => e.reason === 'NotificationsActive') ? true : undefined;
  });
});
