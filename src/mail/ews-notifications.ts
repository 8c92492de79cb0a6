// EWS notifications: Exchange tells us when mail arrives, so a mailbox is synced within a second
// instead of at its next poll. Notifications only wake a mailbox; SyncFolderItems stays the source
// of truth (what it returns since the stored SyncState is what gets delivered), so a notification
// that is lost, late, repeated or forged costs at most one extra cycle, never a message. The
// safety resync catches what no notification announced.
//
// Streaming notifications (Exchange 2010 SP1 and later), grouped as Microsoft documents it for an
// application that serves many mailboxes ("Maintain affinity between a group of subscriptions and
// the Mailbox server", "Handling notification-related errors"):
//   - the mailboxes that share one account (a service account with ApplicationImpersonation, or an
//     app token) and one EWS URL form a hub; it splits them into groups of at most 200, the most
//     subscriptions one GetStreamingEvents connection may carry;
//   - each mailbox is subscribed (Subscribe, StreamingSubscriptionRequest, Inbox, as the mailbox)
//     with the group's anchor mailbox in X-AnchorMailbox and X-PreferServerAffinity, and the
//     group's one connection (GetStreamingEvents as the anchor, with the X-BackEndOverrideCookie
//     from the subscribes) carries all of their subscriptions;
//   - the connection ends after ConnectionTimeout minutes (at most 30) with ConnectionStatus Closed
//     and is reopened at once; subscriptions the server no longer knows (expired, mailbox moved)
//     are subscribed again and their mailboxes woken, since events may have been lost meanwhile.
// Where the server refuses streaming subscriptions, pull subscriptions are used: GetEvents every
// few seconds per mailbox from the last watermark, and a subscription that expired is renewed
// from that watermark, so Exchange replays what happened in between.
//
// A mailbox may have a second subscription on other folders (an EwsNotificationTarget: the
// calendar, contacts and tasks for appointments, contacts and tasks), in the same groups, waking
// its own listener.
//
// Failing notifications never fail a mailbox: it is polled meanwhile (the sync loop's cadence),
// its status says why, and the subscription is tried again later. The SOAP is written here by
// hand (ews-javascript-api cannot stream through our per-adapter transport), with every value
// XML-escaped.

import { createHash } from 'node:crypto';
import { Client, request, type Dispatcher } from 'undici';
import { backoffDelay } from '../util/backoff.js';
import { Semaphore } from '../util/semaphore.js';
import { sleep } from './deadline.js';
import { ntlmMessages, splitNtlmUser } from './ews-ntlm.js';
import { xmlText } from './ews-serialization.js';
import { httpDispatcher, tlsConnectOptions } from '../net/http.js';
import type { Credentials, TokenProvider } from './types.js';

const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  messages: 'http://schemas.microsoft.com/exchange/services/2006/messages',
  types: 'http://schemas.microsoft.com/exchange/services/2006/types',
};

/** Exchange's limit of subscriptions on one GetStreamingEvents connection. */
export const MAX_GROUP = 200;
/** Failed connections in a row after which a group's mailboxes show that they are polled. */
const STATUS_AFTER_FAILURES = 3;
/** Events that may mean new mail in the Inbox. */
const MAIL_EVENTS = ['NewMailEvent', 'CreatedEvent', 'MovedEvent', 'CopiedEvent'];
/** Codes that say the server no longer knows a subscription: subscribe again. */
const GONE = new Set([
  'ErrorSubscriptionNotFound',
  'ErrorInvalidSubscription',
  'ErrorExpiredSubscription',
  'ErrorSubscriptionAccessDenied',
  'ErrorSubscriptionDelegateAccessNotSupported',
]);
/** Codes that say the server does not do streaming subscriptions: use pull subscriptions. */
const NO_STREAMING = new Set([
  'ErrorInvalidSubscriptionRequest',
  'ErrorInvalidServerVersion',
  'ErrorSchemaValidation',
  'ErrorInvalidRequest',
]);

