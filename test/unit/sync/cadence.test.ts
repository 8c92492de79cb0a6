// The keep-alive cadence: quiet mailboxes are looked at less and less often, up to the profile's
// maxPollingInterval; mail brings them back to minPollingInterval.

import { AdaptiveCadence } from '../../../src/sync/cadence.js';

const steady = () => 0.5; // no jitter

test('doubles after each quiet cycle up to the maximum, and drops to the minimum when mail arrives', () => {
  const c = new AdaptiveCadence({ minMs: 5 * 60_000, maxMs: 15 * 60_000 }, steady);
  expect(c.intervalMs).toBe(5 * 60_000);
  expect([c.next(false), c.next(false), c.next(false)]).toEqual([10 * 60_000, 15 * 60_000, 15 * 60_000]);
  expect(c.next(true)).toBe(5 * 60_000);
  expect(c.intervalMs).toBe(5 * 60_000);
});

test('a maximum below the minimum means a fixed interval', () => {
  const c = new AdaptiveCadence({ minMs: 60_000, maxMs: 1000 }, steady);
  expect([c.next(false), c.next(true), c.next(false)]).toEqual([60_000, 60_000, 60_000]);
});

test('waits carry ±10% of jitter around the interval', () => {
  const low = new AdaptiveCadence({ minMs: 1000, maxMs: 1000 }, () => 0);
  const high = new AdaptiveCadence({ minMs: 1000, maxMs: 1000 }, () => 0.999999);
  expect(low.next(true)).toBe(900);
  expect(high.next(true)).toBe(1100);
});
