// The Graph notification endpoint: the validation handshake, 202 before processing, refusals of
// what is not a notification, and notifications of unknown subscriptions passed on to the other
// workers once (never back again).

import { fetch } from 'undici';
import {
  FORWARDED_HEADER,
  forwardToPeers,
  GRAPH_PATH,
  startNotificationEndpoint,
  type NotificationEndpoint,
} from '../../../src/connect/notification-endpoint.js';
import type { GraphNotification } from '../../../src/mail/graph-notifications.js';

const endpoints: NotificationEndpoint[] = [];
afterAll(async () => {
  for (const e of endpoints) await e.close();
});

async function endpoint(known: string[], forward?: (items: GraphNotification[]) => Promise<void>) {
  const received: GraphNotification[] = [];
  const e = await startNotificationEndpoint({
    address: { host: '127.0.0.1', port: 0 },
    graph: {
      receive: (items) => {
        received.push(...items);
        return items.filter((n) => !known.includes(String(n.subscriptionId)));
      },
    },
    forward,
  });
  endpoints.push(e);
  return { e, received };
}

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

test('echoes the validation token as text/plain', async () => {
  const { e, received } = await endpoint([]);
  const token = 'Validation: Testing client application reachability for subscription Request-Id: 1 & <x>';
  const res = await fetch(`${e.url}?validationToken=${encodeURIComponent(token)}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  expect(await res.text()).toBe(token);
  expect(received).toEqual([]);
});

test('answers 202 to notifications and hands them over; refuses other shapes, methods and paths', async () => {
  const { e, received } = await endpoint(['s1']);
  const res = await post(e.url, JSON.stringify({ value: [{ subscriptionId: 's1', clientState: 'c', changeType: 'created' }] }));
  expect(res.status).toBe(202);
  await new Promise((r) => setTimeout(r, 50));
  expect(received).toEqual([{ subscriptionId: 's1', clientState: 'c', changeType: 'created' }]);
  expect((await post(e.url, '{"value":')).status).toBe(400);
  expect((await post(e.url, '{"items":[]}')).status).toBe(400);
  expect((await fetch(e.url)).status).toBe(405);
  expect((await post(e.url.replace(GRAPH_PATH, '/other'), '{}')).status).toBe(404);
});

test('notifications of subscriptions it does not know go to the other workers, once', async () => {
  const b = await endpoint(['theirs']);
  const peer = b.e.url.replace(/^http:\/\//, '').replace(GRAPH_PATH, '');
  const a = await endpoint(['mine'], (items) => forwardToPeers([peer], items, false));
  await post(a.e.url, JSON.stringify({ value: [{ subscriptionId: 'mine' }, { subscriptionId: 'theirs' }, { subscriptionId: 'nobody' }] }));
  await new Promise((r) => setTimeout(r, 200));
  expect(b.received.map((n) => n.subscriptionId)).toEqual(['theirs', 'nobody']);
  // B does not know "nobody" either, but does not pass a forwarded notification on.
  expect(a.received.map((n) => n.subscriptionId)).toEqual(['mine', 'theirs', 'nobody']);
  const direct = await post(b.e.url, JSON.stringify({ value: [{ subscriptionId: 'x' }] }), { [FORWARDED_HEADER]: '1' });
  expect(direct.status).toBe(202);
});
