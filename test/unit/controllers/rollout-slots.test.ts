// Test slots (the per-profile concurrency limit).
import { TestSlots } from '../../../src/controllers/rollout-slots.js';

test('at most `limit` slots per group; a freed slot is reserved for the best-ranked waiter and woken', () => {
  const woken: string[] = [];
  const slots = new TestSlots((k) => woken.push(k));
  const a = slots.tryAcquire('p', 'a', 2, 'User/a')!;
  const b = slots.tryAcquire('p', 'b', 2, 'User/b')!;
  expect(slots.tryAcquire('p', 'u', 2, 'User/u')).toBeUndefined();
  expect(slots.tryAcquire('p', 'q', 2, 'Queue/q')).toBeUndefined();
  expect(slots.tryAcquire('other', 'x', 2, 'User/x')).toBeDefined(); // groups are independent
  expect(slots.running('p')).toBe(2);
  a();
  a(); // releasing twice is harmless
  expect(woken).toEqual(['q']); // queues before users
  expect(slots.tryAcquire('p', 'u', 2, 'User/u')).toBeUndefined(); // the slot is q's
  expect(slots.tryAcquire('p', 'q', 2, 'Queue/q')).toBeDefined();
  b();
  expect(woken).toEqual(['q', 'u']);
  slots.settle('u'); // u's reconcile ended without a test: its reservation is freed
  expect(slots.tryAcquire('p', 'v', 2, 'User/v')).toBeDefined();
  expect(slots.peak('p')).toBe(2);
});
