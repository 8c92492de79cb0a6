// How many connections this process has open at once to one server under one identity (a
// username, or an OAuth client): the profile's maxConcurrentConnections (Dynamics: "per
// authenticated user"). Mail servers limit the same thing (Dovecot's mail_max_userip_connections,
// Gmail's 15 IMAP connections per account, Exchange's per-user budgets): staying under it keeps
// the server from refusing connections that are needed.
//
// A connection waits for a slot, first come first served. The limit is the claim's: callers pass
// the current one, so a changed profile counts from the next connection on.

import { MailError } from './types.js';

export interface SlotClaim {
  /** Server and identity, e.g. `imap.example.com:993 svc@example.com`. */
  key: string;
  /** Connections at once under this key in this process. */
  limit: number;
}

interface Slot {
  active: number;
  limit: number;
  waiting: { resolve: () => void; reject: (err: unknown) => void }[];
}

class ConnectionSlots {
  private readonly slots = new Map<string, Slot>();

  /**
   * Resolves with the release function once a connection may be opened; rejects if `signal`
   * aborts first. Release exactly once, when the connection is closed.
   */
  async acquire(claim: SlotClaim, opts: { signal?: AbortSignal; waitMs?: number } = {}): Promise<() => void> {
    const { signal, waitMs } = opts;
    let slot = this.slots.get(claim.key);
    if (!slot) this.slots.set(claim.key, (slot = { active: 0, limit: claim.limit, waiting: [] }));
    slot.limit = Math.max(1, claim.limit);
    const s = slot;
    if (s.active < s.limit) {
      s.active++;
    } else {
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const give = (err: unknown) => {
          s.waiting = s.waiting.filter((w) => w !== waiter);
          clearTimeout(timer);
          reject(err);
        };
        const waiter = {
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: give,
        };
        s.waiting.push(waiter);
        const timer =
          waitMs === undefined
            ? undefined
            : setTimeout(
                () =>
                  give(
                    new MailError(
                      'Throttled',
                      `no free connection: the ${s.limit} connections this identity may have open to the server (spec.maxConcurrentConnections) stayed in use for ${Math.round(waitMs / 1000)} s; it is retried with back-off`,
                    ),
                  ),
                waitMs,
              );
        signal?.addEventListener('abort', () => give(signal.reason), { once: true });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // A slot freed goes to the next waiter while the limit allows it (a lowered limit drains first).
      const next = s.active <= s.limit ? s.waiting.shift() : undefined;
      if (next) next.resolve();
      else s.active--;
      if (s.active === 0 && s.waiting.length === 0 && this.slots.get(claim.key) === s) this.slots.delete(claim.key);
    };
  }

  /** Connections open under a key (tests, metrics). */
  inUse(key: string): number {
    return this.slots.get(key)?.active ?? 0;
  }

  /** Runs `task` holding one slot, waiting for one at most `waitMs` (then Throttled). */
  async run<T>(claim: SlotClaim | undefined, task: () => Promise<T>, opts: { signal?: AbortSignal; waitMs?: number } = {}): Promise<T> {
    if (!claim) return task();
    const release = await this.acquire(claim, opts);
    try {
      return await task();
    } finally {
      release();
    }
  }
}

/** The process-wide connection slots. */
export const connectionSlots = new ConnectionSlots();
