// A mail server outage: transient failures retried with growing intervals; the mailbox recovers
// by itself when the server returns before the budget runs out, and is disabled with
// TooManyTransientFailures when it does not: then probed only every 30 minutes (the default), or
// at once on a test request. (test/integration/sync/failures.test.ts shortens the probes through
// the Deployment's spec.retryPolicy and sees the mailbox recover by itself.)

import type { Manager } from '../../../src/controllers/manager.js';
import { waitFor } from '../../../dev/processes.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { clientsAs, condition, create, get, mergePatchSpec, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { startManager } from '../../support/operator.js';

const admin = clientsAs('admin');
let dovecot: DovecotFixture;
const managers: Manager[] = [];

afterAll(async () => {
  for (const m of managers) await m.stop();
  await dovecot?.cleanup();
});

async function setup(prefix: string, policy: { maxTransientFailures: number; baseMs: number }): Promise<string> {
  const ns = await newNamespace(admin, prefix);
  await createSecret(admin, ns, 'ca', { 'ca.crt': dovecot.caPem });
  await createSecret(admin, ns, 'dana-mail', { username: 'dana', password: 'dana-Outage-Pass' });
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: 'https://crm.example.com/hook' },
    requireApprovedUsers: false,
    defaults: { serverProfileRef: { name: 'imap' }, outgoing: 'None' },
  });
  await create(admin, 'emailserverprofiles', ns, 'imap', {
    serverType: 'IMAP',
    incoming: { server: '127.0.0.1', port: dovecot.ports.imaps, caBundle: { secretRef: { name: 'ca' } } },
  });
  managers.push(
    await startManager(admin, ns, {
      testPolicy: { maxTransientFailures: policy.maxTransientFailures, backoff: { baseMs: policy.baseMs, maxMs: 60_000, jitter: 0.1 } },
    }),
  );
  return ns;
}

const mailbox = {
  emailAddress: 'dana@example.com',
  owner: { kind: 'User', name: 'dana' },
  deploymentRef: { name: 'crm' },
  credentialsSecretRef: { name: 'dana-mail' },
};

test('transient failures back off with growing intervals and recover alone when the server returns', async () => {
  dovecot = await startDovecot({ users: [{ username: 'dana', password: 'dana-Outage-Pass' }] });
  const ns = await setup('outage', { maxTransientFailures: 10, baseMs: 1000 });
  await dovecot.stop();
  await create(admin, 'mailboxes', ns, 'dana', mailbox);
  // Sample the retry schedule: the gap between a test and the next planned one grows.
  const gaps = new Map<number, number>();
  await waitFor(
    'three transient failures',
    async () => {
      const s = (await get(admin, 'mailboxes', ns, 'dana')).status ?? {};
      if (s.nextTestTime && s.lastTestTime)
        gaps.set(s.consecutiveTransientFailures, Date.parse(s.nextTestTime) - Date.parse(s.lastTestTime));
      return s.consecutiveTransientFailures >= 4 ? true : undefined;
    },
    { timeoutMs: 40_000, intervalMs: 100 },
  );
  const o = await get(admin, 'mailboxes', ns, 'dana');
  expect(condition(o, 'IncomingEmailReady')).toMatchObject({ status: 'False', reason: 'ServerUnreachable' });
  expect(condition(o, 'IncomingEmailReady')?.message).toMatch(/transient failure \d+ of 10; retrying at/);
  expect(condition(o, 'Reconciling')?.status).toBe('True');
  expect(condition(o, 'Stalled')).toBeUndefined();
  const seen = [...gaps.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g);
  expect(seen.length).toBeGreaterThanOrEqual(3);
  expect(seen[seen.length - 1]).toBeGreaterThan(seen[0]);

  await dovecot.start();
  const ok = await waitForCondition(admin, 'mailboxes', ns, 'dana', 'Ready', (c) => c.status === 'True', 40_000);
  expect(ok.status.consecutiveTransientFailures).toBe(0);
  expect(ok.status.nextTestTime).toBeUndefined();
}, 120_000);

test('after the budget, TooManyTransientFailures disables the direction until a test is requested', async () => {
  const ns = await setup('budget', { maxTransientFailures: 3, baseMs: 200 });
  await dovecot.stop();
  await create(admin, 'mailboxes', ns, 'dana', mailbox);
  const o = await waitForCondition(
    admin,
    'mailboxes',
    ns,
    'dana',
    'IncomingEmailReady',
    (c) => c.reason === 'TooManyTransientFailures',
    30_000,
  );
  expect(o.status.consecutiveTransientFailures).toBe(3);
  expect(condition(o, 'Stalled')).toMatchObject({ status: 'True', reason: 'TooManyTransientFailures' });
  expect(condition(o, 'IncomingEmailReady')?.message).toMatch(
    /gave up after 3 transient failures.*request a test \(annotation mailsync.dev\/test-requested-at\)/,
  );
  await new Promise((r) => setTimeout(r, 2000));
  expect((await get(admin, 'mailboxes', ns, 'dana')).status.lastTestTime).toBe(o.status.lastTestTime);
  await dovecot.start();
  await mergePatchSpec(admin, 'mailboxes', ns, 'dana', { metadata: { annotations: { 'mailsync.dev/test-requested-at': 'after-outage' } } });
  await waitForCondition(admin, 'mailboxes', ns, 'dana', 'Ready', (c) => c.status === 'True', 20_000);
}, 90_000);
