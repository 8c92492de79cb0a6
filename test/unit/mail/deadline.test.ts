import { OperationTimeout, sleep, withTimeout } from '../../../src/mail/deadline.js';

describe('withTimeout', () => {
  test('passes results and errors through', async () => {
    await expect(withTimeout(Promise.resolve(7), 1000, 'x')).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('boom')), 1000, 'x')).rejects.toThrow('boom');
  });

  test('times out with an ETIMEDOUT error and runs the clean-up', async () => {
    let cleaned = false;
    const err = await withTimeout(new Promise(() => undefined), 20, 'waiting', { onTimeout: () => (cleaned = true) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OperationTimeout);
    expect(err).toMatchObject({ code: 'ETIMEDOUT' });
    expect(cleaned).toBe(true);
  });

  test('rejects when the signal aborts', async () => {
    const controller = new AbortController();
    const pending = withTimeout(new Promise(() => undefined), 10_000, 'waiting', { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('sleep', () => {
  test('ends early when aborted', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const done = sleep(10_000, controller.signal);
    controller.abort();
    await done;
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
