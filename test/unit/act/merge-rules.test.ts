// The pure heart of ACT: the three-way merge, the normal forms it compares, and the rules on
// invitations and deletes.
import { directionTable } from '../../../src/act/directions.js';
import { merge } from '../../../src/act/merge.js';
import { normalize, snapshotOf } from '../../../src/act/model.js';
import { mayInvite, onCrmRemoval, onExchangeRemoval } from '../../../src/act/rules.js';

const base = normalize('appointment', {
  subject: 'a',
  location: 'x',
  start: '2030-01-01T10:00:00Z',
  end: '2030-01-01T11:00:00Z',
  organizer: 'me@x.example',
  requiredAttendees: [{ address: 'B@Y.example' }],
});
const dirs = directionTable('appointment');

test('changes on different fields merge; the same field is a conflict the policy decides', () => {
  const snap = snapshotOf(base);
  const plan = merge({
    directions: dirs,
    policy: 'CRMWins',
    base: snap,
    exchange: { ...base, location: 'y' },
    crm: { ...base, subject: 'b' },
  });
  expect(plan).toMatchObject({ toExchange: { subject: 'b' }, toCrm: { location: 'y' }, conflicts: [] });
  const both = merge({
    directions: dirs,
    policy: 'CRMWins',
    base: snap,
    exchange: { ...base, subject: 'e' },
    crm: { ...base, subject: 'c' },
  });
  expect(both).toMatchObject({ toExchange: { subject: 'c' }, toCrm: {}, conflicts: ['subject'] });
  expect(
    merge({ directions: dirs, policy: 'ExchangeWins', base: snap, exchange: { ...base, subject: 'e' }, crm: { ...base, subject: 'c' } }),
  ).toMatchObject({ toCrm: { subject: 'e' }, conflicts: ['subject'] });
  // The same change on both sides is no conflict.
  expect(
    merge({ directions: dirs, policy: 'CRMWins', base: snap, exchange: { ...base, subject: 's' }, crm: { ...base, subject: 's' } })
      .conflicts,
  ).toEqual([]);
});

test('a field the snapshot does not know yet (a link made before it existed) takes the side that has a value, with CRMWins too', () => {
  const { timeZone: _t, recurrence: _r, deletedOccurrences: _d, ...older } = snapshotOf(base);
  const plan = merge({
    directions: dirs,
    policy: 'CRMWins',
    base: older,
    exchange: { ...base, timeZone: 'Europe/Berlin' },
    crm: base,
  });
  expect(plan).toMatchObject({ toExchange: {}, toCrm: { timeZone: 'Europe/Berlin' }, conflicts: [] });
  // Only the CRM changed since the link: the Exchange side is not read, nothing flows back.
  expect(merge({ directions: dirs, policy: 'ExchangeWins', base: older, crm: { ...base, timeZone: 'Asia/Tokyo' } })).toMatchObject({
    toExchange: { timeZone: 'Asia/Tokyo' },
    conflicts: [],
  });
});

test('a one-way field never flows back, and its snapshot keeps the flowing side', () => {
  const oneWay = directionTable('appointment', { subject: 'ToExchange', body: 'NotADirection' });
  expect(oneWay.body).toBe('TwoWay'); // an unknown value keeps the default
  expect(directionTable('appointment', { start: 'None' }).start).toBe('TwoWay'); // fixed by Dynamics
  const snap = snapshotOf(base);
  const plan = merge({ directions: oneWay, policy: 'CRMWins', base: snap, exchange: { ...base, subject: 'outlook' }, crm: base });
  expect(plan.toCrm).toEqual({});
  expect(plan.snapshot.subject).toBe(snap.subject);
});

test('normal forms: addresses, attendee order, times and empty values compare equal', () => {
  const a = normalize('appointment', {
    organizer: 'Me@X.example',
    requiredAttendees: [{ address: 'b@y.example' }, { address: 'A@y.example' }],
    start: '2030-01-01T10:00:00',
    subject: '',
  });
  const b = normalize('appointment', {
    organizer: 'me@x.example',
    requiredAttendees: [{ address: 'a@y.example' }, { address: 'B@y.example' }],
    start: '2030-01-01T10:00:00.000Z',
    subject: null,
  });
  expect(snapshotOf(a)).toEqual(snapshotOf(b));
});

test("invitations: never for the first sync, past meetings, others' meetings, meetings without attendees or no-op updates", () => {
  const ctx = { mailbox: 'me@x.example', now: new Date('2029-12-01T00:00:00Z'), initial: false };
  expect(mayInvite(base, 'create', ctx)).toBe(true);
  expect(mayInvite(base, 'create', { ...ctx, initial: true })).toBe(false);
  expect(mayInvite(base, 'create', { ...ctx, now: new Date('2031-01-01T00:00:00Z') })).toBe(false);
  expect(mayInvite({ ...base, organizer: 'other@x.example' }, 'create', ctx)).toBe(false);
  expect(mayInvite({ ...base, requiredAttendees: [] }, 'create', ctx)).toBe(false);
  expect(mayInvite(base, [], ctx)).toBe(false);
  expect(mayInvite(base, ['location'], ctx)).toBe(true);
});

test("deletes: leaving the filter unlinks; a CRM delete cancels only the organizer's future meeting; Exchange deletes follow Dynamics", () => {
  const ctx = { mailbox: 'me@x.example', now: new Date('2029-12-01T00:00:00Z'), initial: false };
  expect(onCrmRemoval('appointment', 'leftFilter', base, ctx)).toEqual({ action: 'unlink', sendCancellations: false });
  expect(onCrmRemoval('appointment', 'deleted', base, ctx)).toEqual({ action: 'delete', sendCancellations: true });
  expect(onCrmRemoval('appointment', 'deleted', base, { ...ctx, now: new Date('2031-01-01T00:00:00Z') }).action).toBe('unlink');
  expect(onCrmRemoval('task', 'deleted', { status: 'completed' }, ctx).action).toBe('unlink');
  expect(onExchangeRemoval('appointment', base, 'open', ctx)).toBe('delete');
  expect(onExchangeRemoval('appointment', base, 'completed', ctx)).toBe('unlink');
  expect(onExchangeRemoval('contact', {}, undefined, ctx)).toBe('unlink');
  expect(onExchangeRemoval('task', {}, undefined, ctx)).toBe('delete');
});