/** One account at one EWS URL: what the mailboxes of a hub share. */
export interface EwsNotificationAccount {
  /** The EWS URL (https://.../EWS/Exchange.asmx). */
  url: string;
  ca?: string;
  timeoutMs: number;
  credentials: Credentials;
  /** Password credentials authenticate with NTLM instead of Basic. */
  ntlm: boolean;
  /** Act as each mailbox (ApplicationImpersonation or an app token); otherwise delegate access. */
  impersonate: boolean;
  /** RequestServerVersion as the server's version asks (EwsAdapter detects it); Exchange2010_SP1, the first with streaming, until known. */
  version?: () => string | undefined;
}

/**
 * What one subscription watches: the Inbox's new mail (the default), or other folders of the
 * mailbox (appointments, contacts and tasks: connect/act-notifications.ts). A mailbox may have one
 * subscription per target; each wakes only its own listener.
 */
export interface EwsNotificationTarget {
  /** Tells the subscriptions of one mailbox apart. */
  key: string;
  /** Distinguished folder ids (inbox, calendar, contacts, tasks). */
  folders: string[];
  /** The event types subscribed to, and those that wake the listener. */
  events: string[];
  /** What a notification announces, in status messages ("mail", "a changed appointment"). */
  what: string;
}

/** Mail: events that may mean new mail in the Inbox. */
export const INBOX_TARGET: EwsNotificationTarget = { key: 'inbox', folders: ['inbox'], events: MAIL_EVENTS, what: 'mail' };

export type EwsPushStatus = { mode: 'streaming' | 'pull' | 'unavailable'; message: string };

export interface EwsNotificationListener {
  /** Mail may have arrived, or an event may have been lost: time for SyncFolderItems. */
  wake(): void;
  /** How (or why not) this mailbox is notified now. */
  status(s: EwsPushStatus): void;
}

export interface EwsNotificationOptions {
  /** Subscriptions per streaming connection (at most 200). */
  groupSize?: number;
  /** GetStreamingEvents ConnectionTimeout, in minutes (1 to 30). */
  connectionMinutes?: number;
  /** How often a pull subscription asks for events. */
  pullIntervalMs?: number;
  /** Pull subscriptions expire after this many minutes without GetEvents (1 to 1440). */
  pullTimeoutMinutes?: number;
  /** First wait before subscribing again after a failure; it doubles up to retryMaxMs. */
  retryMs?: number;
  retryMaxMs?: number;
  /** Subscribe calls in flight per hub (Exchange's EWSMaxConcurrency is 10 per account by default). */
  subscribeConcurrency?: number;
  /** Membership changes within this window restart a group's connection once. */
  settleMs?: number;
  /** Protocol detail for the debug log (never credentials). */
  debug?: (message: string, fields?: Record<string, unknown>) => void;
}

interface Member {
  mailbox: string;
  target: EwsNotificationTarget;
  listener: EwsNotificationListener;
  subscriptionId?: string;
  watermark?: string;
  group?: Group;
  closed: boolean;
  failures: number;
  retry?: NodeJS.Timeout;
  /** Pull mode: the GetEvents loop. */
  pulling?: Promise<void>;
  /** Woken once its subscription is on a connection (it was re-made after a possible gap). */
  wakeWhenConnected?: boolean;
}

interface Group {
  anchor: string;
  members: Set<Member>;
  cookie?: string;
  abort?: AbortController;
  loop?: Promise<void>;
  restart?: NodeJS.Timeout;
  closed: boolean;
  /** Resolves the wait of a loop with nothing to carry. */
  nudge?: () => void;
}

/** A SOAP answer: status, headers and the text read so far (or a chunk stream). */
interface SoapResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Buffer>;
  close(): Promise<void>;
}

class EwsNotificationHub {
  private readonly members = new Map<string, Member>();
  private readonly groups: Group[] = [];
  private mode: 'streaming' | 'pull' = 'streaming';
  private readonly subscribing: Semaphore;
  private readonly host: string;

  constructor(
    private readonly account: EwsNotificationAccount,
    private readonly opts: EwsNotificationOptions,
    private readonly onEmpty: () => void,
  ) {
    this.subscribing = new Semaphore(opts.subscribeConcurrency ?? 4);
    this.host = safeHost(account.url);
  }

