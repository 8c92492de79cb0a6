// Calendar and contacts for the fake Microsoft Graph (fake-graph.ts), as the Graph documentation
// describes them, plugged into its server (same tokens, throttling, 4-request concurrency):
//   GET/PATCH  /users/{id}/calendar                 (singleValueExtendedProperties, $expand)
//   GET        /users/{id}/calendarView/delta        (startDateTime/endDateTime window, pages,
//                                                     @removed for deleted events and for events
//                                                     that left the window, 410 after expiry)
//   GET/POST/PATCH/DELETE /users/{id}/events[/{id}]  (transactionId de-duplication, If-Match
//                                                     change keys: 412 when stale)
//   POST       /users/{id}/events/{id}/cancel
//   GET        /users/{id}/events/{id}/instances   (series: occurrences and exceptions within a
//                                                     window; see fake-graph-series.ts; an
//                                                     occurrence id takes GET, PATCH, DELETE)
//   GET        /users/{id}/contacts/delta, GET/POST/PATCH/DELETE /users/{id}/contacts[/{id}]
//   GET        /users/{id}/contactFolders, /users/{id}/todo/lists (permission checks)
// Ids are immutable (the adapter must ask for them with Prefer: IdType="ImmutableId"; requests
// without it are counted). What Exchange mails to attendees is recorded in `notices`: an
// invitation for a created meeting with attendees, an update when the organizer changes a key
// field of a meeting, a cancellation for a cancelled or deleted meeting.
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { graphError, type FakeGraph, type FakeGraphExtension } from './fake-graph.js';
import { sendJson } from './https-server.js';
import { cancelledEntry, expand, occurrenceId, parseOccurrenceId, toUtc, utcText, zoneOf } from './fake-graph-series.js';

type Json = Record<string, unknown>;
/** Microsoft To Do tasks live in lists; the fake has one, the default list "Tasks". */
type Collection = 'events' | 'contacts' | 'tasks';
export const TODO_LIST_ID = 'AAMkTaskList0001=';

export interface FakeGraphItem {
  id: string;
  changeKey: string;
  seq: number;
  removed: boolean;
  /** Graph's JSON, as stored (events and contacts alike). */
  data: Json;
  props: Record<string, string>;
}

export interface Notice {
  mailbox: string;
  eventId: string;
  subject?: string;
  kind: 'invitation' | 'update' | 'cancellation';
  to: string[];
}

const KEY_FIELDS = ['subject', 'body', 'location', 'start', 'end', 'isAllDay', 'attendees', 'recurrence'];

/**
 * Start and end written in a zone are stored in UTC (every ACT request prefers outlook.timezone
 * "UTC"), the zone as originalStartTimeZone; false when Graph does not know the zone.
 */
function inUtc(data: Json): boolean {
  for (const k of ['start', 'end'] as const) {
    const t = data[k] as { dateTime?: string; timeZone?: string } | undefined;
    if (!t?.dateTime || !t.timeZone || /^utc$/i.test(t.timeZone)) continue;
    const zone = zoneOf(t.timeZone);
    if (!zone) return false;
    if (k === 'start') data.originalStartTimeZone ??= t.timeZone;
    data[k] = { dateTime: utcText(toUtc(t.dateTime, zone)), timeZone: 'UTC' };
  }
  if (data.originalStartTimeZone && !zoneOf(String(data.originalStartTimeZone))) return false;
  return true;
}

export class FakeGraphAct implements FakeGraphExtension {
  readonly notices: Notice[] = [];
  /** Application permissions the app lacks: Calendars, Contacts or Tasks (answered 403). */
  readonly denied = new Set<'Calendars' | 'Contacts' | 'Tasks'>();
  /** ACT requests without Prefer: IdType="ImmutableId". */
  withoutImmutableIds = 0;
  private readonly collections = new Map<string, FakeGraphItem[]>();
  private readonly calendarProps = new Map<string, Record<string, string>>();
  private seq = 0;
  private nextId = 1;
  private generation = 0;

  constructor(private readonly graph: FakeGraph) {
    graph.extensions.push(this);
  }

  static attach(graph: FakeGraph): FakeGraphAct {
    return new FakeGraphAct(graph);
  }

