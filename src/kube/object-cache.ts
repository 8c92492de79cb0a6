// What reconcilers and workers read objects from: one WatchCache, or several when the operator
// is limited to a set of namespaces (each namespace is listed and watched on its own, which is
// what a namespaced RBAC Role allows).

import type { KubernetesObject } from '@kubernetes/client-node';
import type { CacheHandlers, WatchCache } from './watch-cache.js';

export interface ObjectCache<T extends KubernetesObject> {
  get(namespace: string, name: string): T | undefined;
  list(namespace?: string): T[];
  addHandlers(h: CacheHandlers<T>): void;
  start(): void;
  stop(): Promise<void>;
  waitForSync(): Promise<void>;
  hasSynced(): boolean;
  /** List/watch counters (summed over namespaces), for tests and metrics. */
  readonly stats: { lists: number; watches: number; errors: number; stalls: number };
}

export class MultiNamespaceCache<T extends KubernetesObject> implements ObjectCache<T> {
  private readonly byNamespace: Map<string, WatchCache<T>>;

  constructor(caches: WatchCache<T>[], namespaces: string[]) {
    this.byNamespace = new Map(namespaces.map((ns, i) => [ns, caches[i]]));
  }

  get(namespace: string, name: string): T | undefined {
    return this.byNamespace.get(namespace)?.get(namespace, name);
  }

  list(namespace?: string): T[] {
    if (namespace !== undefined) return this.byNamespace.get(namespace)?.list(namespace) ?? [];
    return [...this.byNamespace.values()].flatMap((c) => c.list());
  }

  addHandlers(h: CacheHandlers<T>): void {
    for (const c of this.byNamespace.values()) c.addHandlers(h);
  }

  start(): void {
    for (const c of this.byNamespace.values()) c.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.byNamespace.values()].map((c) => c.stop()));
  }

  async waitForSync(): Promise<void> {
    await Promise.all([...this.byNamespace.values()].map((c) => c.waitForSync()));
  }

  hasSynced(): boolean {
    return [...this.byNamespace.values()].every((c) => c.hasSynced());
  }

  get stats(): { lists: number; watches: number; errors: number; stalls: number } {
    const sum = { lists: 0, watches: 0, errors: 0, stalls: 0 };
    for (const c of this.byNamespace.values()) for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += c.stats[k];
    return sum;
  }
}
