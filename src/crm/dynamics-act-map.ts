// How appointments, contacts and tasks look in Dataverse, and how their columns translate to the
// internal ACT fields (src/api/act-fields.ts), both ways. Option-set values come from Microsoft's
// table references (appointment, task, contact, activityparty); docs/crm.md lists them.
//
// Pure: rows in, fields out (and back). Parties, owners and the parent account need lookups that
// dynamics-act.ts does; this module only says which columns carry what.
import { DAYS_OF_WEEK, WEEK_INDEXES, type ActKind, type Attendee, type Fields, type Recurrence } from '../api/act-fields.js';
import type { ActAppointmentState } from './act-types.js';

export type Row = Record<string, unknown>;

export interface ActTable {
  /** Entity set (URL segment). */
  set: string;
  /** Logical name, as privileges name it (prvReadAppointment). */
  logical: string;
  /** Schema name in privilege names. */
  privilege: string;
  idColumn: string;
  /** The columns read for every record. */
  select: string[];
}

export const ACT_TABLES: Record<ActKind, ActTable> = {
  appointment: {
    set: 'appointments',
    logical: 'appointment',
    privilege: 'Appointment',
    idColumn: 'activityid',
    select: [
      'activityid',
      'subject',
      'description',
      'location',
      'scheduledstart',
      'scheduledend',
      'isalldayevent',
      'prioritycode',
      'statecode',
      'statuscode',
      'globalobjectid',
      '_ownerid_value',
      // Series: 2 a plain instance (never an item), 3 or 4 an exception of the master _seriesid_value.
      'instancetypecode',
      '_seriesid_value',
      'originalstartdate',
    ],
  },
  contact: {
    set: 'contacts',
    logical: 'contact',
    privilege: 'Contact',
    idColumn: 'contactid',
    select: [
      'contactid',
      'firstname',
      'middlename',
      'lastname',
      'jobtitle',
      'department',
      'emailaddress1',
      'emailaddress2',
      'emailaddress3',
      'telephone1',
      'mobilephone',
      'telephone2',
      'address1_line1',
      'address1_city',
      'address1_stateorprovince',
      'address1_postalcode',
      'address1_country',
      'birthdate',
      'assistantname',
      'description',
      '_parentcustomerid_value',
      'statecode',
      '_ownerid_value',
    ],
  },
  task: {
    set: 'tasks',
    logical: 'task',
    privilege: 'Task',
    idColumn: 'activityid',
    select: [
      'activityid',
      'subject',
      'description',
      'scheduledend',
      'actualstart',
      'actualend',
      'percentcomplete',
      'prioritycode',
      'statecode',
      'statuscode',
      '_ownerid_value',
    ],
  },
};

/** Appointment rows' instancetypecode: 0 not recurring, 1 recurring master, 2 instance, 3 exception, 4 future exception. */
export const INSTANCE = { Single: 0, Master: 1, Instance: 2, Exception: 3, FutureException: 4 } as const;

/**
 * The series masters of the appointment kind (recurringappointmentmaster): the appointment's
 * columns (without instancetypecode and the series link) plus the pattern's; the same party types.
 */
export const MASTER_TABLE: ActTable = {
  set: 'recurringappointmentmasters',
  logical: 'recurringappointmentmaster',
  privilege: 'RecurringAppointmentMaster',
  idColumn: 'activityid',
  select: [
    ...ACT_TABLES.appointment.select.filter((c) => !['instancetypecode', '_seriesid_value', 'originalstartdate'].includes(c)),
    'recurrencepatterntype',
    'interval',
    'daysofweekmask',
    'dayofmonth',
    'instance',
    'monthofyear',
    'patternstartdate',
    'patternendtype',
    'occurrences',
    'patternenddate',
    'isnthmonthly',
    'isnthyearly',
    'deletedexceptionslist',
  ],
};

/** The collection of an appointment's or a master's activity parties. */
export const partiesCollection = (master: boolean): string =>
  master ? 'recurringappointmentmaster_activity_parties' : 'appointment_activity_parties';

/** The table where links and per-mailbox state live (docs/crm.md, "Appointments, contacts and tasks"). */
export const LINK_TABLE = {
  set: 'msync_actlinks',
  logical: 'msync_actlink',
  privilege: 'msync_actlink',
  idColumn: 'msync_actlinkid',
  select: ['msync_actlinkid', 'msync_crmid', 'msync_exchangeid', 'msync_icaluid', 'msync_data', 'msync_names'],
} as const;

/** activityparty.participationtypemask values an appointment uses. */
export const PARTY = { Organizer: 7, Required: 5, Optional: 6 } as const;