  private list(mailbox: string, collection: Collection): FakeGraphItem[] {
    const key = `${mailbox.toLowerCase()} ${collection}`;
    let l = this.collections.get(key);
    if (!l) this.collections.set(key, (l = []));
    return l;
  }

  events(mailbox: string): FakeGraphItem[] {
    return this.list(mailbox, 'events').filter((e) => !e.removed);
  }

  contacts(mailbox: string): FakeGraphItem[] {
    return this.list(mailbox, 'contacts').filter((e) => !e.removed);
  }

  tasks(mailbox: string): FakeGraphItem[] {
    return this.list(mailbox, 'tasks').filter((e) => !e.removed);
  }

  /** A task the user made in Microsoft To Do. */
  addTask(mailbox: string, data: Json): FakeGraphItem {
    return this.insert(mailbox, 'tasks', { status: 'notStarted', importance: 'normal', ...data });
  }

  /** An event the user made in Outlook. */
  addEvent(mailbox: string, data: Json): FakeGraphItem {
    const event = { organizer: { emailAddress: { address: mailbox } }, attendees: [], categories: [], ...data };
    if (!inUtc(event)) throw new Error('unknown time zone');
    return this.insert(mailbox, 'events', event);
  }

  /** A user's change to one occurrence of a series in Outlook: it becomes an exception. */
  editOccurrence(mailbox: string, masterId: string, originalStart: string, patch: Json): FakeGraphItem {
    const ex = this.exception(mailbox, occurrenceId(masterId, Date.parse(originalStart)));
    if (!ex) throw new Error(`no occurrence of ${masterId} at ${originalStart}`);
    Object.assign(ex.data, patch);
    if (!inUtc(ex.data)) throw new Error('unknown time zone');
    this.touch(ex);
    return ex;
  }

  /** A user deletes one occurrence of a series in Outlook. */
  deleteOccurrence(mailbox: string, masterId: string, originalStart: string): void {
    this.cancel(mailbox, occurrenceId(masterId, Date.parse(originalStart)));
  }

  /** The exceptions of a series, as stored. */
  exceptionsOf(mailbox: string, masterId: string): FakeGraphItem[] {
    return this.events(mailbox).filter((e) => e.data.seriesMasterId === masterId);
  }

  /** An occurrence (or exception) made an exception: stored with the occurrence's id, as Graph keeps it. */
  private exception(mailbox: string, id: string): FakeGraphItem | undefined {
    const items = this.list(mailbox, 'events');
    const existing = items.find((i) => i.id === id && !i.removed);
    if (existing) return existing;
    const occ = parseOccurrenceId(id);
    const master = occ && items.find((i) => i.id === occ.masterId && !i.removed && i.data.type === 'seriesMaster');
    if (!occ || !master || !this.occurrences(master).includes(occ.originalStart)) return undefined;
    if (this.isCancelled(master, occ.originalStart)) return undefined;
    const { recurrence: _r, cancelledOccurrences: _c, transactionId: _t, ...rest } = master.data;
    const length =
      Date.parse(`${String((master.data.end as Json).dateTime)}Z`) - Date.parse(`${String((master.data.start as Json).dateTime)}Z`);
    const item: FakeGraphItem = {
      id,
      changeKey: '',
      seq: 0,
      removed: false,
      data: {
        ...structuredClone(rest),
        type: 'exception',
        seriesMasterId: master.id,
        originalStart: new Date(occ.originalStart).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        start: { dateTime: utcText(occ.originalStart), timeZone: 'UTC' },
        end: { dateTime: utcText(occ.originalStart + length), timeZone: 'UTC' },
        iCalUId: `${String(master.data.iCalUId)}-${occ.originalStart}`,
      },
      props: {},
    };
    items.push(item);
    this.touch(item);
    return item;
  }

  private occurrences(master: FakeGraphItem): number[] {
    return expand(master.data, Date.now() + 3 * 365 * 86_400_000);
  }

  private isCancelled(master: FakeGraphItem, originalStart: number): boolean {
    return ((master.data.cancelledOccurrences as string[] | undefined) ?? []).includes(
      cancelledEntry(master.data, master.id, originalStart),
    );
  }

