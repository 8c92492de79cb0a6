// The fields appointments, contacts and tasks synchronize, and which of them Dynamics keeps
// two-way always (reference act-sync.md §2, "Synchronization Settings for Outlook or Exchange").
// Part of the API: the Deployment's spec.appointmentsContactsTasks.fieldDirections offers exactly
// the configurable ones; src/act builds its model and direction tables from the same lists.

export const ACT_FIELDS = {
  appointment: [
    'subject',
    'body',
    'location',
    'start',
    'end',
    'isAllDay',
    'importance',
    'showAs',
    'organizer',
    'requiredAttendees',
    'optionalAttendees',
    'timeZone',
    'recurrence',
    'deletedOccurrences',
  ],
  contact: [
    'givenName',
    'middleName',
    'surname',
    'jobTitle',
    'companyName',
    'department',
    'email1',
    'email2',
    'email3',
    'businessPhone',
    'mobilePhone',
    'homePhone',
    'businessStreet',
    'businessCity',
    'businessState',
    'businessPostalCode',
    'businessCountry',
    'birthday',
    'assistantName',
    'notes',
  ],
  task: ['subject', 'body', 'dueDate', 'startDate', 'completedDate', 'percentComplete', 'importance', 'status'],
} as const satisfies Record<string, readonly string[]>;

export type ActFieldKind = keyof typeof ACT_FIELDS;

// The vocabulary both sides are translated into, shared by src/act (the engine) and the CRM
// connectors' ACT operations (src/crm/act-*.ts), which implement the webhook contract's items.
export const ACT_KINDS = ['appointment', 'contact', 'task'] as const;
export type ActKind = (typeof ACT_KINDS)[number];

/** Plural names, as the Deployment, status and metrics write them. */
export const KIND_PLURAL: Record<ActKind, 'appointments' | 'contacts' | 'tasks'> = {
  appointment: 'appointments',
  contact: 'contacts',
  task: 'tasks',
};

export interface Attendee {
  address: string;
  name?: string;
}

export const RECURRENCE_TYPES = ['daily', 'weekly', 'absoluteMonthly', 'relativeMonthly', 'absoluteYearly', 'relativeYearly'] as const;
export const DAYS_OF_WEEK = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export const WEEK_INDEXES = ['first', 'second', 'third', 'fourth', 'last'] as const;

/**
 * A series' pattern, server-neutral (the shape of Graph's patternedRecurrence, flattened): every
 * `interval` days/weeks/months/years; weekly on `daysOfWeek`; monthly on `dayOfMonth`
 * (absolute) or on the `index` weekday (relative: the second Tuesday); yearly the same in `month`
 * (1–12). The range starts on `startDate` (the series' first day, in its time zone) and ends on
 * `endDate` (rangeType endDate), after `numberOfOccurrences` (numbered), or never (noEnd). Keys
 * a type does not use are absent, so equal patterns are equal values.
 */
export interface Recurrence {
  type: (typeof RECURRENCE_TYPES)[number];
  interval: number;
  daysOfWeek?: Array<(typeof DAYS_OF_WEEK)[number]>;
  dayOfMonth?: number;
  index?: (typeof WEEK_INDEXES)[number];
  month?: number;
  rangeType: 'endDate' | 'numbered' | 'noEnd';
  startDate: string;
  endDate?: string;
  numberOfOccurrences?: number;
}

export type FieldValue = string | number | boolean | null | Attendee[] | Recurrence | string[];
export type Fields = Record<string, FieldValue>;

/** The snapshot of a synchronized item: one fingerprint per field, as both sides last agreed. */
export type Snapshot = Record<string, string>;

/**
 * Fields synchronized two-way always: those Dynamics fixes (appointment time, importance,
 * attendees, organizer, show-as; task importance and status) and, with the time, an appointment's
 * time zone and series pattern (a one-way pattern would let the two sides hold different series).
 */
export const ACT_FIXED_TWO_WAY: Record<ActFieldKind, readonly string[]> = {
  // Every appointment field but subject, body and location; series and their time zone move with
  // the appointment's time.
  appointment: ACT_FIELDS.appointment.filter((f) => !['subject', 'body', 'location'].includes(f)),
  contact: [],
  task: ['importance', 'status'],
};

/** Fields whose direction a Deployment may set. */
export const ACT_CONFIGURABLE: Record<ActFieldKind, readonly string[]> = {
  appointment: ACT_FIELDS.appointment.filter((f) => !ACT_FIXED_TWO_WAY.appointment.includes(f)),
  contact: ACT_FIELDS.contact,
  task: ACT_FIELDS.task.filter((f) => !ACT_FIXED_TWO_WAY.task.includes(f)),
};
