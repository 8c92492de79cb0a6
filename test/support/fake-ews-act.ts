// The calendar, contacts and tasks of the fake Exchange Server (fake-ews.ts), as the EWS reference
// describes them, plugged into its server (same authentication, impersonation checks and
// ErrorServerBusy). One store of items, each in one folder with its class:
//   GetFolder / UpdateFolder      calendar, contacts, tasks; named extended properties (calendar)
//   SyncFolderItems               per folder: Create / Update / Delete since a SyncState (one
//                                 folder's state is refused by another), MaxChangesReturned,
//                                 IncludesLastItemInRange, ErrorInvalidSyncStateData after expiry
//   GetItem / CreateItem / UpdateItem / DeleteItem of CalendarItems, Contacts and Tasks: ChangeKeys
//                                 change on every edit (a stale one is ErrorIrresolvableConflict);
//                                 contacts' EmailAddresses / PhoneNumbers / PhysicalAddresses are
//                                 dictionaries, updated one entry at a time through an
//                                 IndexedFieldURI (setting a whole one is ErrorInvalidPropertySet);
//                                 a SetItemField whose element is not the item's class is
//                                 ErrorObjectTypeChanged; deleting a task needs AffectedTaskOccurrences;
//                                 a task set Completed is 100 % complete, as Exchange does.
//                                 SendMeetingInvitations, …OrCancellations, SendMeetingCancellations.
//                                 StartTimeZone/EndTimeZone by Windows id (read back as
//                                 StartTimeZoneId); an unknown or `rejectedZones` id is ErrorTimeZone.
// Every invitation, update or cancellation it would mail is recorded in `notices`.
import { randomUUID } from 'node:crypto';
import { findIana } from 'windows-iana';
import { expand } from './fake-graph-series.js';
import { elements, escapeXml, ewsResponse, failure, first, success, text } from './fake-ews-soap.js';
import type { FakeEws, FakeEwsExtension } from './fake-ews.js';
import type { Notice } from './fake-graph-act.js';

export type FakeFolder = 'calendar' | 'contacts' | 'tasks';
export type FakeItemClass = 'CalendarItem' | 'Contact' | 'Task' | 'DistributionList';

/**
 * One item. `fields` are keyed by element name (Subject, GivenName, DueDate); a contact's dictionary
 * entries by their Key (EmailAddress1, BusinessPhone) and its address parts as `Business:Street`.
 */
export interface FakeActItem {
  id: string;
  folder: FakeFolder;
  cls: FakeItemClass;
  changeKey: string;
  seq: number;
  createdSeq: number;
  removed: boolean;
  uid: string;
  fields: Record<string, string>;
  required: string[];
  optional: string[];
  organizer: string;
  categories: string[];
  props: Record<string, string>;
  /** A RecurringMaster: the inside of its t:Recurrence, and its deleted occurrences' original starts (ms). */
  recurrence?: string;
  deleted?: number[];
  /** An Exception (or, when `virtual`, a plain Occurrence): its master and original start (ms). */
  masterId?: string;
  originalStart?: number;
  virtual?: boolean;
}
export type FakeCalendarItem = FakeActItem;

const OCC = '_OCC_';
const isoZ = (t: number): string => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A master's occurrences' original starts (ms), deleted ones included: the pattern expanded in its zone. */
function occurrencesOf(master: FakeActItem): number[] {
  const r = master.recurrence ?? '';
  const type = /<t:(Daily|Weekly)Recurrence>/.exec(r)?.[1];
  const range = /<t:(NoEnd|EndDate|Numbered)Recurrence>/.exec(r)?.[1];
  if (!type || !range) return [];
  const json = {
    start: { dateTime: String(master.fields.Start ?? '').replace(/Z$/, '') },
    originalStartTimeZone: master.fields.StartTimeZone ?? 'UTC',
    recurrence: {
      pattern: {
        type: type.toLowerCase(),
        interval: Number(text(r, 'Interval') ?? 1),
        daysOfWeek: (text(r, 'DaysOfWeek') ?? '')
          .split(/\s+/)
          .filter(Boolean)
          .map((d) => d.toLowerCase()),
      },
      range: {
        type: range === 'NoEnd' ? 'noEnd' : range === 'EndDate' ? 'endDate' : 'numbered',
        startDate: (text(r, 'StartDate') ?? '').slice(0, 10),
        endDate: text(r, 'EndDate')?.slice(0, 10),
        numberOfOccurrences: Number(text(r, 'NumberOfOccurrences') ?? 0),
      },
    },
  };
  return expand(json, Date.now() + 3 * 365 * 86_400_000);
}

