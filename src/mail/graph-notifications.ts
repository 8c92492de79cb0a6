// Microsoft Graph change notifications for Exchange Online mailboxes: Graph posts to the operator's
// notification endpoint (connect/notification-endpoint.ts) when a message is created in a
// mailbox's Inbox, and the mailbox syncs within a second instead of at its next poll. As with EWS,
// a notification is only a wake-up: the delta query stays the source of truth, so a lost, late,
// repeated or forged notification costs at most one extra cycle, and the safety resync catches
// what no notification announced. Notification contents are never used.
//
// Per mailbox, one subscription (Microsoft Graph "Set up notifications for changes in resource
// data", "Reduce missing subscriptions and change notifications"):
//   - created with changeType "created" on users/{id}/mailFolders('Inbox')/messages, our public
//     notification URL for both notifications and lifecycle notifications, and a clientState of
//     32 random bytes that every notification must carry (compared in constant time);
//   - Graph validates the URL while creating it (it posts a validationToken the endpoint echoes);
//     when it cannot, creation fails and the mailbox is polled, with the reason in its status,
//     and creation is tried again later;
//   - renewed before it expires (3 days by default), each at a random point of the second half of
//     its life, so 10,000 subscriptions made together are not all renewed in the same minute;
//   - lifecycle notifications: reauthorizationRequired → reauthorize (a renewal where that is
//     refused); subscriptionRemoved → subscribe again and sync; missed → sync.
// The same holds for the other resources a mailbox may be watched on (a GraphNotificationTarget:
// calendar events, contacts, To Do tasks for appointments, contacts and tasks), one subscription
// each, keyed by mailbox and resource, each waking its own listener.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { fetch } from 'undici';
import { backoffDelay } from '../util/backoff.js';
import { Semaphore } from '../util/semaphore.js';
import { protocolCode } from '../util/redact.js';
import { deadlineSignal, httpDispatcher, sameOrigin } from '../net/http.js';
import type { TokenProvider } from './types.js';

/** One application (tenant, client) at one Graph URL: whose token creates the subscriptions. */
export interface GraphApp {
  /** The Graph base URL, e.g. https://graph.microsoft.com/v1.0. */
  baseUrl: string;
  ca?: string;
  timeoutMs?: number;
  tokens: TokenProvider & { invalidate?: () => void };
}

/**
 * What one subscription watches under users/{id}/: the Inbox's new messages (mail, the default), or
 * calendar events, contacts, a To Do list's tasks (appointments, contacts and tasks: connect/act-notifications.ts).
 */
export interface GraphNotificationTarget {
  /** The resource under users/{id}/, e.g. `events`. */
  resource: string;
  changeType: string;
  /** What a notification announces, in status messages ("mail", "a changed appointment"). */
  what: string;
  /** Graph's longest subscription for this resource, when shorter than lifetimeMs (To Do tasks: 4,230 minutes). */
  maxLifetimeMs?: number;
}

/** Mail: messages created in the Inbox. */
export const INBOX_TARGET: GraphNotificationTarget = { resource: "mailFolders('Inbox')/messages", changeType: 'created', what: 'mail' };

export type GraphPushStatus = { active: boolean; message: string; fallback?: boolean };

export interface GraphNotificationListener {
  /** Mail may have arrived, or notifications were missed: time for a delta query. */
  wake(): void;
  status(s: GraphPushStatus): void;
}

/** One notification or lifecycle notification as Graph posts it (the fields read here). */
export interface GraphNotification {
  subscriptionId?: unknown;
  clientState?: unknown;
  changeType?: unknown;
  lifecycleEvent?: unknown;
}

export interface GraphNotificationOptions {
  /** The public HTTPS URL Graph posts to (the operator's notification endpoint behind an Ingress or Gateway). */
  notificationUrl?: string;
  /** Lifetime asked for each subscription (Graph allows just under 7 days for messages). */
  lifetimeMs?: number;
  /** First wait before subscribing again after a failure; it doubles up to retryMaxMs. */
  retryMs?: number;
  retryMaxMs?: number;
  /** Subscription requests in flight per application. */
  concurrency?: number;
  debug?: (message: string, fields?: Record<string, unknown>) => void;
}

