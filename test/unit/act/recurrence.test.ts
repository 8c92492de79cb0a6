// The pure parts of series and time zones: the model's normal form of a pattern, Graph's
// patternedRecurrence and cancelledOccurrences both ways, EWS's t:Recurrence and a master's
// Deleted/ModifiedOccurrences, and the IANA ⇄ Windows mapping with
// wall-clock conversions across daylight-saving changes.
import { normalizeField, normalizeRecurrence } from '../../../src/act/model.js';
import {
  fromCancelledOccurrences,
  fromGraphRecurrence,
  graphTime,
  graphZone,
  toGraphRecurrence,
} from '../../../src/act/exchange/graph-recurrence.js';
import {
  deletedOccurrencesOf,
  fromEwsRecurrence,
  modifiedOccurrencesOf,
  toEwsRecurrence,
} from '../../../src/act/exchange/ews-recurrence.js';
import { canonicalZone, fromWallTime, ianaZone, requireWindowsZone, wallTime, windowsZone } from '../../../src/act/timezones.js';

describe('the model of a series', () => {
  test('equal patterns are equal values: keys in one order, unused keys dropped, weekdays in week order', () => {
    const a = normalizeRecurrence({
      startDate: '2027-01-04T00:00:00Z',
      daysOfWeek: ['Friday', 'monday'],
      type: 'weekly',
      interval: 2,
      dayOfMonth: 5,
      numberOfOccurrences: 10,
    });
    expect(a).toEqual({
      type: 'weekly',
      interval: 2,
      daysOfWeek: ['monday', 'friday'],
      rangeType: 'numbered',
      startDate: '2027-01-04',
      numberOfOccurrences: 10,
    });
    expect(JSON.stringify(a)).toBe(
      JSON.stringify(
        normalizeRecurrence({
          type: 'weekly',
          interval: 2,
          daysOfWeek: ['monday', 'friday'],
          rangeType: 'numbered',
          startDate: '2027-01-04',
          numberOfOccurrences: 10,
        }),
      ),
    );
  });

  test('each type keeps what it needs; a pattern that lacks it is no pattern', () => {
    expect(
      normalizeRecurrence({ type: 'absoluteMonthly', interval: 1, dayOfMonth: 15, startDate: '2027-01-15', endDate: '2027-12-31' }),
    ).toEqual({
      type: 'absoluteMonthly',
      interval: 1,
      dayOfMonth: 15,
      rangeType: 'endDate',
      startDate: '2027-01-15',
      endDate: '2027-12-31',
    });
    expect(
      normalizeRecurrence({
        type: 'relativeYearly',
        interval: 1,
        daysOfWeek: ['tuesday'],
        index: 'second',
        month: 3,
        startDate: '2027-03-09',
      }),
    ).toEqual({
      type: 'relativeYearly',
      interval: 1,
      daysOfWeek: ['tuesday'],
      index: 'second',
      month: 3,
      rangeType: 'noEnd',
      startDate: '2027-03-09',
    });
    expect(normalizeRecurrence({ type: 'weekly', interval: 1, startDate: '2027-01-01' })).toBeNull();
    expect(normalizeRecurrence({ type: 'absoluteYearly', interval: 1, dayOfMonth: 3, startDate: '2027-01-01' })).toBeNull();
    expect(normalizeRecurrence({ type: 'hourly', interval: 1, startDate: '2027-01-01' })).toBeNull();
    expect(normalizeRecurrence(null)).toBeNull();
  });

  test('deleted occurrences are sorted UTC times without duplicates; none is null', () => {
    expect(normalizeField('deletedOccurrences', ['2027-01-11T08:00:00.000Z', '2027-01-04T09:00:00+01:00', '2027-01-11T08:00:00Z'])).toEqual(
      ['2027-01-04T08:00:00Z', '2027-01-11T08:00:00Z'],
    );
    expect(normalizeField('deletedOccurrences', [])).toBeNull();
  });

  test('a time zone is its canonical IANA id; UTC is none; an unknown id stays (refused when written)', () => {
    expect(normalizeField('timeZone', 'W. Europe Standard Time')).toBe('Europe/Berlin');
    expect(normalizeField('timeZone', 'Europe/Amsterdam')).toBe('Europe/Berlin');
    expect(normalizeField('timeZone', 'Europe/Berlin')).toBe('Europe/Berlin');
    expect(normalizeField('timeZone', 'UTC')).toBeNull();
    expect(normalizeField('timeZone', 'Etc/UTC')).toBeNull();
    expect(normalizeField('timeZone', 'Mars/Olympus_Mons')).toBe('Mars/Olympus_Mons');
  });
});

