// Exactly once into the CRM across crashes: a 5,000-message ingest while the worker process is
// killed with SIGKILL at random moments, at least 20 times. The CRM runs in its own process so it
// survives; afterwards it must hold exactly 5,000 activities, each created once.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../../dev/control-plane.js';
import { waitFor } from '../../../dev/processes.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { deliverMany } from '../../support/bulk.js';
import { goodMessage } from '../../support/corpus.js';
import { clientsAs, controlPlaneInfo, create, get, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { spawnOperator, startManager, type OperatorProcess } from '../../support/operator.js';
import type { Manager } from '../../../src/controllers/manager.js';

const TOTAL = Number(process.env.CRASH_TEST_MESSAGES ?? 5000);
const KILLS = Number(process.env.CRASH_TEST_KILLS ?? 20);
const info = controlPlaneInfo();
const admin = clientsAs('admin', info);
const CRM = { token: 'crash-Crm-Token-000111', signingKey: 'crash-Signing-Key-222333' };
let dovecot: DovecotFixture;
const managers: Manager[] = [];
let crmProc: ReturnType<typeof spawn>;
let crmUrl: string;
const workers: OperatorProcess[] = [];

async function crmStats(): Promise<{ created: number; duplicates: number }> {
  return (await (await fetch(`${crmUrl}/_test/stats`)).json()) as { created: number; duplicates: number };
}

beforeAll(async () => {
  dovecot = await startDovecot({
    users: ['crash', 'two', 'three', 'k1', 'k2', 'k3'].map((u) => ({ username: u, password: `${u}-Imap-Pass` })),
  });
  crmProc = spawn(process.execPath, [path.join(REPO_ROOT, 'dist/test/support/fake-crm-webhook.js')], {
    env: { ...process.env, PORT: '0', TOKEN: CRM.token, SIGNING_KEY: CRM.signingKey },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  crmUrl = await new Promise<string>((resolve) =>
    crmProc.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { url: string }).url)),
  );
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
  for (const m of managers) await m.stop();
  crmProc?.kill('SIGKILL');
  await dovecot?.cleanup();
});

async function setup(prefix: string, users: string[]): Promise<string> {
  const ns = await newNamespace(admin, prefix);
  await createSecret(admin, ns, 'ca', { 'ca.crt': dovecot.caPem });
  await createSecret(admin, ns, 'crm', CRM);
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: crmUrl, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    incomingFiltering: { users: 'All' },
    defaults: { outgoing: 'None' },
  });
  await create(admin, 'emailserverprofiles', ns, 'imap', {
    serverType: 'IMAP',
    incoming: { server: '127.0.0.1', port: dovecot.ports.imaps, caBundle: { secretRef: { name: 'ca' } } },
  });
  for (const u of users) {
    await createSecret(admin, ns, `${u}-mail`, { username: u, password: `${u}-Imap-Pass` });
    await create(admin, 'mailboxes', ns, u, {
      emailAddress: `${u}@example.com`,
      owner: { kind: 'User', name: u },
      deploymentRef: { name: 'crm' },
      serverProfileRef: { name: 'imap' },
      credentialsSecretRef: { name: `${u}-mail` },
    });
  }
  managers.push(await startManager(admin, ns));
  for (const u of users) await waitForCondition(admin, 'mailboxes', ns, u, 'Ready', (c) => c.status === 'True');
  return ns;
}

const workerArgs = (ns: string, identity: string, extra: string[] = []) => [
  '--role=worker',
  '--kubeconfig',
  info.kubeconfigs.admin,
  '--namespace',
  ns,
  '--lease-namespace',
  ns,
  '--identity',
  identity,
  '--shards',
  '4',
  '--poll-interval',
  '2s',
  ...extra,
];
// Every other life of the crashing worker parses in a pool of threads (the default on machines
// with more than 2 cores), so some kills also end parses in flight on other threads.
const POOLED = ['--parser-threads', '2'];

test(`SIGKILL ${KILLS} times during a ${TOTAL}-message ingest: 0 lost, 0 duplicated`, async () => {
  await deliverMany(dovecot, 'crash', TOTAL, (i) =>
    goodMessage(i, { to: 'crash@example.com', size: 3500, messageId: `crash-${i}@customer.example` }),
  );
  const ns = await setup('crash', ['crash']);
  // The restarted worker keeps its identity, as a StatefulSet pod does, so it re-takes its own
  // shard Leases at once instead of waiting for them to expire.
  let kills = 0;
  while (kills < KILLS) {
    const w = spawnOperator(workerArgs(ns, 'crash-worker', kills % 2 ? POOLED : []));
    workers.push(w);
    await w.waitForLog((l) => l.msg === 'sync started', 60_000);
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
    await w.kill('SIGKILL');
    kills++;
  }
  const before = (await crmStats()).created;
  expect(before).toBeLessThan(TOTAL); // the kills really interrupted the ingest
  const last = spawnOperator(workerArgs(ns, 'crash-worker', POOLED));
  workers.push(last);
  await waitFor('all activities', async () => ((await crmStats()).created >= TOTAL ? true : undefined), {
    timeoutMs: 120_000,
    intervalMs: 500,
  });
  await new Promise((r) => setTimeout(r, 2000)); // anything extra would show up now
  const { activities } = (await (await fetch(`${crmUrl}/_test/activities`)).json()) as { activities: { messageId: string }[] };
  const ids = new Set(activities.map((a) => a.messageId));
  expect(activities.length).toBe(TOTAL);
  expect(ids.size).toBe(TOTAL);
  for (let i = 0; i < TOTAL; i++) if (!ids.has(`crash-${i}@customer.example`)) throw new Error(`lost crash-${i}`);
  const stats = await crmStats();
  expect(stats.created).toBe(TOTAL);
  // Redeliveries after a crash are expected (at-least-once); the CRM's idempotency absorbed them.
  console.log(`crash test: ${kills} kills, ${stats.duplicates} redeliveries absorbed, ${before} delivered before the last start`);
  await waitFor('checkpoint', async () =>
    (await get(admin, 'mailboxes', ns, 'crash')).status?.counts?.received !== undefined ? true : undefined,
  );
}, 600_000);

