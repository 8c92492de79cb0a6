// MIME parsing is the most expensive step of the incoming pipeline (mailparser costs about three
// times the CPU of fetching a message; bench/run.ts prints both), and it runs on the event loop
// that also carries IMAP and the CRM requests. The pool moves it to worker threads so fetching,
// parsing and delivering overlap on separate cores. Results are the same as parseMessage's; a
// pool of 0 threads parses inline.
//
// A thread that dies (a defect in a parser, its heap limit) loses only time: the messages it had
// in flight are suspects, and each is parsed again alone on a quarantine thread. The one that kills
// that thread too is reported as CorruptMessage, so one poisonous message cannot stop a mailbox,
// and the innocent messages that shared its thread are parsed as usual.

import { Worker } from 'node:worker_threads';
import { parseMessage, type ParseOptions, type ParseResult } from './parse.js';
import type { ParseTask } from './parse-worker.js';

export interface MessageParser {
  parse(raw: Buffer, opts: ParseOptions): Promise<ParseResult>;
  close(): Promise<void>;
}

/** Parses on the calling thread. */
export const inlineParser: MessageParser = {
  parse: parseMessage,
  close: async () => undefined,
};

interface Task {
  id: number;
  raw: Buffer;
  opts: ParseOptions;
  resolve(r: ParseResult): void;
}

export interface ParserPoolOptions {
  threads: number;
  /**
   * Heap limit per thread: a message that needs more kills only its thread. Off by default: with
   * limits of 64 MB and more, Node 24 was seen to abort the whole process instead of the thread.
   */
  maxHeapMb?: number;
}

const WORKER_URL = new URL('./parse-worker.js', import.meta.url);

/** One parser thread and the tasks it has in flight. */
class ParserThread {
  readonly worker: Worker;
  readonly tasks = new Map<number, Task>();
  private lastError?: string;

  constructor(maxHeapMb: number | undefined, onExit: (t: ParserThread, why: string) => void) {
    this.worker = new Worker(WORKER_URL, maxHeapMb ? { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } } : {});
    this.worker.on('message', (m: { id: number; result: ParseResult }) => {
      const task = this.tasks.get(m.id);
      if (!task) return;
      this.tasks.delete(m.id);
      // An idle thread must not keep the process alive.
      if (this.tasks.size === 0) this.worker.unref();
      task.resolve(m.result);
    });
    // 'error' precedes 'exit' for an uncaught exception or a memory limit.
    this.worker.on('error', (err) => (this.lastError = err.message));
    this.worker.on('exit', (code) => onExit(this, this.lastError ?? `exit code ${code}`));
  }

  post(task: Task): void {
    this.tasks.set(task.id, task);
    if (this.tasks.size === 1) this.worker.ref();
    // A copy into a buffer of its own, transferred: posting a pooled Buffer would clone its whole
    // backing store, and transferring it would detach memory the caller still uses.
    const raw = new Uint8Array(task.raw.byteLength);
    raw.set(task.raw);
    const message: ParseTask = { id: task.id, raw, opts: task.opts };
    this.worker.postMessage(message, [raw.buffer]);
  }
}

export class ParserPool implements MessageParser {
  private readonly threads: (ParserThread | undefined)[];
  /** Suspects from a thread that died, parsed one at a time on their own thread. */
  private readonly suspects: Task[] = [];
  private quarantine?: ParserThread;
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: ParserPoolOptions) {
    this.threads = Array.from({ length: Math.max(1, options.threads) }, () => undefined);
  }

  parse(raw: Buffer, opts: ParseOptions): Promise<ParseResult> {
    if (this.closed) return parseMessage(raw, opts);
    return new Promise((resolve) => this.dispatch({ id: this.nextId++, raw, opts, resolve }));
  }

  async close(): Promise<void> {
    this.closed = true;
    const live = [...this.threads, this.quarantine].filter((t): t is ParserThread => !!t);
    this.threads.fill(undefined);
    this.quarantine = undefined;
    // Whatever is still in flight or waiting finishes inline rather than being dropped.
    const left = [...live.flatMap((t) => [...t.tasks.values()]), ...this.suspects.splice(0)];
    for (const task of left) void parseMessage(task.raw, task.opts).then(task.resolve);
    await Promise.all(live.map((t) => t.worker.terminate()));
  }

  /** Threads running now (tests end one to prove its tasks survive). */
  get workers(): Worker[] {
    return this.threads.filter((t): t is ParserThread => !!t).map((t) => t.worker);
  }

  private dispatch(task: Task): void {
    // The least busy thread; an empty slot gets a thread started on demand.
    let slot = 0;
    for (let i = 0; i < this.threads.length; i++) {
      const t = this.threads[i];
      if (!t) {
        slot = i;
        break;
      }
      if (t.tasks.size < (this.threads[slot]?.tasks.size ?? Infinity)) slot = i;
    }
    let thread = this.threads[slot];
    if (!thread) {
      thread = new ParserThread(this.options.maxHeapMb, (t) => this.died(slot, t));
      this.threads[slot] = thread;
    }
    thread.post(task);
  }

  private died(slot: number, thread: ParserThread): void {
    if (this.threads[slot] === thread) this.threads[slot] = undefined;
    if (this.closed) return;
    this.suspects.push(...thread.tasks.values());
    thread.tasks.clear();
    this.nextSuspect();
  }

  /** Parses the next suspect alone on the quarantine thread (started when needed, ended when idle). */
  private nextSuspect(): void {
    if (this.closed || this.quarantine?.tasks.size) return;
    const task = this.suspects.shift();
    if (!task) {
      void this.quarantine?.worker.terminate();
      this.quarantine = undefined;
      return;
    }
    if (!this.quarantine) {
      const thread = new ParserThread(this.options.maxHeapMb, (t, why) => {
        if (this.quarantine !== t) return; // ended because it was idle
        this.quarantine = undefined;
        // Alone on its thread and it died again: this message is the cause.
        for (const culprit of t.tasks.values()) {
          culprit.resolve({
            ok: false,
            reason: 'CorruptMessage',
            message: `the message parser failed on this message (${why}); it is skipped so the messages after it go on`,
          });
        }
        this.nextSuspect();
      });
      this.quarantine = thread;
    }
    const resolve = task.resolve;
    this.quarantine.post({
      ...task,
      resolve: (r) => {
        resolve(r);
        this.nextSuspect();
      },
    });
  }
}

/**
 * The pool size a process uses by default: one thread per core beyond the event loop's, at most 4.
 * With 2 cores or fewer, none: mailparser's garbage collection already keeps the second core
 * busy, and on 2 cores the thread hand-off cost more than it gained (`make bench` measures it:
 * bench/run.ts's parsing ceilings, on the event loop and in a pool of threads).
 */
export function defaultParserThreads(cores: number): number {
  return cores <= 2 ? 0 : Math.min(4, cores - 1);
}
