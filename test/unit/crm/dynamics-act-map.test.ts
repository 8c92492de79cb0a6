// The Dynamics 365 ACT mapping (src/crm/dynamics-act-map.ts): rows to internal fields and back,
// option sets (priority, show as, task status), parties by participation type, and the derived ids.
import { normalize } from '../../../src/act/model.js';
import { nameGuid } from '../../../src/crm/dynamics-act.js';
import type { Recurrence } from '../../../src/api/act-fields.js';
import {
  appointmentState,
  attendeeNames,
  columnsOf,
  fieldsOf,
  partiesOf,
  PARTY,
  patternColumns,
  recurrenceOf,
} from '../../../src/crm/dynamics-act-map.js';

test('an appointment row: columns, show as from the status reason, parties by mask, names kept beside the link', () => {
  const row = {
    subject: 'Review',
    description: 'agenda',
    location: 'Room 1',
    scheduledstart: '2027-03-01T09:00:00Z',
    scheduledend: '2027-03-01T10:00:00Z',
    isalldayevent: false,
    prioritycode: 2,
    statecode: 3,
    statuscode: 6,
  };
  const parties = [
    { participationtypemask: PARTY.Organizer, addressused: 'Ann@Contoso.example', _partyid_value: 'u1' },
    { participationtypemask: PARTY.Required, addressused: 'cy@customer.example', _partyid_value: 'c1' },
    { participationtypemask: PARTY.Optional, addressused: 'guest@elsewhere.example', _partyid_value: null },
    { participationtypemask: 9, addressused: 'owner@contoso.example' },
  ];
  const f = fieldsOf('appointment', row, parties, { 'guest@elsewhere.example': 'Guest' });
  expect(f).toMatchObject({
    subject: 'Review',
    body: 'agenda',
    importance: 'high',
    showAs: 'oof',
    organizer: 'ann@contoso.example',
    requiredAttendees: [{ address: 'cy@customer.example' }],
    optionalAttendees: [{ address: 'guest@elsewhere.example', name: 'Guest' }],
  });
  expect(appointmentState(row)).toBe('open');
  expect(appointmentState({ statecode: 2 })).toBe('canceled');
  expect(partiesOf(f)).toEqual([
    { mask: 7, address: 'ann@contoso.example' },
    { mask: 5, address: 'cy@customer.example' },
    { mask: 6, address: 'guest@elsewhere.example' },
  ]);
  expect(attendeeNames(f)).toEqual({ 'guest@elsewhere.example': 'Guest' });
});

test('appointment columns: show as sets the state pair while open or scheduled, never on a closed one', () => {
  expect(columnsOf('appointment', { showAs: 'tentative', importance: 'low' })).toEqual({ statecode: 0, statuscode: 2, prioritycode: 0 });
  expect(columnsOf('appointment', { showAs: 'busy' })).toEqual({ statecode: 3, statuscode: 5 });
  expect(columnsOf('appointment', { showAs: 'busy', subject: 'x' }, { statecode: 1 })).toEqual({ subject: 'x' });
});

test('contacts and tasks round-trip through their columns, dates as Dataverse takes them', () => {
  const contact = normalize('contact', {
    givenName: 'Cy',
    surname: 'Customer',
    email1: 'cy@customer.example',
    birthday: '1980-02-03',
    homePhone: '+1 555',
  });
  const columns = columnsOf('contact', contact);
  expect(columns).toMatchObject({
    firstname: 'Cy',
    lastname: 'Customer',
    emailaddress1: 'cy@customer.example',
    birthdate: '1980-02-03',
    telephone2: '+1 555',
  });
  expect(normalize('contact', fieldsOf('contact', columns))).toEqual({ ...contact, companyName: null });

  const task = normalize('task', {
    subject: 'call',
    dueDate: '2027-01-15',
    completedDate: '2027-01-10',
    status: 'completed',
    percentComplete: 100,
    importance: 'normal',
  });
  const taskColumns = columnsOf('task', task);
  expect(taskColumns).toMatchObject({
    scheduledend: '2027-01-15T00:00:00Z',
    actualend: '2027-01-10T00:00:00Z',
    statecode: 1,
    statuscode: 5,
    prioritycode: 1,
  });
  expect(normalize('task', fieldsOf('task', taskColumns))).toEqual(task);
  expect(fieldsOf('task', { statuscode: 6, statecode: 2 }).status).toBe('deferred');
});

test('derived ids are GUIDs, the same for the same names, different otherwise', () => {
  const a = nameGuid('ann@contoso.example', 'task', 'key-1');
  expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(nameGuid('ann@contoso.example', 'task', 'key-1')).toBe(a);
  expect(nameGuid('ann@contoso.example', 'task', 'key-2')).not.toBe(a);
  expect(nameGuid('ann@contoso.example', 'taskkey-1', '')).not.toBe(a);
});