/** prioritycode (all three tables): Low 0, Normal 1, High 2. */
const PRIORITY = ['low', 'normal', 'high'] as const;

/**
 * appointment statuscode -> statecode and the Outlook "show as" it means. States: Open 0 (Free 1,
 * Tentative 2), Completed 1 (Completed 3), Canceled 2 (Canceled 4), Scheduled 3 (Busy 5, Out of Office 6).
 */
const APPOINTMENT_STATUS: Record<number, { state: number; showAs: string }> = {
  1: { state: 0, showAs: 'free' },
  2: { state: 0, showAs: 'tentative' },
  3: { state: 1, showAs: 'free' },
  4: { state: 2, showAs: 'free' },
  5: { state: 3, showAs: 'busy' },
  6: { state: 3, showAs: 'oof' },
};
const SHOW_AS_STATUS: Record<string, number> = { free: 1, tentative: 2, busy: 5, oof: 6, workingElsewhere: 5 };

/** task statuscode -> statecode and status. States: Open 0, Completed 1, Canceled 2. */
const TASK_STATUS: Record<number, { state: number; status: string }> = {
  2: { state: 0, status: 'notStarted' },
  3: { state: 0, status: 'inProgress' },
  4: { state: 0, status: 'waitingOnOthers' },
  7: { state: 0, status: 'deferred' },
  5: { state: 1, status: 'completed' },
  6: { state: 2, status: 'deferred' },
};
const STATUS_TASK: Record<string, number> = { notStarted: 2, inProgress: 3, waitingOnOthers: 4, deferred: 7, completed: 5 };

/** Contact columns that carry one internal field each, unchanged. */
const CONTACT_COLUMNS: Record<string, string> = {
  givenName: 'firstname',
  middleName: 'middlename',
  surname: 'lastname',
  jobTitle: 'jobtitle',
  department: 'department',
  email1: 'emailaddress1',
  email2: 'emailaddress2',
  email3: 'emailaddress3',
  businessPhone: 'telephone1',
  mobilePhone: 'mobilephone',
  homePhone: 'telephone2',
  businessStreet: 'address1_line1',
  businessCity: 'address1_city',
  businessState: 'address1_stateorprovince',
  businessPostalCode: 'address1_postalcode',
  businessCountry: 'address1_country',
  birthday: 'birthdate',
  assistantName: 'assistantname',
  notes: 'description',
};

const FORMATTED = '@OData.Community.Display.V1.FormattedValue';