describe('time zones', () => {
  test('IANA ⇄ Windows', () => {
    expect(windowsZone('Europe/Berlin')).toBe('W. Europe Standard Time');
    expect(windowsZone('America/New_York')).toBe('Eastern Standard Time');
    expect(windowsZone('Mars/Olympus_Mons')).toBeUndefined();
    expect(ianaZone('W. Europe Standard Time')).toBe('Europe/Berlin');
    expect(ianaZone('Tokyo Standard Time')).toBe('Asia/Tokyo');
    expect(ianaZone('UTC')).toBeUndefined();
    expect(canonicalZone('Asia/Calcutta')).toBe(canonicalZone('India Standard Time'));
  });

  test('a zone without a Windows id is an item-level refusal that names it', () => {
    expect(() => requireWindowsZone('Mars/Olympus_Mons', 'Exchange')).toThrow(
      expect.objectContaining({ reason: 'ItemRejected', message: expect.stringContaining('"Mars/Olympus_Mons"') }),
    );
  });

  test('wall-clock time in a zone, across daylight-saving changes', () => {
    expect(wallTime('2027-01-04T08:00:00Z', 'Europe/Berlin')).toBe('2027-01-04T09:00:00');
    expect(wallTime('2027-07-05T07:00:00Z', 'Europe/Berlin')).toBe('2027-07-05T09:00:00');
    expect(fromWallTime('2027-01-04T09:00:00', 'Europe/Berlin')).toBe('2027-01-04T08:00:00Z');
    expect(fromWallTime('2027-07-05T09:00:00', 'Europe/Berlin')).toBe('2027-07-05T07:00:00Z');
    expect(fromWallTime('2027-03-28T09:00:00', 'Europe/Berlin')).toBe('2027-03-28T07:00:00Z'); // the day summer time starts
    expect(fromWallTime('2027-03-14T09:00:00', 'America/New_York')).toBe('2027-03-14T13:00:00Z');
    expect(wallTime('2027-01-04T08:00:00Z', undefined)).toBe('2027-01-04T08:00:00');
  });
});

describe('Graph series', () => {
  const weekly = normalizeRecurrence({
    type: 'weekly',
    interval: 1,
    daysOfWeek: ['monday'],
    rangeType: 'numbered',
    startDate: '2027-01-04',
    numberOfOccurrences: 10,
  })!;

  test('patternedRecurrence both ways', () => {
    const g = toGraphRecurrence(weekly, 'W. Europe Standard Time');
    expect(g).toEqual({
      pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'], firstDayOfWeek: 'sunday' },
      range: { type: 'numbered', startDate: '2027-01-04', numberOfOccurrences: 10, recurrenceTimeZone: 'W. Europe Standard Time' },
    });
    expect(fromGraphRecurrence(g)).toEqual(weekly);
    // What Graph returns for a series without end: endDate 0001-01-01, numberOfOccurrences 0.
    expect(
      fromGraphRecurrence({
        pattern: {
          type: 'absoluteMonthly',
          interval: 1,
          month: 0,
          dayOfMonth: 4,
          daysOfWeek: [],
          firstDayOfWeek: 'sunday',
          index: 'first',
        },
        range: { type: 'noEnd', startDate: '2027-01-04', endDate: '0001-01-01', recurrenceTimeZone: 'UTC', numberOfOccurrences: 0 },
      }),
    ).toEqual({ type: 'absoluteMonthly', interval: 1, dayOfMonth: 4, rangeType: 'noEnd', startDate: '2027-01-04' });
    expect(fromGraphRecurrence(null)).toBeNull();
  });

  test('cancelledOccurrences are dates: the original start is that date at the series time, in its zone', () => {
    expect(
      fromCancelledOccurrences(['OID.AAMkMaster=.2027-01-11', 'OID.AAMkMaster=.2027-07-05'], '2027-01-04T08:00:00Z', 'Europe/Berlin'),
    ).toEqual(['2027-01-11T08:00:00Z', '2027-07-05T07:00:00Z']);
    expect(fromCancelledOccurrences([], '2027-01-04T08:00:00Z', undefined)).toBeNull();
  });

  test('times are written as wall-clock time with the Windows id; originalStartTimeZone reads back as IANA', () => {
    expect(graphTime('2027-01-04T08:00:00Z', 'Europe/Berlin')).toEqual({
      dateTime: '2027-01-04T09:00:00',
      timeZone: 'W. Europe Standard Time',
    });
    expect(graphTime('2027-01-04T08:00:00Z', null)).toEqual({ dateTime: '2027-01-04T08:00:00', timeZone: 'UTC' });
    expect(graphZone('W. Europe Standard Time')).toBe('Europe/Berlin');
    expect(graphZone('tzone://Microsoft/Utc')).toBeNull();
    expect(graphZone(undefined)).toBeNull();
  });
});