interface Member {
  mailbox: string;
  app: GraphApp;
  target: GraphNotificationTarget;
  listener: GraphNotificationListener;
  clientState: string;
  subscriptionId?: string;
  expiresAt?: number;
  timer?: NodeJS.Timeout;
  failures: number;
  closed: boolean;
}

const DAY = 24 * 3_600_000;

/** What Graph answered when it was not 2xx: its status and error code (never its free text). */
class GraphCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    what: string,
  ) {
    super(`${what}: HTTP ${status}${code ? ` ${code}` : ''}`);
  }
}

export class GraphNotifications {
  private readonly bySubscription = new Map<string, Member>();
  private readonly byMailbox = new Map<string, Member>();
  private readonly limits = new Map<string, Semaphore>();
  /** Notifications accepted, refused for a wrong clientState, and for unknown subscriptions (metrics, tests). */
  readonly stats = { notified: 0, badClientState: 0, unknown: 0, lifecycle: 0 };

  constructor(private readonly opts: GraphNotificationOptions = {}) {}

  /** True when a public notification URL is configured. */
  get enabled(): boolean {
    return !!this.opts.notificationUrl;
  }

  /** Subscribes to one resource of a mailbox (its Inbox's new mail by default); close() deletes the subscription. */
  watch(
    app: GraphApp,
    mailbox: string,
    listener: GraphNotificationListener,
    target: GraphNotificationTarget = INBOX_TARGET,
  ): { close(): Promise<void> } {
    const key = `${app.baseUrl} ${mailbox.toLowerCase()} ${target.resource}`;
    const previous = this.byMailbox.get(key);
    if (previous) void this.remove(key, previous);
    const member: Member = {
      mailbox,
      app,
      target,
      listener,
      clientState: randomBytes(32).toString('base64url'),
      failures: 0,
      closed: false,
    };
    this.byMailbox.set(key, member);
    if (!this.opts.notificationUrl) {
      listener.status({
        active: false,
        message:
          'Microsoft Graph change notifications are off: the operator has no public notification URL (flag --graph-notification-url, chart value notifications.graph.url); polled between minPollingInterval and maxPollingInterval',
      });
    } else {
      void this.subscribe(member);
    }
    return { close: () => this.remove(key, member) };
  }

  /**
   * Handles the `value` entries of one POST to the notification URL. Returns the entries whose
   * subscription this process does not know (another worker's, or an old one), for forwarding.
   */
  receive(items: GraphNotification[]): GraphNotification[] {
    const unknown: GraphNotification[] = [];
    for (const n of items) {
      const id = typeof n.subscriptionId === 'string' ? n.subscriptionId : '';
      const m = this.bySubscription.get(id);
      if (!m) {
        this.stats.unknown++;
        unknown.push(n);
        continue;
      }
      if (!sameSecret(n.clientState, m.clientState)) {
        // Not from Graph (or not for us): never acted on.
        this.stats.badClientState++;
        this.debug(m, 'a notification with a wrong clientState was ignored');
        continue;
      }
      if (typeof n.lifecycleEvent === 'string') {
        this.stats.lifecycle++;
        this.lifecycle(m, n.lifecycleEvent);
      } else {
        this.stats.notified++;
        m.listener.wake();
      }
    }
    return unknown;
  }

  private lifecycle(m: Member, event: string): void {
    this.debug(m, `lifecycle notification ${protocolCode(event) ?? 'unknown'}`);
    switch (event) {
      case 'missed':
        m.listener.wake();
        return;
      case 'subscriptionRemoved':
        // Notifications may have been lost before and after: subscribe again, and sync.
        this.forget(m);
        m.listener.wake();
        void this.subscribe(m);
        return;
      case 'reauthorizationRequired':
        void this.reauthorize(m);
        return;
    }
  }