test('two workers, one killed: its mailboxes resume on the other, nothing lost or duplicated', async () => {
  const users = ['two', 'three'];
  const ns = await setup('twoworkers', users);
  const a = spawnOperator(workerArgs(ns, 'worker-a'));
  const b = spawnOperator(workerArgs(ns, 'worker-b'));
  workers.push(a, b);
  await a.waitForLog((l) => l.msg === 'sync worker started');
  await b.waitForLog((l) => l.msg === 'sync worker started');
  const createdBefore = (await crmStats()).created;
  // Let the shards settle (each worker takes its fair share), then find who syncs "two" and kill
  // exactly that worker, whichever shard the mailbox hashed to.
  await new Promise((r) => setTimeout(r, 4000));
  const syncsTwo = (w: OperatorProcess) => {
    const started = w.lines.filter((l) => l.mailbox === 'two' && (l.msg === 'sync started' || l.msg === 'sync stopped'));
    return started.length > 0 && started[started.length - 1].msg === 'sync started';
  };
  const owner = await waitFor('an owner of mailbox two', async () => (syncsTwo(a) ? a : syncsTwo(b) ? b : undefined), {
    timeoutMs: 30_000,
  });
  const other = owner === a ? b : a;
  await owner.kill('SIGKILL');
  await deliverMany(dovecot, 'two', 200, (i) => goodMessage(i, { to: 'two@example.com', messageId: `two-${i}@customer.example` }));
  await waitFor(
    'the other worker delivers',
    async () => {
      const { activities: acts } = (await (await fetch(`${crmUrl}/_test/activities`)).json()) as { activities: { messageId: string }[] };
      return acts.filter((x) => x.messageId.startsWith('two-')).length === 200 ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  expect(syncsTwo(other)).toBe(true); // the survivor took the mailbox over
  const stats = await crmStats();
  expect(stats.created - createdBefore).toBe(200);
}, 180_000);

// status.counts.received is saved together with the checkpoint it counts up to, so a SIGKILL
// loses both or neither: whatever is redelivered after a crash counts once, and the counter ends
// equal to what the CRM holds for each mailbox.
test("after 5 SIGKILLs during an ingest, each mailbox's received counter equals what the CRM holds", async () => {
  const users = ['k1', 'k2', 'k3'];
  const PER_MAILBOX = 800;
  for (const u of users)
    await deliverMany(dovecot, u, PER_MAILBOX, (i) =>
      goodMessage(i, { to: `${u}@example.com`, size: 3500, messageId: `${u}-${i}@customer.example` }),
    );
  const ns = await setup('counts', users);
  const held = async (u: string) =>
    ((await (await fetch(`${crmUrl}/_test/activities?mailbox=${encodeURIComponent(`${ns}/${u}`)}`)).json()) as { activities: unknown[] })
      .activities.length;
  for (let kills = 0; kills < 5; kills++) {
    const w = spawnOperator(workerArgs(ns, 'counts-worker'));
    workers.push(w);
    await w.waitForLog((l) => l.msg === 'sync started', 60_000);
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
    await w.kill('SIGKILL');
  }
  const before = (await Promise.all(users.map(held))).reduce((a, b) => a + b, 0);
  expect(before).toBeLessThan(users.length * PER_MAILBOX); // the kills really interrupted the ingest
  workers.push(spawnOperator(workerArgs(ns, 'counts-worker')));
  for (const u of users)
    await waitFor(`${u}: all in the CRM`, async () => ((await held(u)) === PER_MAILBOX ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 500,
    });
  const counted = async () => Promise.all(users.map(async (u) => (await get(admin, 'mailboxes', ns, u)).status?.counts?.received));
  let last: unknown[] = [];
  try {
    await waitFor('the counters', async () => ((last = await counted()).every((n) => n === PER_MAILBOX) ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
  } finally {
    console.log(
      `counts test: ${before} delivered before the last start; counters ${JSON.stringify(last)}, CRM ${JSON.stringify(await Promise.all(users.map(held)))}`,
    );
  }
  expect(await counted()).toEqual(await Promise.all(users.map(held)));
}, 300_000);
