// The pure parts of series and time zones: the model's normal form of a pattern, Graph's
// patternedRecurrence and cancelledOccurrences both ways, and the IANA ⇄ Windows mapping with
// wall-clock conversions across daylight-saving changes.
import { normalizeField, normalizeRecurrence } from '../../../src/act/model.js';
import {
  fromCancelledOccurrences,
  fromGraphRecurrence,
  graphTime,
  graphZone,
  toGraphRecurrence,
} from '../../../src/act/exchange/graph-recurrence.js';
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