describe('recurringappointmentmaster pattern columns and the model pattern', () => {
  const cases: Array<[string, Recurrence, Record<string, unknown>]> = [
    [
      'weekly on Monday and Wednesday, every 2 weeks, 10 times',
      {
        type: 'weekly',
        interval: 2,
        daysOfWeek: ['monday', 'wednesday'],
        rangeType: 'numbered',
        startDate: '2027-03-01',
        numberOfOccurrences: 10,
      },
      { recurrencepatterntype: 1, interval: 2, daysofweekmask: 0x02 | 0x08, patternendtype: 2, occurrences: 10, patternenddate: null },
    ],
    [
      'daily, no end',
      { type: 'daily', interval: 1, rangeType: 'noEnd', startDate: '2027-03-01' },
      { recurrencepatterntype: 0, interval: 1, daysofweekmask: null, patternendtype: 1, occurrences: null },
    ],
    [
      'monthly on the 15th until a date',
      { type: 'absoluteMonthly', interval: 1, dayOfMonth: 15, rangeType: 'endDate', startDate: '2027-03-15', endDate: '2027-12-31' },
      { recurrencepatterntype: 2, dayofmonth: 15, isnthmonthly: false, patternendtype: 3, patternenddate: '2027-12-31T00:00:00Z' },
    ],
    [
      'monthly on the last Friday',
      { type: 'relativeMonthly', interval: 1, daysOfWeek: ['friday'], index: 'last', rangeType: 'noEnd', startDate: '2027-03-26' },
      { recurrencepatterntype: 2, daysofweekmask: 0x20, instance: 5, isnthmonthly: true, dayofmonth: null },
    ],
    [
      'yearly on 1 July',
      { type: 'absoluteYearly', interval: 1, dayOfMonth: 1, month: 7, rangeType: 'noEnd', startDate: '2027-07-01' },
      { recurrencepatterntype: 3, dayofmonth: 1, monthofyear: 7, isnthyearly: false },
    ],
    [
      'yearly on the second Sunday of May',
      {
        type: 'relativeYearly',
        interval: 1,
        daysOfWeek: ['sunday'],
        index: 'second',
        month: 5,
        rangeType: 'noEnd',
        startDate: '2027-05-09',
      },
      { recurrencepatterntype: 3, daysofweekmask: 0x01, instance: 2, monthofyear: 5, isnthyearly: true },
    ],
  ];
  test.each(cases)('%s: written as Dataverse columns and read back as the same pattern', (_name, pattern, columns) => {
    const row = patternColumns(pattern);
    expect(row).toMatchObject({
      ...columns,
      patternstartdate: `${pattern.startDate}T00:00:00Z`,
      isregenerate: false,
      isweekdaypattern: false,
    });
    expect(recurrenceOf(row)).toEqual(pattern);
    expect(normalize('appointment', { recurrence: recurrenceOf(row) }).recurrence).toEqual(
      normalize('appointment', { recurrence: pattern }).recurrence,
    );
  });

  test('a master row carries the series (pattern, deleted occurrences); an appointment row none', () => {
    const pattern: Recurrence = { type: 'weekly', interval: 1, daysOfWeek: ['tuesday'], rangeType: 'noEnd', startDate: '2027-03-02' };
    const master = {
      subject: 'standup',
      scheduledstart: '2027-03-02T09:00:00Z',
      scheduledend: '2027-03-02T09:30:00Z',
      ...patternColumns(pattern),
      deletedexceptionslist: '2027-03-09T09:00:00Z\n2027-03-16T09:00:00Z',
    };
    expect(fieldsOf('appointment', master)).toMatchObject({
      recurrence: pattern,
      deletedOccurrences: ['2027-03-09T09:00:00Z', '2027-03-16T09:00:00Z'],
    });
    expect(fieldsOf('appointment', { subject: 'single' })).not.toHaveProperty('recurrence');
    expect(recurrenceOf({ recurrencepatterntype: 1 })).toBeNull(); // no start date: no pattern
  });

  test('columns written for a master: pattern, deleted occurrences, start/end time and duration; none of them for an appointment', () => {
    const pattern: Recurrence = { type: 'daily', interval: 1, rangeType: 'noEnd', startDate: '2027-03-02' };
    const fields = {
      subject: 's',
      start: '2027-03-02T09:00:00Z',
      end: '2027-03-02T09:45:00Z',
      recurrence: pattern,
      deletedOccurrences: ['2027-03-03T09:00:00Z'],
    };
    expect(columnsOf('appointment', fields, undefined, true)).toMatchObject({
      recurrencepatterntype: 0,
      deletedexceptionslist: '2027-03-03T09:00:00Z',
      starttime: '2027-03-02T09:00:00Z',
      endtime: '2027-03-02T09:45:00Z',
      duration: 45,
    });
    // Only the end changed: the duration is from the current start.
    expect(columnsOf('appointment', { end: '2027-03-02T10:00:00Z' }, { scheduledstart: '2027-03-02T09:00:00Z' }, true)).toMatchObject({
      duration: 60,
    });
    const single = columnsOf('appointment', fields);
    for (const c of ['recurrencepatterntype', 'deletedexceptionslist', 'starttime', 'duration']) expect(single).not.toHaveProperty(c);
  });
});
