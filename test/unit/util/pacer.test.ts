// Sign-in pacing: a bounded number at once, a bounded number per second, in order, and a waiter
// that gives up (a session closed while it waited) leaves the queue.

import { Pacer } from '../../../src/util/pacer.js';

const tick = () => new Promise((r) => setImmediate(r));

test('runs at most `concurrency` at once, the others in order as slots free', async () => {
  const pacer = new Pacer({ concurrency: 2, perSecond: 1000 });
  const started: number[] = [];
  const releases: (() => void)[] = [];
  const tasks = [0, 1, 2, 3].map((i) => pacer.run(() => new Promise<void>((resolve) => (started.push(i), releases.push(resolve)))));
  await tick();
  expect(started).toEqual([0, 1]);
  expect(pacer.queued).toBe(2);
  releases[0]();
  await new Promise((r) => setTimeout(r, 20));
  expect(started).toEqual([0, 1, 2]);
  releases[1]();
  releases[2]();
  await new Promise((r) => setTimeout(r, 20));
  releases[3]();
  await Promise.all(tasks);
  expect(started).toEqual([0, 1, 2, 3]);
});

test('starts no more than the rate allows within a second', async () => {
  const pacer = new Pacer({ concurrency: 100, perSecond: 5 });
  let started = 0;
  const tasks = Array.from({ length: 8 }, () => pacer.run(async () => void started++));
  await tick();
  // The bucket starts full (one second's worth); the rest wait for tokens.
  expect(started).toBe(5);
  expect(pacer.waited).toBe(3);
  await Promise.all(tasks);
  expect(started).toBe(8);
});

test('a waiter whose signal aborts leaves the queue and rejects', async () => {
  const pacer = new Pacer({ concurrency: 1, perSecond: 1000 });
  let release!: () => void;
  const first = pacer.run(() => new Promise<void>((r) => (release = r)));
  const abort = new AbortController();
  const second = pacer.run(async () => 'ran', abort.signal);
  await tick();
  abort.abort(new Error('closed'));
  await expect(second).rejects.toThrow('closed');
  expect(pacer.queued).toBe(0);
  release();
  await first;
});