  add(mailbox: string, listener: EwsNotificationListener, target: EwsNotificationTarget): { close(): Promise<void> } {
    const key = `${mailbox.toLowerCase()} ${target.key}`;
    const member: Member = { mailbox, target, listener, closed: false, failures: 0 };
    // A second watch of the same mailbox (a restarted syncer) replaces the first.
    const previous = this.members.get(key);
    if (previous) void this.remove(key, previous);
    this.members.set(key, member);
    void this.subscribe(member);
    return { close: () => this.remove(key, member) };
  }

  private async remove(key: string, member: Member): Promise<void> {
    if (member.closed) return;
    member.closed = true;
    if (member.retry) clearTimeout(member.retry);
    if (this.members.get(key) === member) this.members.delete(key);
    const g = member.group;
    if (g) this.leave(g, member);
    const id = member.subscriptionId;
    member.subscriptionId = undefined;
    // Not awaited: a stopping process must not wait for thousands of these, and a subscription
    // nobody unsubscribes expires by itself (30 minutes without a connection, or its pull timeout).
    if (id) void this.subscribing.run(() => this.unsubscribe(member.mailbox, id)).catch(() => undefined);
    await member.pulling?.catch(() => undefined);
    if (!this.members.size) this.onEmpty();
  }

  // --- Streaming groups.

  private groupFor(member: Member): Group {
    const size = Math.min(MAX_GROUP, Math.max(1, this.opts.groupSize ?? MAX_GROUP));
    let g = this.groups.find((x) => !x.closed && x.members.size < size);
    if (!g) {
      g = { anchor: member.mailbox, members: new Set(), closed: false };
      this.groups.push(g);
    }
    g.members.add(member);
    member.group = g;
    return g;
  }

  private leave(g: Group, member: Member): void {
    g.members.delete(member);
    member.group = undefined;
    if (!g.members.size) {
      g.closed = true;
      g.abort?.abort();
      g.nudge?.();
      if (g.restart) clearTimeout(g.restart);
      this.groups.splice(this.groups.indexOf(g), 1);
      return;
    }
    // The anchor is impersonated to open the connection: it must be a mailbox we still serve.
    if (g.anchor.toLowerCase() === member.mailbox.toLowerCase()) g.anchor = [...g.members][0].mailbox;
    this.restartSoon(g);
  }

  /** Reopens the group's connection with its current subscriptions, once per burst of changes. */
  private restartSoon(g: Group): void {
    if (g.closed || g.restart) return;
    g.restart = setTimeout(() => {
      g.restart = undefined;
      if (!g.loop) g.loop = this.run(g).finally(() => (g.loop = undefined));
      else {
        g.abort?.abort();
        g.nudge?.();
      }
    }, this.opts.settleMs ?? 500);
    g.restart.unref();
  }

  private async run(g: Group): Promise<void> {
    let failures = 0;
    while (!g.closed) {
      const ids = [...g.members].filter((m) => m.subscriptionId);
      if (!ids.length) {
        await new Promise<void>((resolve) => (g.nudge = resolve));
        g.nudge = undefined;
        continue;
      }
      const abort = new AbortController();
      g.abort = abort;
      try {
        await this.streamOnce(g, ids, abort.signal, () => {
          if (failures >= STATUS_AFTER_FAILURES)
            for (const m of g.members) if (m.subscriptionId) m.listener.status(this.streamingStatus(m));
          failures = 0;
        });
      } catch (err) {
        if (g.closed) return;
        if (abort.signal.aborted) continue; // a restart: membership changed
        failures++;
        this.debug(`streaming connection of the group anchored at ${g.anchor} failed; reconnecting`, { error: describe(err), failures });
        // Whatever was on the wire when it broke may be lost: every mailbox of the group syncs.
        for (const m of g.members) m.listener.wake();
        if (failures === STATUS_AFTER_FAILURES) {
          const message = `EWS streaming notifications from ${this.host} keep failing (${describe(err)}); the mailbox is polled meanwhile and the connection is tried again`;
          for (const m of g.members) m.listener.status({ mode: 'unavailable', message });
        }
        await sleep(backoffDelay(failures, { baseMs: 1000, maxMs: 60_000, jitter: 0.2 }));
      }
    }
  }

