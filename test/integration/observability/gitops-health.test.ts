// GitOps health and metrics against what the operator really does: the controllers run in this
// process against the real API server and a real Dovecot, and reconcile mailboxes into Ready,
// AwaitingApproval, AuthenticationFailed (Stalled), a retried transient failure and suspension.
// The objects are read back from the API server and judged by the Argo CD Lua script and by the
// Flux health expressions; /metrics is scraped from the observability server wired as the
// operator wires it.

import { ConnectMailboxTesting } from '../../../src/connect/mailbox-tester.js';
import { Manager } from '../../../src/controllers/manager.js';
import { createLogger } from '../../../src/log/logger.js';
import { startObservabilityServer, type ObservabilityServer } from '../../../src/observability/http-server.js';
import { instrumentManager, instrumentTesting } from '../../../src/observability/instrument.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { OperatorReadiness } from '../../../src/observability/probes.js';
import { waitFor } from '../../../dev/processes.js';
import { loadKubeConfig } from '../../../src/kube/client.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { freePorts } from '../../support/free-port.js';
import { clientsAs, controlPlaneInfo, create, get, newNamespace, waitForCondition, type Plural, userMailbox } from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { argoHealth } from './argocd-health.js';
import { fluxHealth, fluxHealthCheckExprs, installAsPolicy, type FluxVerdict } from './flux-health.js';

const admin = clientsAs('admin');
const PASSWORDS = { ann: 'ann-Health-Pass-1', bob: 'bob-Health-Pass-2', carl: 'carl-Health-Pass-3' };
let dovecot: DovecotFixture;
let ns: string;
let manager: Manager | undefined;
let server: ObservabilityServer;
const metrics = createMetrics();
const readiness = new OperatorReadiness();

const mailbox = userMailbox;
const health = async (plural: Plural, name: string) => argoHealth(await get(admin, plural, ns, name));

beforeAll(async () => {
  dovecot = await startDovecot({ users: Object.entries(PASSWORDS).map(([username, password]) => ({ username, password })) });
  const [closedPort] = await freePorts(1); // nothing listens there: connections are refused
  ns = await newNamespace(admin, 'health');
  await createSecret(admin, ns, 'dovecot-ca', { 'ca.crt': dovecot.caPem });
  for (const [user, password] of Object.entries(PASSWORDS)) await createSecret(admin, ns, `${user}-mail`, { username: user, password });
  await createSecret(admin, ns, 'bob-wrong', { username: 'bob', password: 'not-bobs-password' });
  const defaults = { serverProfileRef: { name: 'imap' }, outgoing: 'None' };
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: 'https://crm.example.com/hook' },
    requireApprovedUsers: false,
    defaults,
  });
  await create(admin, 'deployments', ns, 'crm-approval', { crm: { type: 'Webhook', url: 'https://crm.example.com/hook' }, defaults });
  const imap = (port: number, extra: object = {}) => ({
    serverType: 'IMAP',
    incoming: { server: '127.0.0.1', port, tls: 'Implicit', caBundle: { secretRef: { name: 'dovecot-ca' } }, ...extra },
  });
  await create(admin, 'emailserverprofiles', ns, 'imap', imap(dovecot.ports.imaps));
  await create(admin, 'emailserverprofiles', ns, 'down', imap(closedPort));
  await create(
    admin,
    'emailserverprofiles',
    ns,
    'shared-account',
    imap(dovecot.ports.imaps, { credentials: { source: 'Profile', secretRef: { name: 'not-created-yet' } } }),
  );
  await create(
    admin,
    'emailserverprofiles',
    ns,
    'broken',
    imap(dovecot.ports.imaps, { credentials: { source: 'Profile', secretRef: { name: 'never-created' } } }),
  );

  await create(admin, 'mailboxes', ns, 'ann', mailbox('ann'));
  await create(admin, 'mailboxes', ns, 'bob', mailbox('bob', { credentialsSecretRef: { name: 'bob-wrong' } }));
  await create(admin, 'mailboxes', ns, 'carl', mailbox('carl', { deploymentRef: { name: 'crm-approval' } }));
  await create(admin, 'mailboxes', ns, 'dana', mailbox('ann', { emailAddress: 'dana@example.com', serverProfileRef: { name: 'down' } }));
  await create(admin, 'mailboxes', ns, 'erin', mailbox('ann', { emailAddress: 'erin@example.com', suspended: true }));

  // The observability server comes up before the controllers, as in the operator.
  server = await startObservabilityServer({ address: { host: '127.0.0.1', port: 0 }, metrics, readiness: [readiness.probe()] });
}, 60_000);

