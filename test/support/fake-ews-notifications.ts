// EWS notifications for the fake Exchange, as the service behaves (EWS reference: Subscribe,
// GetStreamingEvents, GetEvents, Unsubscribe; "Notification subscriptions, mailbox events, and
// EWS in Exchange"; "Handling notification-related errors"):
//   - Subscribe with StreamingSubscriptionRequest answers a SubscriptionId (with an
//     X-BackEndOverrideCookie for affinity); with PullSubscriptionRequest also a Watermark, and it
//     replays events after a given Watermark.
//   - GetStreamingEvents carries up to 200 subscriptions on one chunked answer: ConnectionStatus OK
//     first, then Notification envelopes as mail arrives, a keep-alive now and then, and
//     ConnectionStatus Closed after ConnectionTimeout minutes. A subscription can be on one
//     connection only: a new connection that names it closes the old one. Unknown or expired
//     subscriptions get ResponseClass Error with ErrorSubscriptionNotFound and ErrorSubscriptionIds.
//   - A streaming subscription not on a connection for `idleLifetimeMs` (30 minutes on Exchange)
//     expires; a pull subscription expires after its Timeout without GetEvents.
// A subscription gets the events of the folders (DistinguishedFolderId) and event types it names:
// new mail in the Inbox, and changes in the calendar, contacts and tasks (fake-ews-act.ts).
// For tests: connection lifetimes in milliseconds, losing notifications, forgetting every
// subscription (a server restart or a mailbox move), refusing streaming (an old server).

import type http from 'node:http';
import { ewsResponse, failure, elements, first, NS, success, text } from './fake-ews-soap.js';

interface Subscription {
  id: string;
  mailbox: string;
  principal: string;
  kind: 'streaming' | 'pull';
  /** The distinguished folders and event types it was made for. */
  folders: Set<string>;
  events: Set<string>;
  /** Events not yet delivered (streaming: while off a connection; pull: since the last GetEvents). */
  queue: Event[];
  connection?: Connection;
  /** When it was last on a connection or polled. */
  touched: number;
  timeoutMs: number;
}

interface Event {
  seq: number;
  type: 'NewMailEvent' | 'CreatedEvent' | 'ModifiedEvent' | 'DeletedEvent';
  folder: string;
  itemId: string;
}

interface Connection {
  res: http.ServerResponse;
  subscriptions: Set<Subscription>;
  timer: NodeJS.Timeout;
  keepAlive: NodeJS.Timeout;
  closed: boolean;
}

export interface FakeEwsNotificationOptions {
  /** How long a streaming connection lasts instead of ConnectionTimeout minutes. */
  connectionLifetimeMs?: number;
  /** Streaming subscriptions off a connection this long expire (Exchange: 30 minutes). */
  idleLifetimeMs?: number;
  /** Keep-alive ConnectionStatus OK every this often. */
  keepAliveMs?: number;
}

export class FakeEwsNotifications {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly connections = new Set<Connection>();
  private seq = 0;
  private nextId = 1;
  /** The next this-many notifications are lost (the event happens, no notification is sent). */
  dropNext = 0;
  /** Refuse streaming subscriptions, as a server without them does. */
  streamingUnsupported = false;
  /** Every GetStreamingEvents: the subscriptions it named, the anchor header and cookie it sent. */
  readonly streams: Array<{ subscriptions: number; anchor?: string; cookie?: string }> = [];
  /** Every Subscribe: mailbox, kind, and the anchor header it sent. */
  readonly subscribes: Array<{ mailbox: string; kind: string; anchor?: string; affinity?: string; watermark?: string; folders: string[] }> =
    [];
  /** Every event queued for a subscription (the notifications the server sends): mailbox, folder, type. */
  readonly queued: Array<{ mailbox: string; folder: string; type: string }> = [];

  constructor(private readonly opts: FakeEwsNotificationOptions = {}) {}

  /** Open streaming connections now. */
  get openConnections(): number {
    return [...this.connections].filter((c) => !c.closed).length;
  }

  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  /** Forgets every subscription and drops every connection mid-stream, as a restarted server does. */
  forgetSubscriptions(): void {
    this.subscriptions.clear();
    for (const c of this.connections) this.drop(c);
  }

