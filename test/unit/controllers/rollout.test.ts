// The RolloutController's decisions from API state alone: batches in the rollout order (queues
// first), the interval, the failure threshold, pausing by hand, and a revert completing at once.

import type { EmailServerProfile, Mailbox } from '../../../src/api/types.js';
import type { Condition } from '../../../src/kube/conditions.js';
import { inCurrentBatch, mailboxRolloutState } from '../../../src/controllers/rollout-mailbox.js';
import { RolloutController, type RolloutMailbox } from '../../../src/controllers/rollout.js';

const OLD = 'old-revision';
const NEW = 'new-revision';
const T0 = new Date('2026-03-01T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const cond = (type: string, status: Condition['status'], reason: string, message = ''): Condition => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: T0.toISOString(),
});

function profile(rollout: Record<string, unknown> = {}, status: EmailServerProfile['status'] = {}): EmailServerProfile {
  return {
    apiVersion: 'mailsync.dev/v1alpha1',
    kind: 'EmailServerProfile',
    metadata: { name: 'imap', namespace: 'ns' },
    spec: {
      serverType: 'IMAP',
      incoming: { server: 'imap.example.com' },
      rollout: { batchSize: 2, interval: '30s', failureThreshold: 50, ...rollout },
    },
    status: { revision: NEW, ...status },
  };
}

/** A mailbox running `revision` with incoming enabled; `failedOn` marks a failed test of that revision in batch n. */
function mailbox(name: string, kind: 'User' | 'Queue', revision = OLD, failedOn?: { revision: string; batch: number }): Mailbox {
  const conditions = [cond('IncomingEmailReady', 'True', 'Succeeded'), cond('Enabled', 'True', 'Enabled')];
  if (failedOn) conditions.push(cond('UpToDate', 'False', 'ServerUnreachable', 'incoming: connect ECONNREFUSED 127.0.0.1:1'));
  return {
    apiVersion: 'mailsync.dev/v1alpha1',
    kind: 'Mailbox',
    metadata: { name, namespace: 'ns' },
    spec: { emailAddress: `${name}@example.com`, owner: { kind, name }, deploymentRef: { name: 'crm' } },
    status: { serverProfile: 'imap', revision, conditions, targetRevision: failedOn?.revision, rolloutBatch: failedOn?.batch },
  };
}

const entries = (ms: Mailbox[]): RolloutMailbox[] =>
  ms.map((m) => ({
    mailbox: m,
    state: mailboxRolloutState(m, { profile: 'imap', revision: NEW, directions: ['incoming'] }),
    resolvable: true,
  }));
const rc = new RolloutController();

test('a new revision starts with the first batch at once, queue mailboxes first, in name order', () => {
  const ms = [mailbox('u-b', 'User'), mailbox('u-a', 'User'), mailbox('q-z', 'Queue'), mailbox('u-c', 'User')];
  const plan = rc.plan(profile(), NEW, entries(ms), T0);
  expect(plan.rollout).toMatchObject({ revision: NEW, batch: 1, batchSize: 2, batchAfter: '', admittedThrough: 'User/u-a' });
  expect(plan.phase).toBe('Progressing');
  expect(plan.counts).toMatchObject({ updated: 0, failed: 0, pending: 4 });
  expect(plan.events).toEqual([
    expect.objectContaining({
      reason: 'RolloutBatchStarted',
      message: expect.stringMatching(/^batch 1: 2 mailboxes \(1 queues, 1 users\).*q-z to u-a; 2 more/),
    }),
  ]);
  const p = profile({}, { revision: NEW, rollout: plan.rollout });
  expect(['Queue/q-z', 'User/u-a', 'User/u-b'].map((k) => inCurrentBatch(p, NEW, k))).toEqual([true, true, false]);
  expect(inCurrentBatch(p, OLD, 'Queue/q-z')).toBe(false);
});

