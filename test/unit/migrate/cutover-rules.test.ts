// The coexistence rule of the cut-over (src/migrate/cutover-rules.ts).
import type { Mailbox } from '../../../src/api/types.js';
import {
  heldByCoexistence,
  COEXISTENCE_BLOCKED_REASON,
  directionsDynamicsProcesses,
  handOverChanges,
  operatorRuns,
} from '../../../src/migrate/cutover-rules.js';

const row = (incoming: number, outgoing: number, act: number) => ({
  incomingemaildeliverymethod: incoming,
  outgoingemaildeliverymethod: outgoing,
  actdeliverymethod: act,
});

test('Dynamics processes the directions whose delivery method is server-side sync (or the Email Router)', () => {
  expect(directionsDynamicsProcesses(row(2, 2, 1))).toEqual(['incoming', 'outgoing', 'appointmentsContactsTasks']);
  // Outlook (1 / 1 / 0) and None are not processed by Dynamics' server side.
  expect(directionsDynamicsProcesses(row(1, 1, 0))).toEqual([]);
  // A user fed by a forward mailbox (3) is: the forward mailbox takes its mail in, so the operator
  // reading the user's own mailbox as well would process each message twice.
  expect(directionsDynamicsProcesses(row(3, 0, 2))).toEqual(['incoming']);
  // The rule is the connector's: a row Dynamics' own Test and Enable left disabled is not processed now...
  expect(directionsDynamicsProcesses({ ...row(2, 2, 1), enabledforincomingemail: false } as ReturnType<typeof row>)).toEqual([
    'outgoing',
    'appointmentsContactsTasks',
  ]);
  // ...but a hand-over still switches its delivery method off: it is one Test and Enable away from running again.
  expect(handOverChanges({ ...row(2, 0, 2), enabledforincomingemail: false } as ReturnType<typeof row>, ['incoming'])).toEqual({
    incomingemaildeliverymethod: 0,
  });
});

test('a hand-over sets to None exactly the directions the operator takes over that Dynamics processes', () => {
  expect(handOverChanges(row(2, 2, 1), ['incoming', 'outgoing'])).toEqual({
    incomingemaildeliverymethod: 0,
    outgoingemaildeliverymethod: 0,
  });
  expect(handOverChanges(row(2, 1, 1), ['incoming', 'outgoing', 'appointmentsContactsTasks'])).toEqual({
    incomingemaildeliverymethod: 0,
    actdeliverymethod: 2,
  });
  expect(handOverChanges(row(0, 0, 2), ['incoming'])).toEqual({});
  // After the hand-over Dynamics no longer processes what was handed over.
  const after = { ...row(2, 2, 1), ...handOverChanges(row(2, 2, 1), ['incoming', 'outgoing']) };
  expect(directionsDynamicsProcesses(after)).toEqual(['appointmentsContactsTasks']);
});

const mailbox = (spec: Partial<Mailbox['spec']>, conditions: [string, 'True' | 'False', string][]): Mailbox => ({
  apiVersion: 'mailsync.dev/v1alpha1',
  kind: 'Mailbox',
  metadata: { name: 'ann', namespace: 'ns' },
  spec: {
    emailAddress: 'ann@contoso.example',
    owner: { kind: 'User', name: 'Ann' },
    deploymentRef: { name: 'crm' },
    incoming: 'ServerSideSync',
    outgoing: 'ServerSideSync',
    appointmentsContactsTasks: 'None',
    ...spec,
  },
  status: {
    conditions: conditions.map(([type, status, reason]) => ({
      type,
      status,
      reason,
      message: '',
      lastTransitionTime: '2026-12-03T00:00:00Z',
    })),
  },
});

