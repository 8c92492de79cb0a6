// The calendar of the fake Exchange Server (fake-ews.ts), as the EWS reference describes it,
// plugged into its server (same authentication, impersonation checks and ErrorServerBusy):
//   GetFolder / UpdateFolder      calendar, contacts, tasks; named extended properties
//   SyncFolderItems (calendar)    Create / Update / Delete since a SyncState, MaxChangesReturned,
//                                 IncludesLastItemInRange, ErrorInvalidSyncStateData after expiry
//   GetItem / CreateItem / UpdateItem / DeleteItem of CalendarItems: ChangeKeys (a stale one is
//                                 ErrorIrresolvableConflict), SendMeetingInvitations,
//                                 SendMeetingInvitationsOrCancellations, SendMeetingCancellations
// Every invitation, update or cancellation it would mail is recorded in `notices`.
import { randomUUID } from 'node:crypto';
import { elements, escapeXml, ewsResponse, failure, first, success, text } from './fake-ews-soap.js';
import type { FakeEws, FakeEwsExtension } from './fake-ews.js';
import type { Notice } from './fake-graph-act.js';

export interface FakeCalendarItem {
  id: string;
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
}

const FIELD_OF_URI: Record<string, string> = {
  'item:Subject': 'Subject',
  'item:Body': 'Body',
  'item:Importance': 'Importance',
  'calendar:Start': 'Start',
  'calendar:End': 'End',
  'calendar:IsAllDayEvent': 'IsAllDayEvent',
  'calendar:LegacyFreeBusyStatus': 'LegacyFreeBusyStatus',
  'calendar:Location': 'Location',
};
const KEY = ['Subject', 'Body', 'Start', 'End', 'Location', 'IsAllDayEvent'];

export class FakeEwsAct implements FakeEwsExtension {
  readonly notices: Notice[] = [];
  /** Folders the account may not open (ErrorAccessDenied), e.g. "calendar". */
  readonly denied = new Set<string>();
  /** Called before an UpdateItem is applied: a test's chance to change the item under the client (a user's edit in Outlook). */
  beforeUpdate?: (item: FakeCalendarItem) => void;
  private readonly calendars = new Map<string, FakeCalendarItem[]>();
  private readonly folderProps = new Map<string, Record<string, string>>();
  private seq = 0;
  private nextId = 1;
  private generation = 0;

  constructor(ews: FakeEws) {
    ews.extensions.push(this);
  }

  static attach(ews: FakeEws): FakeEwsAct {
    return new FakeEwsAct(ews);
  }

  items(mailbox: string): FakeCalendarItem[] {
    return this.cal(mailbox).filter((i) => !i.removed);
  }

  /** An appointment the user made in Outlook. */
  add(mailbox: string, fields: Record<string, string>, extra: { required?: string[]; categories?: string[] } = {}): FakeCalendarItem {
    return this.insert(mailbox, fields, { required: extra.required ?? [], optional: [], categories: extra.categories ?? [], props: {} });
  }

  edit(mailbox: string, id: string, fields: Record<string, string>, extra: { categories?: string[] } = {}): void {
    const i = this.cal(mailbox).find((x) => x.id === id && !x.removed)!;
    Object.assign(i.fields, fields);
    if (extra.categories) i.categories = extra.categories;
    this.touch(i);
  }

  remove(mailbox: string, id: string): void {
    const i = this.cal(mailbox).find((x) => x.id === id && !x.removed);
    if (i) {
      i.removed = true;
      this.touch(i);
    }
  }

  invalidateSyncStates(): void {
    this.generation++;
  }

  private cal(mailbox: string): FakeCalendarItem[] {
    const key = mailbox.toLowerCase();
    let l = this.calendars.get(key);
    if (!l) this.calendars.set(key, (l = []));
    return l;
  }

  private insert(
    mailbox: string,
    fields: Record<string, string>,
    rest: Pick<FakeCalendarItem, 'required' | 'optional' | 'categories' | 'props'>,
  ): FakeCalendarItem {
    const item: FakeCalendarItem = {
      id: `AAMkCal${String(this.nextId++).padStart(6, '0')}AAA=`,
      changeKey: '',
      seq: 0,
      createdSeq: 0,
      removed: false,
      uid: `040000008200E00074C5B7101A82E008${randomUUID().replace(/-/g, '')}`,
      fields: { LegacyFreeBusyStatus: 'Busy', Importance: 'Normal', IsAllDayEvent: 'false', ...fields },
      organizer: mailbox.toLowerCase(),
      ...rest,
    };
    this.touch(item);
    item.createdSeq = item.seq;
    this.cal(mailbox).push(item);
    return item;
  }

  private touch(i: FakeCalendarItem): void {
    i.seq = ++this.seq;
    i.changeKey = `DwAAABYA${i.seq}`;
  }

  private notify(mailbox: string, i: FakeCalendarItem, kind: Notice['kind']): void {
    this.notices.push({ mailbox, eventId: i.id, subject: i.fields.Subject, kind, to: [...i.required, ...i.optional] });
  }