test('the next batch waits until every mailbox of the batch has a result, then for the interval', () => {
  const first = { revision: NEW, batch: 1, batchSize: 2, batchAfter: '', admittedThrough: 'User/u-a', batchStartTime: T0.toISOString() };
  // q-z passed, u-a still pending: nothing moves.
  let ms = [mailbox('q-z', 'Queue', NEW), mailbox('u-a', 'User'), mailbox('u-b', 'User'), mailbox('u-c', 'User')];
  let plan = rc.plan(profile({}, { revision: NEW, rollout: first }), NEW, entries(ms), at(5));
  expect(plan.rollout.batch).toBe(1);
  expect(plan.events).toEqual([]);
  // Both passed: the batch completes, and the next starts 30 s later.
  ms = [mailbox('q-z', 'Queue', NEW), mailbox('u-a', 'User', NEW), mailbox('u-b', 'User'), mailbox('u-c', 'User')];
  plan = rc.plan(profile({}, { revision: NEW, rollout: first }), NEW, entries(ms), at(10));
  expect(plan.rollout).toMatchObject({ batch: 1, batchCompletionTime: at(10).toISOString() });
  expect(plan.requeueAfterMs).toBe(30_000);
  expect(plan.events.map((e) => e.reason)).toEqual(['RolloutBatchCompleted']);
  // A closed batch admits nobody: a mailbox held in its range later waits for a batch of its own.
  expect(inCurrentBatch(profile({}, { revision: NEW, rollout: plan.rollout }), NEW, 'User/u-a')).toBe(false);
  expect(plan.message).toMatch(/next batch at 2026-03-01T10:00:40Z/);
  plan = rc.plan(profile({}, { revision: NEW, rollout: plan.rollout }), NEW, entries(ms), at(40));
  expect(plan.rollout).toMatchObject({ batch: 2, batchAfter: 'User/u-a', admittedThrough: 'User/u-c', batchSize: 2 });
  // All moved: complete.
  ms = ms.map((m) => mailbox(m.metadata.name, m.spec.owner!.kind, NEW));
  plan = rc.plan(profile({}, { revision: NEW, rollout: plan.rollout }), NEW, entries(ms), at(45));
  expect(plan.phase).toBe('Complete');
  expect(plan.counts).toMatchObject({ updated: 4, pending: 0, failed: 0 });
});

test('failures reaching the threshold pause the rollout and name the mailboxes; fewer do not', () => {
  const first = { revision: NEW, batch: 1, batchSize: 2, batchAfter: '', admittedThrough: 'User/u-a' };
  const failed = { revision: NEW, batch: 1 };
  // One of two failed: 50% reaches the default threshold.
  const ms = [mailbox('q-z', 'Queue', OLD, failed), mailbox('u-a', 'User', NEW), mailbox('u-b', 'User'), mailbox('u-c', 'User')];
  const plan = rc.plan(profile({}, { revision: NEW, rollout: first }), NEW, entries(ms), at(100));
  expect(plan.phase).toBe('Paused');
  expect(plan.rollout.batch).toBe(1);
  expect(plan.rollout.failures).toEqual([
    { mailbox: 'q-z', reason: 'ServerUnreachable', message: 'incoming: connect ECONNREFUSED 127.0.0.1:1' },
  ]);
  expect(plan.message).toMatch(
    /paused at batch 1: 1 of 2 mailboxes failed their test \(failureThreshold 50%\): q-z \(ServerUnreachable: incoming: connect ECONNREFUSED 127.0.0.1:1\)\. They and the 2 mailboxes not yet moved keep running/,
  );
  expect(plan.counts).toMatchObject({ updated: 1, failed: 1, pending: 2 });
  // With a threshold of 60% the same batch continues (after the interval).
  const relaxed = rc.plan(
    profile({ failureThreshold: 60 }, { revision: NEW, rollout: { ...first, batchCompletionTime: at(0).toISOString() } }),
    NEW,
    entries(ms),
    at(100),
  );
  expect(relaxed.phase).toBe('Progressing');
  expect(relaxed.rollout.batch).toBe(2);
});

test('a failure from an earlier batch does not count against the current one', () => {
  const second = {
    revision: NEW,
    batch: 2,
    batchSize: 2,
    batchAfter: 'User/u-a',
    admittedThrough: 'User/u-c',
    batchCompletionTime: at(0).toISOString(),
  };
  const ms = [
    mailbox('q-z', 'Queue', OLD, { revision: NEW, batch: 1 }),
    mailbox('u-a', 'User', NEW),
    mailbox('u-b', 'User', NEW),
    mailbox('u-c', 'User', NEW),
  ];
  const plan = rc.plan(profile({}, { revision: NEW, rollout: second }), NEW, entries(ms), at(100));
  expect(plan.phase).toBe('Incomplete');
  expect(plan.message).toMatch(/rolled out, but 1 mailboxes failed their test.*q-z/);
});

test('spec.rollout.paused stops new batches; tests already admitted still count', () => {
  const ms = [mailbox('q-z', 'Queue'), mailbox('u-a', 'User'), mailbox('u-b', 'User')];
  const plan = rc.plan(profile({ paused: true }), NEW, entries(ms), T0);
  expect(plan.rollout.batch).toBe(0);
  expect(plan.phase).toBe('PausedByUser');
  expect(plan.events).toEqual([]);
});

