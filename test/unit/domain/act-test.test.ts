// What a passed appointment, contact and task test says, and what Enabled makes of it: the kinds
// that really synchronize, never more (src/domain/act-test.ts, src/controllers/mailbox-summary.ts).
import { summariseMailbox } from '../../../src/controllers/mailbox-summary.js';
import { actProcessedKinds, actTestMessage } from '../../../src/domain/act-test.js';
import { getCondition, type Condition } from '../../../src/kube/conditions.js';

const EWS = 'https://exchange.contoso.example/EWS/Exchange.asmx';

test('the message names what was opened and what the adapter of the server does not synchronize', () => {
  expect(actTestMessage(['appointment', 'contact', 'task'], 'ann@contoso.example', 'https://graph.microsoft.com/v1.0', [], 'Graph')).toBe(
    'opened the calendar, contacts and tasks of ann@contoso.example on https://graph.microsoft.com/v1.0',
  );
  expect(actTestMessage(['appointment', 'contact', 'task'], 'bob@contoso.example', EWS, [], 'EWS')).toBe(
    `opened the calendar, contacts and tasks of bob@contoso.example on ${EWS}`,
  );
  // Both adapters have every kind today; a server whose adapter lacked one would say so.
  expect(actTestMessage(['appointment'], 'bob@contoso.example', 'https://x.example', ['contact', 'task'], 'X')).toBe(
    'opened the calendar of bob@contoso.example on https://x.example; contacts and tasks are not synchronized by this version over X',
  );
});

test('Enabled reads back the kinds a passed test opened', () => {
  expect(actProcessedKinds(actTestMessage(['appointment'], 'bob@contoso.example', 'https://x.example', ['contact', 'task'], 'X'))).toBe(
    'appointments',
  );
  expect(actProcessedKinds(actTestMessage(['appointment', 'task'], 'a@b.example', EWS, [], 'Graph'))).toBe('appointments and tasks');
  expect(actProcessedKinds(actTestMessage(['appointment', 'contact', 'task'], 'a@b.example', EWS, [], 'Graph'))).toBe(
    'appointments, contacts and tasks',
  );
  expect(actProcessedKinds('sync failed: something else')).toBeUndefined();
});

const condition = (type: string, message: string): Condition => ({
  type,
  status: 'True',
  reason: 'Succeeded',
  message,
  lastTransitionTime: '2026-12-03T00:00:00Z',
});

test('a mailbox whose ACT test opened the calendar only (a Deployment with contacts and tasks off) is "processing incoming, appointments"', () => {
  const out = summariseMailbox({
    conditions: [
      condition('IncomingEmailReady', 'logged in'),
      condition('AppointmentsContactsTasksReady', actTestMessage(['appointment'], 'bob@contoso.example', EWS, [], 'EWS')),
    ],
    generation: 1,
    suspended: false,
    approval: { state: 'Approved', message: '' },
    directions: ['incoming', 'appointmentsContactsTasks'],
    lastKnownGood: {},
  });
  expect(getCondition(out, 'Enabled')).toMatchObject({ status: 'True', reason: 'Enabled', message: 'processing incoming, appointments' });
});