  // --- Subscriptions.

  private async subscribe(m: Member): Promise<void> {
    if (m.closed) return;
    const url = this.opts.notificationUrl!;
    const lifetime = this.lifetime(m);
    try {
      const created = (await this.call(m.app, 'POST', '/subscriptions', 'creating a subscription', {
        changeType: m.target.changeType,
        notificationUrl: url,
        lifecycleNotificationUrl: url,
        resource: `users/${encodeURIComponent(m.mailbox)}/${m.target.resource}`,
        expirationDateTime: new Date(Date.now() + lifetime).toISOString(),
        clientState: m.clientState,
        latestSupportedTlsVersion: 'v1_2',
      })) as { id?: unknown; expirationDateTime?: unknown };
      if (typeof created.id !== 'string') throw new GraphCallError(0, 'NoSubscriptionId', 'creating a subscription');
      if (m.closed) {
        await this.call(m.app, 'DELETE', `/subscriptions/${encodeURIComponent(created.id)}`, 'deleting a subscription').catch(
          () => undefined,
        );
        return;
      }
      m.subscriptionId = created.id;
      m.expiresAt = Date.parse(String(created.expirationDateTime)) || Date.now() + lifetime;
      m.failures = 0;
      this.bySubscription.set(created.id, m);
      m.listener.status({
        active: true,
        message: `Microsoft Graph change notifications to ${safeOrigin(url)}: ${m.target.what} wakes the mailbox within seconds (subscription renewed before it expires)`,
      });
      this.scheduleRenewal(m);
    } catch (err) {
      if (m.closed) return;
      m.failures++;
      const validation = err instanceof GraphCallError && err.status === 400 && /validat/i.test(err.code ?? '');
      const why = validation
        ? `Microsoft Graph could not validate the notification URL ${safeOrigin(url)} (${describe(err)}): it must reach the operator's notification endpoint over HTTPS (see the Ingress or Gateway for the notifications Service)`
        : `creating the subscription failed (${describe(err)})`;
      m.listener.status({
        active: false,
        fallback: true,
        message: `${why}; the mailbox is polled meanwhile and the subscription is tried again later`,
      });
      this.retryLater(m, () => this.subscribe(m));
    }
  }

  /** Renews at a random point of the second half of the subscription's life. */
  private scheduleRenewal(m: Member): void {
    if (m.timer) clearTimeout(m.timer);
    const left = Math.max(0, (m.expiresAt ?? Date.now()) - Date.now());
    const wait = Math.floor(left / 2 + Math.random() * (left / 4));
    m.timer = setTimeout(() => void this.renew(m), wait);
    m.timer.unref();
  }

  private async renew(m: Member): Promise<void> {
    if (m.closed || !m.subscriptionId) return;
    const lifetime = this.lifetime(m);
    try {
      const renewed = (await this.call(
        m.app,
        'PATCH',
        `/subscriptions/${encodeURIComponent(m.subscriptionId)}`,
        'renewing a subscription',
        {
          expirationDateTime: new Date(Date.now() + lifetime).toISOString(),
        },
      )) as { expirationDateTime?: unknown };
      m.expiresAt = Date.parse(String(renewed.expirationDateTime)) || Date.now() + lifetime;
      this.scheduleRenewal(m);
    } catch (err) {
      if (m.closed) return;
      if (err instanceof GraphCallError && err.status === 404) {
        // Gone (expired, or removed by Graph): make a new one and sync what it may have missed.
        this.forget(m);
        m.listener.wake();
        return void this.subscribe(m);
      }
      this.debug(m, `renewal failed (${describe(err)}); retried`);
      this.retryLater(m, () => this.renew(m));
    }
  }

