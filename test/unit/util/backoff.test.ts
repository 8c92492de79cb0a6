import { backoffDelay, DEFAULT_BACKOFF, retryDelay } from '../../../src/util/backoff.js';

test('backoff grows exponentially from the first failure and is capped', () => {
  const b = { baseMs: 1000, maxMs: 60_000, jitter: 0.2 };
  const mid = () => 0.5;
  expect([0, 1, 2, 3, 4, 10, 5000].map((n) => backoffDelay(n, b, mid))).toEqual([1000, 1000, 2000, 4000, 8000, 60_000, 60_000]);
});

test('jitter moves the delay by at most ±jitter, never below zero', () => {
  const b = { baseMs: 1000, maxMs: 60_000, jitter: 0.2 };
  expect(backoffDelay(3, b, () => 0)).toBe(3200);
  expect(backoffDelay(3, b, () => 1)).toBe(4800);
  expect(backoffDelay(1, { ...b, jitter: 1 }, () => 0)).toBe(0);
  expect(backoffDelay(2, { ...b, jitter: 0 }, () => 0.9)).toBe(2000);
});

test('the default starts at a second and stops at five minutes', () => {
  expect(backoffDelay(1, DEFAULT_BACKOFF, () => 0.5)).toBe(1000);
  expect(backoffDelay(100, DEFAULT_BACKOFF, () => 0.5)).toBe(300_000);
});

test('a retry is never sooner than the server asked, and a cap bounds what it may ask', () => {
  const b = { baseMs: 1000, maxMs: 60_000, jitter: 0 };
  expect(retryDelay(3, b, undefined)).toBe(4000);
  expect(retryDelay(3, b, 1000)).toBe(4000);
  expect(retryDelay(3, b, 90_000)).toBe(90_000);
  expect(retryDelay(3, b, 90_000, { maxHintMs: 10_000 })).toBe(10_000);
  expect(retryDelay(1, b, 500, { maxHintMs: 10_000 })).toBe(1000);
});