  handle(op: string, mailbox: string, body: string): string | undefined {
    const folderId = first(body, 'DistinguishedFolderId')?.attrs.Id;
    switch (op) {
      case 'GetFolder':
        if (!folderId || !['calendar', 'contacts', 'tasks'].includes(folderId)) return undefined;
        if (this.denied.has(folderId))
          return ewsResponse(op, [failure(op, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.')]);
        return ewsResponse(op, [
          success(
            op,
            `<m:Folders><t:CalendarFolder><t:FolderId Id="${folderId}-${mailbox}" ChangeKey="AgAAAA=="/>${this.props(mailbox, body)}</t:CalendarFolder></m:Folders>`,
          ),
        ]);
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
        return folderId === 'calendar' ? this.sync(mailbox, body) : undefined;
      case 'GetItem': {
        const ids = elements(first(body, 'ItemIds')?.inner ?? '', 'ItemId').map((e) => e.attrs.Id);
        const cal = this.cal(mailbox);
        if (!ids.every((id) => id.startsWith('AAMkCal'))) return undefined;
        return ewsResponse(
          op,
          ids.map((id) => {
            const i = cal.find((x) => x.id === id && !x.removed);
            return i
              ? success(op, `<m:Items>${this.view(i)}</m:Items>`)
              : failure(op, 'ErrorItemNotFound', 'The specified object was not found in the store.');
          }),
        );
      }
      case 'CreateItem':
        return first(body, 'CalendarItem') ? this.create(mailbox, body) : undefined;
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
      .map(
        (n) =>
          `<t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="8c7b4a36-0f1e-4f4e-9a39-4d0a6a3e6b21" PropertyName="${n}" PropertyType="String"/><t:Value>${escapeXml(props[n])}</t:Value></t:ExtendedProperty>`,
      )
      .join('');
  }

  private sync(mailbox: string, body: string): string {
    const max = Number(text(body, 'MaxChangesReturned') ?? 512);
    const stateText = text(body, 'SyncState');
    let since = 0;
    if (stateText) {
      const state = JSON.parse(Buffer.from(stateText, 'base64').toString()) as { gen: number; seq: number };
      if (state.gen !== this.generation)
        return ewsResponse('SyncFolderItems', [
          failure('SyncFolderItems', 'ErrorInvalidSyncStateData', 'Synchronization state data is corrupt or otherwise invalid.'),
        ]);
      since = state.seq;
    }
    const changes = this.cal(mailbox)
      .filter((i) => i.seq > since && !(i.removed && i.createdSeq > since))
      .sort((a, b) => a.seq - b.seq);
    const page = changes.slice(0, max);
    const last = page.length < changes.length ? page[page.length - 1].seq : this.seq;
    const xml = page
      .map((i) => {
        const id = `<t:ItemId Id="${i.id}" ChangeKey="${i.changeKey}"/>`;
        if (i.removed) return `<t:Delete>${id}</t:Delete>`;
        return i.createdSeq > since
          ? `<t:Create><t:CalendarItem>${id}</t:CalendarItem></t:Create>`
          : `<t:Update><t:CalendarItem>${id}</t:CalendarItem></t:Update>`;
      })
      .join('');
    const state = Buffer.from(JSON.stringify({ gen: this.generation, seq: last })).toString('base64');
    return ewsResponse('SyncFolderItems', [
      success(
        'SyncFolderItems',
        `<m:SyncState>${state}</m:SyncState><m:IncludesLastItemInRange>${page.length === changes.length}</m:IncludesLastItemInRange><m:Changes>${xml}</m:Changes>`,
      ),
    ]);
  }

  private view(i: FakeCalendarItem): string {
    const f = i.fields;
    const att = (list: string[]) =>
      list.map((a) => `<t:Attendee><t:Mailbox><t:EmailAddress>${escapeXml(a)}</t:EmailAddress></t:Mailbox></t:Attendee>`).join('');
    const props = Object.entries(i.props)
      .map(
        ([n, v]) =>
          `<t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="8c7b4a36-0f1e-4f4e-9a39-4d0a6a3e6b21" PropertyName="${n}" PropertyType="String"/><t:Value>${escapeXml(v)}</t:Value></t:ExtendedProperty>`,
      )
      .join('');
    return `<t:CalendarItem><t:ItemId Id="${i.id}" ChangeKey="${i.changeKey}"/><t:Subject>${escapeXml(f.Subject ?? '')}</t:Subject><t:Body BodyType="Text">${escapeXml(f.Body ?? '')}</t:Body><t:Categories>${i.categories.map((c) => `<t:String>${escapeXml(c)}</t:String>`).join('')}</t:Categories><t:Importance>${f.Importance}</t:Importance>${props}<t:UID>${i.uid}</t:UID><t:Start>${f.Start ?? ''}</t:Start><t:End>${f.End ?? ''}</t:End><t:IsAllDayEvent>${f.IsAllDayEvent}</t:IsAllDayEvent><t:LegacyFreeBusyStatus>${f.LegacyFreeBusyStatus}</t:LegacyFreeBusyStatus><t:Location>${escapeXml(f.Location ?? '')}</t:Location><t:CalendarItemType>Single</t:CalendarItemType><t:Organizer><t:Mailbox><t:EmailAddress>${i.organizer}</t:EmailAddress></t:Mailbox></t:Organizer><t:RequiredAttendees>${att(i.required)}</t:RequiredAttendees><t:OptionalAttendees>${att(i.optional)}</t:OptionalAttendees></t:CalendarItem>`;
  }

  private read(ci: string, i: Pick<FakeCalendarItem, 'fields' | 'required' | 'optional' | 'props'>): void {
    for (const name of Object.values(FIELD_OF_URI)) {
      const v = text(ci, name);
      if (v !== undefined) i.fields[name] = v;
    }
    const att = (n: string) => elements(first(ci, n)?.inner ?? '', 'EmailAddress').map((e) => text(`<x>${e.inner}</x>`, 'x') ?? e.inner);
    if (first(ci, 'RequiredAttendees')) i.required = att('RequiredAttendees');
    if (first(ci, 'OptionalAttendees')) i.optional = att('OptionalAttendees');
    for (const p of elements(ci, 'ExtendedProperty'))
      i.props[first(p.inner, 'ExtendedFieldURI')?.attrs.PropertyName ?? '?'] = text(p.inner, 'Value') ?? '';
  }

  private create(mailbox: string, body: string): string {
    const ci = first(body, 'CalendarItem')!.inner;
    const i = this.insert(mailbox, {}, { required: [], optional: [], categories: [], props: {} });
    this.read(ci, i);
    const mode = first(body, 'CreateItem')?.attrs.SendMeetingInvitations ?? 'SendToAllAndSaveCopy';
    if (mode !== 'SendToNone' && i.required.length + i.optional.length > 0) this.notify(mailbox, i, 'invitation');
    return ewsResponse('CreateItem', [
      success('CreateItem', `<m:Items><t:CalendarItem><t:ItemId Id="${i.id}" ChangeKey="${i.changeKey}"/></t:CalendarItem></m:Items>`),
    ]);
  }

  private update(mailbox: string, body: string): string | undefined {
    const idEl = first(first(body, 'ItemChange')?.inner ?? '', 'ItemId')?.attrs;
    const i = this.cal(mailbox).find((x) => x.id === idEl?.Id && !x.removed);
    if (!idEl?.Id?.startsWith('AAMkCal')) return undefined;
    if (!i)
      return ewsResponse('UpdateItem', [failure('UpdateItem', 'ErrorItemNotFound', 'The specified object was not found in the store.')]);
    const hook = this.beforeUpdate;
    this.beforeUpdate = undefined;
    hook?.(i);
    if (idEl.ChangeKey && idEl.ChangeKey !== i.changeKey)
      return ewsResponse('UpdateItem', [
        failure(
          'UpdateItem',
          'ErrorIrresolvableConflict',
          'The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.',
        ),
      ]);
    const before = JSON.stringify([KEY.map((k) => i.fields[k]), i.required, i.optional]);
    for (const set of elements(body, 'SetItemField')) {
      const ci = first(set.inner, 'CalendarItem')?.inner ?? '';
      this.read(ci, i);
    }
    for (const del of elements(body, 'DeleteItemField')) {
      const uri = first(del.inner, 'FieldURI')?.attrs.FieldURI ?? '';
      if (uri === 'calendar:RequiredAttendees') i.required = [];
      else if (uri === 'calendar:OptionalAttendees') i.optional = [];
      else if (FIELD_OF_URI[uri]) delete i.fields[FIELD_OF_URI[uri]];
    }
    this.touch(i);
    const mode = first(body, 'UpdateItem')?.attrs.SendMeetingInvitationsOrCancellations ?? 'SendToAllAndSaveCopy';
    const changed = before !== JSON.stringify([KEY.map((k) => i.fields[k]), i.required, i.optional]);
    if (mode !== 'SendToNone' && changed && i.required.length + i.optional.length > 0) this.notify(mailbox, i, 'update');
    return ewsResponse('UpdateItem', [
      success('UpdateItem', `<m:Items><t:CalendarItem><t:ItemId Id="${i.id}" ChangeKey="${i.changeKey}"/></t:CalendarItem></m:Items>`),
    ]);
  }

  private delete(mailbox: string, body: string): string | undefined {
    const id = first(first(body, 'ItemIds')?.inner ?? '', 'ItemId')?.attrs.Id;
    if (!id?.startsWith('AAMkCal')) return undefined;
    const i = this.cal(mailbox).find((x) => x.id === id && !x.removed);
    if (!i)
      return ewsResponse('DeleteItem', [failure('DeleteItem', 'ErrorItemNotFound', 'The specified object was not found in the store.')]);
    const mode = first(body, 'DeleteItem')?.attrs.SendMeetingCancellations ?? 'SendToAllAndSaveCopy';
    if (mode !== 'SendToNone' && i.required.length + i.optional.length > 0) this.notify(mailbox, i, 'cancellation');
    i.removed = true;
    this.touch(i);
    return ewsResponse('DeleteItem', [success('DeleteItem', '')]);
  }
}
