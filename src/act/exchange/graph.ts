// Appointments and contacts in Exchange Online over Microsoft Graph, on the mail adapter's HTTP
// layer (token, the 4 requests per mailbox that mail shares, Retry-After, error classification).
//
//   events    /calendarView/delta over a rolling window (v1.0 has no windowless event delta);
//             an @removed entry is checked with a GET, because delta also reports events that only
//             moved out of the window. A series is read whole: its master, then its exceptions
//             through /events/{master}/instances within the window (delta's occurrences carry no
//             iCalUId); plain occurrences are never items (graph-recurrence.ts, docs/act.md).
//   contacts  /contacts/delta (the default contacts folder).
// Every request asks for immutable ids (they survive moves), UTC times and text bodies. Creates
// are stamped with the CRM id in a named extended property; events also carry it in transactionId,
// which Graph uses to drop a retried create and returns in delta, so a create whose link was lost
// is recognised in the next cycle.
//
// Graph has no way to create or change a meeting with attendees without mailing them. Where no
// invitation may go out (past meetings, the first sync, a dry run, meetings organized by others)
// the attendees are kept in an extended property of the event instead (docs/act.md, "Invitations").

import { MailError, type Credentials, type Endpoint } from '../../mail/types.js';
import { drain, GraphAdapter } from '../../mail/graph.js';
import { HttpResponseError } from '../../net/http.js';
import { KEY_FIELDS, utc, type ActKind, type Attendee, type Fields, type Recurrence } from '../model.js';
import { requireWindowsZone } from '../timezones.js';
import { fromCancelledOccurrences, fromGraphRecurrence, graphTime, graphZone, toGraphRecurrence } from './graph-recurrence.js';
import {
  ExchangeConflict,
  type ExchangeActAdapter,
  type ExchangeChanges,
  type ExchangeItem,
  type ExchangeKindStore,
  parseClaim,
  type OrganizationClaim,
  type SeriesRef,
  type WriteOptions,
  type Written,
} from './types.js';

/** Our named properties (MAPI PS_PUBLIC_STRINGS-style, in our own property set). */
const PROPSET = '{8c7b4a36-0f1e-4f4e-9a39-4d0a6a3e6b21}';
export const STAMP_PROPERTY = `String ${PROPSET} Name MailsyncCrmId`;
export const HELD_ATTENDEES_PROPERTY = `String ${PROPSET} Name MailsyncHeldAttendees`;
export const CLAIM_PROPERTY = `String ${PROPSET} Name MailsyncOrganization`;

const PREFER = 'IdType="ImmutableId", outlook.timezone="UTC", outlook.body-content-type="text"';

export interface GraphActOptions {
  mailbox: string;
  /** The calendar window: days before and after now. */
  pastDays: number;
  futureDays: number;
  pageSize?: number;
  now?: () => Date;
}

type Json = Record<string, unknown>;
type ExtProps = Array<{ id?: string; value?: string }>;

/** The stamp value: the organization (Deployment uid) and the CRM id. */
export const stampValue = (org: string, crmId: string): string => `${org}:${crmId}`;
export function crmIdOfStamp(value: string | undefined, org: string): string | undefined {
  return value?.startsWith(`${org}:`) ? value.slice(org.length + 1) : undefined;
}
/** Events also carry the stamp in transactionId (returned by delta): short, and ours by its prefix. */
const transactionId = (org: string, crmId: string): string => `mailsync.${org.slice(0, 8)}.${crmId}`;
function crmIdOfTransaction(value: unknown, org: string): string | undefined {
  const prefix = `mailsync.${org.slice(0, 8)}.`;
  return typeof value === 'string' && value.startsWith(prefix) ? value.slice(prefix.length) : undefined;
}

const address = (v: unknown): string | undefined => {
  const a = (v as { emailAddress?: { address?: unknown } } | undefined)?.emailAddress?.address;
  return typeof a === 'string' ? a : undefined;
};
const prop = (props: unknown, id: string): string | undefined =>
  (Array.isArray(props) ? (props as ExtProps) : []).find((p) => p.id?.toLowerCase() === id.toLowerCase())?.value;

/** The Graph adapter with the requests ACT needs. */
class GraphActClient extends GraphAdapter {
  constructor(
    endpoint: Endpoint,
    credentials: Credentials,
    readonly opts: GraphActOptions,
  ) {
    super(endpoint, credentials, { mailbox: opts.mailbox, pageSize: opts.pageSize });
  }

  get path(): string {
    return this.mailboxPath();
  }

