import { runWorkers, WorkQueue } from '../../../src/kube/workqueue.js';

test('a key queued several times is processed once', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.add('a');
  q.add('b');
  expect(q.len()).toBe(2);
  expect(await q.get()).toBe('a');
  expect(await q.get()).toBe('b');
});

test('a key added while in flight is processed again after done, never concurrently', async () => {
  const q = new WorkQueue();
  q.add('a');
  const k = await q.get();
  q.add('a');
  expect(q.len()).toBe(0); // held back while processing
  q.done(k!);
  expect(q.len()).toBe(1);
});

test('failures are retried with backoff and forgotten after success', async () => {
  const q = new WorkQueue({ baseMs: 10, maxMs: 100, jitter: 0 });
  let calls = 0;
  const errors: number[] = [];
  const done = runWorkers(
    q,
    1,
    async () => {
      calls++;
      if (calls < 3) throw new Error('transient');
    },
    (_k, _e, delay) => errors.push(delay),
  );
  q.add('k');
  while (calls < 3) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 20));
  expect(errors).toEqual([10, 20]);
  expect(q.numRequeues('k')).toBe(0);
  q.shutdown();
  await done;
});

test('addAfter keeps the earliest time', async () => {
  const q = new WorkQueue();
  q.addAfter('k', 10_000);
  q.addAfter('k', 10);
  await new Promise((r) => setTimeout(r, 40));
  expect(q.len()).toBe(1);
  q.shutdown();
});