  /** One GetStreamingEvents connection, until the server closes it (or it fails, or is aborted). */
  private streamingStatus(m: Member): EwsPushStatus {
    return {
      mode: 'streaming',
      message: `EWS streaming notifications from ${this.host}: ${m.target.what} wakes the mailbox within about a second (subscriptions of this account share connections, up to ${MAX_GROUP} each)`,
    };
  }

  private async streamOnce(g: Group, members: Member[], signal: AbortSignal, onOpen: () => void): Promise<void> {
    const byId = new Map(members.map((m) => [m.subscriptionId!, m]));
    const minutes = Math.min(30, Math.max(1, this.opts.connectionMinutes ?? 30));
    const body = envelope(
      this.impersonation(g.anchor),
      `<m:GetStreamingEvents><m:SubscriptionIds>${[...byId.keys()].map((id) => `<t:SubscriptionId>${xmlText(id)}</t:SubscriptionId>`).join('')}</m:SubscriptionIds><m:ConnectionTimeout>${minutes}</m:ConnectionTimeout></m:GetStreamingEvents>`,
    );
    const headers: Record<string, string> = {
      'x-anchormailbox': g.anchor,
      'x-preferserveraffinity': 'true',
      ...(g.cookie ? { cookie: g.cookie } : {}),
    };
    // Nothing at all (not even the server's keep-alive status) for longer than a connection lasts: it is dead.
    const silence = (minutes + 1) * 60_000;
    const watchdog = new AbortController();
    const both = AbortSignal.any([signal, watchdog.signal]);
    let timer = setTimeout(() => watchdog.abort(new Error('no data on the streaming connection')), silence);
    const res = await this.post(body, headers, both, true);
    try {
      if (res.status !== 200) throw new Error(`GetStreamingEvents: HTTP ${res.status}`);
      this.debug(`streaming connection open for ${byId.size} subscription(s), anchored at ${g.anchor}`);
      let buffer = '';
      let connected = false;
      for await (const chunk of res.body) {
        clearTimeout(timer);
        timer = setTimeout(() => watchdog.abort(new Error('no data on the streaming connection')), silence);
        buffer += chunk.toString('utf8');
        if (buffer.length > 4 * 1024 * 1024) throw new Error('a streaming notification larger than 4 MiB');
        for (;;) {
          const end = /<\/(?:[\w-]+:)?Envelope\s*>/.exec(buffer);
          if (!end) break;
          const doc = buffer.slice(0, end.index + end[0].length);
          buffer = buffer.slice(end.index + end[0].length);
          const outcome = this.onStreamDocument(doc, byId);
          if (!connected && outcome !== 'error') {
            connected = true;
            onOpen();
            for (const m of byId.values()) {
              if (m.wakeWhenConnected) {
                m.wakeWhenConnected = false;
                m.listener.wake();
              }
            }
          }
          if (outcome === 'closed' || outcome === 'error') return;
        }
      }
      if (!signal.aborted) throw new Error('the streaming connection ended without ConnectionStatus Closed');
    } finally {
      clearTimeout(timer);
      await res.close();
    }
  }

  /** Handles one envelope of a stream; 'closed' when the server ends the connection, 'error' when subscriptions were refused. */
  private onStreamDocument(doc: string, byId: Map<string, Member>): 'ok' | 'closed' | 'error' {
    const response = first(doc, 'GetStreamingEventsResponseMessage');
    if (!response) return 'ok';
    if (/ResponseClass="Error"/.test(response.attrs)) {
      const code = tagText(response.inner, 'ResponseCode') ?? 'an error';
      const bad = all(tagInner(response.inner, 'ErrorSubscriptionIds') ?? '', 'SubscriptionId');
      this.debug(`GetStreamingEvents answered ${code}`, { subscriptions: bad.length });
      // The server forgot these (or all of them when it does not say which): subscribe again;
      // events of the gap may be lost, so they sync once they are back on a connection.
      const gone = bad.length ? bad.map((id) => byId.get(id)).filter((m): m is Member => !!m) : [...byId.values()];
      if (!GONE.has(code) && !bad.length) throw new Error(`GetStreamingEvents: ${code}`);
      for (const m of gone) {
        m.subscriptionId = undefined;
        m.wakeWhenConnected = true;
        m.listener.wake();
        void this.subscribe(m);
      }
      return 'error';
    }
    for (const n of all(response.inner, 'Notification', true)) {
      const m = byId.get(tagText(n, 'SubscriptionId') ?? '');
      if (!m) continue;
      const watermark = allText(n, 'Watermark').pop();
      if (watermark) m.watermark = watermark;
      if (announces(n, m.target)) m.listener.wake();
    }
    return tagText(response.inner, 'ConnectionStatus') === 'Closed' ? 'closed' : 'ok';
  }

