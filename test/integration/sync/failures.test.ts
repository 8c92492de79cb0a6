// Failures during sync, on the real API server with real Dovecot and a webhook CRM: they reach the
// direction conditions at once, a permanent one stops signing in, an outage is seen within one
// reconnect attempt and left within seconds of the server's return, a spent budget recovers by
// itself, a transient test failure is Reconciling (not Stalled), and a message the CRM refuses is
// listed by `mailsync failures` while the next ones arrive.

import { execFile } from 'node:child_process';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { CoreV1Event } from '@kubernetes/client-node';
import { REPO_ROOT } from '../../../dev/control-plane.js';
import { waitFor } from '../../../dev/processes.js';
import { goodMessage } from '../../support/corpus.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { toolsDir } from '../../support/helm.js';
import { startHttpsServer, type HttpsServer } from '../../support/https-server.js';
import { clientsAs, condition, controlPlaneInfo, create, get, newNamespace, userMailbox, waitForCondition } from '../../support/kube.js';
import { createSecret, updateSecret } from '../../support/mail-env.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';

const info = controlPlaneInfo();
const admin = clientsAs('admin', info);
const CRM = { token: 'failures-Crm-Token-4711', signingKey: 'failures-Signing-Key-0815' };
const USERS = ['pat', 'out1', 'out2', 'out3', 'bud', 'rex'];
const password = (u: string) => `${u}-Sync-Pass-1`;
const run = promisify(execFile);
let dovecot: DovecotFixture;
let crm: FakeCrmWebhook;
let ews: HttpsServer | undefined;
const operators: InProcessOperator[] = [];

beforeAll(async () => {
  dovecot = await startDovecot({ users: USERS.map((u) => ({ username: u, password: password(u) })) });
  crm = await FakeCrmWebhook.start(CRM);
});
afterAll(async () => {
  for (const op of operators) await op.stop();
  await dovecot?.cleanup();
  await crm?.close();
  await ews?.close();
});

interface Setup {
  pollIntervalMs: number;
  retryPolicy?: Record<string, unknown>;
  /** Per-operation timeout of the IMAP server (profile spec.incoming.timeout). */
  timeout?: string;
}

async function setup(prefix: string, users: string[], o: Setup): Promise<{ ns: string; op: InProcessOperator }> {
  const ns = await newNamespace(admin, prefix);
  await createSecret(admin, ns, 'ca', { 'ca.crt': dovecot.caPem });
  await createSecret(admin, ns, 'crm', CRM);
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    incomingFiltering: { users: 'All' },
    defaults: { serverProfileRef: { name: 'imap' }, outgoing: 'None' },
    ...(o.retryPolicy ? { retryPolicy: o.retryPolicy } : {}),
  });
  await create(admin, 'emailserverprofiles', ns, 'imap', {
    serverType: 'IMAP',
    incoming: {
      server: '127.0.0.1',
      port: dovecot.ports.imaps,
      caBundle: { secretRef: { name: 'ca' } },
      ...(o.timeout ? { timeout: o.timeout } : {}),
    },
  });
  for (const u of users) {
    await createSecret(admin, ns, `${u}-mail`, { username: u, password: password(u) });
    await create(admin, 'mailboxes', ns, u, userMailbox(u));
  }
  const op = await startOperator(admin, ns, { pollIntervalMs: o.pollIntervalMs });
  operators.push(op);
  for (const u of users) await waitForCondition(admin, 'mailboxes', ns, u, 'Synced', (c) => c.status === 'True', 30_000);
  return { ns, op };
}

const message = (id: string, user: string) =>
  goodMessage(Number(id.replace(/\D/g, '')) || 1, { to: `${user}@example.com`, messageId: `${id}@customer.example` });