  /** A message arrived in `mailbox`'s Inbox. */
  created(mailbox: string, itemId: string): void {
    this.changed(mailbox, 'inbox', 'NewMailEvent', itemId);
  }

  /** An item of one of `mailbox`'s folders was created, changed or deleted. */
  changed(mailbox: string, folder: string, type: Event['type'], itemId: string): void {
    const event: Event = { seq: ++this.seq, type, folder, itemId };
    const log = this.log.get(mailbox.toLowerCase()) ?? [];
    log.push(event);
    this.log.set(mailbox.toLowerCase(), log);
    for (const s of this.subscriptions.values()) {
      if (s.mailbox !== mailbox.toLowerCase() || !wants(s, event)) continue;
      if (this.dropNext > 0) {
        this.dropNext--;
        continue;
      }
      this.queued.push({ mailbox: s.mailbox, folder, type });
      s.queue.push(event);
      if (s.connection && !s.connection.closed) this.flush(s.connection);
    }
  }

  handle(
    op: string,
    principal: string,
    mailbox: string | undefined,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: string,
  ): void {
    this.expire();
    switch (op) {
      case 'Subscribe':
        return xml(res, this.subscribe(principal, mailbox!, req, res, body));
      case 'GetStreamingEvents':
        return this.getStreamingEvents(principal, req, res, body);
      case 'GetEvents':
        return xml(res, this.getEvents(principal, body));
      case 'Unsubscribe': {
        const id = text(body, 'SubscriptionId') ?? '';
        const s = this.subscriptions.get(id);
        if (!s || s.principal !== principal)
          return xml(
            res,
            ewsResponse('Unsubscribe', [failure('Unsubscribe', 'ErrorSubscriptionNotFound', 'The specified subscription was not found.')]),
          );
        this.subscriptions.delete(id);
        return xml(res, ewsResponse('Unsubscribe', [success('Unsubscribe', '')]));
      }
    }
  }

  close(): void {
    for (const c of this.connections) this.drop(c);
  }

  private subscribe(principal: string, mailbox: string, req: http.IncomingMessage, res: http.ServerResponse, body: string): string {
    const pull = first(body, 'PullSubscriptionRequest');
    const streaming = first(body, 'StreamingSubscriptionRequest');
    const kind = pull ? 'pull' : 'streaming';
    const watermark = pull ? text(pull.inner, 'Watermark') : undefined;
    const request = pull?.inner ?? streaming?.inner ?? '';
    const folders = [...request.matchAll(/DistinguishedFolderId\s+Id="([^"]+)"/g)].map((m) => m[1]);
    const events = elements(first(request, 'EventTypes')?.inner ?? '', 'EventType').map((e) => e.inner.trim());
    this.subscribes.push({
      mailbox,
      kind,
      anchor: header(req, 'x-anchormailbox'),
      affinity: header(req, 'x-preferserveraffinity'),
      watermark,
      folders,
    });
    if (!pull && !streaming)
      return ewsResponse('Subscribe', [failure('Subscribe', 'ErrorInvalidSubscriptionRequest', 'The subscription request is invalid.')]);
    if (streaming && this.streamingUnsupported)
      return ewsResponse('Subscribe', [
        failure('Subscribe', 'ErrorInvalidSubscriptionRequest', 'Streaming subscriptions are not supported by this server version.'),
      ]);
    const id = `Fake-Subscription-${this.nextId++}`;
    const s: Subscription = {
      id,
      mailbox,
      principal,
      kind,
      folders: new Set(folders),
      events: new Set(events),
      queue: [],
      touched: Date.now(),
      timeoutMs: pull ? Number(text(pull.inner, 'Timeout') ?? 30) * 60_000 : (this.opts.idleLifetimeMs ?? 30 * 60_000),
    };
    if (watermark) {
      const from = decodeWatermark(watermark);
      if (from === undefined) return ewsResponse('Subscribe', [failure('Subscribe', 'ErrorInvalidWatermark', 'The watermark is invalid.')]);
      // A pull subscription from a watermark replays what happened since (as far as the fake remembers).
      s.queue.push(...this.history(mailbox).filter((e) => e.seq > from && wants(s, e)));
    }
    this.subscriptions.set(id, s);
    res.setHeader('set-cookie', `X-BackEndOverrideCookie=${encodeURIComponent(`mbx-server-1~${mailbox}`)}; path=/; secure; HttpOnly`);
    return ewsResponse('Subscribe', [
      success(
        'Subscribe',
        `<m:SubscriptionId>${id}</m:SubscriptionId>${pull ? `<m:Watermark>${encodeWatermark(this.seq)}</m:Watermark>` : ''}`,
      ),
    ]);
  }