  // --- Subscriptions.

  private async subscribe(member: Member): Promise<void> {
    if (member.closed) return;
    let result: { id: string; watermark?: string; cookie?: string };
    try {
      result = await this.subscribing.run(() => (this.mode === 'pull' ? this.subscribePull(member) : this.subscribeStreaming(member)));
    } catch (err) {
      if (member.closed) return;
      const code = (err as { code?: string }).code;
      if (this.mode === 'streaming' && code && NO_STREAMING.has(code)) {
        this.debug(`the server refused a streaming subscription (${code}); using pull subscriptions`);
        this.mode = 'pull';
        return this.subscribe(member);
      }
      member.failures++;
      const wait = backoffDelay(member.failures, {
        baseMs: this.opts.retryMs ?? 30_000,
        maxMs: this.opts.retryMaxMs ?? 15 * 60_000,
        jitter: 0.2,
      });
      member.listener.status({
        mode: 'unavailable',
        message: `EWS notifications from ${this.host} could not be set up (${describe(err)}); the mailbox is polled meanwhile and the subscription is tried again in a few minutes`,
      });
      member.retry = setTimeout(() => void this.subscribe(member), wait);
      member.retry.unref();
      return;
    }
    if (member.closed) {
      await this.unsubscribe(member.mailbox, result.id).catch(() => undefined);
      return;
    }
    member.failures = 0;
    member.subscriptionId = result.id;
    if (result.watermark) member.watermark = result.watermark;
    if (this.mode === 'pull') {
      member.listener.status({
        mode: 'pull',
        message: `EWS pull notifications from ${this.host} every ${Math.round(this.pullIntervalMs() / 1000)}s (the server does not offer streaming subscriptions)`,
      });
      if (!member.pulling) {
        const loop: Promise<void> = this.pull(member).finally(() => {
          if (member.pulling === loop) member.pulling = undefined;
        });
        member.pulling = loop;
      }
      return;
    }
    const g = member.group ?? this.groupFor(member);
    if (result.cookie) g.cookie = result.cookie;
    member.listener.status(this.streamingStatus(member));
    this.restartSoon(g);
  }

  private async subscribeStreaming(member: Member): Promise<{ id: string; cookie?: string }> {
    const g = member.group ?? this.groupFor(member);
    const body = envelope(
      this.impersonation(member.mailbox),
      `<m:Subscribe><m:StreamingSubscriptionRequest>${this.folderIds(member)}${eventTypes(member.target)}</m:StreamingSubscriptionRequest></m:Subscribe>`,
    );
    const { doc, headers } = await this.call(body, { 'x-anchormailbox': g.anchor, 'x-preferserveraffinity': 'true' });
    const id = this.expectSuccess(doc, 'SubscribeResponseMessage', 'SubscriptionId');
    return { id, cookie: backendCookie(headers['set-cookie']) };
  }

  private async subscribePull(member: Member, fromWatermark = true): Promise<{ id: string; watermark?: string }> {
    const minutes = Math.min(1440, Math.max(1, this.opts.pullTimeoutMinutes ?? 30));
    const watermark = fromWatermark && member.watermark ? `<t:Watermark>${xmlText(member.watermark)}</t:Watermark>` : '';
    const body = envelope(
      this.impersonation(member.mailbox),
      `<m:Subscribe><m:PullSubscriptionRequest>${this.folderIds(member)}${eventTypes(member.target)}${watermark}<t:Timeout>${minutes}</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>`,
    );
    const { doc } = await this.call(body, { 'x-anchormailbox': member.mailbox });
    try {
      const id = this.expectSuccess(doc, 'SubscribeResponseMessage', 'SubscriptionId');
      return { id, watermark: tagText(doc, 'Watermark') };
    } catch (err) {
      // A watermark too old to replay from: start afresh; the wake covers the gap.
      if ((err as { code?: string }).code === 'ErrorInvalidWatermark' && watermark) {
        member.listener.wake();
        return this.subscribePull(member, false);
      }
      throw err;
    }
  }

