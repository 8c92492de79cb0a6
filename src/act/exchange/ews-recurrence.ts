// Series of EWS calendar items ⇄ the internal model (model.ts). Pure functions.
//   t:Recurrence   one pattern element (DailyRecurrence, WeeklyRecurrence, AbsoluteMonthlyRecurrence,
//                  RelativeMonthlyRecurrence, AbsoluteYearlyRecurrence, RelativeYearlyRecurrence)
//                  and one range element (NoEndRecurrence, EndDateRecurrence, NumberedRecurrence),
//                  in types.xsd order; weekdays are capitalised and space-separated, months named.
//   DeletedOccurrences / ModifiedOccurrences on a RecurringMaster: the deleted occurrences' starts
//                  (the model's deletedOccurrences) and the exceptions' ids and original starts.

import { normalizeRecurrence, utc, type Recurrence } from '../model.js';
import { elements, first, text } from './xml.js';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const PATTERNS: Record<Recurrence['type'], string> = {
  daily: 'DailyRecurrence',
  weekly: 'WeeklyRecurrence',
  absoluteMonthly: 'AbsoluteMonthlyRecurrence',
  relativeMonthly: 'RelativeMonthlyRecurrence',
  absoluteYearly: 'AbsoluteYearlyRecurrence',
  relativeYearly: 'RelativeYearlyRecurrence',
};

/** The model's pattern as the inside of t:Recurrence. */
export function toEwsRecurrence(r: Recurrence): string {
  const el = PATTERNS[r.type];
  const parts: string[] = [];
  // Yearly patterns have no Interval in EWS (every year).
  if (!r.type.endsWith('Yearly')) parts.push(`<t:Interval>${r.interval}</t:Interval>`);
  if (r.daysOfWeek) parts.push(`<t:DaysOfWeek>${r.daysOfWeek.map(cap).join(' ')}</t:DaysOfWeek>`);
  if (r.type === 'weekly') parts.push('<t:FirstDayOfWeek>Sunday</t:FirstDayOfWeek>');
  if (r.index) parts.push(`<t:DayOfWeekIndex>${cap(r.index)}</t:DayOfWeekIndex>`);
  if (r.dayOfMonth) parts.push(`<t:DayOfMonth>${r.dayOfMonth}</t:DayOfMonth>`);
  if (r.month) parts.push(`<t:Month>${MONTHS[r.month - 1]}</t:Month>`);
  // types.xsd: AbsoluteYearly is DayOfMonth then Month; RelativeYearly DaysOfWeek, DayOfWeekIndex, Month.
  const pattern = `<t:${el}>${parts.join('')}</t:${el}>`;
  const start = `<t:StartDate>${r.startDate}</t:StartDate>`;
  const range =
    r.rangeType === 'endDate'
      ? `<t:EndDateRecurrence>${start}<t:EndDate>${r.endDate}</t:EndDate></t:EndDateRecurrence>`
      : r.rangeType === 'numbered'
        ? `<t:NumberedRecurrence>${start}<t:NumberOfOccurrences>${r.numberOfOccurrences}</t:NumberOfOccurrences></t:NumberedRecurrence>`
        : `<t:NoEndRecurrence>${start}</t:NoEndRecurrence>`;
  return pattern + range;
}

/** The inside of t:Recurrence as the model's pattern; null for none. */
export function fromEwsRecurrence(xml: string | undefined): Recurrence | null {
  if (!xml) return null;
  const type = (Object.keys(PATTERNS) as Recurrence['type'][]).find((t) => first(xml, PATTERNS[t]));
  if (!type) return null;
  const p = first(xml, PATTERNS[type])!.inner;
  const n = (name: string): number | undefined => (text(p, name) !== undefined ? Number(text(p, name)) : undefined);
  const month = text(p, 'Month');
  const range = ['NoEndRecurrence', 'EndDateRecurrence', 'NumberedRecurrence'].map((r) => [r, first(xml, r)] as const).find(([, e]) => e);
  if (!range) return null;
  const [rangeEl, r] = range;
  return normalizeRecurrence({
    type,
    interval: n('Interval') ?? 1,
    daysOfWeek: text(p, 'DaysOfWeek')
      ?.split(/\s+/)
      .map((d) => d.toLowerCase()),
    dayOfMonth: n('DayOfMonth'),
    index: text(p, 'DayOfWeekIndex')?.toLowerCase(),
    month: month ? MONTHS.indexOf(month) + 1 : undefined,
    rangeType: rangeEl === 'EndDateRecurrence' ? 'endDate' : rangeEl === 'NumberedRecurrence' ? 'numbered' : 'noEnd',
    startDate: text(r!.inner, 'StartDate'),
    endDate: text(r!.inner, 'EndDate'),
    numberOfOccurrences: text(r!.inner, 'NumberOfOccurrences') ? Number(text(r!.inner, 'NumberOfOccurrences')) : undefined,
  });
}

/** A master's deleted occurrences (their starts, UTC); null when none. */
export function deletedOccurrencesOf(xml: string): string[] | null {
  const starts = elements(first(xml, 'DeletedOccurrences')?.inner ?? '', 'DeletedOccurrence')
    .map((d) => utc(text(d.inner, 'Start')))
    .filter((s): s is string => !!s);
  return starts.length ? starts : null;
}

/** A master's exceptions: their ItemIds and original starts (UTC). */
export function modifiedOccurrencesOf(xml: string): Array<{ id: string; originalStart: string }> {
  return elements(first(xml, 'ModifiedOccurrences')?.inner ?? '', 'Occurrence')
    .map((o) => ({ id: first(o.inner, 'ItemId')?.attrs.Id ?? '', originalStart: utc(text(o.inner, 'OriginalStart')) ?? '' }))
    .filter((o) => o.id && o.originalStart);
}
