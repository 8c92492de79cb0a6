// Turns many concurrent single-item calls into a few batch calls, transparently to the callers.
//
// Why: the pipelines call the CRM once per message, 16-32 at a time, and the benchmarks showed
// that one HTTP request per message (headers, HMAC signature, a round trip, the CRM's own
// per-request work) was the bottleneck, not the messages themselves. The callers already run
// concurrently, so calls that are made while others are waiting can share one request: each
// caller still awaits its own item's result, and nothing about the caller's contract changes.
//
// How: the first submit() schedules a flush with setImmediate, so every call made in the same
// turn of the event loop joins that batch (a lone call waits one turn, no timer). A flush starts
// batches of up to maxBatch items while fewer than maxInFlight batches are running; items that
// arrive while the limit is reached queue up and leave together as soon as a batch finishes. So
// under load the batches grow by themselves, and a trickle goes out one item at a time.
//
// No HTTP here: `run` does the batch call and answers one result per item, in order.

export interface CoalescerOptions<I, R> {
  /** The most items in one batch. */
  maxBatch: number;
  /** The most batches running at once. */
  maxInFlight: number;
  /**
   * Runs one batch. Resolves with one entry per item, in the items' order: a result, or an Error
   * for that item alone. Rejecting (or a result array of the wrong length) fails every item.
   */
  run: (items: I[]) => Promise<Array<R | Error>>;
}

interface Waiting<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

export class Coalescer<I, R> {
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly run: (items: I[]) => Promise<Array<R | Error>>;
  private queue: Waiting<I, R>[] = [];
  private inFlight = 0;
  private flushScheduled = false;

  constructor(options: CoalescerOptions<I, R>) {
    for (const key of ['maxBatch', 'maxInFlight'] as const) {
      if (!Number.isInteger(options[key]) || options[key] < 1)
        throw new RangeError(`Coalescer: ${key} must be a whole number of at least 1, not ${options[key]}`);
    }
    this.maxBatch = options.maxBatch;
    this.maxInFlight = options.maxInFlight;
    this.run = options.run;
  }

  /** Queues the item for the next batch; settles with that item's own result. */
  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      // At the limit, the next batch leaves when a running one finishes (see runBatch).
      if (!this.flushScheduled && this.inFlight < this.maxInFlight) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      void this.runBatch(this.queue.splice(0, this.maxBatch));
    }
  }

  private async runBatch(batch: Waiting<I, R>[]): Promise<void> {
    this.inFlight++;
    try {
      const results = await this.run(batch.map((w) => w.item));
      if (!Array.isArray(results) || results.length !== batch.length) {
        throw new Error(
          `Coalescer: the batch function answered ${Array.isArray(results) ? `${results.length} results` : 'no array'} for a batch of ${batch.length} items`,
        );
      }
      batch.forEach((w, i) => {
        const r = results[i];
        if (r instanceof Error) w.reject(r);
        else w.resolve(r);
      });
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      this.inFlight--;
      this.flush();
    }
  }
}