  private pullIntervalMs(): number {
    return this.opts.pullIntervalMs ?? 10_000;
  }

  /** Pull mode: GetEvents from the last watermark, every pullIntervalMs, until the member closes. */
  private async pull(member: Member): Promise<void> {
    while (!member.closed && member.subscriptionId) {
      await sleep(this.pullIntervalMs());
      if (member.closed || !member.subscriptionId) return;
      try {
        let more = true;
        while (more && !member.closed) {
          const body = envelope(
            this.impersonation(member.mailbox),
            `<m:GetEvents><m:SubscriptionId>${xmlText(member.subscriptionId)}</m:SubscriptionId><m:Watermark>${xmlText(member.watermark ?? '')}</m:Watermark></m:GetEvents>`,
          );
          const { doc } = await this.call(body, { 'x-anchormailbox': member.mailbox });
          const message = first(doc, 'GetEventsResponseMessage');
          if (!message || /ResponseClass="Error"/.test(message.attrs)) {
            const code = tagText(message?.inner ?? doc, 'ResponseCode') ?? 'an error';
            throw Object.assign(new Error(`GetEvents: ${code}`), { code });
          }
          const watermark = allText(message.inner, 'Watermark').pop();
          if (watermark) member.watermark = watermark;
          if (announces(message.inner, member.target)) member.listener.wake();
          more = tagText(message.inner, 'MoreEvents') === 'true';
        }
      } catch (err) {
        if (member.closed) return;
        const code = (err as { code?: string }).code;
        this.debug(`GetEvents for ${member.mailbox} failed`, { error: describe(err) });
        member.subscriptionId = undefined;
        member.pulling = undefined;
        // An expired pull subscription is renewed from the last watermark: Exchange replays the
        // gap. Any other failure may have lost events: the mailbox syncs as well.
        if (!code || !GONE.has(code)) member.listener.wake();
        return void this.subscribe(member);
      }
    }
  }

  private async unsubscribe(mailbox: string, id: string): Promise<void> {
    const body = envelope(
      this.impersonation(mailbox),
      `<m:Unsubscribe><m:SubscriptionId>${xmlText(id)}</m:SubscriptionId></m:Unsubscribe>`,
    );
    await this.call(body, { 'x-anchormailbox': mailbox });
  }

  // --- SOAP.

  private impersonation(mailbox: string): string {
    const version = `<t:RequestServerVersion Version="${this.account.version?.() ?? 'Exchange2010_SP1'}"/>`;
    return (
      version +
      (this.account.impersonate
        ? `<t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>${xmlText(mailbox)}</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`
        : '')
    );
  }

  /** The member's folders (the Inbox for mail): its own with impersonation, addressed in the mailbox for delegate access. */
  private folderIds(member: Member): string {
    const ids = member.target.folders.map((f) =>
      this.account.impersonate
        ? `<t:DistinguishedFolderId Id="${xmlText(f)}"/>`
        : `<t:DistinguishedFolderId Id="${xmlText(f)}"><t:Mailbox><t:EmailAddress>${xmlText(member.mailbox)}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>`,
    );
    return `<t:FolderIds>${ids.join('')}</t:FolderIds>`;
  }

  private expectSuccess(doc: string, messageName: string, field: string): string {
    const message = first(doc, messageName);
    const code = tagText(message?.inner ?? doc, 'ResponseCode') ?? faultCode(doc) ?? 'no answer';
    const value = message && !/ResponseClass="Error"/.test(message.attrs) ? tagText(message.inner, field) : undefined;
    if (!value) throw Object.assign(new Error(`${messageName.replace('ResponseMessage', '')}: ${code}`), { code });
    return value;
  }