  private readonly log = new Map<string, Event[]>();

  private history(mailbox: string): Event[] {
    return this.log.get(mailbox.toLowerCase()) ?? [];
  }

  private getStreamingEvents(principal: string, req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const ids = elements(first(body, 'SubscriptionIds')?.inner ?? '', 'SubscriptionId').map((e) => e.inner.trim());
    const minutes = Number(text(body, 'ConnectionTimeout') ?? 30);
    this.streams.push({ subscriptions: ids.length, anchor: header(req, 'x-anchormailbox'), cookie: header(req, 'cookie') });
    if (ids.length > 200)
      return xml(
        res,
        ewsResponse('GetStreamingEvents', [
          failure('GetStreamingEvents', 'ErrorInvalidArgument', 'Too many subscriptions on one connection (at most 200).'),
        ]),
      );
    const missing = ids.filter(
      (id) => this.subscriptions.get(id)?.principal !== principal || this.subscriptions.get(id)?.kind !== 'streaming',
    );
    if (missing.length) {
      return xml(
        res,
        ewsResponse('GetStreamingEvents', [
          `<m:GetStreamingEventsResponseMessage ResponseClass="Error"><m:MessageText>Subscription not found.</m:MessageText><m:ResponseCode>ErrorSubscriptionNotFound</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:ErrorSubscriptionIds>${missing.map((id) => `<m:SubscriptionId>${id}</m:SubscriptionId>`).join('')}</m:ErrorSubscriptionIds></m:GetStreamingEventsResponseMessage>`,
        ]),
      );
    }
    res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8', 'transfer-encoding': 'chunked' });
    const conn: Connection = {
      res,
      subscriptions: new Set(),
      closed: false,
      timer: setTimeout(() => this.end(conn), this.opts.connectionLifetimeMs ?? minutes * 60_000),
      keepAlive: setInterval(
        () => this.write(conn, streamEnvelope('<m:ConnectionStatus>OK</m:ConnectionStatus>')),
        this.opts.keepAliveMs ?? 60_000,
      ),
    };
    for (const id of ids) {
      const s = this.subscriptions.get(id)!;
      // One connection per subscription: the old one is told it is closed.
      if (s.connection && s.connection !== conn) {
        s.connection.subscriptions.delete(s);
        if (!s.connection.subscriptions.size) this.end(s.connection);
      }
      s.connection = conn;
      conn.subscriptions.add(s);
    }
    this.connections.add(conn);
    res.on('close', () => this.detach(conn));
    this.write(conn, streamEnvelope('<m:ConnectionStatus>OK</m:ConnectionStatus>'));
    this.flush(conn);
  }

