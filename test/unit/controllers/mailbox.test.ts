// The MailboxReconciler's steps over in-memory caches: approval, resolve, test, hold for rollout,
// sync failures, and the summary they end in. The Kubernetes client boundary is a recorder that
// applies status patches (test/support/controller-world.ts); tests answer through the
// MailboxTesting port.

import type { Mailbox, MailboxStatusT } from '../../../src/api/types.js';
import { MailboxReconciler, type TestPolicy } from '../../../src/controllers/mailbox.js';
import { syncBasis } from '../../../src/domain/sync-failure.js';
import { condition, ControllerWorld, NS, ScriptedMailboxTesting, type Script } from '../../support/controller-world.js';

const POLICY: TestPolicy = { maxTransientFailures: 3, backoff: { baseMs: 1000, maxMs: 60_000, jitter: 0 } };

function world(opts: { requireApproval?: boolean } = {}): ControllerWorld {
  const w = new ControllerWorld();
  w.putDeployment({ requireApprovedUsers: opts.requireApproval ?? false, defaults: { serverProfileRef: { name: 'imap' } } });
  w.putProfile();
  w.publish('imap');
  return w;
}

const addMailbox = (w: ControllerWorld, name: string, spec: Partial<Mailbox['spec']> = {}, status?: MailboxStatusT) =>
  w.putMailbox(name, spec, status);

async function reconcile(w: ControllerWorld, name: string, script: Script = {}) {
  const testing = new ScriptedMailboxTesting(script);
  const result = await new MailboxReconciler(w.context(), testing, POLICY).reconcile(NS, name);
  return { result, testing, m: w.mailbox(name) };
}

/** A mailbox that passed its tests on the profile's current revision and processes mail. */
async function running(name = 'ann'): Promise<ControllerWorld> {
  const w = world();
  addMailbox(w, name, { outgoing: 'None' });
  await reconcile(w, name);
  expect(condition(w.mailbox(name), 'Enabled')).toMatchObject({ status: 'True', reason: 'Enabled' });
  return w;
}

/** Changes the profile so that running mailboxes are held; `admitted` opens a batch that takes them. */
function newRevision(w: ControllerWorld, admitted: boolean): string {
  const p = w.profile('imap');
  w.put(w.profiles, { ...p, spec: { ...p.spec, incoming: { server: 'imap.example.com', port: 1993 } } });
  return w.publish('imap', admitted ? { revision: '', batch: 1, batchSize: 1, batchAfter: '', admittedThrough: 'User/zzz' } : undefined);
}

/** A running mailbox whose worker recorded a current failure of incoming sync. */
async function withSyncFailure(f: { exhausted: boolean; failures: number }): Promise<ControllerWorld> {
  const w = await running();
  const m = w.mailbox('ann');
  const failure = {
    reason: 'ServerUnreachable',
    message: 'cannot reach the server',
    permanent: false,
    since: '2026-01-01T00:00:00Z',
    basis: syncBasis(m, w.caches),
    ...f,
  };
  w.put(w.mailboxes, { ...m, status: { ...m.status, sync: { incoming: { failure } } } });
  return w;
}

/** Makes the planned retry due now (instead of waiting for it). */
function dueNow(w: ControllerWorld, name: string): void {
  const m = w.mailbox(name);
  w.put(w.mailboxes, { ...m, status: { ...m.status, nextTestTime: '2000-01-01T00:00:00Z' } });
}

type Case = {
  name: string;
  setup: () => Promise<ControllerWorld>;
  script?: Script;
  expect: {
    conditions: Record<string, [string, string?]>;
    events?: string[];
    requeue?: boolean;
    tested?: boolean;
    status?: Partial<MailboxStatusT>;
    cleared?: (keyof MailboxStatusT)[];
  };
};

