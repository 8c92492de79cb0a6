// Appointments, contacts and tasks in Exchange Server over EWS, as SOAP written here and sent
// through the mail adapter's transport (src/mail/ews-transport.ts: the profile's CA, NTLM,
// deadlines) with its error rules (ews-errors.ts: ErrorServerBusy and BackOffMilliseconds,
// impersonation, mailbox).
//
// Why not ews-javascript-api here as for mail: its calendar model converts times through its own
// time-zone tables and writes text unescaped; ACT needs six operations with exact control of what
// is sent (SendMeetingInvitations on every write, ChangeKeys, one extended property).
//
// One store for the three kinds (EwsKindStore); what differs is a mapping per kind (ews-mapping.ts:
// the calendar's below, contacts' and tasks' in ews-contacts-tasks.ts).
//   changes   SyncFolderItems on the kind's folder (IdOnly, 512 per page, IncludesLastItemInRange),
//             then GetItem for the changed ids (SyncFolderItems cannot return bodies).
//   writes    CreateItem / UpdateItem (ConflictResolution NeverOverwrite with the ChangeKey: a
//             stale one is ErrorIrresolvableConflict, a conflict to merge again) / DeleteItem;
//             for appointments with SendMeetingInvitations / …OrCancellations SendToNone unless
//             attendees may be mailed (contacts and tasks mail nobody). Times are written in UTC,
//             with the appointment's StartTimeZone/EndTimeZone (Windows ids), read back from
//             StartTimeZoneId as IANA ids.
//   stamp     the CRM id in a named extended property, returned by GetItem, so a create whose
//             link was lost is recognised in the next cycle.
//   claim     a named extended property on the Calendar folder.
// Access is impersonation (what Dynamics requires for ACT) or delegate access to the mailbox.
// Series: a RecurringMaster carries t:Recurrence (ews-recurrence.ts) and its DeletedOccurrences;
// its ModifiedOccurrences are read with GetItem as exceptions; an exception is written by
// changing the occurrence found through OccurrenceItemId (RecurringMasterId + InstanceIndex) by
// its original start, a deleted occurrence by deleting it. Plain occurrences are never items.

import { withEwsCall, EwsTransport, type EwsCall } from '../../mail/ews-transport.js';
import { classifyEwsFault } from '../../mail/ews-errors.js';
import { classifyError, type ErrorContext } from '../../mail/errors.js';
import { parseRetryAfter } from '../../net/error-facts.js';
import { xmlText } from '../../mail/ews-serialization.js';
import { MailError, type Credentials, type Endpoint } from '../../mail/types.js';
import { utc, type ActKind, type Attendee, type Fields, type Recurrence } from '../model.js';
import { crmIdOfStamp, stampValue } from './graph.js';
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
import { CONTACT, TASK } from './ews-contacts-tasks.js';
import { IMPORTANCE, type EwsField, type EwsKindMapping } from './ews-mapping.js';
import { ianaZone, requireWindowsZone, windowsZone } from '../timezones.js';
import { deletedOccurrencesOf, fromEwsRecurrence, modifiedOccurrencesOf, toEwsRecurrence } from './ews-recurrence.js';
import { elements, fieldUri, first, isoTime, text } from './xml.js';

const NS_T = 'http://schemas.microsoft.com/exchange/services/2006/types';
const NS_M = 'http://schemas.microsoft.com/exchange/services/2006/messages';
const PROPSET = '8c7b4a36-0f1e-4f4e-9a39-4d0a6a3e6b21';
const prop = (name: string) => `<t:ExtendedFieldURI PropertySetId="${PROPSET}" PropertyName="${name}" PropertyType="String"/>`;
const STAMP = prop('MailsyncCrmId');
const CLAIM = prop('MailsyncOrganization');
const PAGE = 512;
const GET_BATCH = 100;

export interface EwsActOptions {
  mailbox: string;
  authentication?: 'Basic' | 'NTLM';
  impersonate?: boolean;
  /** The EWS URL (Autodiscover is not used for ACT: set the profile's url). */
  url: string;
}