  private getEvents(principal: string, body: string): string {
    const s = this.subscriptions.get(text(body, 'SubscriptionId') ?? '');
    if (!s || s.principal !== principal || s.kind !== 'pull')
      return ewsResponse('GetEvents', [failure('GetEvents', 'ErrorSubscriptionNotFound', 'The specified subscription was not found.')]);
    s.touched = Date.now();
    const events = s.queue.splice(0);
    const mark = encodeWatermark(this.seq);
    const content = events.length
      ? events
          .map(
            (e) =>
              `<t:${e.type}><t:Watermark>${encodeWatermark(e.seq)}</t:Watermark><t:TimeStamp>${new Date().toISOString()}</t:TimeStamp><t:ItemId Id="${e.itemId}" ChangeKey="CQAAAA=="/><t:ParentFolderId Id="${e.folder}-${s.mailbox}" ChangeKey="AQAAAA=="/></t:${e.type}>`,
          )
          .join('')
      : `<t:StatusEvent><t:Watermark>${mark}</t:Watermark></t:StatusEvent>`;
    return ewsResponse('GetEvents', [
      success(
        'GetEvents',
        `<m:Notification><t:SubscriptionId>${s.id}</t:SubscriptionId><t:PreviousWatermark>${mark}</t:PreviousWatermark><t:MoreEvents>false</t:MoreEvents>${content}</m:Notification>`,
      ),
    ]);
  }

  private flush(conn: Connection): void {
    const notifications: string[] = [];
    for (const s of conn.subscriptions) {
      const events = s.queue.splice(0);
      if (!events.length) continue;
      notifications.push(
        `<m:Notification><t:SubscriptionId>${s.id}</t:SubscriptionId>${events
          .map(
            (e) =>
              `<t:${e.type}><t:Watermark>${encodeWatermark(e.seq)}</t:Watermark><t:TimeStamp>${new Date().toISOString()}</t:TimeStamp><t:ItemId Id="${e.itemId}" ChangeKey="CQAAAA=="/><t:ParentFolderId Id="${e.folder}-${s.mailbox}" ChangeKey="AQAAAA=="/></t:${e.type}>`,
          )
          .join('')}</m:Notification>`,
      );
    }
    if (notifications.length) this.write(conn, streamEnvelope(`<m:Notifications>${notifications.join('')}</m:Notifications>`));
  }

  private write(conn: Connection, doc: string): void {
    if (!conn.closed) conn.res.write(doc);
  }

  /** The server ends the connection as it does after ConnectionTimeout. */
  private end(conn: Connection): void {
    if (conn.closed) return;
    this.write(conn, streamEnvelope('<m:ConnectionStatus>Closed</m:ConnectionStatus>'));
    conn.res.end();
    this.detach(conn);
  }

  /** The connection breaks without a word. */
  private drop(conn: Connection): void {
    if (conn.closed) return;
    conn.res.socket?.destroy();
    this.detach(conn);
  }

  private detach(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    clearTimeout(conn.timer);
    clearInterval(conn.keepAlive);
    this.connections.delete(conn);
    for (const s of conn.subscriptions) {
      if (s.connection === conn) {
        s.connection = undefined;
        s.touched = Date.now();
      }
    }
  }

  /** Subscriptions off a connection for too long (streaming), or not polled in time (pull), expire. */
  private expire(): void {
    const now = Date.now();
    for (const [id, s] of this.subscriptions) if (!s.connection && now - s.touched > s.timeoutMs) this.subscriptions.delete(id);
  }
}

function streamEnvelope(content: string): string {
  return `<Envelope xmlns="${NS.soap}"><soap11:Header xmlns:soap11="${NS.soap}"><ServerVersionInfo xmlns="${NS.types}" MajorVersion="15" MinorVersion="2" MajorBuildNumber="1544" MinorBuildNumber="4"/></soap11:Header><soap11:Body xmlns:soap11="${NS.soap}"><m:GetStreamingEventsResponse xmlns:m="${NS.messages}" xmlns:t="${NS.types}"><m:ResponseMessages><m:GetStreamingEventsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${content}</m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse></soap11:Body></Envelope>`;
}

function xml(res: http.ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
  res.end(body);
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function encodeWatermark(seq: number): string {
  return Buffer.from(`wm:${seq}`).toString('base64');
}

function decodeWatermark(w: string): number | undefined {
  const m = /^wm:(\d+)$/.exec(Buffer.from(w, 'base64').toString());
  return m ? Number(m[1]) : undefined;
}

/** A subscription gets the events of its folders, of the types it named. */
function wants(s: Subscription, e: Event): boolean {
  return s.folders.has(e.folder) && (!s.events.size || s.events.has(e.type));
}
