import { countMailboxStates, MAILBOX_STATES, mailboxState, type MailboxLike } from '../../../src/observability/mailbox-state.js';

const mbx = (
  conds: [string, string, string?][],
  extra: { suspended?: boolean; observed?: number; profile?: string; ns?: string } = {},
): MailboxLike => ({
  metadata: { namespace: extra.ns ?? 'ns', generation: 2 },
  spec: { suspended: extra.suspended },
  status: {
    observedGeneration: extra.observed ?? 2,
    serverProfile: extra.profile ?? 'imap',
    conditions: conds.map(([type, status, reason]) => ({ type, status, reason })),
  },
});

test.each([
  [
    'Ready',
    mbx([
      ['Ready', 'True', 'Ready'],
      ['Enabled', 'True', 'Enabled'],
    ]),
  ],
  [
    'Retrying',
    mbx([
      ['Ready', 'False', 'ServerUnreachable'],
      ['Enabled', 'False', 'ServerUnreachable'],
      ['Reconciling', 'True', 'RetryingTest'],
    ]),
  ],
  [
    'Failing',
    mbx([
      ['Ready', 'False', 'AuthenticationFailed'],
      ['Enabled', 'False', 'AuthenticationFailed'],
      ['Stalled', 'True', 'AuthenticationFailed'],
    ]),
  ],
  // Partly enabled with one direction failing for good still counts as failing.
  [
    'Failing',
    mbx([
      ['Ready', 'False', 'AuthenticationFailed'],
      ['Enabled', 'True', 'PartiallyEnabled'],
      ['Stalled', 'True', 'AuthenticationFailed'],
    ]),
  ],
  [
    'AwaitingApproval',
    mbx([
      ['Ready', 'False', 'AwaitingApproval'],
      ['Enabled', 'False', 'AwaitingApproval'],
    ]),
  ],
  // Approval blocks processing first, whatever the tests say.
  [
    'AwaitingApproval',
    mbx([
      ['Ready', 'False', 'AuthenticationFailed'],
      ['Enabled', 'False', 'AwaitingApproval'],
      ['Stalled', 'True', 'AuthenticationFailed'],
    ]),
  ],
  [
    'Denied',
    mbx([
      ['Ready', 'False', 'Denied'],
      ['Enabled', 'False', 'Denied'],
    ]),
  ],
  ['Suspended', mbx([['Ready', 'True', 'Ready']], { suspended: true })],
  [
    'Disabled',
    mbx([
      ['Ready', 'False', 'NothingToSync'],
      ['Enabled', 'False', 'NothingToSync'],
    ]),
  ],
  ['Pending', mbx([['Ready', 'True', 'Ready']], { observed: 1 })],
  ['Pending', { metadata: { namespace: 'ns', generation: 1 } }],
] as const)('%s', (state, m) => {
  expect(mailboxState(m)).toBe(state);
});

test('counts are grouped by namespace and profile, with every state present', () => {
  const out = countMailboxStates([
    mbx([['Ready', 'True']]),
    mbx([['Ready', 'True']]),
    mbx([
      ['Stalled', 'True'],
      ['Ready', 'False', 'AuthenticationFailed'],
    ]),
    mbx([['Ready', 'True']], { profile: 'pop3' }),
    mbx([['Ready', 'True']], { ns: 'other' }),
  ]);
  const get = (ns: string, profile: string, state: string) =>
    out.find((c) => c.namespace === ns && c.profile === profile && c.state === state)?.count;
  expect(get('ns', 'imap', 'Ready')).toBe(2);
  expect(get('ns', 'imap', 'Failing')).toBe(1);
  expect(get('ns', 'imap', 'Suspended')).toBe(0);
  expect(get('ns', 'pop3', 'Ready')).toBe(1);
  expect(get('other', 'imap', 'Ready')).toBe(1);
  expect(out).toHaveLength(3 * MAILBOX_STATES.length);
  expect(out.reduce((n, c) => n + c.count, 0)).toBe(5);
});