  /** One SOAP request read whole. */
  private async call(body: string, headers: Record<string, string>): Promise<{ doc: string; headers: SoapResponse['headers'] }> {
    const res = await this.post(body, headers, AbortSignal.timeout(this.account.timeoutMs), false);
    try {
      let doc = '';
      for await (const chunk of res.body) {
        doc += chunk.toString('utf8');
        if (doc.length > 1024 * 1024) throw new Error('an EWS answer larger than 1 MiB');
      }
      if (res.status === 401 || res.status === 403)
        throw Object.assign(new Error(`HTTP ${res.status}: the account was refused`), { code: `HTTP${res.status}` });
      if (res.status !== 200 && res.status !== 500) throw Object.assign(new Error(`HTTP ${res.status}`), { code: `HTTP${res.status}` });
      return { doc, headers: res.headers };
    } finally {
      await res.close();
    }
  }

  private async post(body: string, extra: Record<string, string>, signal: AbortSignal, streaming: boolean): Promise<SoapResponse> {
    const headers: Record<string, string> = { 'content-type': 'text/xml; charset=utf-8', accept: 'text/xml', ...extra };
    const c = this.account.credentials;
    if (c.kind === 'oauth2') headers.authorization = `Bearer ${await (c.token as TokenProvider).getToken()}`;
    else if (c.kind === 'password' && !this.account.ntlm)
      headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
    // Streams last up to 30 minutes: the watchdog, not undici's body timeout, decides they are dead.
    const timeouts = streaming ? { bodyTimeout: 0, headersTimeout: this.account.timeoutMs } : {};
    if (c.kind === 'password' && this.account.ntlm) return this.postNtlm(body, headers, c, signal, timeouts);
    const res = await request(this.account.url, {
      method: 'POST',
      headers,
      body,
      signal,
      dispatcher: httpDispatcher(this.account.ca) as Dispatcher,
      ...timeouts,
    });
    return { status: res.statusCode, headers: res.headers, body: res.body, close: async () => void res.body.destroy() };
  }

  /** NTLM authenticates a connection: negotiate and authenticate on one dedicated client, kept while the answer streams. */
  private async postNtlm(
    body: string,
    headers: Record<string, string>,
    c: { username: string; password: string },
    signal: AbortSignal,
    timeouts: object,
  ): Promise<SoapResponse> {
    const ntlm = await ntlmMessages();
    const url = new URL(this.account.url);
    const { domain, user } = splitNtlmUser(c.username);
    const client = new Client(url.origin, { connect: tlsConnectOptions(this.account.ca), pipelining: 1, ...timeouts });
    try {
      const path = `${url.pathname}${url.search}`;
      const negotiate = await client.request({
        path,
        method: 'POST',
        headers: { ...headers, authorization: ntlm.createType1Message('MAILSYNC', domain) },
        body: '',
        signal,
      });
      await negotiate.body.text();
      const header = [negotiate.headers['www-authenticate'] ?? []]
        .flat()
        .map((v) => /(?:^|,\s*)NTLM ([A-Za-z0-9+/=]+)/.exec(v)?.[1])
        .find(Boolean);
      if (negotiate.statusCode !== 401 || !header)
        throw Object.assign(new Error(`HTTP ${negotiate.statusCode}: no NTLM challenge`), { code: 'HTTP401' });
      const type3 = ntlm.createType3Message(ntlm.decodeType2Message(`NTLM ${header}`), user, c.password, 'MAILSYNC', domain);
      const res = await client.request({ path, method: 'POST', headers: { ...headers, authorization: type3 }, body, signal });
      return { status: res.statusCode, headers: res.headers, body: res.body, close: async () => void (await client.destroy()) };
    } catch (err) {
      await client.destroy();
      throw err;
    }
  }

  private debug(message: string, fields?: Record<string, unknown>): void {
    this.opts.debug?.(`EWS notifications ${this.host}: ${message}`, fields);
  }
}

/**
 * Every mailbox's EWS notifications in this process, one hub per account and EWS URL: the
 * mailboxes of a service account share its streaming connections.
 */
export class EwsNotifications {
  private readonly hubs = new Map<string, EwsNotificationHub>();
  private readonly providerIds = new WeakMap<TokenProvider, number>();
  private nextProvider = 1;

  constructor(private readonly opts: EwsNotificationOptions = {}) {}