const FOLDERS: Record<FakeFolder, { prefix: string; element: string; cls: FakeItemClass }> = {
  calendar: { prefix: 'AAMkCal', element: 'CalendarFolder', cls: 'CalendarItem' },
  contacts: { prefix: 'AAMkCon', element: 'ContactsFolder', cls: 'Contact' },
  tasks: { prefix: 'AAMkTsk', element: 'TasksFolder', cls: 'Task' },
};
const CLASSES: FakeItemClass[] = ['CalendarItem', 'Contact', 'Task', 'DistributionList'];
const isOurs = (id: string | undefined) => !!id && Object.values(FOLDERS).some((f) => id.startsWith(f.prefix));

/** The simple (non-dictionary) properties each class stores, in types.xsd order of the kind's own part. */
const SIMPLE: Record<FakeItemClass, string[]> = {
  CalendarItem: ['Subject', 'Body', 'Importance', 'Start', 'End', 'IsAllDayEvent', 'LegacyFreeBusyStatus', 'Location'],
  Contact: [
    'Body',
    'FileAsMapping',
    'GivenName',
    'MiddleName',
    'CompanyName',
    'AssistantName',
    'Birthday',
    'Department',
    'JobTitle',
    'Surname',
  ],
  Task: ['Subject', 'Body', 'Importance', 'CompleteDate', 'DueDate', 'IsRecurring', 'PercentComplete', 'StartDate', 'Status'],
  DistributionList: ['Subject'],
};
const DICTIONARIES = ['EmailAddresses', 'PhoneNumbers', 'PhysicalAddresses'];
const ADDRESS_PARTS = ['Street', 'City', 'State', 'CountryOrRegion', 'PostalCode'];
const KEY = ['Subject', 'Body', 'Start', 'End', 'Location', 'IsAllDayEvent'];
const DEFAULTS: Record<FakeItemClass, Record<string, string>> = {
  CalendarItem: { LegacyFreeBusyStatus: 'Busy', Importance: 'Normal', IsAllDayEvent: 'false' },
  Contact: {},
  Task: { Importance: 'Normal', Status: 'NotStarted', PercentComplete: '0', IsRecurring: 'false' },
  DistributionList: {},
};

export class FakeEwsAct implements FakeEwsExtension {
  readonly notices: Notice[] = [];
  /** Folders the account may not open (ErrorAccessDenied), e.g. "calendar". */
  readonly denied = new Set<string>();
  /**
   * Windows time zones this server refuses (ErrorTimeZone), as some Exchange versions refuse some
   * zones (Dynamics' EWS error 383); ids Windows does not know are refused anyway.
   */
  readonly rejectedZones = new Set<string>();
  /** Called before an UpdateItem is applied: a test's chance to change the item under the client (a user's edit in Outlook). */
  beforeUpdate?: (item: FakeActItem) => void;
  private readonly boxes = new Map<string, FakeActItem[]>();
  private readonly folderProps = new Map<string, Record<string, string>>();
  private seq = 0;
  private nextId = 1;
  private generation = 0;

  constructor(private readonly ews: FakeEws) {
    ews.extensions.push(this);
  }

  static attach(ews: FakeEws): FakeEwsAct {
    return new FakeEwsAct(ews);
  }

  /** The live items of one folder (the calendar unless named). */
  items(mailbox: string, folder: FakeFolder = 'calendar'): FakeActItem[] {
    return this.box(mailbox).filter((i) => !i.removed && i.folder === folder);
  }

  /** An appointment the user made in Outlook. */
  add(mailbox: string, fields: Record<string, string>, extra: { required?: string[]; categories?: string[] } = {}): FakeActItem {
    return this.insert(mailbox, 'calendar', 'CalendarItem', fields, { required: extra.required ?? [], categories: extra.categories ?? [] });
  }

  /** A contact the user made in Outlook (dictionary entries by Key: EmailAddress1, BusinessPhone, Business:City). */
  addContact(mailbox: string, fields: Record<string, string>, extra: { categories?: string[] } = {}): FakeActItem {
    return this.insert(mailbox, 'contacts', 'Contact', fields, { categories: extra.categories ?? [] });
  }

  /** A task the user made in Outlook. */
  addTask(mailbox: string, fields: Record<string, string>, extra: { categories?: string[] } = {}): FakeActItem {
    return this.insert(mailbox, 'tasks', 'Task', fields, { categories: extra.categories ?? [] });
  }

  /** A contact group (distribution list): lives in the Contacts folder, is not a contact. */
  addDistributionList(mailbox: string, name: string): FakeActItem {
    return this.insert(mailbox, 'contacts', 'DistributionList', { Subject: name }, { categories: [] });
  }

