// Paces sign-ins: at most `concurrency` at once and at most `perSecond` started per second, in the
// order they asked. After a restart (or a mail server that comes back) thousands of mailboxes want
// to sign in at the same moment; unpaced, that is a burst of TLS handshakes and logins the server
// sees as an attack (and answers with login penalties), and a CPU spike of our own.

export interface PacerOptions {
  /** Sign-ins in progress at once. */
  concurrency: number;
  /** Sign-ins started per second (a token bucket holding up to one second's worth). */
  perSecond: number;
}

export class Pacer {
  private active = 0;
  private tokens: number;
  private last = Date.now();
  private readonly waiting: (() => void)[] = [];
  private timer?: NodeJS.Timeout;
  /** Sign-ins that had to wait for their turn (for tests and metrics). */
  waited = 0;

  constructor(private readonly opts: PacerOptions) {
    this.tokens = opts.perSecond;
  }

  /** Runs `task` when a slot and a token are free; rejects with the signal's reason if it aborts first. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (!this.take()) {
      this.waited++;
      await new Promise<void>((resolve, reject) => {
        const turn = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(turn);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal!.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(turn);
        this.schedule();
      });
    }
    try {
      return await task();
    } finally {
      this.active--;
      this.drain();
    }
  }

  /** Tasks waiting for their turn. */
  get queued(): number {
    return this.waiting.length;
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.opts.perSecond, this.tokens + ((now - this.last) / 1000) * this.opts.perSecond);
    this.last = now;
  }

  private take(): boolean {
    this.refill();
    if (this.waiting.length || this.active >= this.opts.concurrency || this.tokens < 1) return false;
    this.tokens--;
    this.active++;
    return true;
  }

  private drain(): void {
    this.refill();
    while (this.waiting.length && this.active < this.opts.concurrency && this.tokens >= 1) {
      this.tokens--;
      this.active++;
      this.waiting.shift()!();
    }
    this.schedule();
  }

  /** Wakes up when the next token is due, if someone waits for one. */
  private schedule(): void {
    if (this.timer || !this.waiting.length || this.active >= this.opts.concurrency) return;
    const ms = Math.max(1, Math.ceil(((1 - this.tokens) / this.opts.perSecond) * 1000));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, ms);
    this.timer.unref();
  }
}
