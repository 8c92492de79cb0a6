import { createMetrics } from '../../../src/observability/metrics.js';
import { parseListenAddress, startObservabilityServer, type ObservabilityServer } from '../../../src/observability/http-server.js';
import { EventLoopMonitor, OperatorReadiness, runProbes } from '../../../src/observability/probes.js';

const servers: ObservabilityServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
const get = async (s: ObservabilityServer, path: string) => {
  const res = await fetch(s.url + path);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
};

test('listen addresses are parsed as Go writes them; "0" switches the server off; nonsense says how to fix it', () => {
  expect(parseListenAddress(':8080')).toEqual({ host: undefined, port: 8080 });
  expect(parseListenAddress('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
  expect(parseListenAddress('[::1]:9090')).toEqual({ host: '::1', port: 9090 });
  expect(parseListenAddress('0')).toBeUndefined();
  expect(() => parseListenAddress('8080')).toThrow(/--metrics-addr="8080" is not a listen address: use HOST:PORT or :PORT/);
  expect(() => parseListenAddress(':70000')).toThrow(/not a listen address/);
});

test('/metrics serves the registry in the Prometheus text format', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  metrics.messages.inc({ direction: 'out', namespace: 'ns', owner_kind: 'User', profile: 'imap' });
  const s = await startObservabilityServer({ address: { host: '127.0.0.1', port: 0 }, metrics });
  servers.push(s);
  const r = await get(s, '/metrics');
  expect(r.status).toBe(200);
  expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(r.body).toContain('mailsync_messages_total{direction="out",namespace="ns",owner_kind="User",profile="imap"} 1');
  expect((await get(s, '/nope')).status).toBe(404);
  expect((await fetch(s.url + '/metrics', { method: 'POST' })).status).toBe(405);
});

test('/readyz follows the readiness phases: a standby replica is ready, a leader only once its controllers run', async () => {
  const readiness = new OperatorReadiness();
  const s = await startObservabilityServer({ address: { host: '127.0.0.1', port: 0 }, readiness: [readiness.probe()] });
  servers.push(s);
  let r = await get(s, '/readyz');
  expect(r).toMatchObject({ status: 503, body: '[-]controllers failed: starting\n' });
  readiness.standby();
  expect((await get(s, '/readyz')).status).toBe(200);
  readiness.leading();
  r = await get(s, '/readyz');
  expect(r.status).toBe(503);
  expect(r.body).toMatch(/waiting for the caches to sync/);
  readiness.started();
  r = await get(s, '/readyz?verbose');
  expect(r).toMatchObject({ status: 200, body: '[+]controllers ok\nok\n' });
  readiness.stopping();
  expect(await get(s, '/readyz')).toMatchObject({ status: 503, body: '[-]controllers failed: shutting down\n' });
  readiness.started(); // a late start after shutdown began must not turn the pod ready again
  expect((await get(s, '/readyz')).status).toBe(503);
});

test('/healthz is 200 while the event loop keeps time and 500 after a long stall', async () => {
  let now = 0;
  const loop = new EventLoopMonitor({ intervalMs: 500, maxLagMs: 1000, windowMs: 10_000, now: () => now });
  const s = await startObservabilityServer({ address: { host: '127.0.0.1', port: 0 }, liveness: [loop.probe()] });
  servers.push(s);
  loop.record(0, 10);
  expect(await get(s, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
  now = 3000;
  loop.record(3000, 2500);
  const r = await get(s, '/healthz');
  expect(r.status).toBe(500);
  expect(r.body).toBe('[-]event-loop failed: event loop was blocked for 2500 ms (limit 1000 ms)\n');
  now = 14_000; // the stall has left the window
  expect((await get(s, '/healthz')).status).toBe(200);
});

test('the monitor measures a real stall of the event loop', async () => {
  const loop = new EventLoopMonitor({ intervalMs: 20, maxLagMs: 150 }).start();
  try {
    await new Promise((r) => setTimeout(r, 50));
    const until = Date.now() + 300;
    while (Date.now() < until); // block the loop
    await new Promise((r) => setTimeout(r, 50));
    expect(loop.maxRecentLagMs()).toBeGreaterThanOrEqual(200);
    expect(await loop.probe().check()).toMatch(/event loop was blocked for \d+ ms/);
  } finally {
    loop.stop();
  }
});

test('a probe that throws or hangs fails with a reason instead of hanging the endpoint', async () => {
  const report = await runProbes(
    [
      { name: 'fine', check: () => true },
      {
        name: 'throws',
        check: () => {
          throw new Error('cache gone');
        },
      },
      { name: 'hangs', check: () => new Promise<true>(() => {}) },
    ],
    100,
  );
  expect(report).toEqual({
    ok: false,
    lines: ['[+]fine ok', '[-]throws failed: error: cache gone', '[-]hangs failed: did not answer within 100 ms'],
  });
});

test('close() waits for a request in flight, then frees the port', async () => {
  let release!: () => void;
  const slow = new Promise<true>((r) => (release = () => r(true)));
  const s = await startObservabilityServer({
    address: { host: '127.0.0.1', port: 0 },
    readiness: [{ name: 'slow', check: () => slow }],
    probeTimeoutMs: 5000,
  });
  const inFlight = get(s, '/readyz');
  await new Promise((r) => setTimeout(r, 50));
  const closed = s.close();
  release();
  expect((await inFlight).status).toBe(200);
  await closed;
  await expect(fetch(s.url + '/healthz')).rejects.toThrow();
});