const SHOW_AS: Record<string, string> = {
  free: 'Free',
  tentative: 'Tentative',
  busy: 'Busy',
  oof: 'OOF',
  workingElsewhere: 'WorkingElsewhere',
};
const FROM_SHOW_AS: Record<string, string> = Object.fromEntries(Object.entries(SHOW_AS).map(([k, v]) => [v, k]));

class EwsActClient {
  private readonly transport: EwsTransport;
  private readonly tokens = new Set<string>();

  constructor(
    endpoint: Endpoint,
    private readonly credentials: Credentials,
    readonly opts: EwsActOptions,
  ) {
    const ntlm = credentials.kind === 'password' && opts.authentication === 'NTLM';
    this.transport = new EwsTransport({
      ca: endpoint.ca,
      timeoutMs: endpoint.timeoutMs,
      ...(ntlm ? { ntlm: { username: credentials.username, password: credentials.password } } : {}),
    });
  }

  /** A well-known folder: the impersonated mailbox's own, or addressed in the mailbox for delegate access. */
  folder(name: string): string {
    return this.opts.impersonate
      ? `<t:DistinguishedFolderId Id="${name}"/>`
      : `<t:DistinguishedFolderId Id="${name}"><t:Mailbox><t:EmailAddress>${xmlText(this.opts.mailbox)}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>`;
  }

  private context(): ErrorContext {
    const secrets = [...this.tokens];
    if (this.credentials.kind === 'password') secrets.push(this.credentials.password);
    return { protocol: 'EWS', server: this.opts.url, secrets };
  }

