// Progressive rollout of a profile change to many mailboxes, end to end: the controllers and a sync
// worker in this process, the real API server, Dovecot (POP3) and the webhook CRM.
//
//   1. A bad change (a port nothing listens on): the first batch fails, the rollout pauses at that
//      batch and the profile names the failures; every mailbox keeps syncing on the old revision
//      (messages delivered during the pause reach the CRM). Reverting completes at once: all
//      mailboxes on one revision, Ready, nothing lost.
//   2. A good change (the same server through a relay that records POP3 sessions): batch by batch,
//      queues first, never more than maxConcurrentTests tests at once, and `kubectl wait
//      --for=condition=Ready` returns when the last batch is done.
//
// ROLLOUT_MAILBOXES sets the scale (default 500, the issue's figure).

import { execFile } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { waitFor } from '../../../dev/processes.js';
import { goodMessage } from '../../support/corpus.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { freePorts } from '../../support/free-port.js';
import { toolsDir } from '../../support/helm.js';
import { clientsAs, condition, controlPlaneInfo, create, get, mergePatchSpec, newNamespace, waitForCondition } from '../../support/kube.js';
import { kubectlGet } from '../../support/kubectl-table.js';
import { createSecret, visibleText } from '../../support/mail-env.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';
import { Pop3Recorder } from './pop3-recorder.js';

const admin = clientsAs('admin');
const N = Number(process.env.ROLLOUT_MAILBOXES ?? 500);
const BATCH = Math.max(5, Math.ceil(N / 10));
const QUEUES = BATCH; // so the first batch is exactly the queues
const ROLLOUT = { batchSize: BATCH, maxConcurrentTests: 10, interval: '1s', failureThreshold: 50 };
const CRM = { token: 'rollout-Crm-Token-0123456789', signingKey: 'rollout-Signing-Key-0123456789' };
const password = (i: number) => `pw-${i}-Rollout-Secret`;
// Queue names sort after user names: the order is queues first by kind, not by name.
const nameOf = (i: number) => (i < QUEUES ? `support-${String(i).padStart(4, '0')}` : `agent-${String(i).padStart(4, '0')}`);
const userOf = (i: number) => `u${i}`;

let dovecot: DovecotFixture;
let crm: FakeCrmWebhook;
let recorder: Pop3Recorder;
let op: InProcessOperator;
let ns: string;
let closedPort: number;
let firstRevision: string;

const list = async (): Promise<{ metadata: { name: string }; spec: any; status?: any }[]> =>
  (
    (await admin.custom.listNamespacedCustomObject({ group: 'mailsync.dev', version: 'v1alpha1', namespace: ns, plural: 'mailboxes' })) as {
      items: any[];
    }
  ).items;
const profile = () => get(admin, 'emailserverprofiles', ns, 'pop3');
const pool = async <T>(items: T[], n: number, fn: (x: T) => Promise<unknown>) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      for (let i = next++; i < items.length; i = next++) await fn(items[i]);
    }),
  );
};
const delivered = (messageId: string) => crm.activities().filter((a) => a.messageId === messageId);
async function deliverAndSync(i: number, id: string): Promise<void> {
  await dovecot.deliver(userOf(i), goodMessage(0, { to: `${userOf(i)}@example.com`, messageId: id, subject: id }));
  await mergePatchSpec(admin, 'mailboxes', ns, nameOf(i), {
    metadata: { annotations: { 'mailsync.dev/sync-requested-at': `${id}-${Date.now()}` } },
  });
}

