// What the recurring-series tests share (series-graph, series-ews): times of a weekly series at
// 09:00 Berlin time, its pattern in the model, and an appointment's fields.
import type { Recurrence } from '../../src/act/model.js';
import { fromWallTime } from '../../src/act/timezones.js';

export const DAY = 86_400_000;
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;

/** 09:00 (or `time`) in Berlin, `days` from today, as UTC. */
export const berlin = (days: number, time = '09:00:00'): string =>
  fromWallTime(`${new Date(Date.now() + days * DAY).toISOString().slice(0, 10)}T${time}`, 'Europe/Berlin');
export const plus = (iso: string, ms: number): string => new Date(Date.parse(iso) + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
// A morning time in Berlin is the same day in UTC and two hours later still.
export const weekday = (iso: string): (typeof DAYS)[number] => DAYS[new Date(Date.parse(iso) + 2 * 3_600_000).getUTCDay()];
export const dateOf = (iso: string): string => new Date(Date.parse(iso) + 2 * 3_600_000).toISOString().slice(0, 10);

/** Weekly on the day of `start`, `n` times, as the model holds it. */
export const weekly = (start: string, n = 10): Recurrence => ({
  type: 'weekly',
  interval: 1,
  daysOfWeek: [weekday(start)],
  rangeType: 'numbered',
  startDate: dateOf(start),
  numberOfOccurrences: n,
});

/** An appointment the mailbox organizes, in Berlin time, one hour long. */
export const seriesFields = (organizer: string, subject: string, start: string, extra: Record<string, unknown> = {}) => ({
  subject,
  body: 'agenda',
  location: 'Room 1',
  start,
  end: plus(start, 3_600_000),
  isAllDay: false,
  importance: 'normal',
  showAs: 'busy',
  organizer,
  requiredAttendees: [{ address: 'cust@customer.example' }],
  optionalAttendees: [],
  timeZone: 'Europe/Berlin',
  ...extra,
});
