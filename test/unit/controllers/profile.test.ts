// The EmailServerProfile reconciler over in-memory caches: Ready from the rollout, a missing
// Secret, mailboxes that fail, and counts that do not overlap (docs/status.md).

import type { Condition } from '../../../src/kube/conditions.js';
import type { Mailbox } from '../../../src/api/types.js';
import { ProfileReconciler } from '../../../src/controllers/profile.js';
import { condition, ControllerWorld, NS } from '../../support/controller-world.js';

const cond = (type: string, status: Condition['status'], reason: string, message = reason): Condition => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2026-01-01T00:00:00Z',
});

function world(spec: object = {}): ControllerWorld {
  const w = new ControllerWorld();
  w.putDeployment({ defaults: { serverProfileRef: { name: 'imap' } } });
  w.putProfile(spec);
  return w;
}

/** A mailbox running the profile's current revision with these direction results. */
function mailbox(
  w: ControllerWorld,
  name: string,
  revision: string,
  conditions: Condition[],
  extra: Partial<NonNullable<Mailbox['status']>> = {},
): void {
  w.putMailbox(
    name,
    { outgoing: 'ServerSideSync' },
    { serverProfile: 'imap', revision, conditions: [cond('Enabled', 'True', 'Enabled'), ...conditions], ...extra },
  );
}

const works = [
  cond('IncomingEmailReady', 'True', 'Succeeded'),
  cond('OutgoingEmailReady', 'True', 'Succeeded'),
  cond('AppointmentsContactsTasksReady', 'Unknown', 'NotRun'),
];
const outgoingFails = [
  cond('IncomingEmailReady', 'True', 'Succeeded'),
  cond('OutgoingEmailReady', 'False', 'AuthenticationFailed'),
  cond('AppointmentsContactsTasksReady', 'Unknown', 'NotRun'),
];

type Case = {
  name: string;
  setup: (w: ControllerWorld, revision: string) => void;
  spec?: object;
  ready: [string, string];
  stalled?: string;
  counts?: Record<string, number>;
  message?: string;
};

const cases: Case[] = [
  { name: 'no mailboxes: Ready', setup: () => undefined, ready: ['True', 'UpToDate'], counts: { total: 0, failing: 0 } },
  {
    name: 'every mailbox on the current revision and working: Ready',
    setup: (w, r) => ['a', 'b'].forEach((n) => mailbox(w, n, r, works)),
    ready: ['True', 'UpToDate'],
    counts: { total: 2, updated: 2, failing: 0 },
  },
  {
    name: 'every mailbox failing outgoing: not Ready (MailboxesFailing), neither Stalled nor Reconciling',
    setup: (w, r) => ['a', 'b'].forEach((n) => mailbox(w, n, r, outgoingFails)),
    ready: ['False', 'MailboxesFailing'],
    counts: { total: 2, updated: 2, failing: 2 },
    message:
      '2 of 2 mailboxes fail (spec.rollout.failureThreshold is 50%): a (OutgoingEmailReady AuthenticationFailed), b (OutgoingEmailReady AuthenticationFailed)',
  },
  {
    name: 'fewer failing than the threshold: Ready',
    setup: (w, r) => ['a', 'b', 'c'].forEach((n, i) => mailbox(w, n, r, i ? works : outgoingFails)),
    ready: ['True', 'UpToDate'],
    counts: { total: 3, failing: 1 },
  },
  {
    name: "a mailbox whose own Secret is missing is Failing, but not the profile's failure",
    setup: (w, r) =>
      mailbox(w, 'a', r, [cond('IncomingEmailReady', 'False', 'SecretNotFound'), cond('OutgoingEmailReady', 'False', 'SecretNotFound')]),
    ready: ['True', 'UpToDate'],
    counts: { total: 1, failing: 1 },
  },
  {
    name: 'the threshold is the rollout failureThreshold',
    spec: { rollout: { failureThreshold: 30 } },
    setup: (w, r) => ['a', 'b', 'c'].forEach((n, i) => mailbox(w, n, r, i ? works : outgoingFails)),
    ready: ['False', 'MailboxesFailing'],
  },
  {
    name: 'a mailbox held after a failed test of the new revision: Failed, not Failing',
    setup: (w, r) =>
      mailbox(w, 'a', 'old-revision', [...works, cond('UpToDate', 'False', 'ServerUnreachable')], {
        targetRevision: r,
        testedRevision: r,
        rolloutBatch: 0,
      }),
    ready: ['False', 'RolloutIncomplete'],
    stalled: 'RolloutIncomplete',
    counts: { total: 1, failed: 1, failing: 0, updated: 0 },
  },
  {
    name: 'a credentials Secret that does not exist: Stalled',
    spec: {
      incoming: { server: 'imap.example.com', port: 993, credentials: { source: 'Profile', secretRef: { name: 'service-account' } } },
    },
    setup: () => undefined,
    ready: ['False', 'SecretNotFound'],
    stalled: 'SecretNotFound',
  },
];

test.each(cases)('$name', async (c) => {
  const w = world(c.spec);
  const revision = w.publish('imap');
  c.setup(w, revision);
  await new ProfileReconciler(w.context()).reconcile(NS, 'imap');
  const p = w.profile('imap');
  expect(condition(p, 'Ready')).toMatchObject({ status: c.ready[0], reason: c.ready[1] });
  expect(condition(p, 'Stalled')?.reason).toBe(c.stalled);
  if (!c.stalled && c.ready[1] === 'MailboxesFailing') expect(condition(p, 'Reconciling')).toBeUndefined();
  if (c.counts) expect(p.status?.mailboxes).toMatchObject(c.counts);
  if (c.message) expect(condition(p, 'Ready')?.message).toContain(c.message);
});
