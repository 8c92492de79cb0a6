// Durations and quantities of API fields, read in one place.
import { durationMs, quantityBytes } from '../../../src/api/quantities.js';

test('durations in milliseconds, the fallback when empty', () => {
  expect(durationMs('30s', 0)).toBe(30_000);
  expect(durationMs('1h30m', 0)).toBe(5_400_000);
  expect(durationMs('250ms', 0)).toBe(250);
  expect(durationMs('1.5s', 0)).toBe(1500);
  expect(durationMs(undefined, 42)).toBe(42);
  expect(durationMs('', 42)).toBe(42);
});

test('quantities in bytes, the fallback when empty or malformed', () => {
  expect(quantityBytes('5Mi', 0)).toBe(5 * 1024 * 1024);
  expect(quantityBytes('10M', 0)).toBe(10_000_000);
  expect(quantityBytes('2Ki', 0)).toBe(2048);
  expect(quantityBytes('1048576', 0)).toBe(1048576);
  expect(quantityBytes(undefined, 42)).toBe(42);
  expect(quantityBytes('25MB', 42)).toBe(42);
});