describe('EWS series', () => {
  test('t:Recurrence both ways, every pattern and range type, in types.xsd order', () => {
    const cases = [
      { type: 'daily', interval: 2, rangeType: 'noEnd', startDate: '2027-01-04' },
      {
        type: 'weekly',
        interval: 1,
        daysOfWeek: ['monday', 'thursday'],
        rangeType: 'numbered',
        startDate: '2027-01-04',
        numberOfOccurrences: 10,
      },
      { type: 'absoluteMonthly', interval: 1, dayOfMonth: 15, rangeType: 'endDate', startDate: '2027-01-15', endDate: '2027-12-31' },
      { type: 'relativeMonthly', interval: 1, daysOfWeek: ['tuesday'], index: 'second', rangeType: 'noEnd', startDate: '2027-01-12' },
      { type: 'absoluteYearly', interval: 1, dayOfMonth: 3, month: 2, rangeType: 'noEnd', startDate: '2027-02-03' },
      {
        type: 'relativeYearly',
        interval: 1,
        daysOfWeek: ['friday'],
        index: 'last',
        month: 11,
        rangeType: 'noEnd',
        startDate: '2027-11-26',
      },
    ].map((r) => normalizeRecurrence(r)!);
    for (const r of cases) expect(fromEwsRecurrence(toEwsRecurrence(r))).toEqual(r);
    expect(toEwsRecurrence(cases[1])).toBe(
      '<t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday Thursday</t:DaysOfWeek><t:FirstDayOfWeek>Sunday</t:FirstDayOfWeek></t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>2027-01-04</t:StartDate><t:NumberOfOccurrences>10</t:NumberOfOccurrences></t:NumberedRecurrence>',
    );
    expect(toEwsRecurrence(cases[5])).toContain(
      '<t:RelativeYearlyRecurrence><t:DaysOfWeek>Friday</t:DaysOfWeek><t:DayOfWeekIndex>Last</t:DayOfWeekIndex><t:Month>November</t:Month>',
    );
    // Exchange writes dates with a zone suffix.
    expect(
      fromEwsRecurrence(
        '<t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence><t:NoEndRecurrence><t:StartDate>2027-01-04+01:00</t:StartDate></t:NoEndRecurrence>',
      ),
    ).toEqual({
      type: 'daily',
      interval: 1,
      rangeType: 'noEnd',
      startDate: '2027-01-04',
    });
    expect(fromEwsRecurrence(undefined)).toBeNull();
  });

  test("a master's deleted and modified occurrences", () => {
    const xml =
      '<t:ModifiedOccurrences><t:Occurrence><t:ItemId Id="AAMkEx1=" ChangeKey="CK"/><t:Start>2027-01-11T10:00:00Z</t:Start><t:End>2027-01-11T11:00:00Z</t:End><t:OriginalStart>2027-01-11T08:00:00Z</t:OriginalStart></t:Occurrence></t:ModifiedOccurrences>' +
      '<t:DeletedOccurrences><t:DeletedOccurrence><t:Start>2027-01-18T09:00:00+01:00</t:Start></t:DeletedOccurrence></t:DeletedOccurrences>';
    expect(modifiedOccurrencesOf(xml)).toEqual([{ id: 'AAMkEx1=', originalStart: '2027-01-11T08:00:00Z' }]);
    expect(deletedOccurrencesOf(xml)).toEqual(['2027-01-18T08:00:00Z']);
    expect(deletedOccurrencesOf('<t:Subject>x</t:Subject>')).toBeNull();
  });
});
