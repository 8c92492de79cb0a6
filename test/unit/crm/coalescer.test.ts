// The Coalescer behind the webhook connector's batching: which calls share a batch, how batches
// are cut and limited, and how a batch's outcome reaches each caller.
import { Coalescer } from '../../../src/crm/coalescer.js';

/** One turn of the event loop: setImmediate callbacks queued before this one have run. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A coalescer whose batches stay open until the test settles them; records every batch. */
function controlled(maxBatch: number, maxInFlight: number) {
  const batches: { items: number[]; done: Deferred<Array<string | Error>> }[] = [];
  let running = 0;
  let peak = 0;
  const c = new Coalescer<number, string>({
    maxBatch,
    maxInFlight,
    run: async (items) => {
      const done = deferred<Array<string | Error>>();
      batches.push({ items, done });
      running++;
      peak = Math.max(peak, running);
      try {
        return await done.promise;
      } finally {
        running--;
      }
    },
  });
  const answer = (i: number) => batches[i].done.resolve(batches[i].items.map((n) => `r${n}`));
  return { c, batches, answer, peak: () => peak };
}

/** A coalescer whose batches answer at once; records every batch. */
function immediate(maxBatch: number, maxInFlight: number) {
  const runs: number[][] = [];
  const c = new Coalescer<number, string>({
    maxBatch,
    maxInFlight,
    run: async (items) => {
      runs.push(items);
      return items.map((n) => `r${n}`);
    },
  });
  return { c, runs };
}

test('calls made in the same turn go out as one batch, and each caller gets its own result', async () => {
  const { c, runs } = immediate(100, 4);
  const results = await Promise.all([1, 2, 3, 4, 5].map((n) => c.submit(n)));
  expect(results).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
  expect(runs).toEqual([[1, 2, 3, 4, 5]]);
});

test('a single call is flushed on the next turn, alone, without waiting for company', async () => {
  const { c, batches, answer } = controlled(100, 4);
  const p = c.submit(7);
  expect(batches).toHaveLength(0); // not synchronously: same-turn calls may still join
  await nextTurn();
  expect(batches.map((b) => b.items)).toEqual([[7]]);
  answer(0);
  await expect(p).resolves.toBe('r7');
});

test('more than maxBatch items in one turn are split into batches of maxBatch, in order', async () => {
  const { c, runs } = immediate(3, 10);
  const items = [1, 2, 3, 4, 5, 6, 7];
  expect(await Promise.all(items.map((n) => c.submit(n)))).toEqual(items.map((n) => `r${n}`));
  expect(runs).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
});

test('at most maxInFlight batches run at once; what queues meanwhile leaves together when one finishes', async () => {
  const { c, batches, answer, peak } = controlled(2, 2);
  const first = [1, 2, 3, 4, 5].map((n) => c.submit(n));
  await nextTurn();
  expect(batches.map((b) => b.items)).toEqual([
    [1, 2],
    [3, 4],
  ]); // 5 waits: two batches running
  // Calls in later turns queue behind the limit instead of starting batches of their own.
  const later = [c.submit(6)];
  await nextTurn();
  later.push(c.submit(7));
  await nextTurn();
  expect(batches).toHaveLength(2);

  answer(0);
  await first[0];
  // The finished batch's slot goes to the queue at once, cut at maxBatch: 5 and 6 ...
  expect(batches.map((b) => b.items)).toEqual([
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  answer(1);
  await first[2];
  // ... and 7 takes the next free slot.
  expect(batches.map((b) => b.items)).toEqual([[1, 2], [3, 4], [5, 6], [7]]);
  answer(2);
  answer(3);
  expect(await Promise.all([...first, ...later])).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7']);
  expect(peak()).toBe(2);
});

test('an Error in the results rejects that item only', async () => {
  const bad = new Error('item 2 refused');
  const c = new Coalescer<number, string>({
    maxBatch: 10,
    maxInFlight: 1,
    run: async (items) => items.map((n) => (n === 2 ? bad : `r${n}`)),
  });
  const settled = await Promise.allSettled([1, 2, 3].map((n) => c.submit(n)));
  expect(settled).toEqual([
    { status: 'fulfilled', value: 'r1' },
    { status: 'rejected', reason: bad },
    { status: 'fulfilled', value: 'r3' },
  ]);
});

test('a failed batch rejects every item of that batch with its error, and later batches still run', async () => {
  const down = new Error('CRM down');
  let calls = 0;
  const c = new Coalescer<number, string>({
    maxBatch: 2,
    maxInFlight: 1,
    run: async (items) => {
      calls++;
      if (calls === 1) throw down;
      return items.map((n) => `r${n}`);
    },
  });
  const settled = await Promise.allSettled([1, 2, 3].map((n) => c.submit(n)));
  expect(settled).toEqual([
    { status: 'rejected', reason: down },
    { status: 'rejected', reason: down },
    { status: 'fulfilled', value: 'r3' },
  ]);
});

test('a batch function that throws synchronously fails its batch like a rejection', async () => {
  const c = new Coalescer<number, string>({
    maxBatch: 10,
    maxInFlight: 1,
    run: (() => {
      throw new Error('bug');
    }) as () => Promise<string[]>,
  });
  const settled = await Promise.allSettled([c.submit(1), c.submit(2)]);
  expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
  expect((settled[0] as PromiseRejectedResult).reason).toEqual(new Error('bug'));
});

test('results of the wrong length fail the whole batch with an error naming the mismatch', async () => {
  const c = new Coalescer<number, string>({ maxBatch: 10, maxInFlight: 1, run: async () => ['only one'] });
  const settled = await Promise.allSettled([c.submit(1), c.submit(2), c.submit(3)]);
  for (const s of settled) {
    expect(s.status).toBe('rejected');
    expect(String((s as PromiseRejectedResult).reason)).toMatch(/1 results for a batch of 3 items/);
  }
});

test('maxBatch and maxInFlight must be whole numbers of at least 1', () => {
  const run = async (items: number[]) => items;
  expect(() => new Coalescer({ maxBatch: 0, maxInFlight: 1, run })).toThrow(/maxBatch/);
  expect(() => new Coalescer({ maxBatch: 1, maxInFlight: 1.5, run })).toThrow(/maxInFlight/);
});
