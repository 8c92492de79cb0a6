// Connection slots per server and identity (maxConcurrentConnections), and their share per worker.
import { slotClaim } from '../../../src/connect/connection-limits.js';
import type { DirectionSettings } from '../../../src/connect/settings.js';
import { connectionSlots } from '../../../src/mail/connection-slots.js';
import { MailError } from '../../../src/mail/types.js';

test('at most `limit` at once; the next waits, first come first served', async () => {
  const claim = { key: 'unit-a', limit: 2 };
  const a = await connectionSlots.acquire(claim);
  const b = await connectionSlots.acquire(claim);
  const order: string[] = [];
  const c = connectionSlots.acquire(claim).then((r) => (order.push('c'), r));
  const d = connectionSlots.acquire(claim).then((r) => (order.push('d'), r));
  await new Promise((r) => setTimeout(r, 10));
  expect(order).toEqual([]);
  expect(connectionSlots.inUse('unit-a')).toBe(2);
  a();
  a(); // a second release of the same slot frees nothing more
  const releaseC = await c;
  expect(order).toEqual(['c']);
  b();
  (await d)();
  releaseC();
  expect(connectionSlots.inUse('unit-a')).toBe(0);
});

test('a waiter gives up after waitMs with Throttled naming the field, or when aborted', async () => {
  const claim = { key: 'unit-b', limit: 1 };
  const held = await connectionSlots.acquire(claim);
  const err = await connectionSlots.acquire(claim, { waitMs: 20 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(MailError);
  expect(err).toMatchObject({ reason: 'Throttled' });
  expect((err as Error).message).toContain('spec.maxConcurrentConnections');
  const abort = new AbortController();
  const waiting = connectionSlots.acquire(claim, { signal: abort.signal }).catch((e: unknown) => e);
  abort.abort(new Error('stopped'));
  expect(await waiting).toMatchObject({ message: 'stopped' });
  held();
  expect(connectionSlots.inUse('unit-b')).toBe(0);
});

test("a mailbox's own identity has the whole limit; a profile's shared identity is divided among the live workers", () => {
  const s = (shared: boolean) =>
    ({
      endpoint: { host: 'imap.example.com', port: 993 },
      credentials: { kind: 'password', username: 'Svc', password: 'x' },
      address: 'ann@example.com',
      maxConnections: 10,
      sharedCredentials: shared,
    }) as unknown as DirectionSettings;
  let workers = 3;
  expect(slotClaim(s(false), () => workers).limit).toBe(10);
  const shared = slotClaim(s(true), () => workers);
  expect(shared).toMatchObject({ key: 'imap.example.com:993 svc', limit: 3 });
  workers = 20;
  expect(shared.limit).toBe(1); // at least one per worker
});
