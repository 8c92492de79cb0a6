// At most N tasks at once; the others wait in order. KeyedSemaphores shares one per key (e.g. per
// mailbox) and forgets a key as soon as nothing runs or waits under it, so keys do not pile up.

export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly slots: number) {}

  get idle(): boolean {
    return this.active === 0 && this.waiting.length === 0;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.slots) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // the slot is handed over
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export class KeyedSemaphores {
  private readonly byKey = new Map<string, Semaphore>();

  constructor(private readonly slots: number) {}

  /** Keys with something running or waiting (tests). */
  get size(): number {
    return this.byKey.size;
  }

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let sem = this.byKey.get(key);
    if (!sem) {
      sem = new Semaphore(this.slots);
      this.byKey.set(key, sem);
    }
    try {
      return await sem.run(task);
    } finally {
      if (sem.idle && this.byKey.get(key) === sem) this.byKey.delete(key);
    }
  }
}