const cases: Case[] = [
  {
    name: 'a new mailbox whose tests pass is enabled and Ready',
    setup: async () => {
      const w = world();
      addMailbox(w, 'ann');
      return w;
    },
    expect: {
      conditions: {
        IncomingEmailReady: ['True', 'Succeeded'],
        OutgoingEmailReady: ['True', 'Succeeded'],
        AppointmentsContactsTasksReady: ['Unknown', 'NotRun'],
        Enabled: ['True', 'Enabled'],
        Ready: ['True', 'Ready'],
        UpToDate: ['True', 'UpToDate'],
      },
      events: ['TestSucceeded'],
      tested: true,
    },
  },
  {
    name: 'approval required and not given: tested, but not enabled',
    setup: async () => {
      const w = world({ requireApproval: true });
      addMailbox(w, 'ann');
      return w;
    },
    expect: {
      conditions: {
        IncomingEmailReady: ['True', 'Succeeded'],
        Enabled: ['False', 'AwaitingApproval'],
        Ready: ['False', 'AwaitingApproval'],
      },
      tested: true,
    },
  },
  {
    name: 'approval withdrawn: the address changed after it was approved',
    setup: async () => {
      const w = world({ requireApproval: true });
      addMailbox(
        w,
        'ann',
        { emailAddress: 'ann.new@example.com' },
        {
          emailAddress: 'ann@example.com',
          conditions: [
            {
              type: 'Approved',
              status: 'True',
              reason: 'Approved',
              message: 'ann@example.com is approved',
              lastTransitionTime: '2026-01-01T00:00:00Z',
            },
          ],
        },
      );
      return w;
    },
    expect: {
      conditions: { Approved: ['absent'], Enabled: ['False', 'AwaitingApproval'] },
      events: ['ApprovalWithdrawn'],
      cleared: ['emailAddress'],
    },
  },
  {
    name: 'profile missing: stopped and Stalled, nothing tested',
    setup: async () => {
      const w = world();
      addMailbox(w, 'ann', { serverProfileRef: { name: 'missing' } });
      return w;
    },
    expect: {
      conditions: {
        Enabled: ['False', 'ServerProfileNotFound'],
        Ready: ['False', 'ServerProfileNotFound'],
        Stalled: ['True', 'ServerProfileNotFound'],
        Reconciling: ['absent'],
      },
      events: ['ServerProfileNotFound'],
      tested: false,
    },
  },
  {
    name: 'profile missing for a running mailbox: it keeps its last-known-good configuration',
    setup: async () => {
      const w = await running();
      w.put(w.mailboxes, { ...w.mailbox('ann'), spec: { ...w.mailbox('ann').spec, serverProfileRef: { name: 'missing' } } });
      return w;
    },
    expect: {
      conditions: {
        UpToDate: ['False', 'ServerProfileNotFound'],
        Enabled: ['True', 'RunningLastKnownGood'],
        Ready: ['False', 'ServerProfileNotFound'],
        Stalled: ['True', 'ServerProfileNotFound'],
      },
      status: { serverProfile: 'imap' },
      tested: false,
    },
  },
  {
    name: 'a permanent failure disables that direction at once and waits for a person',
    setup: async () => {
      const w = world();
      addMailbox(w, 'ann');
      return w;
    },
    script: { ann: { outgoing: { reason: 'AuthenticationFailed', permanent: true } } },
    expect: {
      conditions: {
        IncomingEmailReady: ['True', 'Succeeded'],
        OutgoingEmailReady: ['False', 'AuthenticationFailed'],
        Enabled: ['True', 'PartiallyEnabled'],
        Ready: ['False', 'AuthenticationFailed'],
        Stalled: ['True', 'AuthenticationFailed'],
      },
      events: ['AuthenticationFailed'],
      requeue: false,
      status: { consecutiveTransientFailures: 0 },
    },
  },
  {
    name: 'a transient failure is retried (Reconciling), never sooner than the server asked',
    setup: async () => {
      const w = world();
      addMailbox(w, 'ann', { outgoing: 'None' });
      return w;
    },
    script: { ann: { incoming: { reason: 'Throttled', retryAfterMs: 90_000 } } },
    expect: {
      conditions: {
        IncomingEmailReady: ['False', 'Throttled'],
        Enabled: ['False', 'Throttled'],
        Reconciling: ['True', 'RetryingTest'],
        Stalled: ['absent'],
      },
      requeue: true,
      status: { consecutiveTransientFailures: 1 },
    },
  },
  {
    name: 'transient failures past the budget: TooManyTransientFailures, probed later',
    setup: async () => {
      const w = world();
      addMailbox(w, 'ann', { outgoing: 'None' });
      for (let i = 0; i < 2; i++) {
        await reconcile(w, 'ann', { ann: { incoming: { reason: 'ServerUnreachable' } } });
        dueNow(w, 'ann');
      }
      return w;
    },
    script: { ann: { incoming: { reason: 'ServerUnreachable' } } },
    expect: {
      conditions: { IncomingEmailReady: ['False', 'TooManyTransientFailures'], Stalled: ['True', 'TooManyTransientFailures'] },
      events: ['TooManyTransientFailures'],
      requeue: true,
      status: { consecutiveTransientFailures: 3 },
    },
  },
  {
    name: 'held by the rollout, not yet admitted: runs its last-known-good revision untested',
    setup: async () => {
      const w = await running();
      newRevision(w, false);
      return w;
    },
    expect: {
      conditions: { UpToDate: ['False', 'WaitingForBatch'], Enabled: ['True', 'Enabled'], Ready: ['True', 'Ready'] },
      tested: false,
    },
  },
  {
    name: 'held, admitted, its test fails: running last-known-good, not Ready',
    setup: async () => {
      const w = await running();
      newRevision(w, true);
      return w;
    },
    script: { ann: { incoming: { reason: 'ServerUnreachable' } } },
    expect: {
      conditions: {
        IncomingEmailReady: ['True', 'Succeeded'],
        UpToDate: ['False', 'ServerUnreachable'],
        Enabled: ['True', 'RunningLastKnownGood'],
        Ready: ['False', 'ServerUnreachable'],
        Reconciling: ['True', 'RetryingTest'],
      },
      events: ['RolloutTestFailed'],
      requeue: true,
      tested: true,
    },
  },
  {
    name: 'held, admitted, its test passes: it moves to the new revision',
    setup: async () => {
      const w = await running();
      newRevision(w, true);
      return w;
    },
    expect: {
      conditions: { UpToDate: ['True', 'UpToDate'], Enabled: ['True', 'Enabled'], Ready: ['True', 'Ready'] },
      events: ['RevisionUpdated'],
      tested: true,
    },
  },
  {
    name: 'a current transient sync failure: still processing, retried by the worker',
    setup: () => withSyncFailure({ exhausted: false, failures: 2 }),
    expect: {
      conditions: {
        IncomingEmailReady: ['False', 'ServerUnreachable'],
        Enabled: ['True', 'Enabled'],
        Ready: ['False', 'ServerUnreachable'],
        Reconciling: ['True', 'RetryingSync'],
      },
      tested: false,
    },
  },
  {
    name: 'a sync failure that spent the budget: disabled, and a probe is planned',
    setup: () => withSyncFailure({ exhausted: true, failures: 10 }),
    expect: {
      conditions: {
        IncomingEmailReady: ['False', 'TooManyTransientFailures'],
        Enabled: ['False', 'TooManyTransientFailures'],
        Stalled: ['True', 'TooManyTransientFailures'],
      },
      requeue: true,
      tested: false,
      status: { consecutiveTransientFailures: 3 },
    },
  },
];