  /**
   * One EWS operation; returns its response messages (each with ResponseClass and ResponseCode).
   * A SOAP fault, an HTTP failure or a transport failure is thrown as a classified MailError.
   */
  async call(op: string, body: string, what: string, signal?: AbortSignal): Promise<Array<{ ok: boolean; code: string; xml: string }>> {
    const headers: Record<string, string> = { 'content-type': 'text/xml; charset=utf-8', accept: 'text/xml' };
    const c = this.credentials;
    if (c.kind === 'password' && this.opts.authentication !== 'NTLM')
      headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
    if (c.kind === 'oauth2') {
      const token = await c.token.getToken().catch((err: unknown) => {
        throw classifyError(err, { ...this.context(), protocol: 'EWS access token' });
      });
      this.tokens.add(token);
      if (this.tokens.size > 4) this.tokens.delete(this.tokens.values().next().value!);
      headers.authorization = `Bearer ${token}`;
    }
    if (this.opts.impersonate) headers['x-anchormailbox'] = this.opts.mailbox;
    const impersonation = this.opts.impersonate
      ? `<t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>${xmlText(this.opts.mailbox)}</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`
      : '';
    const envelope = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="${NS_T}" xmlns:m="${NS_M}"><soap:Header><t:RequestServerVersion Version="Exchange2013"/>${impersonation}</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`;
    const call: EwsCall = { signal };
    let responseText: string;
    try {
      const res = await withEwsCall(call, () => this.transport.xhr({ url: this.opts.url, type: 'POST', data: envelope, headers }));
      responseText = (res as unknown as { responseText: string }).responseText;
    } catch (err) {
      if (call.transportError !== undefined) throw classifyError(call.transportError, this.context());
      const r = err as { status?: number; responseText?: string; headers?: Record<string, string> };
      const faultXml = r.responseText ?? '';
      const code = text(faultXml, 'ResponseCode');
      const backOff = elements(faultXml, 'Value').find((v) => v.attrs.Name === 'BackOffMilliseconds')?.inner;
      const retryAfter = r.headers?.['retry-after'];
      throw classifyEwsFault(
        {
          code,
          httpStatus: call.httpStatus ?? r.status,
          backOffMs: backOff ? Number(backOff) : undefined,
          retryAfterMs: retryAfter ? parseRetryAfter(retryAfter) : call.retryAfterMs,
          serverText: text(faultXml, 'faultstring'),
        },
        this.context(),
        what,
        err,
      );
    }
    return elements(responseText, `${op}ResponseMessage`).map((m) => {
      const code = text(m.inner, 'ResponseCode') ?? 'NoError';
      return { ok: code === 'NoError', code, xml: m.inner };
    });
  }

  /** The MailError for one failed response message. */
  fail(code: string, what: string): MailError {
    return classifyEwsFault({ code }, this.context(), what, new Error(code));
  }
}

function attendeesOf(xml: string | undefined): Attendee[] {
  return elements(xml ?? '', 'Attendee').map((a) => ({
    address: text(a.inner, 'EmailAddress') ?? '',
    ...(text(a.inner, 'Name') ? { name: text(a.inner, 'Name') } : {}),
  }));
}

const mailboxXml = (a: Attendee) =>
  `<t:Attendee><t:Mailbox>${a.name ? `<t:Name>${xmlText(a.name)}</t:Name>` : ''}<t:EmailAddress>${xmlText(a.address)}</t:EmailAddress></t:Mailbox></t:Attendee>`;

const sendTo = (o: WriteOptions) => (o.notifyAttendees ? 'SendToAllAndSaveCopy' : 'SendToNone');

/** One appointment field as the CalendarItem element(s) that carry it. */
function appointmentField(field: string, v: Fields[string]): EwsField | EwsField[] | undefined {
  const s = (x: unknown) => xmlText(String(x ?? ''));
  const at = (uri: string, xml: string) => ({ path: fieldUri(uri), xml });
  switch (field) {
    case 'subject':
      return at('item:Subject', `<t:Subject>${s(v)}</t:Subject>`);
    case 'body':
      return at('item:Body', `<t:Body BodyType="Text">${s(v)}</t:Body>`);
    case 'importance':
      return v ? at('item:Importance', `<t:Importance>${IMPORTANCE[String(v)] ?? 'Normal'}</t:Importance>`) : undefined;
    case 'start':
      return at('calendar:Start', `<t:Start>${s(v)}</t:Start>`);
    case 'end':
      return at('calendar:End', `<t:End>${s(v)}</t:End>`);
    case 'isAllDay':
      return at('calendar:IsAllDayEvent', `<t:IsAllDayEvent>${v === true}</t:IsAllDayEvent>`);
    case 'showAs':
      return v
        ? at('calendar:LegacyFreeBusyStatus', `<t:LegacyFreeBusyStatus>${SHOW_AS[String(v)] ?? 'Busy'}</t:LegacyFreeBusyStatus>`)
        : undefined;
    case 'location':
      return at('calendar:Location', `<t:Location>${s(v)}</t:Location>`);
    case 'requiredAttendees':
      return at(
        'calendar:RequiredAttendees',
        `<t:RequiredAttendees>${((v as Attendee[] | null) ?? []).map(mailboxXml).join('')}</t:RequiredAttendees>`,
      );
    case 'optionalAttendees':
      return at(
        'calendar:OptionalAttendees',
        `<t:OptionalAttendees>${((v as Attendee[] | null) ?? []).map(mailboxXml).join('')}</t:OptionalAttendees>`,
      );
    case 'recurrence':
      return at('calendar:Recurrence', `<t:Recurrence>${v ? toEwsRecurrence(v as Recurrence) : ''}</t:Recurrence>`);
    case 'timeZone': {
      // Start and end are written in UTC; the zones (Exchange 2010+) say where the meeting is, in
      // Windows ids. No zone is UTC. A zone without a Windows id refuses the item alone.
      const id = v ? requireWindowsZone(String(v), 'EWS') : 'UTC';
      return [
        at('calendar:StartTimeZone', `<t:StartTimeZone Id="${xmlText(id)}"/>`),
        at('calendar:EndTimeZone', `<t:EndTimeZone Id="${xmlText(id)}"/>`),
      ];
    }
    default:
      return undefined; // organizer is the mailbox itself, never written
  }
}

// types.xsd order: StartTimeZone and EndTimeZone come after the attendees.
const ORDER = [
  'subject',
  'body',
  'importance',
  'start',
  'end',
  'isAllDay',
  'showAs',
  'location',
  'requiredAttendees',
  'optionalAttendees',
  'recurrence',
  'timeZone',
];
/** The CalendarItem's own elements (the others are Item's, written before the stamp). */
const CALENDAR_FIELDS = new Set(ORDER.filter((f) => !['subject', 'body', 'importance'].includes(f)));

const APPOINTMENT: EwsKindMapping = {
  kind: 'appointment',
  folder: 'calendar',
  element: 'CalendarItem',
  noun: 'appointment',

  properties: [
    'item:Subject',
    'item:Body',
    'item:Categories',
    'item:Importance',
    'calendar:Start',
    'calendar:End',
    'calendar:IsAllDayEvent',
    'calendar:LegacyFreeBusyStatus',
    'calendar:Location',
    'calendar:Organizer',
    'calendar:RequiredAttendees',
    'calendar:OptionalAttendees',
    'calendar:UID',
    'calendar:CalendarItemType',
    'calendar:StartTimeZoneId',
    'calendar:Recurrence',
    'calendar:ModifiedOccurrences',
    'calendar:DeletedOccurrences',
    'calendar:OriginalStart',
  ],
  toFields(ci) {
    // A plain occurrence is never an item: its master's pattern describes it.
    const type = text(ci, 'CalendarItemType');
    if (type === 'Occurrence') return undefined;
    return {
      subject: text(ci, 'Subject') ?? null,
      body: text(ci, 'Body') ?? null,
      location: text(ci, 'Location') ?? null,
      start: isoTime(text(ci, 'Start')),
      end: isoTime(text(ci, 'End')),
      isAllDay: text(ci, 'IsAllDayEvent') === 'true',
      importance: (text(ci, 'Importance') ?? 'Normal').toLowerCase(),
      showAs: FROM_SHOW_AS[text(ci, 'LegacyFreeBusyStatus') ?? 'Busy'] ?? 'busy',
      organizer: text(first(ci, 'Organizer')?.inner ?? '', 'EmailAddress') ?? null,
      requiredAttendees: attendeesOf(first(ci, 'RequiredAttendees')?.inner),
      optionalAttendees: attendeesOf(first(ci, 'OptionalAttendees')?.inner),
      // Exchange 2013 names the zone in StartTimeZoneId; Exchange 2010 only as StartTimeZone's Id.
      timeZone: ianaZone(text(ci, 'StartTimeZoneId') ?? first(ci, 'StartTimeZone')?.attrs.Id) ?? null,
      recurrence: type === 'RecurringMaster' ? fromEwsRecurrence(first(ci, 'Recurrence')?.inner) : null,
      deletedOccurrences: type === 'RecurringMaster' ? deletedOccurrencesOf(ci) : null,
    };
  },
  createXml(fields) {
    const present = ORDER.filter((f) => f in fields);
    const xml = (list: string[]) =>
      list
        .filter((f) => f !== 'recurrence' || fields.recurrence)
        .flatMap((f) => [appointmentField(f, fields[f]) ?? []].flat())
        .map((x) => x.xml)
        .join('');
    return { item: xml(present.filter((f) => !CALENDAR_FIELDS.has(f))), kind: xml(present.filter((f) => CALENDAR_FIELDS.has(f))) };
  },
  update: appointmentField,
  attrs: {
    create: (o) => ` SendMeetingInvitations="${sendTo(o)}"`,
    update: (o) => ` SendMeetingInvitationsOrCancellations="${sendTo(o)}"`,
    delete: (o) => ` SendMeetingCancellations="${sendTo(o)}"`,
  },
};

/** One kind's items in its folder: changes, reads and writes, stamped with the CRM id. */
class EwsKindStore implements ExchangeKindStore {
  readonly kind: ActKind;
  readonly unsupported?: string[];

  constructor(
    private readonly client: EwsActClient,
    private readonly m: EwsKindMapping,
    private readonly org: string,
  ) {
    this.kind = m.kind;
    this.unsupported = m.unsupported;
  }

  async changes(cursor: string | undefined, signal?: AbortSignal): Promise<ExchangeChanges> {
    try {
      return { ...(await this.read(cursor, signal)), restarted: false };
    } catch (err) {
      if (cursor && err instanceof MailError && /ErrorInvalidSyncStateData/.test(err.message))
        return { ...(await this.read(undefined, signal)), restarted: true };
      throw err;
    }
  }

  private async read(cursor: string | undefined, signal?: AbortSignal): Promise<Omit<ExchangeChanges, 'restarted'>> {
    const changed = new Set<string>();
    const removed = new Set<string>();
    const what = `reading ${this.m.folder} changes`;
    let state = cursor;
    for (;;) {
      const body = `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId>${this.client.folder(this.m.folder)}</m:SyncFolderId>${state ? `<m:SyncState>${xmlText(state)}</m:SyncState>` : ''}<m:MaxChangesReturned>${PAGE}</m:MaxChangesReturned><m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>`;
      const [r] = await this.client.call('SyncFolderItems', body, what, signal);
      if (!r?.ok) throw this.client.fail(r?.code ?? 'ErrorInternalServerError', what);
      for (const kind of ['Create', 'Update', 'Delete']) {
        for (const c of elements(first(r.xml, 'Changes')?.inner ?? '', kind)) {
          const id = first(c.inner, 'ItemId')?.attrs.Id;
          if (!id) continue;
          if (kind === 'Delete') {
            changed.delete(id);
            removed.add(id);
          } else {
            removed.delete(id);
            changed.add(id);
          }
        }
      }
      state = text(r.xml, 'SyncState') ?? state;
      if (text(r.xml, 'IncludesLastItemInRange') !== 'false') break;
    }
    const items: ExchangeItem[] = [];
    const ids = [...changed];
    const exceptions = new Map<string, { masterId: string; originalStart: string }>();
    for (let i = 0; i < ids.length; i += GET_BATCH)
      items.push(
        ...(await this.getMany(ids.slice(i, i + GET_BATCH), signal, (masterId, list) => {
          for (const o of list) exceptions.set(o.id, { masterId, originalStart: o.originalStart });
        })),
      );
    // A series is its master (SyncFolderItems reports it when any occurrence changes) and its
    // exceptions, read with GetItem from the master's ModifiedOccurrences.
    const exIds = [...exceptions.keys()];
    for (let i = 0; i < exIds.length; i += GET_BATCH)
      for (const x of await this.getMany(exIds.slice(i, i + GET_BATCH), signal)) {
        const ref = exceptions.get(x.id)!;
        items.push({ ...x, seriesMasterId: ref.masterId, originalStart: ref.originalStart });
      }
    return { items, removed: [...removed], cursor: state ?? '' };
  }

  /** The occurrence (or exception) of a series that originally starts at this time: its ItemId, found by InstanceIndex. */
  private async occurrenceId(ref: SeriesRef, signal?: AbortSignal): Promise<string | undefined> {
    const what = 'looking for an occurrence of a series';
    // Occurrences are addressed by index (1, 2, …); read them in batches until the original start is found or the series ends.
    for (let from = 1; from < 5000; from += GET_BATCH) {
      const refs = Array.from(
        { length: GET_BATCH },
        (_, k) => `<t:OccurrenceItemId RecurringMasterId="${xmlText(ref.masterId)}" InstanceIndex="${from + k}"/>`,
      ).join('');
      const body = `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="calendar:Start"/><t:FieldURI FieldURI="calendar:OriginalStart"/></t:AdditionalProperties></m:ItemShape><m:ItemIds>${refs}</m:ItemIds></m:GetItem>`;
      const messages = await this.client.call('GetItem', body, what, signal);
      let ended = false;
      for (const m of messages) {
        if (!m.ok) {
          if (m.code === 'ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange') ended = true;
          else if (m.code !== 'ErrorCalendarOccurrenceIsDeletedFromRecurrence') throw this.client.fail(m.code, what);
          continue;
        }
        const x = first(m.xml, 'CalendarItem')?.inner ?? '';
        if (utc(text(x, 'OriginalStart') ?? text(x, 'Start')) === ref.originalStart) return first(x, 'ItemId')?.attrs.Id;
      }
      if (ended || !messages.length) return undefined;
    }
    return undefined;
  }

  /** Deletes the occurrences of a series that originally start at these times (those already gone are skipped). */
  private async deleteOccurrences(masterId: string, starts: string[], signal?: AbortSignal): Promise<void> {
    for (const originalStart of starts) {
      const id = await this.occurrenceId({ masterId, originalStart }, signal);
      if (id) await this.delete(id, { notifyAttendees: false }, signal);
    }
  }

  private async getMany(
    ids: string[],
    signal?: AbortSignal,
    exceptionsOf?: (masterId: string, list: Array<{ id: string; originalStart: string }>) => void,
  ): Promise<ExchangeItem[]> {
    const what = `reading ${this.m.noun}s`;
    const body = `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:BodyType>Text</t:BodyType><t:AdditionalProperties>${this.m.properties
      .map(fieldUri)
      .join(
        '',
      )}${STAMP}</t:AdditionalProperties></m:ItemShape><m:ItemIds>${ids.map((id) => `<t:ItemId Id="${xmlText(id)}"/>`).join('')}</m:ItemIds></m:GetItem>`;
    const messages = await this.client.call('GetItem', body, what, signal);
    const out: ExchangeItem[] = [];
    for (const m of messages) {
      if (!m.ok) {
        if (m.code === 'ErrorItemNotFound') continue; // deleted since
        throw this.client.fail(m.code, what);
      }
      const x = first(m.xml, this.m.element)?.inner;
      if (!x) continue; // another item class in the folder (a meeting request, a distribution list)
      const fields = this.m.toFields(x);
      if (!fields) continue;
      const idEl = first(x, 'ItemId')!.attrs;
      if (exceptionsOf && fields.recurrence) exceptionsOf(idEl.Id, modifiedOccurrencesOf(x));
      const stamp = elements(x, 'ExtendedProperty')
        .map((p) => text(p.inner, 'Value'))
        .find((v) => v?.startsWith(`${this.org}:`));
      const crmId = crmIdOfStamp(stamp, this.org);
      const uid = text(x, 'UID');
      out.push({
        id: idEl.Id,
        changeKey: idEl.ChangeKey,
        ...(uid ? { iCalUId: uid } : {}),
        categories: elements(first(x, 'Categories')?.inner ?? '', 'String').map((e) => e.inner),
        ...(crmId ? { stampedCrmId: crmId } : {}),
        fields,
      });
    }
    return out;
  }

  async get(id: string, signal?: AbortSignal): Promise<ExchangeItem | undefined> {
    return (await this.getMany([id], signal))[0];
  }

  private stampXml(stamp: { org: string; crmId: string }): string {
    return `<t:ExtendedProperty>${STAMP}<t:Value>${xmlText(stampValue(stamp.org, stamp.crmId))}</t:Value></t:ExtendedProperty>`;
  }

  async create(
    fields: Fields,
    stamp: { org: string; crmId: string },
    opts: WriteOptions & { series?: SeriesRef },
    signal?: AbortSignal,
  ): Promise<Written> {
    const what = `creating ${article(this.m.noun)}`;
    if (opts.series) {
      // An exception: the occurrence with this original start, changed (it becomes an Exception item).
      const id = await this.occurrenceId(opts.series, signal);
      if (!id)
        throw new MailError(
          'ItemRejected',
          `Exchange has no occurrence of the series that originally starts at ${opts.series.originalStart} (deleted, or not in the series' pattern); this exception is skipped until it changes`,
        );
      const { recurrence: _r, deletedOccurrences: _d, ...rest } = fields;
      const w = await this.update(id, undefined, rest, { ...opts, stamp }, signal);
      return { ...w, iCalUId: (await this.get(w.id, signal))?.iCalUId };
    }
    const { deletedOccurrences, ...rest } = fields;
    fields = rest;
    const x = this.m.createXml(fields);
    // Item fields, then the extended property, then the kind's fields (types.xsd order).
    const body = `<m:CreateItem${this.m.attrs?.create?.(opts) ?? ''}><m:SavedItemFolderId>${this.client.folder(this.m.folder)}</m:SavedItemFolderId><m:Items><t:${this.m.element}>${x.item}${this.stampXml(stamp)}${x.kind}</t:${this.m.element}></m:Items></m:CreateItem>`;
    const [r] = await this.client.call('CreateItem', body, what, signal);
    if (!r?.ok) throw this.itemFailure(r?.code ?? 'ErrorInternalServerError', what, fields.timeZone);
    const idEl = first(r.xml, 'ItemId')!.attrs;
    if (Array.isArray(deletedOccurrences) && deletedOccurrences.length)
      await this.deleteOccurrences(idEl.Id, deletedOccurrences as string[], signal);
    const fresh = await this.get(idEl.Id, signal);
    return { id: idEl.Id, changeKey: fresh?.changeKey ?? idEl.ChangeKey, iCalUId: fresh?.iCalUId };
  }

  async update(
    id: string,
    changeKey: string | undefined,
    fields: Fields,
    opts: WriteOptions & { stamp?: { org: string; crmId: string } },
    signal?: AbortSignal,
  ): Promise<Written> {
    const what = `updating ${article(this.m.noun)}`;
    const el = this.m.element;
    const { deletedOccurrences, ...rest } = fields;
    fields = rest;
    if (Array.isArray(deletedOccurrences) && deletedOccurrences.length) {
      // Occurrences are deleted one by one (DeleteItem); the master's ChangeKey moves with them.
      await this.deleteOccurrences(id, deletedOccurrences as string[], signal);
      changeKey = undefined;
    }
    const updates = Object.keys(fields).flatMap((f) => {
      const empty = fields[f] === null || (Array.isArray(fields[f]) && (fields[f] as unknown[]).length === 0);
      return [this.m.update(f, fields[f]) ?? []].flat().map((x) =>
        // A field written even when empty (a time zone: UTC) has an element for it.
        empty && f !== 'timeZone'
          ? `<t:DeleteItemField>${x.path}</t:DeleteItemField>`
          : `<t:SetItemField>${x.path}<t:${el}>${x.xml}</t:${el}></t:SetItemField>`,
      );
    });
    if (opts.stamp) updates.push(`<t:SetItemField>${STAMP}<t:${el}>${this.stampXml(opts.stamp)}</t:${el}></t:SetItemField>`);
    if (!updates.some(Boolean)) return { id, changeKey: changeKey ?? (await this.get(id, signal))?.changeKey };
    const body = `<m:UpdateItem ConflictResolution="NeverOverwrite"${this.m.attrs?.update?.(opts) ?? ''}><m:ItemChanges><t:ItemChange><t:ItemId Id="${xmlText(id)}"${changeKey ? ` ChangeKey="${xmlText(changeKey)}"` : ''}/><t:Updates>${updates.join('')}</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`;
    const [r] = await this.client.call('UpdateItem', body, what, signal);
    if (r?.code === 'ErrorIrresolvableConflict') throw new ExchangeConflict(id);
    if (!r?.ok) throw this.itemFailure(r?.code ?? 'ErrorInternalServerError', what, fields.timeZone);
    const idEl = first(r.xml, 'ItemId')?.attrs;
    return { id: idEl?.Id ?? id, changeKey: idEl?.ChangeKey };
  }

  async delete(id: string, opts: WriteOptions, signal?: AbortSignal): Promise<void> {
    const what = `deleting ${article(this.m.noun)}`;
    const body = `<m:DeleteItem DeleteType="MoveToDeletedItems"${this.m.attrs?.delete?.(opts) ?? ''}><m:ItemIds><t:ItemId Id="${xmlText(id)}"/></m:ItemIds></m:DeleteItem>`;
    const [r] = await this.client.call('DeleteItem', body, what, signal);
    if (r && !r.ok && r.code !== 'ErrorItemNotFound') throw this.itemFailure(r.code, what);
  }

  /** Item-level refusals (a time zone EWS rejects, a bad value) skip the item; the rest is the mailbox's failure. */
  private itemFailure(code: string, what: string, zone?: Fields[string]): MailError {
    const err = this.client.fail(code, what);
    if (/^ErrorTimeZone/.test(code) && zone)
      // Some Windows zones are refused by some Exchange versions (Dynamics' EWS error 383).
      return new MailError(
        'ItemRejected',
        `EWS refused the time zone "${String(zone)}" (Windows id "${windowsZone(String(zone)) ?? '?'}") while ${what} (${code}); the ${this.m.noun} is skipped until its time zone changes`,
        { cause: err },
      );
    if (err.reason === 'ProtocolError' || err.reason === 'ServerError') {
      if (
        /^Error(InvalidPropertySet|InvalidValueForProperty|CalendarInvalid|TimeZone|InvalidRecipients|SchemaValidation|ObjectTypeChanged)/.test(
          code,
        )
      ) {
        return new MailError('ItemRejected', `EWS refused the ${this.m.noun} while ${what} (${code}); it is skipped until it changes`, {
          cause: err,
        });
      }
    }
    return err;
  }
}

