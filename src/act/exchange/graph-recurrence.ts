// Series and time zones of Graph events ⇄ the internal model (model.ts). Pure functions.
//
//   recurrence            Graph's patternedRecurrence {pattern, range} ⇄ the flat Recurrence; a
//                         range's recurrenceTimeZone is the event's zone (Windows id).
//   cancelledOccurrences  "OID.{masterId}.{YYYY-MM-DD}" on the master ⇄ deletedOccurrences, the
//                         original starts (UTC) of the deleted occurrences: the date at the
//                         master's start time, in the master's zone.
//   start/end             written as wall-clock time in the event's zone with its Windows id
//                         (read back in UTC: every request prefers outlook.timezone="UTC");
//                         originalStartTimeZone is read back as the IANA id.

import { normalizeRecurrence, type Recurrence } from '../model.js';
import { fromWallTime, ianaZone, requireWindowsZone, wallTime } from '../timezones.js';

type Json = Record<string, unknown>;

/** The model's pattern as Graph's patternedRecurrence. */
export function toGraphRecurrence(r: Recurrence, windowsZone: string): Json {
  const pattern: Json = { type: r.type, interval: r.interval };
  if (r.daysOfWeek) pattern.daysOfWeek = r.daysOfWeek;
  if (r.dayOfMonth) pattern.dayOfMonth = r.dayOfMonth;
  if (r.index) pattern.index = r.index;
  if (r.month) pattern.month = r.month;
  if (r.type === 'weekly') pattern.firstDayOfWeek = 'sunday';
  const range: Json = { type: r.rangeType, startDate: r.startDate, recurrenceTimeZone: windowsZone };
  if (r.rangeType === 'endDate') range.endDate = r.endDate;
  if (r.rangeType === 'numbered') range.numberOfOccurrences = r.numberOfOccurrences;
  return { pattern, range };
}

/** Graph's patternedRecurrence as the model's pattern; null for none. */
export function fromGraphRecurrence(value: unknown): Recurrence | null {
  const v = value as { pattern?: Json; range?: Json } | null | undefined;
  if (!v?.pattern || !v.range) return null;
  return normalizeRecurrence({ ...v.pattern, ...v.range, type: v.pattern.type, rangeType: v.range.type });
}

/** The deleted occurrences' original starts (UTC) of a master's cancelledOccurrences. */
export function fromCancelledOccurrences(value: unknown, masterStartUtc: string | null, iana: string | undefined): string[] | null {
  if (!Array.isArray(value) || !masterStartUtc) return null;
  const time = wallTime(masterStartUtc, iana).slice(11);
  const out = value
    .map((v) => /(\d{4}-\d{2}-\d{2})$/.exec(String(v))?.[1])
    .filter((d): d is string => !!d)
    .map((d) => fromWallTime(`${d}T${time}`, iana));
  return out.length ? out : null;
}

/** A start or end as Graph writes it: wall-clock time in the zone, named by its Windows id. */
export function graphTime(utcIso: string, iana: string | null | undefined): { dateTime: string; timeZone: string } {
  if (!iana) return { dateTime: utcIso.replace(/Z$/, ''), timeZone: 'UTC' };
  const timeZone = requireWindowsZone(iana, 'Exchange');
  return { dateTime: wallTime(utcIso, iana), timeZone };
}

/** The IANA id of an event's originalStartTimeZone (Windows or IANA); null for UTC or none. */
export const graphZone = (value: unknown): string | null => (typeof value === 'string' ? (ianaZone(value) ?? null) : null);