const inCrm = (id: string) => crm.activities().filter((a) => a.messageId === `${id}@customer.example`).length;
const arrives = (id: string, timeoutMs = 30_000) =>
  waitFor(`${id} in the CRM`, async () => (inCrm(id) ? true : undefined), { timeoutMs, intervalMs: 100 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function events(ns: string, name: string): Promise<CoreV1Event[]> {
  return (await admin.core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.involvedObject.name === name);
}

/** Sum of the samples of a metric whose labels include all of `labels`. */
async function metric(op: InProcessOperator, name: string, labels: Record<string, string>): Promise<number> {
  const text = await op.metrics.registry.metrics();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

test('a password changed while syncing: AuthenticationFailed within one cycle, one failed login, and back after the Secret is fixed', async () => {
  const CYCLE_MS = 2000;
  const { ns } = await setup('password', ['pat'], { pollIntervalMs: CYCLE_MS });
  await dovecot.deliver('pat', message('pat-1', 'pat'));
  await arrives('pat-1');
  expect(await dovecot.loginAttempts('pat', 'FAIL')).toBe(0);

  await dovecot.setPassword('pat', 'pat-Changed-Pass-2');
  // Each safety resync signs in afresh, so the next cycle meets the new password.
  const o = await waitForCondition(admin, 'mailboxes', ns, 'pat', 'IncomingEmailReady', (c) => c.reason === 'AuthenticationFailed', 30_000);
  expect(condition(o, 'IncomingEmailReady')).toMatchObject({ status: 'False', reason: 'AuthenticationFailed' });
  expect(condition(o, 'IncomingEmailReady')?.message).toMatch(/^sync failed: .*no further sign-in/);
  expect(condition(o, 'Enabled')).toMatchObject({ status: 'False', reason: 'AuthenticationFailed' });
  expect(condition(o, 'Ready')).toMatchObject({ status: 'False', reason: 'AuthenticationFailed' });
  expect(condition(o, 'Stalled')).toMatchObject({ status: 'True', reason: 'AuthenticationFailed' });
  expect(o.status.sync.incoming.failure).toMatchObject({ reason: 'AuthenticationFailed', permanent: true });
  await waitFor('the Event', async () =>
    (await events(ns, 'pat')).some((e) => e.type === 'Warning' && e.reason === 'AuthenticationFailed') ? true : undefined,
  );

  // Ten cycle periods later Dovecot has seen exactly one failed login for pat: no lockout risk.
  await sleep(10 * CYCLE_MS);
  expect(await dovecot.loginAttempts('pat', 'FAIL')).toBe(1);
  expect(condition(await get(admin, 'mailboxes', ns, 'pat'), 'IncomingEmailReady')?.reason).toBe('AuthenticationFailed');

  // The Secret fixed: tested and syncing again, without any annotation.
  await updateSecret(admin, ns, 'pat-mail', { username: 'pat', password: 'pat-Changed-Pass-2' });
  const back = await waitForCondition(admin, 'mailboxes', ns, 'pat', 'Ready', (c) => c.status === 'True', 30_000);
  expect(condition(back, 'IncomingEmailReady')).toMatchObject({ status: 'True', reason: 'Succeeded' });
  expect(condition(back, 'Stalled')).toBeUndefined();
  await dovecot.deliver('pat', message('pat-2', 'pat'));
  await arrives('pat-2');
  expect(await dovecot.loginAttempts('pat', 'FAIL')).toBe(1);
}, 180_000);

// A one-minute outage instead of three: the reconnect back-off reaches its cap (5 s) within about
// ten seconds, after which every further second of outage repeats the same state; what three
// minutes showed before (warnings only after the recovery, a back-off grown to 128 s) would show
// in one minute just the same. The IMAP timeout is 5 s (spec.incoming.timeout), so the quiet
// period checked after the recovery outlasts any attempt that was still waiting on the dead server.
test('Dovecot stopped under three syncing mailboxes: seen within one reconnect attempt, left within seconds, no stale warning', async () => {
  const users = ['out1', 'out2', 'out3'];
  const { ns, op } = await setup('outage', users, { pollIntervalMs: 10 * 60_000, timeout: '5s' });
  const stoppedAt = Date.now();
  await dovecot.stop();
  for (const u of users) {
    const o = await waitForCondition(admin, 'mailboxes', ns, u, 'IncomingEmailReady', (c) => c.status === 'False', 30_000);
    expect(condition(o, 'IncomingEmailReady')).toMatchObject({ status: 'False', reason: 'ServerUnreachable' });
    expect(condition(o, 'IncomingEmailReady')?.message).toMatch(/transient failure \d+ of 10; retried within seconds/);
    // Still processing (its worker retries), but not Ready; retried, so Reconciling and not Stalled.
    expect(condition(o, 'Enabled')?.status).toBe('True');
    expect(condition(o, 'Ready')).toMatchObject({ status: 'False', reason: 'ServerUnreachable' });
    expect(condition(o, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RetryingSync' });
    expect(condition(o, 'Stalled')).toBeUndefined();
    await waitFor(`${u}: Synced False`, async () =>
      condition(await get(admin, 'mailboxes', ns, u), 'Synced')?.status === 'False' ? true : undefined,
    );
    await waitFor(`${u}: the Event`, async () =>
      (await events(ns, u)).some((e) => e.type === 'Warning' && e.reason === 'ServerUnreachable') ? true : undefined,
    );
    expect(await metric(op, 'mailsync_failures_total', { reason: 'ServerUnreachable', direction: 'in', namespace: ns })).toBeGreaterThan(0);
  }
  console.log(`outage: all three failing ${Date.now() - stoppedAt} ms after Dovecot stopped`);
  // Mail reaching the server while IMAP is down (an MTA writing into the maildir).
  for (const u of users) await dovecot.deliverOffline(u, message(`${u}-9`, u));
  await sleep(Math.max(0, stoppedAt + 60_000 - Date.now()));

  await dovecot.start();
  const startedAt = Date.now();
  for (const u of users) await arrives(`${u}-9`);
  console.log(`outage: mail delivered during the outage reached the CRM ${Date.now() - startedAt} ms after Dovecot started`);
  for (const u of users) {
    const o = await waitForCondition(admin, 'mailboxes', ns, u, 'Ready', (c) => c.status === 'True', 30_000);
    expect(condition(o, 'IncomingEmailReady')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(condition(o, 'Reconciling')).toBeUndefined();
    expect(o.status.sync.incoming.failure).toBeUndefined();
  }
  const recoveredAt = new Date();
  await sleep(8000);
  for (const u of users) {
    const o = await get(admin, 'mailboxes', ns, u);
    expect([condition(o, 'IncomingEmailReady')?.status, condition(o, 'Ready')?.status, condition(o, 'Synced')?.status]).toEqual([
      'True',
      'True',
      'True',
    ]);
    const late = (await events(ns, u)).filter((e) => e.type === 'Warning' && new Date(e.lastTimestamp ?? 0) >= recoveredAt);
    expect(late.map((e) => `${e.reason}: ${e.message}`)).toEqual([]);
    expect((await events(ns, u)).some((e) => e.reason === 'SyncRecovered')).toBe(true);
    expect(inCrm(`${u}-9`)).toBe(1);
  }
}, 240_000);

test('an outage longer than the (shortened) budget: TooManyTransientFailures, then Ready again by itself, nothing lost', async () => {
  const { ns } = await setup('budget', ['bud'], {
    pollIntervalMs: 10 * 60_000,
    timeout: '5s',
    retryPolicy: { maxTransientFailures: 3, backoff: '1s', maxBackoff: '2s', probeInterval: '2s', maxProbeInterval: '4s' },
  });
  await dovecot.deliver('bud', message('bud-1', 'bud'));
  await arrives('bud-1');
  await dovecot.stop();
  const o = await waitForCondition(
    admin,
    'mailboxes',
    ns,
    'bud',
    'IncomingEmailReady',
    (c) => c.reason === 'TooManyTransientFailures',
    60_000,
  );
  expect(condition(o, 'IncomingEmailReady')?.message).toMatch(/gave up after 3 transient failures/);
  expect(condition(o, 'Stalled')).toMatchObject({ status: 'True', reason: 'TooManyTransientFailures' });
  expect(condition(o, 'Enabled')?.status).toBe('False');
  expect(o.status.nextTestTime).toBeDefined(); // the controller probes it
  await dovecot.deliverOffline('bud', message('bud-2', 'bud'));
  await dovecot.start();
  const back = await waitForCondition(admin, 'mailboxes', ns, 'bud', 'Ready', (c) => c.status === 'True', 60_000);
  expect(condition(back, 'IncomingEmailReady')).toMatchObject({ status: 'True', reason: 'Succeeded' });
  expect(back.metadata?.annotations?.['mailsync.dev/test-requested-at']).toBeUndefined();
  await arrives('bud-2');
  expect([inCrm('bud-1'), inCrm('bud-2')]).toEqual([1, 1]);
}, 180_000);

test('a ProtocolError in Test and Enable is retried: Reconciling, not Stalled, and counted as Retrying', async () => {
  // An "EWS" server that answers every request with 400: the server said something we do not understand.
  ews = await startHttpsServer((_req, res) => {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end('Bad Request');
  });
  const ns = await newNamespace(admin, 'protocol');
  await createSecret(admin, ns, 'ca', { 'ca.crt': ews.caPem });
  await createSecret(admin, ns, 'svc', { username: 'svc', password: 'svc-Protocol-Pass-3' });
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: crm.url },
    requireApprovedUsers: false,
    defaults: { outgoing: 'None' },
  });
  await create(admin, 'emailserverprofiles', ns, 'ews', {
    serverType: 'ExchangeServer',
    incoming: {
      url: `${ews.origin}/EWS/Exchange.asmx`,
      credentials: { source: 'Profile', secretRef: { name: 'svc' } },
      caBundle: { secretRef: { name: 'ca' } },
    },
  });
  await create(admin, 'mailboxes', ns, 'ann', {
    emailAddress: 'ann@example.com',
    owner: { kind: 'User', name: 'ann' },
    deploymentRef: { name: 'crm' },
    serverProfileRef: { name: 'ews' },
  });
  const op = await startOperator(admin, ns);
  operators.push(op);
  const o = await waitForCondition(admin, 'mailboxes', ns, 'ann', 'IncomingEmailReady', (c) => c.reason === 'ProtocolError', 30_000);
  expect(condition(o, 'IncomingEmailReady')?.message).toMatch(/transient failure \d+ of 10; retrying at/);
  expect(condition(o, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RetryingTest' });
  expect(condition(o, 'Stalled')).toBeUndefined();
  // The metrics read the operator's watch cache, which sees the status a moment after the API server.
  await waitFor(
    'the mailbox counted as Retrying',
    async () => ((await metric(op, 'mailsync_mailboxes', { state: 'Retrying', namespace: ns })) === 1 ? true : undefined),
    { timeoutMs: 10_000 },
  );
  expect(await metric(op, 'mailsync_mailboxes', { state: 'Failing', namespace: ns })).toBe(0);
}, 60_000);

test('a message the CRM refuses (4xx) shows in status and `mailsync failures`; the next messages arrive', async () => {
  const { ns, op } = await setup('refused', ['rex'], { pollIntervalMs: 10 * 60_000 });
  crm.refuse('rex-2@customer.example', 422);
  for (const id of ['rex-1', 'rex-2', 'rex-3']) await dovecot.deliver('rex', message(id, 'rex'));
  await arrives('rex-1');
  await arrives('rex-3');
  const o = await waitFor('the refusal in status', async () => {
    const m = await get(admin, 'mailboxes', ns, 'rex');
    return m.status?.recentFailures?.length ? m : undefined;
  });
  expect(o.status.recentFailures).toEqual([
    expect.objectContaining({
      direction: 'in',
      reason: 'CRMRejected',
      item: expect.stringMatching(/^\d+:\d+$/),
      message: expect.stringMatching(/HTTP 422/),
    }),
  ]);
  expect(o.status.counts.failed).toBe(1);
  expect(condition(o, 'Ready')?.status).toBe('True'); // one refused message is not a failing mailbox
  await waitFor('the Event', async () =>
    (await events(ns, 'rex')).some((e) => e.type === 'Warning' && e.reason === 'CRMRejected') ? true : undefined,
  );
  expect(await metric(op, 'mailsync_failures_total', { reason: 'CRMRejected', direction: 'in', namespace: ns })).toBe(1);

  const env = { ...process.env, KUBECONFIG: info.kubeconfigs.admin };
  const cli = await run(process.execPath, [path.join(REPO_ROOT, 'dist/src/cli/mailsync.js'), 'failures', 'rex', '-n', ns], { env });
  expect(cli.stdout).toMatch(/^MAILBOX\s+TIME\s+KIND\s+DIRECTION\s+REASON\s+ITEM\s+MESSAGE\n/);
  expect(cli.stdout).toMatch(/\nrex\s+\S+Z\s+message\s+in\s+CRMRejected\s+\d+:\d+\s+CRM webhook .*HTTP 422/);
  // The same through kubectl's plugin mechanism: an executable kubectl-mailsync on the PATH.
  const bin = await mkdtemp(path.join(os.tmpdir(), 'mailsync-plugin-'));
  await writeFile(
    path.join(bin, 'kubectl-mailsync'),
    `#!/bin/sh\nexec "${process.execPath}" "${path.join(REPO_ROOT, 'dist/src/cli/mailsync.js')}" "$@"\n`,
  );
  await chmod(path.join(bin, 'kubectl-mailsync'), 0o755);
  const plugin = await run(path.join(toolsDir(), 'kubectl'), ['mailsync', 'failures', '-n', ns], {
    env: { ...env, PATH: `${bin}:${process.env.PATH}` },
  });
  expect(plugin.stdout).toMatch(/\nrex\s+\S+Z\s+message\s+in\s+CRMRejected\s/);

  await dovecot.deliver('rex', message('rex-4', 'rex'));
  await arrives('rex-4');
  expect(inCrm('rex-2')).toBe(0);
}, 120_000);