  /** The user edits an item in Outlook (any folder): its ChangeKey changes. */
  edit(mailbox: string, id: string, fields: Record<string, string>, extra: { categories?: string[] } = {}): void {
    const i = this.box(mailbox).find((x) => x.id === id && !x.removed)!;
    Object.assign(i.fields, fields);
    if (extra.categories) i.categories = extra.categories;
    this.touch(i);
  }

  remove(mailbox: string, id: string): void {
    const i = this.box(mailbox).find((x) => x.id === id && !x.removed);
    if (i) {
      i.removed = true;
      this.touch(i);
    }
  }

  /** A weekly or daily series the user made in Outlook: `recurrence` is the inside of t:Recurrence. */
  addSeries(mailbox: string, fields: Record<string, string>, recurrence: string, extra: { categories?: string[] } = {}): FakeActItem {
    const i = this.add(mailbox, fields, extra);
    i.recurrence = recurrence;
    return i;
  }

  /** The exceptions of a series, as stored. */
  exceptionsOf(mailbox: string, masterId: string): FakeActItem[] {
    return this.box(mailbox).filter((i) => i.masterId === masterId && !i.removed && !i.virtual);
  }

  /** A user's change to one occurrence in Outlook: it becomes an exception. */
  editOccurrence(mailbox: string, masterId: string, originalStart: string, fields: Record<string, string>): FakeActItem {
    const master = this.box(mailbox).find((i) => i.id === masterId && !i.removed)!;
    const index = occurrencesOf(master).indexOf(Date.parse(originalStart)) + 1;
    const ex = this.exception(mailbox, `${masterId}${OCC}${index}`);
    if (!ex) throw new Error(`no occurrence of ${masterId} at ${originalStart}`);
    Object.assign(ex.fields, fields);
    this.touch(ex);
    this.touch(master);
    return ex;
  }

  /** A user deletes one occurrence in Outlook. */
  deleteOccurrence(mailbox: string, masterId: string, originalStart: string): void {
    const master = this.box(mailbox).find((i) => i.id === masterId && !i.removed)!;
    this.cancel(mailbox, `${masterId}${OCC}${occurrencesOf(master).indexOf(Date.parse(originalStart)) + 1}`);
  }

  /** The occurrence `masterId_OCC_n`: its master, original start and exception, if it exists and is not deleted. */
  private occurrence(mailbox: string, id: string): { master: FakeActItem; originalStart: number; exception?: FakeActItem } | undefined {
    const [masterId, n] = id.split(OCC);
    const master = this.box(mailbox).find((i) => i.id === masterId && !i.removed && i.recurrence);
    const originalStart = master ? occurrencesOf(master)[Number(n) - 1] : undefined;
    if (!master || originalStart === undefined || master.deleted?.includes(originalStart)) return undefined;
    return { master, originalStart, exception: this.box(mailbox).find((i) => i.id === id && !i.removed) };
  }

  /** A plain occurrence as GetItem shows it (not stored). */
  private virtualOccurrence(master: FakeActItem, id: string, originalStart: number): FakeActItem {
    const length = Date.parse(master.fields.End) - Date.parse(master.fields.Start);
    return {
      ...master,
      id,
      fields: { ...master.fields, Start: isoZ(originalStart), End: isoZ(originalStart + length) },
      recurrence: undefined,
      deleted: undefined,
      props: {},
      masterId: master.id,
      originalStart,
      virtual: true,
    };
  }

  /** The exception an occurrence becomes when it is changed (its ItemId is kept). */
  private exception(mailbox: string, id: string): FakeActItem | undefined {
    const occ = this.occurrence(mailbox, id);
    if (!occ) return undefined;
    if (occ.exception) return occ.exception;
    const ex = { ...this.virtualOccurrence(occ.master, id, occ.originalStart), virtual: false, categories: [...occ.master.categories] };
    this.touch(ex);
    ex.createdSeq = ex.seq;
    this.box(mailbox).push(ex);
    return ex;
  }

  /** Deletes an occurrence or exception: the master lists it in DeletedOccurrences. */
  private cancel(mailbox: string, id: string): FakeActItem | undefined {
    const occ = this.occurrence(mailbox, id);
    if (!occ) return undefined;
    if (occ.exception) occ.exception.removed = true;
    occ.master.deleted = [...(occ.master.deleted ?? []), occ.originalStart];
    this.touch(occ.master);
    return occ.master;
  }

  invalidateSyncStates(): void {
    this.generation++;
  }