test('a revert to the revision the mailboxes run on completes at once', () => {
  const paused = { revision: NEW, batch: 1, batchSize: 2, batchAfter: '', admittedThrough: 'User/u-a' };
  // Back on OLD: the mailboxes that failed NEW still run OLD, so they are up to date.
  const ms = [
    mailbox('q-z', 'Queue', OLD, { revision: NEW, batch: 1 }),
    mailbox('u-a', 'User', OLD, { revision: NEW, batch: 1 }),
    mailbox('u-b', 'User'),
  ];
  const states = ms.map((m) => ({
    mailbox: m,
    state: mailboxRolloutState(m, { profile: 'imap', revision: OLD, directions: ['incoming'] }),
    resolvable: true,
  }));
  const plan = rc.plan(profile({}, { revision: OLD, rollout: paused }), OLD, states, T0);
  expect(plan.phase).toBe('Complete');
  expect(plan.rollout).toEqual({ revision: OLD, batch: 0, batchSize: 0 });
  expect(plan.counts).toMatchObject({ updated: 3, pending: 0, failed: 0 });
});

test('mailboxes that become held behind the admitted range are taken on a new pass', () => {
  const done = {
    revision: NEW,
    batch: 2,
    batchSize: 2,
    batchAfter: 'User/u-a',
    admittedThrough: 'User/u-c',
    batchCompletionTime: at(0).toISOString(),
  };
  // u-a moved here from another profile's default after the rollout finished.
  const ms = [mailbox('q-z', 'Queue', NEW), mailbox('u-a', 'User'), mailbox('u-b', 'User', NEW), mailbox('u-c', 'User', NEW)];
  const plan = rc.plan(profile({}, { revision: NEW, rollout: done }), NEW, entries(ms), at(60));
  expect(plan.rollout).toMatchObject({ batch: 3, batchAfter: '', admittedThrough: 'User/u-a', batchSize: 1 });
});

test('mailboxes that run nothing are not held: they are tested at once, outside batches', () => {
  const idle = mailbox('u-new', 'User');
  idle.status = {};
  const [e] = entries([idle]);
  expect(e.state).toEqual({ upToDate: false, held: false });
  const plan = rc.plan(profile(), NEW, [e], T0);
  expect(plan.rollout.batch).toBe(0);
  expect(plan.phase).toBe('Progressing');
  expect(plan.message).toMatch(/^testing mailboxes on revision/);
});

test('other delivery methods from the Deployment hold a running mailbox as a new revision would', () => {
  const m = mailbox('u-a', 'User', NEW);
  expect(mailboxRolloutState(m, { profile: 'imap', revision: NEW, directions: ['incoming'] })).toMatchObject({
    upToDate: true,
    held: false,
  });
  expect(mailboxRolloutState(m, { profile: 'imap', revision: NEW, directions: ['incoming', 'outgoing'] })).toMatchObject({
    upToDate: false,
    held: true,
  });
  expect(mailboxRolloutState(m, { profile: 'imap-2', revision: NEW, directions: ['incoming'] })).toMatchObject({
    upToDate: false,
    held: true,
  });
});

test('a pause with more failures than status.rollout.failures holds says how many it lists', () => {
  const names = Array.from({ length: 30 }, (_, i) => `q-${String(i).padStart(2, '0')}`);
  const batch = {
    revision: NEW,
    batch: 1,
    batchSize: 30,
    batchAfter: '',
    admittedThrough: `Queue/${names[29]}`,
    batchStartTime: T0.toISOString(),
  };
  const ms = names.map((n) => mailbox(n, 'Queue', OLD, { revision: NEW, batch: 1 }));
  const plan = rc.plan(profile({ batchSize: 30 }, { revision: NEW, rollout: batch }), NEW, entries(ms), at(5));
  expect(plan.phase).toBe('Paused');
  expect(plan.rollout.failures).toHaveLength(20);
  expect(plan.message).toContain('and 25 more (status.rollout.failures lists the first 20 of 30;');
  // Up to 20 failures, the list holds them all and the message just points at it.
  const few = rc.plan(
    profile({ batchSize: 30 }, { revision: NEW, rollout: { ...batch, batchSize: 8, admittedThrough: `Queue/${names[7]}` } }),
    NEW,
    entries(ms.slice(0, 8)),
    at(5),
  );
  expect(few.message).toContain('and 3 more (status.rollout.failures)');
});
