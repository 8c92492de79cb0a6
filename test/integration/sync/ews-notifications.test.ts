// EWS notifications against the fake Exchange: streaming subscriptions grouped per impersonation
// account on shared connections, connections that expire and are reopened, a server that forgets
// its subscriptions, a lost notification caught by the safety resync, and pull subscriptions
// (resumed from their watermark) where streaming is refused. SyncFolderItems delivers every
// message; notifications only wake the mailbox.

import { waitFor } from '../../../dev/processes.js';
import { goodMessage } from '../../support/corpus.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { FakeEws } from '../../support/fake-ews.js';
import { clientsAs, create, get, newNamespace } from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';

const admin = clientsAs('admin');
const SVC = { username: 'CONTOSO\\svc-notify', password: 'svc-Notify-Password-3', canImpersonate: true };
const CRM = { token: 'ews-Notify-Crm-Token-01', signingKey: 'ews-Notify-Signing-Key-02' };
const PUSHED = ['bob', 'carol', 'dave', 'erin'].map((u) => `${u}@contoso.example`);
const RESYNCED = 'frank@contoso.example';
const PULLED = 'gina@contoso.example';

let ews: FakeEws;
let oldEws: FakeEws;
let crm: FakeCrmWebhook;
const operators: InProcessOperator[] = [];

const delivered = (id: string) => crm.activities().filter((a) => a.messageId === id).length;
const until = (what: string, id: string) => waitFor(what, async () => (delivered(id) ? true : undefined), { timeoutMs: 30_000 });

/** A namespace with its own operator, the CRM, one EWS profile for `url` and the mailboxes. */
async function setUp(
  prefix: string,
  url: string,
  caPem: string,
  mailboxes: string[],
  opts: Parameters<typeof startOperator>[2],
): Promise<string> {
  const ns = await newNamespace(admin, prefix);
  await createSecret(admin, ns, 'ca', { 'ca.crt': caPem });
  await createSecret(admin, ns, 'ews-svc', { username: SVC.username, password: SVC.password });
  await createSecret(admin, ns, 'crm', CRM);
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    incomingFiltering: { users: 'All' },
    defaults: { outgoing: 'None' },
  });
  await create(admin, 'emailserverprofiles', ns, 'onprem', {
    serverType: 'ExchangeServer',
    incoming: {
      url,
      credentials: { source: 'Profile', secretRef: { name: 'ews-svc' }, impersonation: true },
      caBundle: { secretRef: { name: 'ca' } },
    },
  });
  operators.push(await startOperator(admin, ns, opts));
  for (const address of mailboxes) {
    await create(admin, 'mailboxes', ns, address.split('@')[0], {
      emailAddress: address,
      owner: { kind: 'User', name: address },
      deploymentRef: { name: 'crm' },
      serverProfileRef: { name: 'onprem' },
    });
  }
  return ns;
}

async function notificationsOf(ns: string, address: string): Promise<{ method?: string; message?: string } | undefined> {
  return (await get(admin, 'mailboxes', ns, address.split('@')[0])).status?.sync?.incoming?.notifications;
}

let pushNs: string;
let resyncNs: string;
let pullNs: string;

beforeAll(async () => {
  crm = await FakeCrmWebhook.start(CRM);
  ews = await FakeEws.start({
    accounts: [SVC],
    mailboxes: [...PUSHED, RESYNCED],
    notifications: { connectionLifetimeMs: 2000, keepAliveMs: 500 },
  });
  oldEws = await FakeEws.start({ accounts: [SVC], mailboxes: [PULLED] });
  oldEws.notifications.streamingUnsupported = true;
  // Safety resyncs every 10 minutes: within a test only a notification can bring a message in.
  pushNs = await setUp('ewspush', ews.ewsUrl, ews.caPem, PUSHED, {
    pollIntervalMs: 10 * 60_000,
    parts: { ews: { groupSize: 3, settleMs: 100, retryMs: 500 } },
  });
  // Safety resyncs every 2 seconds: what no notification announced still arrives.
  resyncNs = await setUp('ewsresync', ews.ewsUrl, ews.caPem, [RESYNCED], { pollIntervalMs: 2000 });
  pullNs = await setUp('ewspull', oldEws.ewsUrl, oldEws.caPem, [PULLED], {
    pollIntervalMs: 10 * 60_000,
    parts: { ews: { pullIntervalMs: 300, retryMs: 500 } },
  });
  for (const [ns, address, method] of [...PUSHED.map((a) => [pushNs, a, 'EWSStreaming']), [pullNs, PULLED, 'EWSPull']]) {
    await waitFor(
      `${address} notified by ${method}`,
      async () => ((await notificationsOf(ns, address))?.method === method ? true : undefined),
      { timeoutMs: 30_000 },
    );
  }
});