const article = (noun: string) => `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`;

/** Each kind's distinguished folder (also what ACT's change notifications subscribe to) and its name in messages. */
export const EWS_ACT_FOLDERS: Record<ActKind, { id: string; what: string }> = {
  appointment: { id: 'calendar', what: 'Calendar' },
  contact: { id: 'contacts', what: 'Contacts' },
  task: { id: 'tasks', what: 'Tasks' },
};

export class EwsActAdapter implements ExchangeActAdapter {
  readonly stores: Partial<Record<ActKind, ExchangeKindStore>> = {};
  private readonly client: EwsActClient;

  constructor(endpoint: Endpoint, credentials: Credentials, opts: EwsActOptions, org: string) {
    this.client = new EwsActClient(endpoint, credentials, opts);
    for (const m of [APPOINTMENT, CONTACT, TASK]) this.stores[m.kind] = new EwsKindStore(this.client, m, org);
  }

  async test(kinds: ActKind[], signal?: AbortSignal): Promise<void> {
    for (const kind of kinds.filter((k) => this.stores[k])) {
      const f = EWS_ACT_FOLDERS[kind];
      const [r] = await this.client.call(
        'GetFolder',
        `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>${this.client.folder(f.id)}</m:FolderIds></m:GetFolder>`,
        `opening the ${f.what} folder`,
        signal,
      );
      if (!r?.ok) {
        const err = this.client.fail(r?.code ?? 'ErrorInternalServerError', `opening the ${f.what} folder`);
        if (r?.code === 'ErrorAccessDenied') {
          throw new MailError(
            'AuthenticationFailed',
            `EWS ${this.client.opts.url}: the account may not open the ${f.what} folder of ${this.client.opts.mailbox} (ErrorAccessDenied): grant it the ApplicationImpersonation role (what appointment, contact and task sync needs), or delegate access to the ${f.what} folder`,
            { cause: err },
          );
        }
        throw err;
      }
    }
  }

