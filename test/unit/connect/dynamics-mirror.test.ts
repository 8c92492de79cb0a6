// What the status mirror writes into a Dataverse mailbox row, and when it writes nothing.
import type { Mailbox } from '../../../src/api/types.js';
import { columnsToWrite, mirroredColumns } from '../../../src/connect/dynamics-mirror.js';

const mailbox = (status: Mailbox['status']): Mailbox =>
  ({
    apiVersion: 'mailsync.dev/v1alpha1',
    kind: 'Mailbox',
    metadata: { name: 'ann', namespace: 'sales' },
    spec: { emailAddress: 'ann@contoso.com', owner: { kind: 'User', name: 'ann' }, deploymentRef: { name: 'contoso' } },
    status,
  }) as Mailbox;
const cond = (type: string, status: 'True' | 'False' | 'Unknown') => ({
  type,
  status,
  reason: 'x',
  message: 'x',
  lastTransitionTime: '2026-12-01T00:00:00Z',
});

test('the direction conditions become Success, Failure or Not Run; the test and sync times come along', () => {
  const m = mailbox({
    conditions: [
      cond('IncomingEmailReady', 'True'),
      cond('OutgoingEmailReady', 'False'),
      cond('AppointmentsContactsTasksReady', 'Unknown'),
    ],
    lastTestTime: '2026-12-01T10:00:00Z',
    sync: { incoming: { lastSyncTime: '2026-12-01T10:05:00Z' }, outgoing: { lastSyncTime: '2026-12-01T10:04:00Z' } },
  });
  expect(mirroredColumns(m)).toEqual({
    incomingemailstatus: 1,
    outgoingemailstatus: 2,
    actstatus: 0,
    testmailboxaccesscompletedon: '2026-12-01T10:00:00Z',
    lastsuccessfulsynccompletedon: '2026-12-01T10:05:00Z',
  });
  expect(mirroredColumns(mailbox(undefined))).toEqual({ incomingemailstatus: 0, outgoingemailstatus: 0, actstatus: 0 });
});

test('only what the row does not hold yet is written; the sync time only when it moved by an hour', () => {
  const want = {
    incomingemailstatus: 1,
    outgoingemailstatus: 2,
    actstatus: 0,
    testmailboxaccesscompletedon: '2026-12-01T10:00:00Z',
    lastsuccessfulsynccompletedon: '2026-12-01T10:05:00Z',
  };
  const row = {
    mailboxid: 'm',
    incomingemailstatus: 1,
    outgoingemailstatus: 1,
    actstatus: 0,
    testmailboxaccesscompletedon: '2026-12-01T10:00:00.000Z',
    lastsuccessfulsynccompletedon: '2026-12-01T09:30:00Z',
  };
  expect(columnsToWrite(row, want)).toEqual({ outgoingemailstatus: 2 });
  expect(columnsToWrite({ ...row, lastsuccessfulsynccompletedon: '2026-12-01T08:00:00Z' }, want)).toEqual({
    outgoingemailstatus: 2,
    lastsuccessfulsynccompletedon: '2026-12-01T10:05:00Z',
  });
  expect(columnsToWrite({ mailboxid: 'm' }, want)).toEqual(want);
});
