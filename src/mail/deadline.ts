// Per-operation time limits for libraries whose own timeouts do not cover every step (imapflow
// times out connecting and idle sockets, not a command the server is slow to answer).

/** An error shaped like Node's socket timeout, so classifyError reports it as Timeout. */
export class OperationTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(what: string, ms: number) {
    super(`${what} took longer than ${ms} ms`);
    this.name = 'OperationTimeout';
  }
}

/**
 * Settles like `promise`, or rejects with OperationTimeout after `ms` (calling `onTimeout`, which
 * should tear the connection down so the abandoned operation cannot linger) or with the signal's
 * reason when it aborts first.
 */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  opts: { onTimeout?: () => void; signal?: AbortSignal } = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const { signal, onTimeout } = opts;
    const finish = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      finish();
      onTimeout?.();
      reject(signal?.reason ?? new DOMException('The operation was aborted', 'AbortError'));
    };
    const timer = setTimeout(() => {
      finish();
      onTimeout?.();
      reject(new OperationTimeout(what, ms));
    }, ms);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        finish();
        resolve(v);
      },
      (err) => {
        finish();
        reject(err);
      },
    );
  });
}

/** Waits `ms`, or less if the signal aborts (resolves either way: callers check their own state). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