  private box(mailbox: string): FakeActItem[] {
    const key = mailbox.toLowerCase();
    let l = this.boxes.get(key);
    if (!l) this.boxes.set(key, (l = []));
    return l;
  }

  private insert(
    mailbox: string,
    folder: FakeFolder,
    cls: FakeItemClass,
    fields: Record<string, string>,
    rest: { required?: string[]; categories: string[] },
  ): FakeActItem {
    const item: FakeActItem = {
      id: `${FOLDERS[folder].prefix}${String(this.nextId++).padStart(6, '0')}AAA=`,
      folder,
      cls,
      changeKey: '',
      seq: 0,
      createdSeq: 0,
      removed: false,
      uid: `040000008200E00074C5B7101A82E008${randomUUID().replace(/-/g, '')}`,
      fields: { ...DEFAULTS[cls], ...fields },
      organizer: mailbox.toLowerCase(),
      required: rest.required ?? [],
      optional: [],
      categories: rest.categories,
      props: {},
    };
    this.box(mailbox).push(item);
    this.touch(item);
    item.createdSeq = item.seq;
    return item;
  }

  private touch(i: FakeActItem): void {
    const type = i.removed ? 'DeletedEvent' : i.seq === 0 ? 'CreatedEvent' : 'ModifiedEvent';
    i.seq = ++this.seq;
    i.changeKey = `DwAAABYA${i.seq}`;
    // Notifications of the folder's subscriptions (fake-ews-notifications.ts).
    for (const [mailbox, items] of this.boxes) if (items.includes(i)) this.ews.notifications.changed(mailbox, i.folder, type, i.id);
  }

  private notify(mailbox: string, i: FakeActItem, kind: Notice['kind']): void {
    this.notices.push({ mailbox, eventId: i.id, subject: i.fields.Subject, kind, to: [...i.required, ...i.optional] });
  }