beforeAll(async () => {
  const t0 = performance.now();
  dovecot = await startDovecot({ users: Array.from({ length: N }, (_, i) => ({ username: userOf(i), password: password(i) })) });
  crm = await FakeCrmWebhook.start(CRM);
  recorder = await Pop3Recorder.start(dovecot.ports.pop3);
  [closedPort] = await freePorts(1);
  ns = await newNamespace(admin, 'rollout');
  await createSecret(admin, ns, 'crm', CRM);
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    requireApprovedQueues: false,
    incomingFiltering: { users: 'All', queues: 'All' },
    defaults: { serverProfileRef: { name: 'pop3' }, outgoing: 'None' },
  });
  // Plaintext on loopback, so the relay of scenario 2 can see the POP3 commands.
  await create(admin, 'emailserverprofiles', ns, 'pop3', {
    serverType: 'POP3',
    incoming: { server: '127.0.0.1', port: dovecot.ports.pop3, tls: 'None' },
    allowInsecureAuthentication: true,
    rollout: ROLLOUT,
  });
  await pool([...Array(N).keys()], 16, async (i) => {
    await createSecret(admin, ns, `mbx-${i}`, { username: userOf(i), password: password(i) });
    await create(admin, 'mailboxes', ns, nameOf(i), {
      emailAddress: `${userOf(i)}@example.com`,
      owner: { kind: i < QUEUES ? 'Queue' : 'User', name: nameOf(i) },
      deploymentRef: { name: 'crm' },
      credentialsSecretRef: { name: `mbx-${i}` },
    });
  });
  op = await startOperator(admin, ns, { pollIntervalMs: 10 * 60_000, outgoingPollMs: 10 * 60_000 });
  const p = await waitForCondition(admin, 'emailserverprofiles', ns, 'pop3', 'Ready', (c) => c.status === 'True', 120_000);
  expect(p.status.mailboxes).toMatchObject({ total: N, updated: N, enabled: N, failed: 0, pending: 0 });
  firstRevision = p.status.revision;
  await waitFor('every mailbox syncing', async () => (op.worker.syncing().length === N ? true : undefined), { timeoutMs: 60_000 });
  console.log(`rollout test: ${N} mailboxes created, tested and syncing in ${Math.round(performance.now() - t0)} ms`);
}, 300_000);

afterAll(async () => {
  await op?.stop();
  await recorder?.close();
  await dovecot?.cleanup();
  await crm?.close();
});