  /** Deletes an occurrence or exception: the master lists it in cancelledOccurrences. */
  private cancel(mailbox: string, id: string): boolean {
    const items = this.list(mailbox, 'events');
    const ex = items.find((i) => i.id === id && !i.removed && i.data.type === 'exception');
    const occ = parseOccurrenceId(id);
    const master = occ && items.find((i) => i.id === occ.masterId && !i.removed);
    if (!occ || !master || (!ex && (this.isCancelled(master, occ.originalStart) || !this.occurrences(master).includes(occ.originalStart))))
      return false;
    if (ex) {
      ex.removed = true;
      this.touch(ex);
    }
    master.data.cancelledOccurrences = [
      ...((master.data.cancelledOccurrences as string[] | undefined) ?? []),
      cancelledEntry(master.data, master.id, occ.originalStart),
    ];
    this.touch(master);
    return true;
  }

  /** A series' occurrences and exceptions that overlap [start, end), as /instances answers. */
  private instances(mailbox: string, master: FakeGraphItem, start: number, end: number): Json[] {
    const length =
      Date.parse(`${String((master.data.end as Json).dateTime)}Z`) - Date.parse(`${String((master.data.start as Json).dateTime)}Z`);
    const exceptions = new Map(this.exceptionsOf(mailbox, master.id).map((e) => [Date.parse(String(e.data.originalStart)), e]));
    const out: Json[] = [];
    for (const t of this.occurrences(master)) {
      const ex = exceptions.get(t);
      if (ex) {
        const s = Date.parse(`${String((ex.data.start as Json).dateTime)}Z`);
        const e = Date.parse(`${String((ex.data.end as Json).dateTime)}Z`);
        if (e > start && s < end)
          out.push(
            this.view(
              ex,
              Object.keys(ex.props).map((k) => k.toLowerCase()),
            ),
          );
        continue;
      }
      if (this.isCancelled(master, t) || t + length <= start || t >= end) continue;
      const { recurrence: _r, cancelledOccurrences: _c, transactionId: _t, iCalUId: _u, ...rest } = master.data;
      out.push({
        ...rest,
        id: occurrenceId(master.id, t),
        changeKey: master.changeKey,
        type: 'occurrence',
        seriesMasterId: master.id,
        originalStart: new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        start: { dateTime: utcText(t), timeZone: 'UTC' },
        end: { dateTime: utcText(t + length), timeZone: 'UTC' },
      });
    }
    return out;
  }

  addContact(mailbox: string, data: Json): FakeGraphItem {
    return this.insert(mailbox, 'contacts', { categories: [], ...data });
  }

  /** A user's edit in Outlook. */
  edit(mailbox: string, collection: Collection, id: string, patch: Json): void {
    const item = this.list(mailbox, collection).find((i) => i.id === id && !i.removed);
    if (!item) throw new Error(`no ${collection} item ${id}`);
    Object.assign(item.data, patch);
    if (collection === 'events' && item.data.type !== 'exception')
      item.data.type = item.data.recurrence ? 'seriesMaster' : 'singleInstance';
    this.touch(item);
  }

  remove(mailbox: string, collection: Collection, id: string): void {
    const item = this.list(mailbox, collection).find((i) => i.id === id && !i.removed);
    if (item) {
      item.removed = true;
      this.touch(item);
    }
  }

  /** Every delta link handed out so far answers 410 (fullSyncRequired). */
  expireDeltaLinks(): void {
    this.generation++;
  }

  private insert(mailbox: string, collection: Collection, data: Json): FakeGraphItem {
    const id = `AAkALg${collection === 'events' ? 'Evt' : collection === 'contacts' ? 'Cnt' : 'Tsk'}${String(this.nextId++).padStart(7, '0')}=`;
    const item: FakeGraphItem = { id, changeKey: '', seq: 0, removed: false, data: { ...data }, props: {} };
    if (collection === 'events') {
      item.data.iCalUId ??= `040000008200E00074C5B7101A82E008${randomUUID().replace(/-/g, '').toUpperCase()}`;
      item.data.type = item.data.recurrence ? 'seriesMaster' : 'singleInstance';
    }
    this.list(mailbox, collection).push(item);
    this.touch(item);
    return item;
  }

