// The internal model of appointments, contacts and tasks (ACT): one vocabulary of fields per kind
// that both sides are translated into. Exchange adapters (src/act/exchange) and CRM connectors
// (src/crm/act-*.ts) convert their wire formats to and from these fields; the merge, the rules and
// the engine know nothing else.
//
// Values are normalised so that equal meaning means equal value (UTC ISO times without
// milliseconds, lower-case addresses, attendee lists sorted), because the three-way merge compares
// fingerprints of values, never timestamps.

import { createHash } from 'node:crypto';
import {
  ACT_FIELDS,
  DAYS_OF_WEEK,
  RECURRENCE_TYPES,
  WEEK_INDEXES,
  type ActKind,
  type Attendee,
  type FieldValue,
  type Fields,
  type Recurrence,
  type Snapshot,
} from '../api/act-fields.js';
import { canonicalZone } from './timezones.js';

// The vocabulary lives with the field catalogue (the CRM connectors share it).
export {
  ACT_KINDS,
  KIND_PLURAL,
  type ActKind,
  type Attendee,
  type FieldValue,
  type Fields,
  type Recurrence,
  type Snapshot,
} from '../api/act-fields.js';

/** The synchronized fields of each kind (src/api/act-fields.ts). Regarding, owner and status reasons stay in the CRM. */
export const FIELDS: Record<ActKind, readonly string[]> = ACT_FIELDS;

/** Appointment fields whose change makes Exchange send a meeting update (Dynamics' "key fields"). */
export const KEY_FIELDS = new Set([
  'subject',
  'body',
  'location',
  'start',
  'end',
  'isAllDay',
  'organizer',
  'requiredAttendees',
  'optionalAttendees',
  'importance',
  'showAs',
  'timeZone',
  'recurrence',
]);

export const IMPORTANCE = ['low', 'normal', 'high'] as const;
export const SHOW_AS = ['free', 'tentative', 'busy', 'oof', 'workingElsewhere'] as const;
export const TASK_STATUS = ['notStarted', 'inProgress', 'completed', 'waitingOnOthers', 'deferred'] as const;

/** CRM states of an appointment that decide cancellations and deletes (not synchronized themselves). */
export type AppointmentState = 'open' | 'completed' | 'canceled';

/** An ISO 8601 time as UTC without milliseconds; null when it is not a time. */
export function utc(value: unknown): string | null {
  if (typeof value !== 'string' || !value) return null;
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
  return Number.isFinite(t) ? new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z') : null;
}

/** A calendar date (YYYY-MM-DD) of an ISO time or date; null when there is none. */
export function day(value: unknown): string | null {
  if (typeof value !== 'string' || !value) return null;
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(value);
  return m ? m[1] : null;
}

function attendees(value: unknown): Attendee[] {
  if (!Array.isArray(value)) return [];
  const seen = new Map<string, Attendee>();
  for (const a of value) {
    const address = typeof a === 'string' ? a : typeof a?.address === 'string' ? a.address : '';
    if (!address) continue;
    const key = address.trim().toLowerCase();
    if (!seen.has(key)) seen.set(key, { address: key, ...(typeof a?.name === 'string' && a.name ? { name: a.name } : {}) });
  }
  return [...seen.values()].sort((x, y) => x.address.localeCompare(y.address));
}

const TIME_FIELDS = new Set(['start', 'end']);
const DATE_FIELDS = new Set(['dueDate', 'startDate', 'completedDate', 'birthday']);
const LIST_FIELDS = new Set(['requiredAttendees', 'optionalAttendees']);
const ADDRESS_FIELDS = new Set(['organizer', 'email1', 'email2', 'email3']);

const positive = (v: unknown, max: number): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max ? v : undefined;

/**
 * A series pattern in its normal form (keys in one order, only those its type uses, weekdays in
 * week order), so that equal patterns have equal fingerprints; null when it is not a pattern.
 */
