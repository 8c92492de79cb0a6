// Reads that many deliveries need (who owns an address, the mailbox row of an address, the
// Regarding of an email), gathered into one $batch request per batch of emails, and remembered
// for a few minutes: the same correspondents and mailboxes come back again and again.
import type { BatchOperation, BatchResult } from './dynamics-batch.js';
import type { DataverseClient } from './dynamics-client.js';

/** Runs GET operations in $batch requests (the connector's runner coalesces them across callers). */
export type GetRunner = (ops: BatchOperation[]) => Promise<BatchResult[]>;

/** GET operations whose answers one reader interprets. */
export interface Lookup {
  ops: BatchOperation[];
  /** Called with the answers of `ops`, in order. */
  read(results: BatchResult[]): void;
}

/** Runs the lookups' operations together, then gives each reader its answers. */
export async function runLookups(run: GetRunner, lookups: Lookup[]): Promise<void> {
  const ops = lookups.flatMap((l) => l.ops);
  const results = ops.length ? await run(ops) : [];
  let at = 0;
  for (const l of lookups) {
    l.read(results.slice(at, at + l.ops.length));
    at += l.ops.length;
  }
}

/** The JSON rows of a GET collection answer, or the CrmError it answered. */
export function rowsOf<T>(client: DataverseClient, r: BatchResult, path: string): T[] {
  if (r.kind === 'one' && r.response.status === 200) return ((r.response.body as { value?: T[] } | undefined)?.value ?? []) as T[];
  if (r.kind === 'one') throw client.itemError(r.response, path);
  throw client.itemError({ status: 503, headers: {}, body: undefined }, path);
}

/** A cache with an expiry per entry and a size bound (oldest out first). `null` caches "none". */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V | null; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The value, null for a cached "none", undefined when unknown or expired. */
  get(key: string): V | null | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V | null): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, expiresAt: Date.now() + this.ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