  private touch(item: FakeGraphItem): void {
    const created = item.seq === 0;
    item.seq = ++this.seq;
    item.changeKey = `CK${item.seq}`;
    // Change notifications on events, contacts and To Do tasks (fake-graph-subscriptions.ts).
    for (const [key, items] of this.collections) {
      if (!items.includes(item)) continue;
      const [mailbox, collection] = key.split(' ') as [string, Collection];
      const resource = collection === 'tasks' ? `todo/lists/${TODO_LIST_ID}/tasks` : collection;
      const type = collection === 'events' ? 'Event' : collection === 'contacts' ? 'Contact' : 'TodoTask';
      const change = item.removed ? 'deleted' : created ? 'created' : 'updated';
      this.graph.subscriptions.changed(mailbox, resource, change, `${resource}/${item.id}`, type, item.id);
    }
  }

  private view(item: FakeGraphItem, expand?: string[], linked = false): Json {
    const out: Json = { id: item.id, changeKey: item.changeKey, '@odata.etag': `W/"${item.changeKey}"`, ...item.data };
    // To Do: linkedResources is a navigation property, returned only with $expand=linkedResources.
    if (!linked) delete out.linkedResources;
    if (expand)
      out.singleValueExtendedProperties = Object.entries(item.props)
        .filter(([id]) => expand.includes(id.toLowerCase()))
        .map(([id, value]) => ({ id, value }));
    return out;
  }

  handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    { mailbox, rest, url, body }: { mailbox: string; rest: string; url: URL; body: string },
  ): boolean {
    const method = req.method ?? 'GET';
    let path = rest.split('?')[0];
    const todo = /^todo\/lists\/([^/]+)\/tasks(\/.*)?$/.exec(path);
    if (todo) {
      if (decodeURIComponent(todo[1]) !== TODO_LIST_ID) {
        graphError(res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
        return true;
      }
      path = `tasks${todo[2] ?? ''}`;
    }
    const known = /^(calendar|calendarView\/delta|events|contacts|tasks|contactFolders|todo\/lists)(\/|$)/.test(path);
    if (!known) return false;
    if (!/IdType="ImmutableId"/.test(String(req.headers.prefer ?? ''))) this.withoutImmutableIds++;
    const need = /^(calendar|calendarView|events)/.test(path) ? 'Calendars' : /^contact/.test(path) ? 'Contacts' : 'Tasks';
    if (this.denied.has(need)) {
      graphError(res, 403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
      return true;
    }
    const json = (): Json => (body ? (JSON.parse(body) as Json) : {});
    const expand = [...(url.searchParams.get('$expand') ?? '').matchAll(/id eq '([^']+)'/g)].map((m) => m[1].toLowerCase());
    const linked = /linkedResources/.test(url.searchParams.get('$expand') ?? '');
    if (path === 'calendar') {
      const props = (this.calendarProps.get(mailbox) ?? {}) as Record<string, string>;
      if (method === 'PATCH') {
        for (const p of (json().singleValueExtendedProperties as Array<{ id: string; value: string }>) ?? []) props[p.id] = p.value;
        this.calendarProps.set(mailbox, props);
      }
      sendJson(res, 200, {
        id: `calendar-${mailbox}`,
        name: 'Calendar',
        singleValueExtendedProperties: Object.entries(props)
          .filter(([id]) => expand.includes(id.toLowerCase()))
          .map(([id, value]) => ({ id, value })),
      });
      return true;
    }
    if (path === 'contactFolders') {
      sendJson(res, 200, { value: [] });
      return true;
    }
    if (path === 'todo/lists') {
      sendJson(res, 200, { value: [{ id: TODO_LIST_ID, displayName: 'Tasks', wellknownListName: 'defaultList', isOwner: true }] });
      return true;
    }
    if (path === 'calendarView/delta' || path === 'contacts/delta' || path === 'tasks/delta') {
      this.delta(req, res, url, mailbox, path === 'contacts/delta' ? 'contacts' : path === 'tasks/delta' ? 'tasks' : 'events');
      return true;
    }
    // To Do: POST /todo/lists/{id}/tasks/{id}/linkedResources adds a linked resource (409 when one
    // with the same externalId exists: Graph's answer to a duplicate), without changing the task.
    const lr = /^tasks\/([^/]+)\/linkedResources$/.exec(path);
    if (lr && method === 'POST') {
      const task = this.list(mailbox, 'tasks').find((i) => i.id === decodeURIComponent(lr[1]) && !i.removed);
      if (!task) {
        graphError(res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
        return true;
      }
      const resource = json();
      const existing = (task.data.linkedResources as Json[] | undefined) ?? [];
      if (existing.some((r) => r.externalId === resource.externalId)) {
        graphError(res, 409, 'Conflict', 'A linked resource with this externalId already exists.');
        return true;
      }
      const added = { id: randomUUID(), ...resource };
      task.data.linkedResources = [...existing, added];
      sendJson(res, 201, added);
      return true;
    }
    const inst = /^events\/([^/]+)\/instances$/.exec(path);
    if (inst && method === 'GET') {
      const master = this.list(mailbox, 'events').find((i) => i.id === decodeURIComponent(inst[1]) && !i.removed);
      const start = Date.parse(url.searchParams.get('startDateTime') ?? '');
      const end = Date.parse(url.searchParams.get('endDateTime') ?? '');
      if (!master || master.data.type !== 'seriesMaster')
        graphError(res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
      else if (!Number.isFinite(start) || !Number.isFinite(end))
        graphError(res, 400, 'ErrorInvalidParameter', 'This request requires startDateTime and endDateTime.');
      else sendJson(res, 200, { value: this.instances(mailbox, master, start, end) });
      return true;
    }
    const m = /^(events|contacts|tasks)(?:\/([^/]+))?(?:\/(cancel))?$/.exec(path);
    if (!m) return false;
    // An occurrence not changed yet: GET shows it, PATCH makes it an exception, DELETE cancels it.
    const occ = m[1] === 'events' && m[2] ? parseOccurrenceId(decodeURIComponent(m[2])) : undefined;
    if (occ && !this.list(mailbox, 'events').some((i) => i.id === decodeURIComponent(m[2]) && !i.removed)) {
      const master = this.list(mailbox, 'events').find((i) => i.id === occ.masterId && !i.removed);
      const id = decodeURIComponent(m[2]);
      const inst =
        master?.data.type === 'seriesMaster'
          ? this.instances(mailbox, master, occ.originalStart, occ.originalStart + 1).find((j) => j.id === id)
          : undefined;
      if (!master || !inst) {
        graphError(res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
        return true;
      }
      if (method === 'GET') {
        sendJson(res, 200, inst);
        return true;
      }
      if (method === 'DELETE') {
        this.cancel(mailbox, id);
        if (((master.data.attendees as unknown[]) ?? []).length) this.notify(mailbox, master, 'cancellation');
        res.writeHead(204, { 'content-length': '0' });
        res.end();
        return true;
      }
      if (method === 'PATCH') this.exception(mailbox, id); // and handled below as the exception it now is
    }
    const collection = m[1] as Collection;
    const items = this.list(mailbox, collection);
    if (!m[2]) {
      if (method === 'GET') {
        // $filter=singleValueExtendedProperties/Any(ep: ep/id eq '...' and ep/value eq '...')
        const f = /ep\/id eq '([^']+)' and ep\/value eq '((?:[^']|'')*)'/.exec(url.searchParams.get('$filter') ?? '');
        if (!f) {
          // A plain listing, in pages of $top, with $expand of extended properties.
          const top = Number(url.searchParams.get('$top') ?? 10);
          const skip = Number(url.searchParams.get('$skip') ?? 0);
          const live = items.filter((i) => !i.removed);
          const next = new URL(url.toString().replace(/^https?:\/\/[^/]+/, this.graph.baseUrl.replace(/\/v1\.0$/, '')));
          next.searchParams.set('$skip', String(skip + top));
          sendJson(res, 200, {
            value: live.slice(skip, skip + top).map((i) => this.view(i, expand, linked)),
            ...(skip + top < live.length ? { '@odata.nextLink': next.toString() } : {}),
          });
          return true;
        }
        const value = f[2].replace(/''/g, "'");
        sendJson(res, 200, { value: items.filter((i) => !i.removed && i.props[f[1]] === value).map((i) => this.view(i)) });
        return true;
      }
      if (method !== 'POST') return false;
      const data = json();
      const props = Object.fromEntries(
        ((data.singleValueExtendedProperties as Array<{ id: string; value: string }>) ?? []).map((p) => [p.id, p.value]),
      );
      delete data.singleValueExtendedProperties;
      if (collection === 'events' && !inUtc(data)) {
        graphError(res, 400, 'TimeZoneNotSupportedException', 'A valid TimeZone value must be specified.');
        return true;
      }
      // transactionId: a retried create returns the event the first one made.
      const twin = data.transactionId ? items.find((e) => e.data.transactionId === data.transactionId && !e.removed) : undefined;
      if (twin) {
        sendJson(res, 201, this.view(twin));
        return true;
      }
      const item = this.insert(
        mailbox,
        collection,
        collection === 'events'
          ? { organizer: { emailAddress: { address: mailbox } }, attendees: [], categories: [], ...data }
          : collection === 'tasks'
            ? { status: 'notStarted', importance: 'normal', ...data }
            : { categories: [], ...data },
      );
      item.props = props;
      const attendees = (item.data.attendees as Json[] | undefined) ?? [];
      if (collection === 'events' && attendees.length) this.notify(mailbox, item, 'invitation');
      sendJson(res, 201, this.view(item));
      return true;
    }
    const item = items.find((i) => i.id === decodeURIComponent(m[2]) && !i.removed);
    if (!item) {
      graphError(res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
      return true;
    }
    if (method === 'GET') {
      sendJson(res, 200, this.view(item, expand, linked));
      return true;
    }
    const ifMatch = req.headers['if-match'];
    if ((method === 'PATCH' || method === 'DELETE') && ifMatch && ifMatch !== `W/"${item.changeKey}"` && ifMatch !== '*') {
      graphError(
        res,
        412,
        'ErrorIrresolvableConflict',
        'The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.',
      );
      return true;
    }
    const organizer =
      String((item.data.organizer as { emailAddress?: { address?: string } } | undefined)?.emailAddress?.address ?? '').toLowerCase() ===
      mailbox;
    const hasAttendees = ((item.data.attendees as unknown[] | undefined) ?? []).length > 0;
    if (method === 'PATCH') {
      const data = json();
      for (const p of (data.singleValueExtendedProperties as Array<{ id: string; value: string }>) ?? []) item.props[p.id] = p.value;
      delete data.singleValueExtendedProperties;
      if (collection === 'events' && !inUtc(data)) {
        graphError(res, 400, 'TimeZoneNotSupportedException', 'A valid TimeZone value must be specified.');
        return true;
      }
      const keyChanged = KEY_FIELDS.some((k) => k in data && JSON.stringify(data[k]) !== JSON.stringify(item.data[k]));
      const shifted =
        item.data.type === 'seriesMaster' &&
        (('start' in data && JSON.stringify(data.start) !== JSON.stringify(item.data.start)) ||
          ('recurrence' in data && JSON.stringify(data.recurrence) !== JSON.stringify(item.data.recurrence)));
      Object.assign(item.data, data);
      if (collection === 'events' && item.data.type !== 'exception')
        item.data.type = item.data.recurrence ? 'seriesMaster' : 'singleInstance';
      if (shifted) {
        // Outlook: changing a series' time or pattern discards its exceptions.
        for (const ex of this.exceptionsOf(mailbox, item.id)) {
          ex.removed = true;
          this.touch(ex);
        }
      }
      this.touch(item);
      if (item.data.type === 'exception') {
        const master = items.find((i) => i.id === item.data.seriesMasterId && !i.removed);
        if (master) this.touch(master);
      }
      if (collection === 'events' && organizer && keyChanged && ((item.data.attendees as unknown[]) ?? []).length)
        this.notify(mailbox, item, 'update');
      sendJson(res, 200, this.view(item));
      return true;
    }
    if (method === 'DELETE' || (method === 'POST' && m[3] === 'cancel')) {
      if (collection === 'events' && organizer && hasAttendees) this.notify(mailbox, item, 'cancellation');
      if (item.data.type === 'exception') this.cancel(mailbox, item.id);
      for (const ex of item.data.type === 'seriesMaster' ? this.exceptionsOf(mailbox, item.id) : []) {
        ex.removed = true;
        this.touch(ex);
      }
      item.removed = true;
      this.touch(item);
      res.writeHead(m[3] ? 202 : 204, { 'content-length': '0' });
      res.end();
      return true;
    }
    return false;
  }

  private notify(mailbox: string, item: FakeGraphItem, kind: Notice['kind']): void {
    const to = ((item.data.attendees as Json[]) ?? []).map((a) => String((a.emailAddress as Json).address));
    this.notices.push({ mailbox, eventId: item.id, subject: item.data.subject as string | undefined, kind, to });
  }

  private delta(req: http.IncomingMessage, res: http.ServerResponse, url: URL, mailbox: string, collection: Collection): void {
    const pageSize = Number(/odata\.maxpagesize=(\d+)/.exec(String(req.headers.prefer ?? ''))?.[1] ?? 100);
    const token = url.searchParams.get('$skiptoken') ?? url.searchParams.get('$deltatoken');
    type State = { gen: number; since: number; until: number; offset: number; initial: boolean; start?: number; end?: number };
    let state: State = { gen: this.generation, since: 0, until: this.seq, offset: 0, initial: true };
    if (collection === 'events') {
      const start = Date.parse(url.searchParams.get('startDateTime') ?? '');
      const end = Date.parse(url.searchParams.get('endDateTime') ?? '');
      if (!token && (!Number.isFinite(start) || !Number.isFinite(end))) {
        graphError(
          res,
          400,
          'ErrorInvalidParameter',
          'This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.',
        );
        return;
      }
      state = { ...state, start, end };
    }
    if (token) {
      state = JSON.parse(Buffer.from(token, 'base64url').toString()) as State;
      if (state.gen !== this.generation) {
        graphError(res, 410, 'fullSyncRequired', 'The sync state generation is old and cannot be used.');
        return;
      }
      if (url.searchParams.has('$deltatoken')) state = { ...state, until: this.seq, offset: 0, initial: false };
    }
    const inWindow = (i: FakeGraphItem): boolean => {
      if (collection !== 'events') return true;
      if (i.data.type === 'seriesMaster') {
        // A series is in the window while one of its occurrences is.
        return expand(i.data, state.end!).some((t) => t < state.end! && t >= state.start! - 86_400_000);
      }
      const s = Date.parse(`${String((i.data.start as Json | undefined)?.dateTime)}Z`);
      const e = Date.parse(`${String((i.data.end as Json | undefined)?.dateTime)}Z`);
      return e > state.start! && s < state.end!;
    };
    const changes = this.list(mailbox, collection).filter(
      (i) => i.seq > state.since && i.seq <= state.until && !(state.initial && (i.removed || !inWindow(i))),
    );
    const page = changes.slice(state.offset, state.offset + pageSize);
    // Removed, and events that moved out of the window, are both @removed: the client tells them apart.
    const value = page.map((i) => (i.removed || !inWindow(i) ? { id: i.id, '@removed': { reason: 'deleted' } } : this.view(i)));
    const base = collection === 'events' ? 'calendarView' : collection === 'contacts' ? 'contacts' : `todo/lists/${TODO_LIST_ID}/tasks`;
    const link = (param: string, s: State): string =>
      `${this.graph.baseUrl}/users/${encodeURIComponent(mailbox)}/${base}/delta?${param}=${Buffer.from(JSON.stringify(s)).toString('base64url')}`;
    const more = state.offset + pageSize < changes.length;
    sendJson(res, 200, {
      value,
      ...(more
        ? { '@odata.nextLink': link('$skiptoken', { ...state, offset: state.offset + pageSize }) }
        : { '@odata.deltaLink': link('$deltatoken', { ...state, since: state.until, offset: 0, initial: false }) }),
    });
  }
}