afterAll(async () => {
  for (const op of operators) await op.stop();
  await Promise.all([ews?.close(), oldEws?.close(), crm?.close()]);
});

test("streaming notifications bring new mail in without a poll, on connections shared by the account's mailboxes", async () => {
  for (const [i, address] of PUSHED.entries()) ews.addMessage(address, goodMessage(100 + i, { messageId: `push-${i}@customer.example` }));
  for (const i of PUSHED.keys()) await until(`push-${i}`, `push-${i}@customer.example`);
  expect(PUSHED.map((_, i) => delivered(`push-${i}@customer.example`))).toEqual([1, 1, 1, 1]);

  // Groups of at most 3 (the test's groupSize): 4 mailboxes on 2 connections, never one each.
  const open = ews.notifications.streams.slice(-4);
  expect(Math.max(...open.map((s) => s.subscriptions))).toBeLessThanOrEqual(3);
  expect(ews.notifications.streams.some((s) => s.subscriptions > 1)).toBe(true);
  // Every subscribe of a group names its anchor with server affinity; connections send the cookie.
  const pushed = ews.notifications.subscribes.filter((s) => PUSHED.includes(s.mailbox));
  expect(pushed.every((s) => s.anchor && PUSHED.includes(s.anchor.toLowerCase()) && s.affinity === 'true')).toBe(true);
  expect(new Set(pushed.map((s) => s.anchor)).size).toBeLessThan(pushed.length);
  expect(ews.notifications.streams.every((s) => s.cookie?.startsWith('X-BackEndOverrideCookie='))).toBe(true);
  const status = await notificationsOf(pushNs, PUSHED[0]);
  expect(status?.message).toMatch(/EWS streaming notifications/);
});

test('connections that end after their timeout are reopened, and mail keeps coming', async () => {
  const before = ews.notifications.streams.length;
  // The fake ends each connection after 2 s with ConnectionStatus Closed.
  await waitFor('reconnects', async () => (ews.notifications.streams.length >= before + 4 ? true : undefined), { timeoutMs: 20_000 });
  ews.addMessage(PUSHED[1], goodMessage(200, { messageId: 'after-expiry@customer.example' }));
  await until('after expiry', 'after-expiry@customer.example');
});

test('subscriptions the server forgot are made again, and mail of the gap is synced', async () => {
  ews.notifications.forgetSubscriptions();
  // Arrives while no subscription exists: no notification will ever announce it.
  ews.addMessage(PUSHED[2], goodMessage(300, { messageId: 'in-the-gap@customer.example' }));
  await until('gap', 'in-the-gap@customer.example');
  await waitFor('resubscribed', async () => (ews.notifications.subscriptionCount >= PUSHED.length + 1 ? true : undefined), {
    timeoutMs: 20_000,
  });
  ews.addMessage(PUSHED[3], goodMessage(301, { messageId: 'after-resubscribe@customer.example' }));
  await until('after resubscribe', 'after-resubscribe@customer.example');
  expect(delivered('in-the-gap@customer.example')).toBe(1);
});

test('a lost notification is caught by the safety resync', async () => {
  ews.notifications.dropNext = 1;
  ews.addMessage(RESYNCED, goodMessage(400, { messageId: 'lost-notification@customer.example' }));
  expect(ews.notifications.dropNext).toBe(0); // the notification was lost
  await until('lost notification', 'lost-notification@customer.example');
  expect(delivered('lost-notification@customer.example')).toBe(1);
  expect((await notificationsOf(resyncNs, RESYNCED))?.method).toBe('EWSStreaming');
});

test('where streaming is refused, pull subscriptions are used and resume from their watermark', async () => {
  expect((await notificationsOf(pullNs, PULLED))?.message).toMatch(/pull notifications/);
  oldEws.addMessage(PULLED, goodMessage(500, { messageId: 'pulled@customer.example' }));
  await until('pulled', 'pulled@customer.example');
  // The server loses the subscription; the next subscribe carries the last watermark and the
  // event of the gap is replayed from it.
  oldEws.notifications.forgetSubscriptions();
  oldEws.addMessage(PULLED, goodMessage(501, { messageId: 'pulled-gap@customer.example' }));
  await until('pulled after the gap', 'pulled-gap@customer.example');
  const again = oldEws.notifications.subscribes.filter((s) => s.mailbox === PULLED && s.kind === 'pull');
  expect(again.length).toBeGreaterThanOrEqual(2);
  expect(again[again.length - 1].watermark).toBeDefined();
});
