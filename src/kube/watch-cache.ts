// A list+watch cache of one resource type. client-node's informer stops on most errors and has
// no resync; this one never gives up: every error restarts the watch with backoff, a 410 Gone
// (or an expired resourceVersion) triggers a full re-list, the list is repeated periodically, and
// a watch that delivers nothing (not even a bookmark) for too long is treated as stalled.

import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../log/logger.js';
import type { KubeClients } from './client.js';
import { describeError, isGone, statusCode } from './errors.js';
import { rawRequest } from './raw.js';
import { backoffDelay } from '../util/backoff.js';

export interface ResourceType {
  apiVersion: string;
  kind: string;
  plural: string;
}

export interface CacheHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(obj: T, old: T): void;
  onDelete?(obj: T): void;
  /** After every (re-)list, with all objects: a chance to re-enqueue everything. */
  onResync?(objs: T[]): void;
}

export interface WatchCacheOptions {
  /** Restrict to one namespace; all namespaces when empty. */
  namespace?: string;
  /** Full re-list interval. */
  resyncMs?: number;
  /** Server-side watch timeout; the watch is renewed from the last resourceVersion afterwards. */
  watchTimeoutSeconds?: number;
  /** No event or bookmark for this long means the watch is stalled and is restarted. */
  stallMs?: number;
  /** Objects per list request (the list is paged with continue tokens). */
  pageSize?: number;
  logger: Logger;
}

