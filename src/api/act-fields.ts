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

export type FieldValue = string | number | boolean | null | Attendee[];
export type Fields = Record<string, FieldValue>;

/** The snapshot of a synchronized item: one fingerprint per field, as both sides last agreed. */
export type Snapshot = Record<string, string>;

/** Fields Dynamics synchronizes two-way always (appointment time, importance, attendees, organizer, show-as; task importance and status). */
export const ACT_FIXED_TWO_WAY: Record<ActFieldKind, readonly string[]> = {
  appointment: ['start', 'end', 'isAllDay', 'importance', 'showAs', 'organizer', 'requiredAttendees', 'optionalAttendees'],
  contact: [],
  task: ['importance', 'status'],
};

/** Fields whose direction a Deployment may set. */
export const ACT_CONFIGURABLE: Record<ActFieldKind, readonly string[]> = {
  appointment: ACT_FIELDS.appointment.filter((f) => !ACT_FIXED_TWO_WAY.appointment.includes(f)),
  contact: ACT_FIELDS.contact,
  task: ACT_FIELDS.task.filter((f) => !ACT_FIXED_TWO_WAY.task.includes(f)),
};