test('the operator runs what is Enabled and passed its test; nothing of a mailbox that is not Enabled', () => {
  expect(
    operatorRuns(
      mailbox({}, [
        ['Enabled', 'True', 'Enabled'],
        ['IncomingEmailReady', 'True', 'Succeeded'],
        ['OutgoingEmailReady', 'True', 'Succeeded'],
      ]),
    ).directions,
  ).toEqual(['incoming', 'outgoing']);
  expect(
    operatorRuns(
      mailbox({}, [
        ['Enabled', 'True', 'PartiallyEnabled'],
        ['IncomingEmailReady', 'True', 'Succeeded'],
        ['OutgoingEmailReady', 'False', 'AuthenticationFailed'],
      ]),
    ).directions,
  ).toEqual(['incoming']);
  const pending = operatorRuns(
    mailbox({}, [
      ['Enabled', 'False', 'AwaitingApproval'],
      ['IncomingEmailReady', 'True', 'Succeeded'],
    ]),
  );
  expect(pending.directions).toEqual([]);
  expect(pending.why).toMatch(/not Enabled in the operator \(AwaitingApproval/);
  // Held back only by the connector's coexistence gate (its test passed): it may be handed over.
  const held = [
    ['Enabled', 'False', COEXISTENCE_BLOCKED_REASON],
    ['IncomingEmailReady', 'False', COEXISTENCE_BLOCKED_REASON],
    ['OutgoingEmailReady', 'True', 'Succeeded'],
  ] as [string, 'True' | 'False', string][];
  expect(operatorRuns(mailbox({}, held)).directions).toEqual(['incoming', 'outgoing']);
  // ...but not while it awaits approval.
  expect(operatorRuns(mailbox({}, [['Enabled', 'False', 'AwaitingApproval'], ...held.slice(1)])).directions).toEqual([]);
  // A user whose mail comes through a forward mailbox: its incoming is not this mailbox's to take over.
  expect(
    operatorRuns(
      mailbox({ incoming: 'ForwardMailbox' }, [
        ['Enabled', 'True', 'Enabled'],
        ['IncomingEmailReady', 'True', 'Succeeded'],
        ['OutgoingEmailReady', 'True', 'Succeeded'],
      ]),
    ).directions,
  ).toEqual(['outgoing']);
});

test("a mailbox held back only by the connector's coexistence check, with every test passed, may be handed over", () => {
  // The gate runs per direction after its test passed: the held directions carry its reason.
  const held = mailbox({}, [
    ['Enabled', 'False', COEXISTENCE_BLOCKED_REASON],
    ['IncomingEmailReady', 'False', COEXISTENCE_BLOCKED_REASON],
    ['OutgoingEmailReady', 'False', COEXISTENCE_BLOCKED_REASON],
  ]);
  expect(operatorRuns(held).directions).toEqual(['incoming', 'outgoing']);
  const partly = mailbox({}, [
    ['Enabled', 'True', 'PartiallyEnabled'],
    ['IncomingEmailReady', 'False', COEXISTENCE_BLOCKED_REASON],
    ['OutgoingEmailReady', 'True', 'Succeeded'],
  ]);
  expect(operatorRuns(partly).directions).toEqual(['incoming', 'outgoing']);
  const failing = mailbox({}, [
    ['Enabled', 'False', COEXISTENCE_BLOCKED_REASON],
    ['IncomingEmailReady', 'False', COEXISTENCE_BLOCKED_REASON],
    ['OutgoingEmailReady', 'False', 'AuthenticationFailed'],
  ]);
  expect(operatorRuns(failing).directions).toEqual([]);
});

test('the directions the coexistence check holds, also on a mailbox Enabled for another direction', () => {
  const partly = mailbox({}, [
    ['Enabled', 'True', 'PartiallyEnabled'],
    ['IncomingEmailReady', 'False', COEXISTENCE_BLOCKED_REASON],
    ['OutgoingEmailReady', 'True', 'Succeeded'],
  ]);
  expect(heldByCoexistence(partly)).toEqual(['incoming']);
  const enabled = mailbox({}, [
    ['Enabled', 'True', 'Enabled'],
    ['IncomingEmailReady', 'True', 'Succeeded'],
    ['OutgoingEmailReady', 'True', 'Succeeded'],
  ]);
  expect(heldByCoexistence(enabled)).toEqual([]);
  // A forward mailbox user's incoming is not its own: never held here.
  expect(heldByCoexistence(mailbox({ incoming: 'ForwardMailbox' }, [['IncomingEmailReady', 'False', COEXISTENCE_BLOCKED_REASON]]))).toEqual(
    [],
  );
});
