// Runs fn over items with at most n in flight, in order of the items: the benches' bounded
// concurrency (Test and Enable at maxConcurrentTests, raw sign-ins, sessions opened 32 at once).

export async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      for (let i = next++; i < items.length; i = next++) await fn(items[i]);
    }),
  );
}
