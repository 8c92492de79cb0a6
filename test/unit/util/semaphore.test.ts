import { KeyedSemaphores, Semaphore } from '../../../src/util/semaphore.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

test('no more than N tasks run at once, all run, in order of arrival', async () => {
  const sem = new Semaphore(3);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      sem.run(async () => {
        started.push(i);
        most = Math.max(most, ++running);
        await tick();
        running--;
      }),
    ),
  );
  expect(most).toBe(3);
  expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(sem.idle).toBe(true);
});

test('a failing task gives its slot back', async () => {
  const sem = new Semaphore(1);
  await expect(sem.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  await expect(sem.run(async () => 7)).resolves.toBe(7);
  expect(sem.idle).toBe(true);
});

test('keys are limited apart and forgotten when idle', async () => {
  const sems = new KeyedSemaphores(2);
  const running = new Map<string, number>();
  const most = new Map<string, number>();
  const task = (key: string) =>
    sems.run(key, async () => {
      running.set(key, (running.get(key) ?? 0) + 1);
      most.set(key, Math.max(most.get(key) ?? 0, running.get(key)!));
      await tick();
      running.set(key, running.get(key)! - 1);
    });
  const all = Promise.all([...Array.from({ length: 6 }, () => task('a')), ...Array.from({ length: 6 }, () => task('b'))]);
  expect(sems.size).toBe(2);
  await all;
  expect(most.get('a')).toBe(2);
  expect(most.get('b')).toBe(2);
  expect(sems.size).toBe(0);
});