  handle(op: string, mailbox: string, body: string): string | undefined {
    const folderId = first(body, 'DistinguishedFolderId')?.attrs.Id as FakeFolder | undefined;
    const known = !!folderId && folderId in FOLDERS;
    switch (op) {
      case 'GetFolder': {
        if (!known) return undefined;
        if (this.denied.has(folderId))
          return ewsResponse(op, [failure(op, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.')]);
        const el = FOLDERS[folderId].element;
        return ewsResponse(op, [
          success(
            op,
            `<m:Folders><t:${el}><t:FolderId Id="${folderId}-${mailbox}" ChangeKey="AgAAAA=="/>${this.props(mailbox, body)}</t:${el}></m:Folders>`,
          ),
        ]);
      }
      case 'UpdateFolder': {
        const id = first(body, 'FolderId')?.attrs.Id ?? '';
        if (!id.startsWith('calendar-')) return undefined;
        const props = (this.folderProps.get(mailbox) ?? {}) as Record<string, string>;
        for (const p of elements(first(body, 'Updates')?.inner ?? '', 'ExtendedProperty'))
          props[first(p.inner, 'ExtendedFieldURI')?.attrs.PropertyName ?? '?'] = text(p.inner, 'Value') ?? '';
        this.folderProps.set(mailbox, props);
        return ewsResponse(op, [
          success(op, `<m:Folders><t:CalendarFolder><t:FolderId Id="${id}" ChangeKey="AgAAAB=="/></t:CalendarFolder></m:Folders>`),
        ]);
      }
      case 'SyncFolderItems':
        if (!known) return undefined;
        if (this.denied.has(folderId))
          return ewsResponse(op, [failure(op, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.')]);
        return this.sync(mailbox, folderId, body);
      case 'GetItem': {
        const inner = first(body, 'ItemIds')?.inner ?? '';
        // OccurrenceItemId: the n-th occurrence of a master (ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange past the end).
        const byIndex = elements(inner, 'OccurrenceItemId').map((e) => `${e.attrs.RecurringMasterId}${OCC}${e.attrs.InstanceIndex}`);
        const ids = byIndex.length ? byIndex : elements(inner, 'ItemId').map((e) => e.attrs.Id);
        if (!ids.every(isOurs)) return undefined;
        const box = this.box(mailbox);
        return ewsResponse(
          op,
          ids.map((id) => {
            const i = box.find((x) => x.id === id && !x.removed);
            if (i) return success(op, `<m:Items>${this.view(i)}</m:Items>`);
            const occ = id.includes(OCC) ? this.occurrence(mailbox, id) : undefined;
            if (occ) return success(op, `<m:Items>${this.view(this.virtualOccurrence(occ.master, id, occ.originalStart))}</m:Items>`);
            if (byIndex.length) {
              const [masterId, n] = id.split(OCC);
              const master = box.find((x) => x.id === masterId && !x.removed);
              if (master && Number(n) > occurrencesOf(master).length)
                return failure(op, 'ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange', 'Occurrence index is out of recurrence range.');
              if (master)
                return failure(
                  op,
                  'ErrorCalendarOccurrenceIsDeletedFromRecurrence',
                  'Occurrence with this index was previously deleted from the recurrence.',
                );
            }
            return failure(op, 'ErrorItemNotFound', 'The specified object was not found in the store.');
          }),
        );
      }
      case 'CreateItem': {
        const folder = first(first(body, 'SavedItemFolderId')?.inner ?? '', 'DistinguishedFolderId')?.attrs.Id as FakeFolder | undefined;
        const cls = CLASSES.find((c) => first(first(body, 'Items')?.inner ?? '', c));
        return folder && folder in FOLDERS && cls ? this.create(mailbox, folder, cls, body) : undefined;
      }
      case 'UpdateItem':
        return this.update(mailbox, body);
      case 'DeleteItem':
        return this.delete(mailbox, body);
      default:
        return undefined;
    }
  }

  private props(mailbox: string, body: string): string {
    const wanted = elements(body, 'ExtendedFieldURI').map((e) => e.attrs.PropertyName);
    const props = this.folderProps.get(mailbox) ?? {};
    return wanted
      .filter((n) => n && props[n] !== undefined)
      .map((n) => propXml(n, props[n]))
      .join('');
  }

  private sync(mailbox: string, folder: FakeFolder, body: string): string {
    const max = Number(text(body, 'MaxChangesReturned') ?? 512);
    const stateText = text(body, 'SyncState');
    let since = 0;
    if (stateText) {
      const state = JSON.parse(Buffer.from(stateText, 'base64').toString()) as { gen: number; seq: number; folder: string };
      if (state.gen !== this.generation || state.folder !== folder)
        return ewsResponse('SyncFolderItems', [
          failure('SyncFolderItems', 'ErrorInvalidSyncStateData', 'Synchronization state data is corrupt or otherwise invalid.'),
        ]);
      since = state.seq;
    }
    const changes = this.box(mailbox)
      .filter((i) => i.folder === folder && !i.masterId && i.seq > since && !(i.removed && i.createdSeq > since))
      .sort((a, b) => a.seq - b.seq);
    const page = changes.slice(0, max);
    const last = page.length < changes.length ? page[page.length - 1].seq : this.seq;
    const xml = page
      .map((i) => {
        const id = `<t:ItemId Id="${i.id}" ChangeKey="${i.changeKey}"/>`;
        if (i.removed) return `<t:Delete>${id}</t:Delete>`;
        return i.createdSeq > since
          ? `<t:Create><t:${i.cls}>${id}</t:${i.cls}></t:Create>`
          : `<t:Update><t:${i.cls}>${id}</t:${i.cls}></t:Update>`;
      })
      .join('');
    const state = Buffer.from(JSON.stringify({ gen: this.generation, seq: last, folder })).toString('base64');
    return ewsResponse('SyncFolderItems', [
      success(
        'SyncFolderItems',
        `<m:SyncState>${state}</m:SyncState><m:IncludesLastItemInRange>${page.length === changes.length}</m:IncludesLastItemInRange><m:Changes>${xml}</m:Changes>`,
      ),
    ]);
  }

  /** The item as GetItem returns it: Item properties, extended properties, then the class's own (types.xsd order). */
  private view(i: FakeActItem): string {
    const f = i.fields;
    const el = (name: string) => (f[name] !== undefined ? `<t:${name}>${escapeXml(f[name])}</t:${name}>` : '');
    const body = f.Body !== undefined ? `<t:Body BodyType="Text">${escapeXml(f.Body)}</t:Body>` : '';
    const head = `<t:ItemId Id="${i.id}" ChangeKey="${i.changeKey}"/>${el('Subject')}${body}<t:Categories>${i.categories.map((c) => `<t:String>${escapeXml(c)}</t:String>`).join('')}</t:Categories>${el('Importance')}${Object.entries(
      i.props,
    )
      .map(([n, v]) => propXml(n, v))
      .join('')}`;
    switch (i.cls) {
      case 'CalendarItem': {
        const att = (list: string[]) =>
          list.map((a) => `<t:Attendee><t:Mailbox><t:EmailAddress>${escapeXml(a)}</t:EmailAddress></t:Mailbox></t:Attendee>`).join('');
        return `<t:CalendarItem>${head}<t:UID>${i.uid}</t:UID><t:Start>${f.Start ?? ''}</t:Start><t:End>${f.End ?? ''}</t:End><t:IsAllDayEvent>${f.IsAllDayEvent}</t:IsAllDayEvent><t:LegacyFreeBusyStatus>${f.LegacyFreeBusyStatus}</t:LegacyFreeBusyStatus><t:Location>${escapeXml(f.Location ?? '')}</t:Location><t:CalendarItemType>${i.virtual ? 'Occurrence' : i.masterId ? 'Exception' : i.recurrence ? 'RecurringMaster' : 'Single'}</t:CalendarItemType><t:Organizer><t:Mailbox><t:EmailAddress>${i.organizer}</t:EmailAddress></t:Mailbox></t:Organizer><t:RequiredAttendees>${att(i.required)}</t:RequiredAttendees><t:OptionalAttendees>${att(i.optional)}</t:OptionalAttendees>${this.seriesXml(i)}${f.StartTimeZone ? `<t:StartTimeZoneId>${escapeXml(f.StartTimeZone)}</t:StartTimeZoneId>` : ''}</t:CalendarItem>`;
      }
      case 'Contact': {
        const dict = (name: string, keys: string[]) => {
          const list = keys.filter((k) => f[k] !== undefined).map((k) => `<t:Entry Key="${k}">${escapeXml(f[k])}</t:Entry>`);
          return list.length ? `<t:${name}>${list.join('')}</t:${name}>` : '';
        };
        const addressKeys = [
          ...new Set(
            Object.keys(f)
              .filter((k) => k.includes(':'))
              .map((k) => k.split(':')[0]),
          ),
        ];
        const addresses = addressKeys.length
          ? `<t:PhysicalAddresses>${addressKeys
              .map(
                (k) =>
                  `<t:Entry Key="${k}">${ADDRESS_PARTS.map((p) => (f[`${k}:${p}`] !== undefined ? `<t:${p}>${escapeXml(f[`${k}:${p}`])}</t:${p}>` : '')).join('')}</t:Entry>`,
              )
              .join('')}</t:PhysicalAddresses>`
          : '';
        return `<t:Contact>${head}${['FileAsMapping', 'GivenName', 'MiddleName', 'CompanyName'].map(el).join('')}${dict('EmailAddresses', ['EmailAddress1', 'EmailAddress2', 'EmailAddress3'])}${addresses}${dict('PhoneNumbers', ['BusinessPhone', 'HomePhone', 'MobilePhone', 'BusinessFax'])}${['AssistantName', 'Birthday', 'Department', 'JobTitle', 'Surname'].map(el).join('')}</t:Contact>`;
      }
      case 'Task':
        return `<t:Task>${head}${['CompleteDate', 'DueDate', 'IsRecurring', 'PercentComplete', 'StartDate', 'Status'].map(el).join('')}</t:Task>`;
      default:
        return `<t:DistributionList>${head}</t:DistributionList>`;
    }
  }

  /** A master's Recurrence, ModifiedOccurrences and DeletedOccurrences; an exception's or occurrence's OriginalStart. */
  private seriesXml(i: FakeActItem): string {
    if (i.masterId && i.originalStart !== undefined) return `<t:OriginalStart>${isoZ(i.originalStart)}</t:OriginalStart>`;
    if (!i.recurrence) return '';
    const box = [...this.boxes.values()].find((b) => b.includes(i)) ?? [];
    const modified = box
      .filter((x) => x.masterId === i.id && !x.removed && !x.virtual)
      .map(
        (x) =>
          `<t:Occurrence><t:ItemId Id="${x.id}" ChangeKey="${x.changeKey}"/><t:Start>${x.fields.Start}</t:Start><t:End>${x.fields.End}</t:End><t:OriginalStart>${isoZ(x.originalStart!)}</t:OriginalStart></t:Occurrence>`,
      )
      .join('');
    const deleted = (i.deleted ?? []).map((t) => `<t:DeletedOccurrence><t:Start>${isoZ(t)}</t:Start></t:DeletedOccurrence>`).join('');
    return `<t:Recurrence>${i.recurrence}</t:Recurrence>${modified ? `<t:ModifiedOccurrences>${modified}</t:ModifiedOccurrences>` : ''}${deleted ? `<t:DeletedOccurrences>${deleted}</t:DeletedOccurrences>` : ''}`;
  }

  /** Reads the properties an item element carries (a create, or one SetItemField) into the item. */
  private read(x: string, i: FakeActItem): void {
    for (const name of SIMPLE[i.cls]) {
      const v = text(x, name);
      if (v !== undefined) i.fields[name] = v;
    }
    if (i.cls === 'CalendarItem') {
      const rec = first(x, 'Recurrence');
      if (rec) i.recurrence = rec.inner || undefined;
      for (const z of ['StartTimeZone', 'EndTimeZone']) {
        const id = first(x, z)?.attrs.Id;
        if (id) i.fields[z] = id;
      }
      const att = (n: string) => elements(first(x, n)?.inner ?? '', 'EmailAddress').map((e) => text(`<x>${e.inner}</x>`, 'x') ?? e.inner);
      if (first(x, 'RequiredAttendees')) i.required = att('RequiredAttendees');
      if (first(x, 'OptionalAttendees')) i.optional = att('OptionalAttendees');
    }
    if (i.cls === 'Contact') {
      for (const d of ['EmailAddresses', 'PhoneNumbers'])
        for (const e of elements(first(x, d)?.inner ?? '', 'Entry')) i.fields[e.attrs.Key] = text(`<x>${e.inner}</x>`, 'x') ?? '';
      for (const e of elements(first(x, 'PhysicalAddresses')?.inner ?? '', 'Entry'))
        for (const p of ADDRESS_PARTS) {
          const v = text(e.inner, p);
          if (v !== undefined) i.fields[`${e.attrs.Key}:${p}`] = v;
        }
    }
    if (i.cls === 'Task') {
      // Exchange keeps status and percent complete consistent.
      if (text(x, 'Status') === 'Completed') i.fields.PercentComplete = '100';
      else if (text(x, 'PercentComplete') === '100') i.fields.Status = 'Completed';
    }
    for (const p of elements(x, 'ExtendedProperty'))
      i.props[first(p.inner, 'ExtendedFieldURI')?.attrs.PropertyName ?? '?'] = text(p.inner, 'Value') ?? '';
  }

  /** A time zone id in the request this server refuses, if any. */
  private badZone(body: string): string | undefined {
    return [...elements(body, 'StartTimeZone'), ...elements(body, 'EndTimeZone')]
      .map((e) => e.attrs.Id ?? '')
      .find((id) => this.rejectedZones.has(id) || (id !== 'UTC' && !findIana(id).length));
  }

  private create(mailbox: string, folder: FakeFolder, cls: FakeItemClass, body: string): string {
    if (this.badZone(body))
      return ewsResponse('CreateItem', [failure('CreateItem', 'ErrorTimeZone', 'The time zone definition is invalid or unsupported.')]);
    const x = first(first(body, 'Items')!.inner, cls)!.inner;
    const i = this.insert(mailbox, folder, cls, {}, { categories: [] });
    this.read(x, i);
    const mode = first(body, 'CreateItem')?.attrs.SendMeetingInvitations ?? 'SendToAllAndSaveCopy';
    if (cls === 'CalendarItem' && mode !== 'SendToNone' && i.required.length + i.optional.length > 0) this.notify(mailbox, i, 'invitation');
    return ewsResponse('CreateItem', [
      success('CreateItem', `<m:Items><t:${cls}><t:ItemId Id="${i.id}" ChangeKey="${i.changeKey}"/></t:${cls}></m:Items>`),
    ]);
  }

  private update(mailbox: string, body: string): string | undefined {
    const idEl = first(first(body, 'ItemChange')?.inner ?? '', 'ItemId')?.attrs;
    if (!isOurs(idEl?.Id)) return undefined;
    // Changing an occurrence makes it an exception.
    const i =
      this.box(mailbox).find((x) => x.id === idEl?.Id && !x.removed) ??
      (idEl!.Id.includes(OCC) ? this.exception(mailbox, idEl!.Id) : undefined);
    const fail = (code: string, message: string) => ewsResponse('UpdateItem', [failure('UpdateItem', code, message)]);
    if (!i) return fail('ErrorItemNotFound', 'The specified object was not found in the store.');
    if (this.badZone(body)) return fail('ErrorTimeZone', 'The time zone definition is invalid or unsupported.');
    const hook = this.beforeUpdate;
    this.beforeUpdate = undefined;
    hook?.(i);
    if (idEl!.ChangeKey && idEl!.ChangeKey !== i.changeKey)
      return fail(
        'ErrorIrresolvableConflict',
        'The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.',
      );
    const sets = elements(body, 'SetItemField');
    const deletes = elements(body, 'DeleteItemField');
    for (const c of [...sets, ...deletes]) {
      const uri = first(c.inner, 'FieldURI')?.attrs.FieldURI ?? '';
      if (DICTIONARIES.some((d) => uri.endsWith(`:${d}`))) return fail('ErrorInvalidPropertySet', 'Set action is invalid for property.');
    }
    for (const set of sets) {
      const cls = CLASSES.find((c) => first(set.inner, c));
      if (cls !== i.cls) return fail('ErrorObjectTypeChanged', 'The object type of the item cannot be changed.');
    }
    const before = JSON.stringify([KEY.map((k) => i.fields[k]), i.required, i.optional]);
    const series = JSON.stringify([i.fields.Start, i.recurrence]);
    for (const set of sets) this.read(first(set.inner, i.cls)!.inner, i);
    for (const del of deletes) {
      const indexed = first(del.inner, 'IndexedFieldURI')?.attrs;
      const uri = first(del.inner, 'FieldURI')?.attrs.FieldURI ?? '';
      if (indexed) {
        const part = /^contacts:PhysicalAddress:(\w+)$/.exec(indexed.FieldURI ?? '')?.[1];
        delete i.fields[part ? `${indexed.FieldIndex}:${part}` : indexed.FieldIndex];
      } else if (uri === 'calendar:Recurrence') i.recurrence = undefined;
      else if (uri === 'calendar:RequiredAttendees') i.required = [];
      else if (uri === 'calendar:OptionalAttendees') i.optional = [];
      else delete i.fields[uri.split(':').pop()!];
    }
    this.touch(i);
    if (i.masterId) {
      const master = this.box(mailbox).find((x) => x.id === i.masterId);
      if (master) this.touch(master);
    }
    // Outlook: a series whose time or pattern changes loses its exceptions.
    if (series !== JSON.stringify([i.fields.Start, i.recurrence])) for (const ex of this.exceptionsOf(mailbox, i.id)) ex.removed = true;
    const mode = first(body, 'UpdateItem')?.attrs.SendMeetingInvitationsOrCancellations ?? 'SendToAllAndSaveCopy';
    const changed = before !== JSON.stringify([KEY.map((k) => i.fields[k]), i.required, i.optional]);
    if (i.cls === 'CalendarItem' && mode !== 'SendToNone' && changed && i.required.length + i.optional.length > 0)
      this.notify(mailbox, i, 'update');
    return ewsResponse('UpdateItem', [
      success('UpdateItem', `<m:Items><t:${i.cls}><t:ItemId Id="${i.id}" ChangeKey="${i.changeKey}"/></t:${i.cls}></m:Items>`),
    ]);
  }

  private delete(mailbox: string, body: string): string | undefined {
    const id = first(first(body, 'ItemIds')?.inner ?? '', 'ItemId')?.attrs.Id;
    if (!isOurs(id)) return undefined;
    const attrs = first(body, 'DeleteItem')?.attrs ?? {};
    if (id!.includes(OCC)) {
      // An occurrence or exception: deleted from its series (the master's DeletedOccurrences).
      const master = this.cancel(mailbox, id!);
      if (!master)
        return ewsResponse('DeleteItem', [failure('DeleteItem', 'ErrorItemNotFound', 'The specified object was not found in the store.')]);
      if (
        (attrs.SendMeetingCancellations ?? 'SendToAllAndSaveCopy') !== 'SendToNone' &&
        master.required.length + master.optional.length > 0
      )
        this.notify(mailbox, master, 'cancellation');
      return ewsResponse('DeleteItem', [success('DeleteItem', '')]);
    }
    const i = this.box(mailbox).find((x) => x.id === id && !x.removed);
    if (!i)
      return ewsResponse('DeleteItem', [failure('DeleteItem', 'ErrorItemNotFound', 'The specified object was not found in the store.')]);
    for (const ex of this.exceptionsOf(mailbox, i.id)) ex.removed = true;
    if (i.cls === 'Task' && !attrs.AffectedTaskOccurrences)
      return ewsResponse('DeleteItem', [
        failure('DeleteItem', 'ErrorInvalidRequest', 'The AffectedTaskOccurrences attribute is required for deleting tasks.'),
      ]);
    const mode = attrs.SendMeetingCancellations ?? 'SendToAllAndSaveCopy';
    if (i.cls === 'CalendarItem' && mode !== 'SendToNone' && i.required.length + i.optional.length > 0)
      this.notify(mailbox, i, 'cancellation');
    i.removed = true;
    this.touch(i);
    return ewsResponse('DeleteItem', [success('DeleteItem', '')]);
  }
}

function propXml(name: string, value: string): string {
  return `<t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="8c7b4a36-0f1e-4f4e-9a39-4d0a6a3e6b21" PropertyName="${name}" PropertyType="String"/><t:Value>${escapeXml(value)}</t:Value></t:ExtendedProperty>`;
}