  private async reauthorize(m: Member): Promise<void> {
    if (m.closed || !m.subscriptionId) return;
    try {
      await this.call(m.app, 'POST', `/subscriptions/${encodeURIComponent(m.subscriptionId)}/reauthorize`, 'reauthorizing a subscription');
    } catch (err) {
      if (m.closed) return;
      this.debug(m, `reauthorization failed (${describe(err)}); renewing instead`);
      // A renewal also reauthorizes; a subscription that is gone is made again.
      return this.renew(m);
    }
  }

  /** The lifetime asked for: ours (3 days by default), within what Graph allows for the resource. */
  private lifetime(m: Member): number {
    return Math.min(this.opts.lifetimeMs ?? 3 * DAY, m.target.maxLifetimeMs ?? Infinity);
  }

  private retryLater(m: Member, again: () => Promise<void>): void {
    if (m.timer) clearTimeout(m.timer);
    const wait = backoffDelay(Math.max(1, m.failures), {
      baseMs: this.opts.retryMs ?? 5 * 60_000,
      maxMs: this.opts.retryMaxMs ?? 3_600_000,
      jitter: 0.2,
    });
    m.timer = setTimeout(() => void again(), wait);
    m.timer.unref();
  }

  private forget(m: Member): void {
    if (m.subscriptionId) this.bySubscription.delete(m.subscriptionId);
    m.subscriptionId = undefined;
  }

  private async remove(key: string, m: Member): Promise<void> {
    if (m.closed) return;
    m.closed = true;
    if (m.timer) clearTimeout(m.timer);
    if (this.byMailbox.get(key) === m) this.byMailbox.delete(key);
    const id = m.subscriptionId;
    this.forget(m);
    // Not awaited: a stopping process does not wait for these; Graph drops what is not renewed.
    if (id) void this.call(m.app, 'DELETE', `/subscriptions/${encodeURIComponent(id)}`, 'deleting a subscription').catch(() => undefined);
  }

  // --- HTTP.

  private async call(app: GraphApp, method: 'POST' | 'PATCH' | 'DELETE', path: string, what: string, body?: unknown): Promise<unknown> {
    const base = app.baseUrl.replace(/\/+$/, '');
    let limit = this.limits.get(base);
    if (!limit) this.limits.set(base, (limit = new Semaphore(this.opts.concurrency ?? 4)));
    return limit.run(async () => {
      for (let attempt = 0; ; attempt++) {
        const url = `${base}${path}`;
        if (!sameOrigin(url, base)) throw new GraphCallError(0, 'OtherOrigin', what);
        const response = await fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${await app.tokens.getToken()}`,
            accept: 'application/json',
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          body: body !== undefined ? JSON.stringify(body) : undefined,
          dispatcher: httpDispatcher(app.ca),
          // Creation waits for Graph's validation request to our endpoint (up to 10 s).
          signal: deadlineSignal(Math.max(app.timeoutMs ?? 30_000, 15_000)),
        });
        if (response.ok) return response.status === 204 ? {} : await response.json().catch(() => ({}));
        const error = (await response.json().catch(() => undefined)) as { error?: { code?: unknown } } | undefined;
        if (response.status === 401 && attempt === 0 && app.tokens.invalidate) {
          app.tokens.invalidate();
          continue;
        }
        throw new GraphCallError(response.status, typeof error?.error?.code === 'string' ? error.error.code : undefined, what);
      }
    });
  }

  private debug(m: Member, message: string): void {
    this.opts.debug?.(`Graph notifications ${m.mailbox} (${m.target.resource}): ${message}`);
  }
}

/** Constant-time comparison of a notification's clientState with ours. */
function sameSecret(got: unknown, want: string): boolean {
  if (typeof got !== 'string') return false;
  const a = Buffer.from(got);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

function safeOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return 'the configured URL';
  }
}

/** Our words: HTTP status and Graph's error code, checked to be a code; a network failure otherwise. */
function describe(err: unknown): string {
  if (err instanceof GraphCallError) {
    const code = protocolCode(err.code);
    return err.status ? `HTTP ${err.status}${code ? ` ${code}` : ''}` : (code ?? 'no answer');
  }
  return 'no connection to Microsoft Graph';
}