export function normalizeRecurrence(value: unknown): Recurrence | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  const type = RECURRENCE_TYPES.find((t) => t === v.type);
  const startDate = day(v.startDate);
  if (!type || !startDate) return null;
  const out: Recurrence = { type, interval: positive(v.interval, 999) ?? 1, rangeType: 'noEnd', startDate };
  const weekly = type === 'weekly' || type.startsWith('relative');
  if (weekly) {
    const days = Array.isArray(v.daysOfWeek) ? v.daysOfWeek.map((d) => String(d).toLowerCase()) : [];
    out.daysOfWeek = DAYS_OF_WEEK.filter((d) => days.includes(d));
    if (!out.daysOfWeek.length) return null;
  }
  if (type.startsWith('absolute')) {
    out.dayOfMonth = positive(v.dayOfMonth, 31);
    if (!out.dayOfMonth) return null;
  }
  if (type.startsWith('relative')) out.index = WEEK_INDEXES.find((i) => i === v.index) ?? 'first';
  if (type.endsWith('Yearly')) {
    out.month = positive(v.month, 12);
    if (!out.month) return null;
  }
  const endDate = day(v.endDate);
  const count = positive(v.numberOfOccurrences, 999_999);
  const rangeType = v.rangeType ?? (endDate ? 'endDate' : count ? 'numbered' : 'noEnd');
  if (rangeType === 'endDate' && endDate) Object.assign(out, { rangeType, endDate });
  else if (rangeType === 'numbered' && count) Object.assign(out, { rangeType, numberOfOccurrences: count });
  // Keys in one order: the fingerprint is of the JSON text.
  const ordered = {} as Record<string, unknown>;
  for (const k of [
    'type',
    'interval',
    'daysOfWeek',
    'dayOfMonth',
    'index',
    'month',
    'rangeType',
    'startDate',
    'endDate',
    'numberOfOccurrences',
  ])
    if ((out as unknown as Record<string, unknown>)[k] !== undefined) ordered[k] = (out as unknown as Record<string, unknown>)[k];
  return ordered as unknown as Recurrence;
}

/** One field's value in its normal form. Empty strings are null: Exchange and CRMs disagree on "no value". */
export function normalizeField(field: string, value: unknown): FieldValue {
  if (LIST_FIELDS.has(field)) return attendees(value);
  if (value === undefined || value === null || value === '') return null;
  if (TIME_FIELDS.has(field)) return utc(value);
  if (field === 'recurrence') return normalizeRecurrence(value);
  if (field === 'timeZone') return typeof value === 'string' ? canonicalZone(value) : null;
  if (field === 'deletedOccurrences') {
    const starts = Array.isArray(value) ? value.map(utc).filter((t): t is string => !!t) : [];
    return starts.length ? [...new Set(starts)].sort() : null;
  }
  if (DATE_FIELDS.has(field)) return day(value);
  if (ADDRESS_FIELDS.has(field)) return typeof value === 'string' ? value.trim().toLowerCase() || null : null;
  if (field === 'isAllDay') return value === true;
  if (field === 'percentComplete')
    return typeof value === 'number' && Number.isFinite(value) ? Math.max(0, Math.min(100, Math.round(value))) : null;
  if (field === 'body') return typeof value === 'string' ? value.replace(/\r\n/g, '\n').trim() || null : null;
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? value : null;
}

/** Every field of the kind, normalised; fields the source does not carry are null. */
export function normalize(kind: ActKind, fields: Record<string, unknown>): Fields {
  const out: Fields = {};
  for (const f of FIELDS[kind]) out[f] = normalizeField(f, fields[f]);
  return out;
}

/** A short fingerprint of a normalised value: what the snapshot keeps instead of the value. */
export function fingerprint(value: FieldValue | undefined): string {
  return createHash('sha256')
    .update(JSON.stringify(value ?? null))
    .digest('base64url')
    .slice(0, 10);
}

export function snapshotOf(fields: Fields): Snapshot {
  const out: Snapshot = {};
  for (const [f, v] of Object.entries(fields)) out[f] = fingerprint(v);
  return out;
}

export function hasAttendees(fields: Fields): boolean {
  return (
    ((fields.requiredAttendees as Attendee[] | null)?.length ?? 0) + ((fields.optionalAttendees as Attendee[] | null)?.length ?? 0) > 0
  );
}
