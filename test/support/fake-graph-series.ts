// Recurring series for the fake Microsoft Graph calendar (fake-graph-act.ts), as Graph documents
// them: a seriesMaster event carries `recurrence` (patternedRecurrence) and `cancelledOccurrences`
// ("OID.{masterId}.{YYYY-MM-DD}"); /events/{master}/instances expands the pattern within
// startDateTime/endDateTime into occurrences (type occurrence, seriesMasterId, originalStart) and
// exceptions (stored events of type exception). An occurrence's id is stable; changing it makes an
// exception with the same id, deleting it adds it to cancelledOccurrences. The fake expands the
// daily and weekly patterns (what the tests use) and writes times in any zone Graph knows (Windows
// or IANA ids), stored and returned in UTC.
import { findIana, findWindows } from 'windows-iana';

type Json = Record<string, unknown>;

/** The IANA zone of a Graph time zone id (Windows or IANA); undefined when Graph would not know it. */
export function zoneOf(id: string): string | undefined {
  if (/^(utc|etc\/utc|tzone:\/\/microsoft\/utc)$/i.test(id)) return 'UTC';
  return findIana(id)[0] ?? (findWindows(id).length ? id : undefined);
}

function offsetMs(iana: string, t: number): number {
  const f = new Intl.DateTimeFormat('en-GB', { timeZone: iana, timeZoneName: 'longOffset' }).format(new Date(t));
  const m = /GMT([+-])(\d\d):(\d\d)/.exec(f);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000 : 0;
}

/** A wall-clock time in a zone → UTC milliseconds. */
export function toUtc(dateTime: string, iana: string): number {
  const wall = Date.parse(`${dateTime.replace(/Z$/, '').slice(0, 19)}Z`);
  if (iana === 'UTC') return wall;
  const guess = wall - offsetMs(iana, wall);
  return wall - offsetMs(iana, guess);
}

/** UTC milliseconds → the wall-clock time (YYYY-MM-DDTHH:mm:ss) in a zone. */
export function toWall(t: number, iana: string): string {
  return new Date(t + (iana === 'UTC' ? 0 : offsetMs(iana, t))).toISOString().slice(0, 19);
}

export const utcText = (t: number): string => new Date(t).toISOString().replace(/\.\d{3}Z$/, '.0000000');

const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/** The original starts (UTC ms) of a master's occurrences up to `until`, cancelled ones included. */
export function expand(master: Json, until: number): number[] {
  const rec = master.recurrence as { pattern: Json; range: Json } | undefined;
  if (!rec) return [];
  const zone = zoneOf(String(master.originalStartTimeZone ?? 'UTC')) ?? 'UTC';
  const start = Date.parse(`${String((master.start as Json).dateTime)}Z`);
  const time = toWall(start, zone).slice(11);
  const interval = Number(rec.pattern.interval ?? 1) || 1;
  const first = Date.parse(`${String(rec.range.startDate)}T00:00:00Z`);
  const endDate = rec.range.type === 'endDate' ? Date.parse(`${String(rec.range.endDate)}T00:00:00Z`) : Infinity;
  const count = rec.range.type === 'numbered' ? Number(rec.range.numberOfOccurrences) : Infinity;
  const days = ((rec.pattern.daysOfWeek as string[] | undefined) ?? []).map((d) => DAYS.indexOf(d));
  const out: number[] = [];
  for (let d = first, i = 0; d <= endDate && out.length < count && i < 5000; d += 86_400_000, i++) {
    const date = new Date(d);
    const dayIndex = Math.round((d - first) / 86_400_000);
    const ok =
      rec.pattern.type === 'daily'
        ? dayIndex % interval === 0
        : rec.pattern.type === 'weekly'
          ? days.includes(date.getUTCDay()) && Math.floor((dayIndex + new Date(first).getUTCDay()) / 7) % interval === 0
          : false;
    if (!ok) continue;
    const t = toUtc(`${date.toISOString().slice(0, 10)}T${time}`, zone);
    if (t > until) break;
    out.push(t);
  }
  return out;
}

/** The cancelledOccurrences entry of an occurrence (its date in the series' zone). */
export function cancelledEntry(master: Json & { id?: string }, masterId: string, originalStart: number): string {
  const zone = zoneOf(String(master.originalStartTimeZone ?? 'UTC')) ?? 'UTC';
  return `OID.${masterId}.${toWall(originalStart, zone).slice(0, 10)}`;
}

/** The stable id of an occurrence of a master. */
export const occurrenceId = (masterId: string, originalStart: number): string =>
  `${masterId}_OCC_${new Date(originalStart).toISOString().replace(/[-:]|\.\d{3}/g, '')}`;

export function parseOccurrenceId(id: string): { masterId: string; originalStart: number } | undefined {
  const m = /^(.*)_OCC_(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(id);
  return m ? { masterId: m[1], originalStart: Date.UTC(+m[2], +m[3] - 1, +m[4], +m[5], +m[6], +m[7]) } : undefined;
}