afterAll(async () => {
  readiness.stopping();
  await manager?.stop();
  await server?.close();
  await dovecot?.cleanup();
});

test('before the operator has reconciled, a real object is Progressing and /readyz says why', async () => {
  expect(await health('mailboxes', 'ann')).toEqual({ status: 'Progressing', message: 'waiting for the operator to report status' });
  readiness.leading();
  const r = await fetch(`${server.url}/readyz`);
  expect(r.status).toBe(503);
  expect(await r.text()).toMatch(/waiting for the caches to sync/);
});

test('the operator reconciles every object; the script gives Healthy, Progressing, Degraded and Suspended', async () => {
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', name: `test-${ns}` });
  // A transient failure is retried after a minute here, so it is still being retried when read.
  manager = new Manager(admin, {
    namespace: ns,
    logger,
    testing: instrumentTesting(new ConnectMailboxTesting(), metrics),
    testPolicy: { maxTransientFailures: 10, backoff: { baseMs: 60_000, maxMs: 60_000, jitter: 0.1 } },
  });
  instrumentManager(manager, metrics);
  await manager.start();
  readiness.started();
  expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

  await waitForCondition(admin, 'mailboxes', ns, 'ann', 'Ready', (c) => c.status === 'True');
  expect(await health('mailboxes', 'ann')).toMatchObject({ status: 'Healthy' });

  await waitForCondition(admin, 'mailboxes', ns, 'carl', 'Enabled', (c) => c.reason === 'AwaitingApproval');
  const carl = await health('mailboxes', 'carl');
  expect(carl.status).toBe('Progressing');
  expect(carl.message).toMatch(/^AwaitingApproval: carl@example.com awaits approval/);

  await waitForCondition(admin, 'mailboxes', ns, 'bob', 'Stalled', (c) => c.reason === 'AuthenticationFailed');
  const bob = await health('mailboxes', 'bob');
  expect(bob.status).toBe('Degraded');
  expect(bob.message).toMatch(/^AuthenticationFailed: /);

  await waitForCondition(admin, 'mailboxes', ns, 'dana', 'Reconciling', (c) => c.status === 'True');
  const dana = await get(admin, 'mailboxes', ns, 'dana');
  expect(dana.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({
    status: 'False',
    reason: 'ServerUnreachable',
  });
  expect(await argoHealth(dana)).toMatchObject({ status: 'Progressing', message: expect.stringMatching(/^RetryingTest: /) });

  await waitForCondition(admin, 'mailboxes', ns, 'erin', 'Enabled', (c) => c.reason === 'Suspended');
  expect(await health('mailboxes', 'erin')).toMatchObject({ status: 'Suspended' });

  await waitForCondition(admin, 'emailserverprofiles', ns, 'imap', 'Ready', (c) => c.status === 'True');
  expect(await health('emailserverprofiles', 'imap')).toMatchObject({ status: 'Healthy' });
  await waitForCondition(admin, 'emailserverprofiles', ns, 'shared-account', 'Ready', (c) => c.reason === 'SecretNotFound');
  expect(await health('emailserverprofiles', 'shared-account')).toMatchObject({
    status: 'Degraded',
    message: expect.stringMatching(/^SecretNotFound: Secret "not-created-yet"/),
  });
  await waitForCondition(admin, 'deployments', ns, 'crm', 'Ready', (c) => c.status === 'True');
  expect(await health('deployments', 'crm')).toMatchObject({ status: 'Healthy' });

  await waitForCondition(admin, 'emailserverprofiles', ns, 'broken', 'Ready', (c) => c.reason === 'SecretNotFound');
  // Creating the missing Secret heals the profile without touching it: Degraded -> Healthy.
  await createSecret(admin, ns, 'not-created-yet', { username: 'ann', password: PASSWORDS.ann });
  await waitForCondition(admin, 'emailserverprofiles', ns, 'shared-account', 'Ready', (c) => c.status === 'True');
  expect(await health('emailserverprofiles', 'shared-account')).toMatchObject({ status: 'Healthy' });
}, 90_000);

test("Flux: the healthCheckExprs in docs/flux give the same verdicts, evaluated by the API server's CEL", async () => {
  const kc = loadKubeConfig(controlPlaneInfo().kubeconfigs.admin);
  const cleanup = await installAsPolicy(kc, ns, await fluxHealthCheckExprs());
  try {
    // A new policy takes effect after a moment; ann is Ready, so "current" shows that it runs.
    await waitFor(
      'the policy to take effect',
      async () => ((await fluxHealth(kc, 'mailboxes', ns, 'ann')).verdict === 'current' ? true : undefined),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const argoToFlux: Record<string, FluxVerdict> = {
      Healthy: 'current',
      Suspended: 'current',
      Progressing: 'inProgress',
      Degraded: 'failed',
    };
    const cases: [Plural, string, FluxVerdict][] = [
      ['mailboxes', 'ann', 'current'],
      ['mailboxes', 'carl', 'inProgress'], // awaiting approval
      ['mailboxes', 'bob', 'failed'], // Stalled: AuthenticationFailed
      ['mailboxes', 'dana', 'inProgress'], // retrying ServerUnreachable
      ['mailboxes', 'erin', 'current'], // suspended, as Git asks
      ['emailserverprofiles', 'imap', 'current'],
      ['emailserverprofiles', 'broken', 'failed'], // SecretNotFound
      ['deployments', 'crm', 'current'],
    ];
    for (const [plural, name, want] of cases) {
      const flux = await fluxHealth(kc, plural, ns, name);
      const argo = await health(plural, name);
      expect({ name, flux: flux.verdict, argo: argoToFlux[argo.status], trueExprs: flux.trueExprs }).toEqual({
        name,
        flux: want,
        argo: want,
        trueExprs: expect.anything(),
      });
    }
  } finally {
    await cleanup();
  }
}, 60_000);

test('/metrics exposes every family, with the counts of this run', async () => {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  /** The sum of the samples whose labels include `labels` (undefined when there is none). */
  const value = (name: string, labels: Record<string, string>) => {
    const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
    return lines.length ? lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0) : undefined;
  };
  for (const family of [
    'mailsync_messages_total',
    'mailsync_failures_total',
    'mailsync_sync_latency_seconds',
    'mailsync_mailboxes',
    'mailsync_reconcile_duration_seconds',
    'mailsync_reconcile_total',
    'mailsync_workqueue_depth',
    'mailsync_tests_total',
    'process_resident_memory_bytes',
  ]) {
    expect(text).toContain(`# TYPE ${family} `);
  }
  for (const state of ['Ready', 'Failing', 'Retrying', 'AwaitingApproval', 'Suspended']) {
    expect({ state, n: value('mailsync_mailboxes', { state, namespace: ns }) }).toEqual({ state, n: 1 });
  }
  expect(value('mailsync_failures_total', { reason: 'AuthenticationFailed', direction: 'in', namespace: ns })).toBeGreaterThanOrEqual(1);
  expect(value('mailsync_failures_total', { reason: 'ServerUnreachable', direction: 'in', namespace: ns })).toBeGreaterThanOrEqual(1);
  expect(value('mailsync_tests_total', { direction: 'in', result: 'success' })).toBeGreaterThanOrEqual(1);
  expect(value('mailsync_tests_total', { direction: 'in', result: 'permanent' })).toBeGreaterThanOrEqual(1);
  expect(value('mailsync_tests_total', { direction: 'in', result: 'transient' })).toBeGreaterThanOrEqual(1);
  for (const kind of ['Mailbox', 'EmailServerProfile', 'Deployment']) {
    expect(value('mailsync_reconcile_total', { kind, result: 'success' })).toBeGreaterThan(0);
    expect(value('mailsync_reconcile_duration_seconds_count', { kind, result: 'success' })).toBeGreaterThan(0);
  }
  expect(value('mailsync_reconcile_total', { kind: 'Mailbox', result: 'requeue' })).toBeGreaterThan(0); // the transient retry
  for (const queue of ['mailboxes', 'profiles', 'deployments'])
    expect(value('mailsync_workqueue_depth', { queue })).toBeGreaterThanOrEqual(0);
  // No password reaches the metrics (label values are namespaces, reasons and profile names only).
  for (const p of [...Object.values(PASSWORDS), 'not-bobs-password']) expect(text).not.toContain(p);
});