test('a bad change pauses at the first batch, names the failures, and mail keeps flowing on the old revision; a revert completes at once', async () => {
  const t0 = performance.now();
  await mergePatchSpec(admin, 'emailserverprofiles', ns, 'pop3', { spec: { incoming: { port: closedPort } } });
  // Paused as soon as half the batch failed; wait for the whole batch's results.
  const paused = await waitFor(
    'the first batch paused with all its results',
    async () => {
      const p = await profile();
      return condition(p, 'RolloutPaused')?.reason === 'FailureThresholdReached' && p.status.mailboxes.failed === BATCH ? p : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  const badRevision = paused.status.revision;
  expect(badRevision).not.toBe(firstRevision);
  expect(paused.status.rollout).toMatchObject({ revision: badRevision, batch: 1, batchSize: BATCH });
  expect(condition(paused, 'Stalled')).toMatchObject({ status: 'True', reason: 'FailureThresholdReached' });
  const ready = condition(paused, 'Ready')!;
  expect(ready).toMatchObject({ status: 'False', reason: 'RolloutPaused' });
  expect(ready.message).toMatch(
    new RegExp(
      `paused at batch 1: ${BATCH} of ${BATCH} mailboxes failed their test \\(failureThreshold 50%\\): ${nameOf(0)} \\(ServerUnreachable: `,
    ),
  );
  // The failures are the first batch: the queues, though their names sort after the users'.
  expect(paused.status.rollout.failures.map((f: { mailbox: string }) => f.mailbox)).toEqual(
    [...Array(Math.min(20, QUEUES)).keys()].map(nameOf),
  );
  expect(paused.status.rollout.failures[0]).toMatchObject({
    reason: 'ServerUnreachable',
    message: expect.stringMatching(new RegExp(`127.0.0.1:${closedPort}`)),
  });
  console.log(`bad change paused after ${Math.round(performance.now() - t0)} ms`);

  // No further batch starts, well past the interval.
  await new Promise((r) => setTimeout(r, 3000));
  const still = await profile();
  expect(still.status.rollout.batch).toBe(1);
  expect(still.status.mailboxes).toMatchObject({ total: N, updated: 0, failed: BATCH, pending: N - BATCH });
  const all = await list();
  const testedBad = all
    .filter((m) => m.status?.testedRevision === badRevision)
    .map((m) => m.metadata.name)
    .sort();
  expect(testedBad).toEqual([...Array(QUEUES).keys()].map(nameOf).sort());
  expect(new Set(all.map((m) => m.status.revision))).toEqual(new Set([firstRevision]));

  // A mailbox of the failed batch runs on its last-known-good revision, and says so.
  const failedOne = await get(admin, 'mailboxes', ns, nameOf(0));
  expect(failedOne.status).toMatchObject({ revision: firstRevision, targetRevision: badRevision });
  expect(condition(failedOne, 'Enabled')).toMatchObject({ status: 'True', reason: 'RunningLastKnownGood' });
  expect(condition(failedOne, 'Enabled')!.message).toMatch(`last-known-good revision ${firstRevision}`);
  expect(condition(failedOne, 'UpToDate')).toMatchObject({
    status: 'False',
    reason: expect.stringMatching(/ServerUnreachable|TooManyTransientFailures/),
  });
  expect(condition(failedOne, 'IncomingEmailReady')).toMatchObject({ status: 'True', reason: 'Succeeded' });
  expect(condition(failedOne, 'Ready')?.status).toBe('False');
  // Retried as any transient failure is (kstatus Reconciling), until the budget runs out (Stalled).
  expect(['Reconciling', 'Stalled'].filter((t) => condition(failedOne, t)?.status === 'True')).toHaveLength(1);
  const waiting = await get(admin, 'mailboxes', ns, nameOf(N - 1));
  expect(condition(waiting, 'UpToDate')).toMatchObject({ status: 'False', reason: 'WaitingForBatch' });
  expect(condition(waiting, 'Ready')?.status).toBe('True');

  // What kubectl shows (docs/status.md): without -o wide, the failed mailbox is not Ready but
  // says it still processes on its last-known-good revision; the profile counts it as Failed,
  // not Failing (none of its directions fails), and its message says how many failures it lists.
  const mailboxes = await kubectlGet('mailboxes.mailsync.dev', ns);
  expect(mailboxes.get(nameOf(0))).toMatchObject({ INCOMING: 'Succeeded', ENABLED: 'RunningLastKnownGood', READY: 'False' });
  expect(mailboxes.get(nameOf(N - 1))).toMatchObject({ INCOMING: 'Succeeded', ENABLED: 'Enabled', READY: 'True' });
  const wide = await kubectlGet('mailboxes.mailsync.dev', ns, ['-o', 'wide']);
  expect(wide.get(nameOf(0))?.ROLLOUT).toMatch(/ServerUnreachable|TooManyTransientFailures/);
  expect(wide.get(nameOf(N - 1))?.ROLLOUT).toBe('WaitingForBatch');
  const profiles = await kubectlGet('emailserverprofiles.mailsync.dev', ns, ['-o', 'wide']);
  expect(profiles.get('pop3')).toMatchObject({ MAILBOXES: String(N), UPDATED: '0', FAILED: String(BATCH), FAILING: '0', READY: 'False' });
  if (BATCH > 20)
    expect(profiles.get('pop3')?.STATUS).toContain(`and ${BATCH - 5} more (status.rollout.failures lists the first 20 of ${BATCH};`);

  // Mail still flows, for a failed mailbox and for one still waiting, on the old revision.
  expect(op.worker.syncing()).toHaveLength(N);
  await deliverAndSync(0, 'during-pause-failed');
  await deliverAndSync(N - 1, 'during-pause-waiting');
  await waitFor(
    'messages during the pause',
    async () => (delivered('during-pause-failed').length && delivered('during-pause-waiting').length ? true : undefined),
    { timeoutMs: 20_000 },
  );

  // Revert (as Git would): back to the revision every mailbox runs on. Nothing to test.
  const t1 = performance.now();
  await mergePatchSpec(admin, 'emailserverprofiles', ns, 'pop3', { spec: { incoming: { port: dovecot.ports.pop3 } } });
  const back = await waitForCondition(admin, 'emailserverprofiles', ns, 'pop3', 'Ready', (c) => c.status === 'True', 60_000);
  console.log(`revert complete after ${Math.round(performance.now() - t1)} ms`);
  expect(back.status.revision).toBe(firstRevision);
  expect(back.status.mailboxes).toMatchObject({ total: N, updated: N, failed: 0, pending: 0 });
  expect(condition(back, 'RolloutPaused')).toBeUndefined();
  expect(condition(back, 'Stalled')).toBeUndefined();
  await waitFor(
    'mailboxes settled',
    async () => {
      const ms = await list();
      return ms.every(
        (m) => !m.status.targetRevision && condition(m, 'Ready')?.status === 'True' && condition(m, 'Enabled')?.reason === 'Enabled',
      )
        ? ms
        : undefined;
    },
    { timeoutMs: 30_000 },
  );
  expect(new Set((await list()).map((m) => m.status.revision))).toEqual(new Set([firstRevision]));
  expect((await profile()).status.revisions.map((r: { revision: string }) => r.revision)).toEqual([firstRevision]);

  await deliverAndSync(0, 'after-revert');
  await waitFor('message after the revert', async () => (delivered('after-revert').length ? true : undefined), { timeoutMs: 20_000 });
  for (const id of ['during-pause-failed', 'during-pause-waiting', 'after-revert']) expect(delivered(id)).toHaveLength(1);
  expect(crm.stats().duplicates).toBe(0);
}, 240_000);

test('a good change moves batch by batch, queues first, never more than maxConcurrentTests tests at once; kubectl wait sees it finish', async () => {
  const t0 = performance.now();
  const since = performance.now();
  await mergePatchSpec(admin, 'emailserverprofiles', ns, 'pop3', { spec: { incoming: { port: recorder.port } } });
  await waitForCondition(admin, 'emailserverprofiles', ns, 'pop3', 'Ready', (c) => c.reason === 'RolloutInProgress', 30_000);
  const { kubeconfigs } = controlPlaneInfo();
  const wait = await promisify(execFile)(
    path.join(toolsDir(), 'kubectl'),
    [
      '--kubeconfig',
      kubeconfigs.admin,
      '-n',
      ns,
      'wait',
      '--for=condition=Ready',
      'emailserverprofiles.mailsync.dev/pop3',
      '--timeout=180s',
    ],
    { encoding: 'utf8' },
  );
  expect(wait.stdout).toMatch(/condition met/);
  const done = await profile();
  console.log(`good change: ${N} mailboxes in ${done.status.rollout.batch} batches in ${Math.round(performance.now() - t0)} ms`);
  expect(done.status.mailboxes).toMatchObject({ total: N, updated: N, tested: N, failed: 0, pending: 0 });
  expect(done.status.rollout).toMatchObject({ batch: Math.ceil(N / BATCH), batchSize: N - BATCH * (Math.ceil(N / BATCH) - 1) });
  const revision = done.status.revision;
  expect(new Set((await list()).map((m) => m.status.revision))).toEqual(new Set([revision]));

  // Each mailbox was tested exactly once through the relay (the syncs that follow are UIDL sessions).
  const tests = recorder.tests().filter((s) => s.start >= since);
  const byUser = new Map<string, number>();
  for (const s of tests) byUser.set(s.user, (byUser.get(s.user) ?? 0) + 1);
  expect(byUser.size).toBe(N);
  expect([...byUser.values()].every((n) => n === 1)).toBe(true);
  // Never more than maxConcurrentTests at once.
  const peak = Pop3Recorder.maxOverlap(tests);
  console.log(`good change: at most ${peak} tests at once (limit ${ROLLOUT.maxConcurrentTests})`);
  expect(peak).toBeLessThanOrEqual(ROLLOUT.maxConcurrentTests);
  expect(peak).toBeGreaterThan(1);
  // Batch by batch in the rollout order (queues first, then users, each by name): every test of
  // a batch starts after every test of the batch before has ended, at least the interval later.
  const order = [...Array(N).keys()].sort((a, b) =>
    (a < QUEUES ? 'Queue/' : 'User/') + nameOf(a) < (b < QUEUES ? 'Queue/' : 'User/') + nameOf(b) ? -1 : 1,
  );
  const sessionOf = new Map(tests.map((s) => [s.user, s]));
  const batches = Array.from({ length: Math.ceil(N / BATCH) }, (_, k) =>
    order.slice(k * BATCH, (k + 1) * BATCH).map((i) => sessionOf.get(userOf(i))!),
  );
  expect(batches[0].every((s, j) => s.user === userOf(j))).toBe(true); // the first batch is the queues
  console.log(
    `good change: batches tested at ${batches.map((b) => `${Math.round(Math.min(...b.map((s) => s.start)) - since)}-${Math.round(Math.max(...b.map((s) => s.end)) - since)}`).join(', ')} ms`,
  );
  for (let k = 1; k < batches.length; k++) {
    const prevEnd = Math.max(...batches[k - 1].map((s) => s.end));
    const start = Math.min(...batches[k].map((s) => s.start));
    expect(start - prevEnd).toBeGreaterThanOrEqual(900); // interval 1s, less timer granularity
  }
  const events = (await admin.core.listNamespacedEvent({ namespace: ns })).items.filter(
    (e) => e.involvedObject.kind === 'EmailServerProfile',
  );
  expect(events.filter((e) => e.reason === 'RolloutBatchStarted' && e.message?.includes(revision))).toHaveLength(batches.length);
  expect(events.some((e) => e.reason === 'RolloutCompleted' && e.message?.includes(revision))).toBe(true);
  expect(events.some((e) => e.reason === 'RolloutPaused')).toBe(true); // from the first scenario
}, 240_000);

test('no secret is visible in status or Events', async () => {
  const text = await visibleText(admin, ns);
  for (const s of [password(0), password(N - 1), CRM.token, CRM.signingKey]) expect(text).not.toContain(s);
});