export interface PartyRow {
  participationtypemask?: number;
  addressused?: string | null;
  _partyid_value?: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const dayOf = (v: unknown): string | null => (typeof v === 'string' ? (/^\d{4}-\d{2}-\d{2}/.exec(v)?.[0] ?? null) : null);
/** A calendar date as Dataverse's date-and-time columns take it (midnight UTC). */
const midnight = (v: unknown): string | null => (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : null);

/** recurrencepatterntype: Daily 0, Weekly 1, Monthly 2, Yearly 3. */
const PATTERN_TYPE = { daily: 0, weekly: 1, monthly: 2, yearly: 3 } as const;
/** patternendtype: NoEndDate 1, Occurrences 2, PatternEndDate 3. */
const END_TYPE = { noEnd: 1, numbered: 2, endDate: 3 } as const;

/** A master row's pattern columns as the model's pattern (null when they describe none). */
export function recurrenceOf(row: Row): Recurrence | null {
  const kind = Object.entries(PATTERN_TYPE).find(([, v]) => v === row.recurrencepatterntype)?.[0];
  const startDate = dayOf(row.patternstartdate);
  if (!kind || !startDate) return null;
  const nth = kind === 'monthly' ? row.isnthmonthly === true : row.isnthyearly === true;
  const type: Recurrence['type'] =
    kind === 'daily' || kind === 'weekly'
      ? kind
      : (`${nth ? 'relative' : 'absolute'}${kind === 'monthly' ? 'Monthly' : 'Yearly'}` as Recurrence['type']);
  const out: Recurrence = {
    type,
    interval: typeof row.interval === 'number' && row.interval >= 1 ? row.interval : 1,
    rangeType: 'noEnd',
    startDate,
  };
  const mask = typeof row.daysofweekmask === 'number' ? row.daysofweekmask : 0;
  if (type === 'weekly' || nth) out.daysOfWeek = DAYS_OF_WEEK.filter((_, i) => mask & (1 << i));
  if (!nth && kind !== 'daily' && kind !== 'weekly' && typeof row.dayofmonth === 'number') out.dayOfMonth = row.dayofmonth;
  if (nth) out.index = WEEK_INDEXES[Number(row.instance) - 1] ?? 'first';
  if (kind === 'yearly' && typeof row.monthofyear === 'number') out.month = row.monthofyear;
  const endDate = dayOf(row.patternenddate);
  if (row.patternendtype === END_TYPE.endDate && endDate) Object.assign(out, { rangeType: 'endDate', endDate });
  else if (row.patternendtype === END_TYPE.numbered && typeof row.occurrences === 'number')
    Object.assign(out, { rangeType: 'numbered', numberOfOccurrences: row.occurrences });
  return out;
}

/** The model's pattern as a master row's pattern columns (every one written, so a changed type clears the others). */
export function patternColumns(r: Recurrence): Row {
  const monthly = r.type.endsWith('Monthly');
  const yearly = r.type.endsWith('Yearly');
  const nth = r.type.startsWith('relative');
  return {
    recurrencepatterntype: monthly ? PATTERN_TYPE.monthly : yearly ? PATTERN_TYPE.yearly : PATTERN_TYPE[r.type as 'daily' | 'weekly'],
    interval: r.interval,
    daysofweekmask: (r.daysOfWeek ?? []).reduce((m, d) => m | (1 << DAYS_OF_WEEK.indexOf(d)), 0) || null,
    dayofmonth: r.dayOfMonth ?? null,
    instance: r.index ? WEEK_INDEXES.indexOf(r.index) + 1 : null,
    monthofyear: r.month ?? null,
    isnthmonthly: monthly && nth,
    isnthyearly: yearly && nth,
    isweekdaypattern: false,
    isregenerate: false,
    patternstartdate: midnight(r.startDate),
    patternendtype: END_TYPE[r.rangeType],
    occurrences: r.rangeType === 'numbered' ? (r.numberOfOccurrences ?? null) : null,
    patternenddate: r.rangeType === 'endDate' ? midnight(r.endDate) : null,
  };
}

/**
 * deletedexceptionslist: the original starts (UTC) of a series' deleted occurrences, one per line.
 * The column's text format is not documented; this is the connector's own (docs/crm.md).
 */
export const deletedOf = (v: unknown): string[] | null => {
  const list = typeof v === 'string' ? v.split(/[\s,;]+/).filter(Boolean) : [];
  return list.length ? list : null;
};
export const deletedColumn = (v: unknown): string | null => (Array.isArray(v) && v.length ? v.map(String).join('\n') : null);

/** The appointment's CRM state (open, completed, canceled), which decides cancellations and deletes. */
export function appointmentState(row: Row): ActAppointmentState {
  return row.statecode === 1 ? 'completed' : row.statecode === 2 ? 'canceled' : 'open';
}

/** A row's fields in the internal vocabulary; `names`: display names of attendees as Exchange last wrote them. */
export function fieldsOf(kind: ActKind, row: Row, parties: PartyRow[] = [], names: Record<string, string> = {}): Fields {
  const priority = typeof row.prioritycode === 'number' ? (PRIORITY[row.prioritycode] ?? null) : null;
  if (kind === 'appointment') {
    const of = (mask: number): Attendee[] =>
      parties
        .filter((p) => p.participationtypemask === mask && str(p.addressused))
        .map((p) => {
          const address = String(p.addressused).toLowerCase();
          return { address, ...(names[address] ? { name: names[address] } : {}) };
        });
    return {
      subject: str(row.subject),
      body: str(row.description),
      location: str(row.location),
      start: str(row.scheduledstart),
      end: str(row.scheduledend),
      isAllDay: row.isalldayevent === true,
      importance: priority,
      showAs: APPOINTMENT_STATUS[Number(row.statuscode)]?.showAs ?? null,
      organizer: of(PARTY.Organizer)[0]?.address ?? null,
      requiredAttendees: of(PARTY.Required),
      optionalAttendees: of(PARTY.Optional),
      // A master row (it has the pattern columns) carries the series; other rows none.
      ...('recurrencepatterntype' in row
        ? { recurrence: recurrenceOf(row), deletedOccurrences: deletedOf(row.deletedexceptionslist) }
        : {}),
    };
  }
  if (kind === 'contact') {
    const out: Fields = {};
    for (const [field, column] of Object.entries(CONTACT_COLUMNS))
      out[field] = field === 'birthday' ? dayOf(row[column]) : str(row[column]);
    out.companyName = str(row[`_parentcustomerid_value${FORMATTED}`]);
    return out;
  }
  return {
    subject: str(row.subject),
    body: str(row.description),
    dueDate: dayOf(row.scheduledend),
    startDate: dayOf(row.actualstart),
    completedDate: dayOf(row.actualend),
    percentComplete: typeof row.percentcomplete === 'number' ? row.percentcomplete : null,
    importance: priority,
    status: TASK_STATUS[Number(row.statuscode)]?.status ?? null,
  };
}

/**
 * The columns that carry `fields` (any subset), for a create or a PATCH. `current`: the row as it
 * is (a closed appointment keeps its state: "show as" is only written while it is open or scheduled).
 * Parties and the parent account are the caller's (they need lookups).
 */
export function columnsOf(kind: ActKind, fields: Fields, current?: Row, master = false): Row {
  const out: Row = {};
  const has = (f: string) => Object.prototype.hasOwnProperty.call(fields, f);
  if (has('importance')) out.prioritycode = fields.importance == null ? 1 : Math.max(0, PRIORITY.indexOf(fields.importance as never));
  if (kind === 'appointment') {
    if (has('subject')) out.subject = fields.subject;
    if (has('body')) out.description = fields.body;
    if (has('location')) out.location = fields.location;
    if (has('start')) out.scheduledstart = fields.start;
    if (has('end')) out.scheduledend = fields.end;
    if (has('isAllDay')) out.isalldayevent = fields.isAllDay === true;
    const closed = current?.statecode === 1 || current?.statecode === 2;
    if (has('showAs') && !closed) {
      const status = SHOW_AS_STATUS[String(fields.showAs)] ?? 5;
      out.statecode = APPOINTMENT_STATUS[status].state;
      out.statuscode = status;
    }
    if (master) Object.assign(out, seriesColumns(fields, current));
    return out;
  }
  if (kind === 'contact') {
    for (const [field, column] of Object.entries(CONTACT_COLUMNS)) if (has(field)) out[column] = fields[field];
    return out;
  }
  if (has('subject')) out.subject = fields.subject;
  if (has('body')) out.description = fields.body;
  if (has('dueDate')) out.scheduledend = midnight(fields.dueDate);
  if (has('startDate')) out.actualstart = midnight(fields.startDate);
  if (has('completedDate')) out.actualend = midnight(fields.completedDate);
  if (has('percentComplete')) out.percentcomplete = fields.percentComplete;
  if (has('status') && fields.status != null) {
    const status = STATUS_TASK[String(fields.status)] ?? 2;
    out.statecode = TASK_STATUS[status].state;
    out.statuscode = status;
  }
  return out;
}

/**
 * A master's series columns for `fields`: the pattern, the deleted occurrences, and the pattern's
 * start and end time and duration (minutes), which follow the first occurrence's start and end.
 */
function seriesColumns(fields: Fields, current: Row = {}): Row {
  const out: Row = {};
  const has = (f: string) => Object.prototype.hasOwnProperty.call(fields, f);
  if (has('recurrence') && fields.recurrence && typeof fields.recurrence === 'object' && !Array.isArray(fields.recurrence))
    Object.assign(out, patternColumns(fields.recurrence));
  if (has('deletedOccurrences')) out.deletedexceptionslist = deletedColumn(fields.deletedOccurrences);
  if (has('start') || has('end')) {
    const start = str(has('start') ? fields.start : current.scheduledstart);
    const end = str(has('end') ? fields.end : current.scheduledend);
    Object.assign(out, { starttime: start, endtime: end });
    if (start && end) out.duration = Math.max(0, Math.round((Date.parse(end) - Date.parse(start)) / 60_000));
  }
  return out;
}

/** Whether a field of this kind is written as activity parties. */
export const PARTY_FIELDS = new Set(['organizer', 'requiredAttendees', 'optionalAttendees']);

/** The attendees and organizer of appointment fields, each with its participation type. */
export function partiesOf(fields: Fields): { mask: number; address: string }[] {
  const out: { mask: number; address: string }[] = [];
  if (typeof fields.organizer === 'string' && fields.organizer)
    out.push({ mask: PARTY.Organizer, address: fields.organizer.toLowerCase() });
  for (const [field, mask] of [
    ['requiredAttendees', PARTY.Required],
    ['optionalAttendees', PARTY.Optional],
  ] as const)
    for (const a of (fields[field] as Attendee[] | null) ?? []) out.push({ mask, address: a.address.toLowerCase() });
  return out;
}

/** Attendee display names in `fields`, by lower-case address (kept beside the link: activity parties have no name column). */
export function attendeeNames(fields: Fields): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of ['requiredAttendees', 'optionalAttendees'])
    for (const a of (fields[f] as Attendee[] | null) ?? []) if (a.name) out[a.address.toLowerCase()] = a.name;
  return out;
}