test.each(cases)('$name', async (c) => {
  const w = await c.setup();
  const eventsBefore = w.events.length;
  const { result, testing, m } = await reconcile(w, 'ann', c.script);
  for (const [type, [status, reason]] of Object.entries(c.expect.conditions)) {
    const got = condition(m, type);
    expect({ type, status: got?.status ?? 'absent', ...(reason ? { reason: got?.reason } : {}) }).toEqual({
      type,
      status,
      ...(reason ? { reason } : {}),
    });
  }
  if (c.expect.events) expect(w.events.slice(eventsBefore).map((e) => e.reason)).toEqual(expect.arrayContaining(c.expect.events));
  if (c.expect.requeue !== undefined) expect(result?.requeueAfterMs !== undefined).toBe(c.expect.requeue);
  if (c.expect.tested !== undefined) expect(testing.runs.length > 0).toBe(c.expect.tested);
  if (c.expect.status) expect(m.status).toMatchObject(c.expect.status);
  for (const k of c.expect.cleared ?? []) expect({ [k]: m.status?.[k] }).toEqual({});
  expect(m.status?.observedGeneration).toBe(m.metadata.generation);
});

test('a retry honours Retry-After: the requeue and nextTestTime are at least what the server asked', async () => {
  const w = world();
  addMailbox(w, 'ann', { outgoing: 'None' });
  const { result, m } = await reconcile(w, 'ann', { ann: { incoming: { reason: 'Throttled', retryAfterMs: 90_000 } } });
  expect(result?.requeueAfterMs).toBeGreaterThanOrEqual(90_000);
  expect(Date.parse(m.status!.nextTestTime!) - Date.parse(m.status!.lastTestTime!)).toBeGreaterThanOrEqual(89_000);
});

test('a held mailbox whose test failed stays on its revision; a second pass does not test again before the retry', async () => {
  const w = await running();
  const before = w.mailbox('ann').status!.revision;
  const target = newRevision(w, true);
  await reconcile(w, 'ann', { ann: { incoming: { reason: 'AuthenticationFailed', permanent: true } } });
  const { testing, m } = await reconcile(w, 'ann', { ann: { incoming: { reason: 'AuthenticationFailed', permanent: true } } });
  expect(testing.runs).toEqual([]);
  expect(m.status).toMatchObject({ revision: before, targetRevision: target });
  expect(condition(m, 'Stalled')).toMatchObject({ status: 'True', reason: 'AuthenticationFailed' });
});

test('an unchanged mailbox is not written again', async () => {
  const w = await running();
  const patches = w.patches.length;
  await reconcile(w, 'ann');
  expect(w.patches.length).toBe(patches);
});

test('a deleted mailbox is left alone', async () => {
  const w = world();
  const { result } = await reconcile(w, 'nobody');
  expect(result).toBeUndefined();
  expect(w.patches).toEqual([]);
});
