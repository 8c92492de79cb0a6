// The Dynamics 365 ACT mapping (src/crm/dynamics-act-map.ts): rows to internal fields and back,
// option sets (priority, show as, task status), parties by participation type, and the derived ids.
import { normalize } from '../../../src/act/model.js';
import { nameGuid } from '../../../src/crm/dynamics-act.js';
import { appointmentState, attendeeNames, columnsOf, fieldsOf, partiesOf, PARTY } from '../../../src/crm/dynamics-act-map.js';

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