  async readClaim(signal?: AbortSignal): Promise<OrganizationClaim | undefined> {
    const [r] = await this.client.call(
      'GetFolder',
      `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>${CLAIM}</t:AdditionalProperties></m:FolderShape><m:FolderIds>${this.client.folder('calendar')}</m:FolderIds></m:GetFolder>`,
      'reading which organization synchronizes the calendar',
      signal,
    );
    if (!r?.ok) throw this.client.fail(r?.code ?? 'ErrorInternalServerError', 'reading which organization synchronizes the calendar');
    return parseClaim(text(first(r.xml, 'ExtendedProperty')?.inner ?? '', 'Value'));
  }

  async writeClaim(claim: OrganizationClaim, signal?: AbortSignal): Promise<void> {
    const folderId = await this.calendarId(signal);
    const body = `<m:UpdateFolder><m:FolderChanges><t:FolderChange><t:FolderId Id="${xmlText(folderId)}"/><t:Updates><t:SetFolderField>${CLAIM}<t:CalendarFolder><t:ExtendedProperty>${CLAIM}<t:Value>${xmlText(JSON.stringify(claim))}</t:Value></t:ExtendedProperty></t:CalendarFolder></t:SetFolderField></t:Updates></t:FolderChange></m:FolderChanges></m:UpdateFolder>`;
    const [r] = await this.client.call('UpdateFolder', body, 'recording which organization synchronizes the calendar', signal);
    if (!r?.ok) throw this.client.fail(r?.code ?? 'ErrorInternalServerError', 'recording which organization synchronizes the calendar');
  }

  private async calendarId(signal?: AbortSignal): Promise<string> {
    const [r] = await this.client.call(
      'GetFolder',
      `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>${this.client.folder('calendar')}</m:FolderIds></m:GetFolder>`,
      'opening the Calendar folder',
      signal,
    );
    const id = r?.ok ? first(r.xml, 'FolderId')?.attrs.Id : undefined;
    if (!id) throw this.client.fail(r?.code ?? 'ErrorFolderNotFound', 'opening the Calendar folder');
    return id;
  }
}