  /** Starts notifications for one mailbox (its Inbox's new mail by default); close() unsubscribes. */
  watch(
    account: EwsNotificationAccount,
    mailbox: string,
    listener: EwsNotificationListener,
    target: EwsNotificationTarget = INBOX_TARGET,
  ): { close(): Promise<void> } {
    const key = this.keyOf(account);
    let hub = this.hubs.get(key);
    if (!hub) {
      const made: EwsNotificationHub = new EwsNotificationHub(account, this.opts, () => {
        if (this.hubs.get(key) === made) this.hubs.delete(key);
      });
      hub = made;
      this.hubs.set(key, hub);
    }
    return hub.add(mailbox, listener, target);
  }

  /** Hubs (accounts) with mailboxes (tests, metrics). */
  get size(): number {
    return this.hubs.size;
  }

  private keyOf(a: EwsNotificationAccount): string {
    const c = a.credentials;
    let who: string;
    if (c.kind === 'oauth2') {
      let id = this.providerIds.get(c.token);
      if (!id) this.providerIds.set(c.token, (id = this.nextProvider++));
      who = `oauth:${id}`;
    } else {
      who = c.kind === 'password' ? `password:${c.username}:${c.password}` : 'anonymous';
    }
    return createHash('sha256')
      .update(JSON.stringify([a.url, a.ca ?? '', a.impersonate, a.ntlm, who]))
      .digest('hex');
  }
}

// --- XML, by local name (the server's prefixes do not matter), for the few fields read here.

function envelope(header: string, body: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${NS.soap}" xmlns:m="${NS.messages}" xmlns:t="${NS.types}"><soap:Header>${header}</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`;
}

function eventTypes(target: EwsNotificationTarget): string {
  return `<t:EventTypes>${target.events.map((e) => `<t:EventType>${e}</t:EventType>`).join('')}</t:EventTypes>`;
}

/** True when a notification carries one of the events the target wakes on. */
function announces(xml: string, target: EwsNotificationTarget): boolean {
  return target.events.some((e) => new RegExp(`<(?:[\\w-]+:)?${e}[\\s>]`).test(xml));
}

function first(xml: string, name: string): { attrs: string; inner: string } | undefined {
  const m = new RegExp(`<(?:[\\w-]+:)?${name}(\\s[^>]*)?(?:/>|>([\\s\\S]*?)</(?:[\\w-]+:)?${name}>)`).exec(xml);
  return m ? { attrs: m[1] ?? '', inner: m[2] ?? '' } : undefined;
}

function tagInner(xml: string, name: string): string | undefined {
  return first(xml, name)?.inner;
}

function tagText(xml: string, name: string): string | undefined {
  const inner = tagInner(xml, name);
  return inner === undefined ? undefined : unescape(inner.trim());
}

/** Every element's inner XML (`whole`: the whole element) with this local name. */
function all(xml: string, name: string, whole = false): string[] {
  const re = new RegExp(`<(?:[\\w-]+:)?${name}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</(?:[\\w-]+:)?${name}>)`, 'g');
  return [...xml.matchAll(re)].map((m) => (whole ? m[0] : unescape((m[1] ?? '').trim())));
}

function allText(xml: string, name: string): string[] {
  return all(xml, name);
}

function faultCode(doc: string): string | undefined {
  const code = tagText(doc, 'faultcode');
  return code?.replace(/^[\w-]+:/, '');
}

function unescape(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** The affinity cookie Exchange hands out with a subscription, to send with GetStreamingEvents. */
function backendCookie(setCookie: string | string[] | undefined): string | undefined {
  for (const c of [setCookie ?? []].flat()) {
    const m = /(?:^|;\s*)(X-BackEndOverrideCookie=[^;]*)/i.exec(c);
    if (m) return m[1];
  }
  return undefined;
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the EWS server';
  }
}

/** Our words and the protocol code only: a server's text never reaches status. */
function describe(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code && /^[A-Za-z0-9]+$/.test(code)) return code;
  return err instanceof Error && /^(?:HTTP \d{3}|GetStreamingEvents|Subscribe|GetEvents)/.test(err.message)
    ? err.message.split(':')[0]
    : 'no connection';
}