  /** One JSON request; undefined for an empty answer. Failures are MailErrors (the HTTP status is in `cause`). */
  async json(
    pathOrUrl: string,
    what: string,
    init: { method?: 'GET' | 'POST' | 'PATCH' | 'DELETE'; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Json | undefined> {
    return this.limited(async () => {
      const response = await this.request(pathOrUrl, { ...init, headers: { prefer: PREFER, ...init.headers }, what });
      if (response.status === 204 || response.headers.get('content-length') === '0') {
        await drain(response);
        return undefined;
      }
      return (await this.readBody(() => response.json(), what)) as Json;
    });
  }
}

export const httpStatus = (err: unknown): number | undefined => {
  const cause = err instanceof MailError ? err.cause : undefined;
  return cause instanceof HttpResponseError ? cause.status : undefined;
};

/** One item refused by Exchange (HTTP 400): reported and skipped, never retried as if the server failed. */
export function itemRejected(err: unknown, what: string): unknown {
  if (httpStatus(err) !== 400) return err;
  const code = err instanceof MailError && err.cause instanceof HttpResponseError ? err.cause.code : undefined;
  return new MailError(
    'ItemRejected',
    `Exchange refused the item while ${what} (HTTP 400${code ? ` ${code}` : ''}); it is skipped until it changes`,
    { cause: err },
  );
}

interface KindMapping {
  kind: ActKind;
  /** The collection below the user, or a function that finds it (To Do: the default list's tasks). */
  collection: string;
  resolve?(client: GraphActClient, signal?: AbortSignal): Promise<string>;
  deltaPath(opts: GraphActOptions, collection: string): string;
  /** Fields this kind of item cannot hold (To Do has no percent complete): they flow nowhere. */
  unsupported?: string[];
  /** To Do stamps with a linkedResource; the others with an extended property. */
  linkedResourceStamp?: boolean;
  toFields(j: Json): Fields;
  toGraph(f: Fields, opts: WriteOptions): Json;
}

/** The calendar window: from pastDays before to futureDays after now (the event delta's and the series' exceptions'). */
function calendarWindow(o: GraphActOptions): { start: string; end: string } {
  const now = (o.now ?? (() => new Date()))().getTime();
  return { start: new Date(now - o.pastDays * 86_400_000).toISOString(), end: new Date(now + o.futureDays * 86_400_000).toISOString() };
}

const EVENT: KindMapping = {
  kind: 'appointment',
  collection: 'events',
  deltaPath(o) {
    const { start, end } = calendarWindow(o);
    return `calendarView/delta?startDateTime=${encodeURIComponent(start)}&endDateTime=${encodeURIComponent(end)}`;
  },
  toFields(j) {
    const attendees = Array.isArray(j.attendees) ? (j.attendees as Json[]) : [];
    const held = prop(j.singleValueExtendedProperties, HELD_ATTENDEES_PROPERTY);
    const list = (type: string): Attendee[] => {
      if (!attendees.length && held) return (JSON.parse(held) as Record<string, Attendee[]>)[type] ?? [];
      return attendees
        .filter((a) => a.type === type)
        .map((a) => ({ address: address(a) ?? '', name: (a.emailAddress as Json | undefined)?.name as string | undefined }));
    };
    return {
      subject: (j.subject as string) ?? null,
      body: ((j.body as Json | undefined)?.content as string) ?? null,
      location: ((j.location as Json | undefined)?.displayName as string) ?? null,
      start: ((j.start as Json | undefined)?.dateTime as string) ?? null,
      end: ((j.end as Json | undefined)?.dateTime as string) ?? null,
      isAllDay: j.isAllDay === true,
      importance: (j.importance as string) ?? null,
      showAs: (j.showAs as string) ?? null,
      organizer: address(j.organizer) ?? null,
      requiredAttendees: list('required'),
      optionalAttendees: list('optional'),
      timeZone: graphZone(j.originalStartTimeZone),
      recurrence: j.type === 'seriesMaster' ? fromGraphRecurrence(j.recurrence) : null,
      deletedOccurrences:
        j.type === 'seriesMaster'
          ? fromCancelledOccurrences(
              j.cancelledOccurrences,
              utc((j.start as Json | undefined)?.dateTime),
              graphZone(j.originalStartTimeZone) ?? undefined,
            )
          : null,
    };
  },
  toGraph(f, opts) {
    const out: Json = {};
    // Times are written in the event's zone (a zone without a Windows id refuses the item).
    const zone = f.timeZone as string | null | undefined;
    if ('subject' in f) out.subject = f.subject ?? '';
    if ('body' in f) out.body = { contentType: 'text', content: f.body ?? '' };
    if ('location' in f) out.location = { displayName: f.location ?? '' };
    if ('start' in f) out.start = graphTime(String(f.start ?? ''), zone);
    if ('end' in f) out.end = graphTime(String(f.end ?? ''), zone);
    if ('start' in f) out.originalStartTimeZone = (out.start as Json).timeZone;
    if ('end' in f) out.originalEndTimeZone = (out.end as Json).timeZone;
    if ('recurrence' in f)
      out.recurrence = f.recurrence
        ? toGraphRecurrence(f.recurrence as Recurrence, zone ? requireWindowsZone(zone, 'Exchange') : 'UTC')
        : null;
    if ('isAllDay' in f) out.isAllDay = f.isAllDay === true;
    if ('importance' in f && f.importance) out.importance = f.importance;
    if ('showAs' in f && f.showAs) out.showAs = f.showAs;
    if ('requiredAttendees' in f || 'optionalAttendees' in f) {
      const req = (f.requiredAttendees as Attendee[] | undefined) ?? [];
      const opt = (f.optionalAttendees as Attendee[] | undefined) ?? [];
      if (opts.notifyAttendees) {
        out.attendees = [...req.map((a) => attendee(a, 'required')), ...opt.map((a) => attendee(a, 'optional'))];
      } else {
        out.singleValueExtendedProperties = [{ id: HELD_ATTENDEES_PROPERTY, value: JSON.stringify({ required: req, optional: opt }) }];
      }
    }
    return out;
  },
};

const attendee = (a: Attendee, type: string): Json => ({ emailAddress: { address: a.address, ...(a.name ? { name: a.name } : {}) }, type });

const CONTACT: KindMapping = {
  kind: 'contact',
  collection: 'contacts',
  deltaPath: () => 'contacts/delta',
  toFields(j) {
    const emails = Array.isArray(j.emailAddresses) ? (j.emailAddresses as Json[]).map((e) => e.address as string) : [];
    const phones = (v: unknown) => (Array.isArray(v) && typeof v[0] === 'string' ? (v[0] as string) : null);
    const addr = (j.businessAddress as Json | undefined) ?? {};
    return {
      givenName: (j.givenName as string) ?? null,
      middleName: (j.middleName as string) ?? null,
      surname: (j.surname as string) ?? null,
      jobTitle: (j.jobTitle as string) ?? null,
      companyName: (j.companyName as string) ?? null,
      department: (j.department as string) ?? null,
      email1: emails[0] ?? null,
      email2: emails[1] ?? null,
      email3: emails[2] ?? null,
      businessPhone: phones(j.businessPhones),
      mobilePhone: (j.mobilePhone as string) ?? null,
      homePhone: phones(j.homePhones),
      businessStreet: (addr.street as string) ?? null,
      businessCity: (addr.city as string) ?? null,
      businessState: (addr.state as string) ?? null,
      businessPostalCode: (addr.postalCode as string) ?? null,
      businessCountry: (addr.countryOrRegion as string) ?? null,
      birthday: (j.birthday as string) ?? null,
      assistantName: (j.assistantName as string) ?? null,
      notes: (j.personalNotes as string) ?? null,
    };
  },
  toGraph(f) {
    const out: Json = {};
    const simple: Record<string, string> = {
      givenName: 'givenName',
      middleName: 'middleName',
      surname: 'surname',
      jobTitle: 'jobTitle',
      companyName: 'companyName',
      department: 'department',
      mobilePhone: 'mobilePhone',
      assistantName: 'assistantName',
      notes: 'personalNotes',
    };
    for (const [from, to] of Object.entries(simple)) if (from in f) out[to] = f[from] ?? null;
    if ('email1' in f || 'email2' in f || 'email3' in f)
      out.emailAddresses = [f.email1, f.email2, f.email3]
        .filter((e): e is string => typeof e === 'string' && !!e)
        .map((a) => ({ address: a }));
    if ('businessPhone' in f) out.businessPhones = f.businessPhone ? [f.businessPhone] : [];
    if ('homePhone' in f) out.homePhones = f.homePhone ? [f.homePhone] : [];
    if ('birthday' in f) out.birthday = f.birthday ? `${f.birthday}T00:00:00Z` : null;
    const a: Record<string, string> = {
      businessStreet: 'street',
      businessCity: 'city',
      businessState: 'state',
      businessPostalCode: 'postalCode',
      businessCountry: 'countryOrRegion',
    };
    if (Object.keys(a).some((k) => k in f))
      out.businessAddress = Object.fromEntries(Object.entries(a).map(([from, to]) => [to, f[from] ?? '']));
    return out;
  },
};

const linkedResource = (stamp: { org: string; crmId: string }): Json => ({
  applicationName: 'mailsync',
  displayName: 'CRM record',
  externalId: stampValue(stamp.org, stamp.crmId),
});
const toDoDate = (v: unknown): Json | null => (v ? { dateTime: `${String(v).slice(0, 10)}T00:00:00`, timeZone: 'UTC' } : null);
const fromToDoDate = (v: unknown): string | null => ((v as Json | undefined)?.dateTime as string | undefined) ?? null;

const TASK: KindMapping = {
  kind: 'task',
  collection: 'todo/lists/-/tasks',
  async resolve(client, signal) {
    const j = await client.json(`${client.path}/todo/lists`, 'finding the default To Do list', { signal });
    const lists = (j?.value as Json[] | undefined) ?? [];
    const list = lists.find((l) => l.wellknownListName === 'defaultList') ?? lists[0];
    if (!list)
      throw new MailError(
        'MailboxNotFound',
        `Graph: ${client.opts.mailbox} has no Microsoft To Do task list; open To Do once for this mailbox, or turn tasks off in spec.appointmentsContactsTasks.kinds of the Deployment`,
      );
    return `todo/lists/${encodeURIComponent(String(list.id))}/tasks`;
  },
  deltaPath: (_o, collection) => `${collection}/delta`,
  unsupported: ['percentComplete'],
  linkedResourceStamp: true,
  toFields(j) {
    return {
      subject: (j.title as string) ?? null,
      body: ((j.body as Json | undefined)?.content as string) ?? null,
      dueDate: fromToDoDate(j.dueDateTime),
      startDate: fromToDoDate(j.startDateTime),
      completedDate: fromToDoDate(j.completedDateTime),
      percentComplete: null,
      importance: (j.importance as string) ?? null,
      status: (j.status as string) ?? null,
    };
  },
  toGraph(f) {
    const out: Json = {};
    if ('subject' in f) out.title = f.subject ?? '';
    if ('body' in f) out.body = { contentType: 'text', content: f.body ?? '' };
    if ('dueDate' in f) out.dueDateTime = toDoDate(f.dueDate);
    if ('startDate' in f) out.startDateTime = toDoDate(f.startDate);
    if ('completedDate' in f) out.completedDateTime = toDoDate(f.completedDate);
    if ('importance' in f && f.importance) out.importance = f.importance;
    if ('status' in f && f.status) out.status = f.status;
    return out;
  },
};

class GraphKindStore implements ExchangeKindStore {
  readonly kind: ActKind;

  constructor(
    private readonly client: GraphActClient,
    private readonly m: KindMapping,
    private readonly org: string,
  ) {
    this.kind = m.kind;
    this.collectionPath = m.collection;
    this.unsupported = m.unsupported;
  }

  readonly unsupported?: string[];

  /** What the items are called in messages. */
  private get label(): string {
    return this.m.kind === 'appointment' ? 'events' : `${this.m.kind}s`;
  }

  private item(j: Json): ExchangeItem {
    const linked = Array.isArray(j.linkedResources)
      ? (j.linkedResources as Json[]).map((r) => crmIdOfStamp(r.externalId as string | undefined, this.org)).find(Boolean)
      : undefined;
    const stamp =
      crmIdOfStamp(prop(j.singleValueExtendedProperties, STAMP_PROPERTY), this.org) ??
      crmIdOfTransaction(j.transactionId, this.org) ??
      linked;
    return {
      id: String(j.id),
      changeKey: typeof j.changeKey === 'string' ? j.changeKey : undefined,
      iCalUId: typeof j.iCalUId === 'string' ? j.iCalUId : undefined,
      fields: this.m.toFields(j),
      categories: Array.isArray(j.categories) ? (j.categories as string[]) : [],
      ...(stamp ? { stampedCrmId: stamp } : {}),
      ...(j.type === 'exception' && typeof j.seriesMasterId === 'string'
        ? { seriesMasterId: j.seriesMasterId, originalStart: utc(j.originalStart) ?? undefined }
        : {}),
    };
  }

  async changes(cursor: string | undefined, signal?: AbortSignal): Promise<ExchangeChanges> {
    try {
      return {
        ...(await this.readDelta(cursor ?? `${this.client.path}/${this.m.deltaPath(this.client.opts, await this.coll(signal))}`, signal)),
        restarted: false,
      };
    } catch (err) {
      // 410 Gone (fullSyncRequired, an expired token): start over; links make the replay harmless.
      if (cursor && httpStatus(err) === 410)
        return {
          ...(await this.readDelta(`${this.client.path}/${this.m.deltaPath(this.client.opts, await this.coll(signal))}`, signal)),
          restarted: true,
        };
      throw err;
    }
  }

  /** The occurrences and exceptions of a series within a time range (Graph expands them), every page. */
  private async instances(masterId: string, range: { start: string; end: string }, signal?: AbortSignal): Promise<Json[]> {
    const out: Json[] = [];
    let url: string | undefined =
      `${this.itemPath(masterId)}/instances?startDateTime=${encodeURIComponent(range.start)}&endDateTime=${encodeURIComponent(range.end)}&$top=100&${this.expand()}`;
    while (url) {
      const page: Json = (await this.client.json(url, 'reading the occurrences of a series', { signal })) ?? {};
      out.push(...((page.value as Json[] | undefined) ?? []));
      url = typeof page['@odata.nextLink'] === 'string' ? page['@odata.nextLink'] : undefined;
    }
    return out;
  }

  /** A series as items: its master and its exceptions within the window; nothing when the master is gone. */
  private async series(masterId: string, signal?: AbortSignal): Promise<ExchangeItem[]> {
    const master = await this.get(masterId, signal);
    if (!master) return [];
    const exceptions = (await this.instances(masterId, calendarWindow(this.client.opts), signal)).filter((j) => j.type === 'exception');
    return [master, ...exceptions.map((j) => this.item(j))];
  }

  /** The occurrence (or exception) of a series that originally starts at this UTC time. */
  private async occurrence(ref: SeriesRef, signal?: AbortSignal): Promise<Json | undefined> {
    const t = Date.parse(ref.originalStart);
    // Wide enough for an occurrence already moved (an exception) within a month of its slot.
    const range = { start: new Date(t - 31 * 86_400_000).toISOString(), end: new Date(t + 31 * 86_400_000).toISOString() };
    return (await this.instances(ref.masterId, range, signal)).find((j) => utc(j.originalStart) === ref.originalStart);
  }

  private async readDelta(first: string, signal?: AbortSignal): Promise<Omit<ExchangeChanges, 'restarted'>> {
    const items = new Map<string, Json>();
    const masters = new Set<string>();
    const removed = new Set<string>();
    const size = this.client.opts.pageSize;
    let url = first;
    for (;;) {
      const page =
        (await this.client.json(url, `reading ${this.label} changes`, {
          signal,
          headers: size ? { prefer: `${PREFER}, odata.maxpagesize=${size}` } : undefined,
        })) ?? {};
      for (const j of (page.value as Json[] | undefined) ?? []) {
        const id = String(j.id);
        if (j['@removed']) {
          items.delete(id);
          removed.add(id);
        } else if (j.type === 'occurrence' || j.type === 'exception' || j.type === 'seriesMaster') {
          // A series is read whole below (master, then its exceptions through /instances): delta's
          // occurrences carry no iCalUId, and a plain occurrence is never an item of its own.
          masters.add(j.type === 'seriesMaster' ? id : String(j.seriesMasterId));
        } else {
          removed.delete(id);
          items.set(id, j);
        }
      }
      if (typeof page['@odata.deltaLink'] === 'string') {
        const out: ExchangeItem[] = [];
        for (const id of masters) out.push(...(await this.series(id, signal)));
        for (const j of items.values()) {
          // Events we created without sending invitations keep their attendees in an extended property.
          const ours = crmIdOfTransaction(j.transactionId, this.org);
          const needsProps = ours && this.m.kind === 'appointment' && !(j.attendees as unknown[] | undefined)?.length;
          out.push(needsProps ? ((await this.get(String(j.id), signal)) ?? this.item(j)) : this.item(j));
        }
        // Delta also reports events that merely left the window: only a 404 is a deletion.
        const gone: string[] = [];
        for (const id of removed) if (this.m.kind !== 'appointment' || !(await this.get(id, signal))) gone.push(id);
        return { items: out, removed: gone, cursor: page['@odata.deltaLink'] };
      }
      if (typeof page['@odata.nextLink'] !== 'string')
        throw new MailError(
          'ProtocolError',
          `Graph: a ${this.label} delta page carried neither @odata.nextLink nor @odata.deltaLink; read again next cycle`,
        );
      url = page['@odata.nextLink'];
    }
  }

  private itemPath(id: string): string {
    return `${this.client.path}/${this.collectionPath}/${encodeURIComponent(id)}`;
  }

  private collectionPath: string;
  private resolving?: Promise<string>;

  /** The collection path under users/{id}/ (resolved once: To Do's default list), for change notifications. */
  collection(signal?: AbortSignal): Promise<string> {
    return this.coll(signal);
  }

  /** The collection path, found once (To Do's default list). */
  private async coll(signal?: AbortSignal): Promise<string> {
    if (!this.m.resolve) return this.collectionPath;
    this.resolving ??= this.m.resolve(this.client, signal).catch((err: unknown) => {
      this.resolving = undefined;
      throw err;
    });
    return (this.collectionPath = await this.resolving);
  }

  private expand(): string {
    if (this.m.linkedResourceStamp) return '$expand=linkedResources';
    return `$expand=singleValueExtendedProperties($filter=id eq '${STAMP_PROPERTY}' or id eq '${HELD_ATTENDEES_PROPERTY}')`;
  }

  async get(id: string, signal?: AbortSignal): Promise<ExchangeItem | undefined> {
    await this.coll(signal);
    try {
      const j = await this.client.json(`${this.itemPath(id)}?${this.expand()}`, `reading one of the ${this.m.kind}s`, { signal });
      return j ? this.item(j) : undefined;
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async stampIndex(org: string, signal?: AbortSignal): Promise<Map<string, Written>> {
    const out = new Map<string, Written>();
    let url: string | undefined = `${this.client.path}/${await this.coll(signal)}?$top=999&${this.expand()}`;
    while (url) {
      const page: Json = (await this.client.json(url, `listing stamped ${this.label}`, { signal })) ?? {};
      for (const j of (page.value as Json[] | undefined) ?? []) {
        const crmId = this.item(j).stampedCrmId;
        if (crmId)
          out.set(crmId, { id: String(j.id), changeKey: j.changeKey as string | undefined, iCalUId: j.iCalUId as string | undefined });
      }
      url = typeof page['@odata.nextLink'] === 'string' ? page['@odata.nextLink'] : undefined;
    }
    return out;
  }

  async findByStamp(stamp: { org: string; crmId: string }, signal?: AbortSignal): Promise<Written | undefined> {
    const filter = `singleValueExtendedProperties/Any(ep: ep/id eq '${STAMP_PROPERTY}' and ep/value eq '${stampValue(stamp.org, stamp.crmId).replace(/'/g, "''")}')`;
    const j = await this.client.json(
      `${this.client.path}/${await this.coll(signal)}?$filter=${encodeURIComponent(filter)}&$select=id,changeKey,iCalUId`,
      `looking for a stamped one of the ${this.label}`,
      { signal },
    );
    const found = (j?.value as Json[] | undefined)?.[0];
    return found
      ? { id: String(found.id), changeKey: found.changeKey as string | undefined, iCalUId: found.iCalUId as string | undefined }
      : undefined;
  }

  async create(
    fields: Fields,
    stamp: { org: string; crmId: string; categories?: string[] },
    opts: WriteOptions & { series?: SeriesRef },
    signal?: AbortSignal,
  ): Promise<Written> {
    if (opts.series) return this.createException(fields, stamp, opts, opts.series, signal);
    const { deletedOccurrences, ...rest } = fields;
    const body = this.m.toGraph(rest, opts);
    if (this.m.linkedResourceStamp) body.linkedResources = [linkedResource(stamp)];
    else
      body.singleValueExtendedProperties = [
        ...((body.singleValueExtendedProperties as ExtProps | undefined) ?? []),
        { id: STAMP_PROPERTY, value: stampValue(stamp.org, stamp.crmId) },
      ];
    if (this.m.kind === 'appointment') body.transactionId = transactionId(stamp.org, stamp.crmId);
    if (stamp.categories?.length) body.categories = stamp.categories;
    try {
      const j =
        (await this.client.json(`${this.client.path}/${await this.coll(signal)}`, `creating one of the ${this.label}`, {
          method: 'POST',
          body,
          signal,
        })) ?? {};
      const written = { id: String(j.id), changeKey: j.changeKey as string | undefined, iCalUId: j.iCalUId as string | undefined };
      if (!Array.isArray(deletedOccurrences) || !deletedOccurrences.length) return written;
      await this.deleteOccurrences(written.id, deletedOccurrences as string[], opts, signal);
      return { ...written, changeKey: (await this.get(written.id, signal))?.changeKey ?? written.changeKey };
    } catch (err) {
      throw itemRejected(err, `creating one of the ${this.label}`);
    }
  }

  /** An exception: the occurrence with this original start, changed (Graph keeps its id). */
  private async createException(
    fields: Fields,
    stamp: { org: string; crmId: string },
    opts: WriteOptions,
    ref: SeriesRef,
    signal?: AbortSignal,
  ): Promise<Written> {
    const occurrence = await this.occurrence(ref, signal);
    if (!occurrence)
      throw new MailError(
        'ItemRejected',
        `Exchange has no occurrence of the series that originally starts at ${ref.originalStart} (deleted, or not in the series' pattern); this exception is skipped until it changes`,
      );
    const { recurrence, deletedOccurrences, ...rest } = fields;
    return this.update(String(occurrence.id), undefined, rest, { ...opts, stamp }, signal);
  }

  /** Deletes the occurrences of a series that originally start at these times (those already gone are skipped). */
  private async deleteOccurrences(masterId: string, starts: string[], opts: WriteOptions, signal?: AbortSignal): Promise<void> {
    for (const originalStart of starts) {
      const occurrence = await this.occurrence({ masterId, originalStart }, signal);
      if (occurrence) await this.delete(String(occurrence.id), opts, signal);
    }
  }

  async update(
    id: string,
    changeKey: string | undefined,
    fields: Fields,
    opts: WriteOptions & { stamp?: { org: string; crmId: string } },
    signal?: AbortSignal,
  ): Promise<Written> {
    // Graph mails the attendees of an organizer's meeting whenever a key field changes, and cannot
    // be told not to: when no mail may go out, those fields are withheld (Exchange's values stand).
    await this.coll(signal);
    let withheld: string[] = [];
    if (this.m.kind === 'appointment' && !opts.notifyAttendees && Object.keys(fields).some((f) => KEY_FIELDS.has(f))) {
      const j = await this.client.json(`${this.itemPath(id)}?$select=attendees,organizer`, 'reading an event', { signal });
      const invited = ((j?.attendees as unknown[] | undefined)?.length ?? 0) > 0;
      if (invited && (address(j?.organizer) ?? '').toLowerCase() === this.client.opts.mailbox.toLowerCase()) {
        withheld = Object.keys(fields).filter((f) => KEY_FIELDS.has(f));
        fields = Object.fromEntries(Object.entries(fields).filter(([f]) => !KEY_FIELDS.has(f)));
      }
    }
    const deleted = fields.deletedOccurrences;
    if (this.m.kind === 'appointment') fields = await this.withTimes(id, fields, signal);
    const body = this.m.toGraph(fields, opts);
    if (opts.stamp && !this.m.linkedResourceStamp)
      body.singleValueExtendedProperties = [
        ...((body.singleValueExtendedProperties as ExtProps | undefined) ?? []),
        { id: STAMP_PROPERTY, value: stampValue(opts.stamp.org, opts.stamp.crmId) },
      ];
    if (opts.stamp && this.m.linkedResourceStamp) {
      await this.client
        .json(`${this.itemPath(id)}/linkedResources`, 'stamping a task', { method: 'POST', body: linkedResource(opts.stamp), signal })
        .catch((err: unknown) => {
          if (httpStatus(err) !== 409) throw err; // already linked
        });
    }
    try {
      // The change key as an ETag: a stale one is answered 412, a conflict to merge again.
      if (Array.isArray(deleted) && deleted.length) {
        await this.deleteOccurrences(id, deleted as string[], opts, signal);
        changeKey = undefined; // the master changed with them
      }
      if (!Object.keys(body).length)
        return { id, changeKey: changeKey ?? (await this.get(id, signal))?.changeKey, ...(withheld.length ? { withheld } : {}) };
      const j =
        (await this.client.json(this.itemPath(id), `updating one of the ${this.label}`, {
          method: 'PATCH',
          body,
          signal,
          headers: changeKey ? { 'if-match': `W/"${changeKey}"` } : {},
        })) ?? {};
      return { id: String(j.id ?? id), changeKey: j.changeKey as string | undefined, ...(withheld.length ? { withheld } : {}) };
    } catch (err) {
      if (httpStatus(err) === 412) throw new ExchangeConflict(id);
      throw itemRejected(err, `updating one of the ${this.label}`);
    }
  }

  /**
   * An event's times, zone and pattern are written together (each is read in the others' terms):
   * when only some of them change, the others are read from the event as it is.
   */
  private async withTimes(id: string, fields: Fields, signal?: AbortSignal): Promise<Fields> {
    const TIME = ['start', 'end', 'timeZone', 'recurrence'] as const;
    const { deletedOccurrences, ...rest } = fields;
    if (!TIME.some((f) => f in rest) || TIME.every((f) => f in rest)) return rest;
    const j = await this.client.json(`${this.itemPath(id)}?$select=start,end,originalStartTimeZone,recurrence,type`, 'reading an event', {
      signal,
    });
    const now = j ? this.m.toFields(j) : {};
    const out: Fields = { ...rest };
    for (const f of TIME) if (!(f in out) && (f !== 'recurrence' || j?.type === 'seriesMaster')) out[f] = now[f] ?? null;
    return out;
  }

  async delete(id: string, opts: WriteOptions, signal?: AbortSignal): Promise<void> {
    await this.coll(signal);
    try {
      // Cancelling mails the attendees; only a meeting with attendees can be cancelled.
      if (this.m.kind === 'appointment' && opts.notifyAttendees) {
        const j = await this.client.json(`${this.itemPath(id)}?$select=attendees`, 'reading an event', { signal });
        if ((j?.attendees as unknown[] | undefined)?.length) {
          await this.client.json(`${this.itemPath(id)}/cancel`, 'cancelling an event', { method: 'POST', body: { comment: '' }, signal });
          return;
        }
      }
      await this.client.json(this.itemPath(id), `deleting one of the ${this.label}`, { method: 'DELETE', signal });
    } catch (err) {
      if (httpStatus(err) === 404) return;
      throw err;
    }
  }
}

/** Which Graph application permission each kind needs. */
const PERMISSION: Record<ActKind, { path: string; permission: string; what: string }> = {
  appointment: { path: 'calendar', permission: 'Calendars.ReadWrite', what: 'the calendar' },
  contact: { path: 'contactFolders?$top=1', permission: 'Contacts.ReadWrite', what: 'the contacts' },
  task: { path: 'todo/lists?$top=1', permission: 'Tasks.ReadWrite', what: 'the To Do task lists' },
};

export class GraphActAdapter implements ExchangeActAdapter {
  readonly stores: Partial<Record<ActKind, ExchangeKindStore>> = {};

  /** Each kind's collection under users/{id}/ (events, contacts, the default To Do list's tasks). */
  collection(kind: ActKind, signal?: AbortSignal): Promise<string> {
    return (this.stores[kind] as GraphKindStore).collection(signal);
  }

  private readonly client: GraphActClient;

  constructor(endpoint: Endpoint, credentials: Credentials, opts: GraphActOptions, org: string) {
    this.client = new GraphActClient(endpoint, credentials, opts);
    this.stores.appointment = new GraphKindStore(this.client, EVENT, org);
    this.stores.contact = new GraphKindStore(this.client, CONTACT, org);
    this.stores.task = new GraphKindStore(this.client, TASK, org);
  }

  async test(kinds: ActKind[], signal?: AbortSignal): Promise<void> {
    for (const kind of kinds) {
      const p = PERMISSION[kind];
      try {
        await this.client.json(`${this.client.path}/${p.path}`, `opening ${p.what}`, { signal });
      } catch (err) {
        const status = httpStatus(err);
        if (status === 403 || status === 401) {
          throw new MailError(
            'AuthenticationFailed',
            `Graph: the application may not read ${p.what} of ${this.client.opts.mailbox} (HTTP ${status}): grant it the ${p.permission} application permission (with admin consent), or turn ${p.what} off in spec.appointmentsContactsTasks.kinds of the Deployment`,
            { cause: err },
          );
        }
        throw err;
      }
    }
  }

  async readClaim(signal?: AbortSignal): Promise<OrganizationClaim | undefined> {
    const j = await this.client.json(
      `${this.client.path}/calendar?$expand=singleValueExtendedProperties($filter=id eq '${CLAIM_PROPERTY}')`,
      'reading which organization synchronizes the calendar',
      { signal },
    );
    return parseClaim(prop(j?.singleValueExtendedProperties, CLAIM_PROPERTY));
  }

  async writeClaim(claim: OrganizationClaim, signal?: AbortSignal): Promise<void> {
    await this.client.json(`${this.client.path}/calendar`, 'recording which organization synchronizes the calendar', {
      method: 'PATCH',
      body: { singleValueExtendedProperties: [{ id: CLAIM_PROPERTY, value: JSON.stringify(claim) }] },
      signal,
    });
  }
}