export const keyOf = (o: KubernetesObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export class WatchCache<T extends KubernetesObject> {
  private readonly store = new Map<string, T>();
  private readonly handlers: CacheHandlers<T>[] = [];
  private resourceVersion = '';
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private stopped = false;
  private abort?: AbortController;
  private failures = 0;
  private lastList = 0;
  private wake?: () => void;
  /** Counters for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, errors: 0, stalls: 0 };

  constructor(
    private readonly clients: KubeClients,
    readonly type: ResourceType,
    private readonly opts: WatchCacheOptions,
  ) {}

  addHandlers(h: CacheHandlers<T>): void {
    this.handlers.push(h);
  }

  get(namespace: string, name: string): T | undefined {
    return this.store.get(`${namespace}/${name}`);
  }

  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  private started = false;

  private loop?: Promise<void>;

  /** Starts listing and watching; a second call does nothing. A stopped cache can start again. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Stops watching; the returned promise settles when the watch loop has ended. */
  stop(): Promise<void> {
    this.stopped = true;
    this.started = false;
    this.abort?.abort();
    this.wake?.();
    return this.loop ?? Promise.resolve();
  }

  private path(): string {
    const [group, version] = this.type.apiVersion.includes('/') ? this.type.apiVersion.split('/') : ['', this.type.apiVersion];
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const ns = this.opts.namespace ? `/namespaces/${this.opts.namespace}` : '';
    return `${base}${ns}/${this.type.plural}`;
  }

  private async run(): Promise<void> {
    const resyncMs = this.opts.resyncMs ?? 10 * 60_000;
    // A restarted cache resumes its watch from the last resourceVersion; a 410 then forces the list.
    let needList = !this.synced;
    while (!this.stopped) {
      try {
        if (needList || Date.now() - this.lastList >= resyncMs) {
          await this.relist();
          needList = false;
        }
        const outcome = await this.watchOnce(resyncMs);
        if (outcome === 'gone') needList = true;
        this.failures = 0;
      } catch (err) {
        if (this.stopped) return;
        this.stats.errors++;
        this.failures++;
        if (isGone(err)) needList = true;
        const delay = backoffDelay(this.failures, { baseMs: 500, maxMs: 30_000, jitter: 0.2 });
        this.opts.logger.warn(
          { resource: this.type.plural, status: statusCode(err), retryInMs: delay },
          `watch of ${this.type.plural} failed: ${describeError(err)}`,
        );
        await this.sleep(delay);
        // After an error we cannot know what was missed unless the watch resumes cleanly;
        // a resume from the last resourceVersion does that, and a 410 forces the re-list.
      }
    }
  }

  private async relist(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    // A plain JSON list: client-node's generic list() drops the continue token of custom
    // resources (so paging stopped after the first page) and reshapes objects through its models.
    do {
      const query = new URLSearchParams({ limit: String(this.opts.pageSize ?? 500), ...(cont ? { continue: cont } : {}) });
      const res = await rawRequest<{ items: T[]; metadata?: { continue?: string; resourceVersion?: string } }>(
        this.clients.kc,
        'GET',
        `${this.path()}?${query}`,
      );
      items.push(...res.items.map((i) => ({ ...i, apiVersion: this.type.apiVersion, kind: this.type.kind })));
      cont = res.metadata?.continue || undefined;
      rv = res.metadata?.resourceVersion ?? rv;
    } while (cont);
    this.stats.lists++;
    this.lastList = Date.now();
    const seen = new Set<string>();
    for (const obj of items) {
      const key = keyOf(obj);
      seen.add(key);
      this.apply('ADDED', obj);
    }
    for (const [key, old] of [...this.store]) {
      if (!seen.has(key)) this.apply('DELETED', old);
    }
    this.resourceVersion = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
    for (const h of this.handlers) h.onResync?.([...this.store.values()]);
  }

  /** One watch request; resolves when it ends normally, 'gone' when a re-list is needed. */
  private watchOnce(resyncMs: number): Promise<'closed' | 'gone'> {
    return new Promise((resolve, reject) => {
      this.stats.watches++;
      let gone = false;
      const stallMs = this.opts.stallMs ?? 90_000;
      let stallTimer: NodeJS.Timeout | undefined;
      const armStall = () => {
        if (stallTimer) clearTimeout(stallTimer);
        stallTimer = setTimeout(() => {
          this.stats.stalls++;
          this.opts.logger.warn({ resource: this.type.plural }, `watch of ${this.type.plural} stalled; restarting`);
          this.abort?.abort();
        }, stallMs);
        stallTimer.unref();
      };
      // Keep the watch no longer than the next periodic re-list is due.
      const untilResync = Math.max(5, Math.floor((resyncMs - (Date.now() - this.lastList)) / 1000));
      const timeoutSeconds = Math.min(this.opts.watchTimeoutSeconds ?? 60, untilResync);
      // client-node's own inactivity timer must not fire before ours.
      (this.clients.watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = stallMs + 10_000;
      armStall();
      this.clients.watch
        .watch(
          this.path(),
          { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
          (phase, obj) => {
            armStall();
            if (phase === 'ERROR') {
              const code = (obj as { code?: number })?.code;
              if (code === 410) gone = true;
              this.abort?.abort();
              return;
            }
            const rv = (obj as KubernetesObject)?.metadata?.resourceVersion;
            if (rv) this.resourceVersion = rv;
            if (phase === 'BOOKMARK') return;
            this.apply(phase, { ...(obj as T), apiVersion: this.type.apiVersion, kind: this.type.kind });
          },
          (err) => {
            if (stallTimer) clearTimeout(stallTimer);
            if (gone) return resolve('gone');
            if (err && !this.stopped && (err as Error).name !== 'AbortError') return reject(err);
            resolve('closed');
          },
        )
        .then((ac) => {
          this.abort = ac;
          if (this.stopped) ac.abort();
        })
        .catch((err) => {
          if (stallTimer) clearTimeout(stallTimer);
          reject(err);
        });
    });
  }

  private apply(phase: string, obj: T): void {
    // Nothing here reads managedFields, and they are a good part of every object (one entry per
    // field manager: kubectl, the controllers, the worker): at 10,000 mailboxes, megabytes.
    if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
    const key = keyOf(obj);
    const old = this.store.get(key);
    if (phase === 'DELETED') {
      if (!old) return;
      this.store.delete(key);
      for (const h of this.handlers) h.onDelete?.(obj);
      return;
    }
    if (old && old.metadata?.resourceVersion === obj.metadata?.resourceVersion) return;
    this.store.set(key, obj);
    for (const h of this.handlers) {
      if (old) h.onUpdate?.(obj, old);
      else h.onAdd?.(obj);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref();
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
