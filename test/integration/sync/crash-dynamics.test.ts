// Exactly once into Dynamics 365 across crashes: the SIGKILL test of crash.test.ts with a
// Dynamics365 Deployment. The Dataverse fake runs in its own process, so it survives the kills;
// afterwards it must hold exactly 5,000 incoming email activities for the mailbox, each once.
// Every delivery is a change set, so a kill never leaves half an email behind either.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { Agent, request } from 'undici';
import { REPO_ROOT } from '../../../dev/control-plane.js';
import { waitFor } from '../../../dev/processes.js';
import type { Manager } from '../../../src/controllers/manager.js';
import { deliverMany } from '../../support/bulk.js';
import { goodMessage } from '../../support/corpus.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { clientsAs, controlPlaneInfo, create, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { spawnOperator, startManager, type OperatorProcess } from '../../support/operator.js';

const TOTAL = Number(process.env.CRASH_TEST_MESSAGES ?? 5000);
const KILLS = Number(process.env.CRASH_TEST_KILLS ?? 20);
const info = controlPlaneInfo();
const admin = clientsAs('admin', info);
const CLIENT_SECRET = 'dyn~Crash.Client-Secret_0123456789';
let dovecot: DovecotFixture;
let manager: Manager | undefined;
let dvProc: ReturnType<typeof spawn>;
let dv: { orgUrl: string; authorityUrl: string; caPem: string; tenantId: string; clientId: string };
const workers: OperatorProcess[] = [];

interface Stats {
  httpRequests: number;
  incoming: number;
}

beforeAll(async () => {
  dovecot = await startDovecot({ users: [{ username: 'dcrash', password: 'dcrash-Imap-Pass' }] });
  dvProc = spawn(process.execPath, [path.join(REPO_ROOT, 'dist/test/support/fake-crm-dynamics.js')], {
    // Each Dataverse operation takes 5 ms (a real environment takes tens): the ingest then lasts
    // longer than the twenty lives, so every kill lands in it however fast the operator gets.
    env: { ...process.env, CLIENT_SECRET, USERS: 'dcrash@example.com', OPERATION_MS: '5' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  dv = await new Promise((resolve) => dvProc.stdout!.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as typeof dv)));
}, 60_000);
afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
  await manager?.stop();
  dvProc?.kill('SIGKILL');
  await agent?.close();
  await dovecot?.cleanup();
});

/** GET on the fake's test endpoints (HTTPS with the test CA). */
async function testGet<T>(p: string): Promise<T> {
  const res = await request(`${dv.orgUrl}${p}`, { dispatcher: (agent ??= new Agent({ connect: { ca: dv.caPem } })) });
  return (await res.body.json()) as T;
}
let agent: Agent | undefined;

test(`SIGKILL ${KILLS} times during a ${TOTAL}-message ingest into Dynamics 365: exactly ${TOTAL} activities`, async () => {
  await deliverMany(dovecot, 'dcrash', TOTAL, (i) =>
    goodMessage(i, { to: 'dcrash@example.com', size: 3500, messageId: `dcrash-${i}@customer.example` }),
  );
  const ns = await newNamespace(admin, 'dcrash');
  await createSecret(admin, ns, 'ca', { 'ca.crt': `${dovecot.caPem}\n${dv.caPem}` });
  await createSecret(admin, ns, 'dynamics', { clientSecret: CLIENT_SECRET });
  await create(admin, 'deployments', ns, 'contoso', {
    crm: {
      type: 'Dynamics365',
      url: dv.orgUrl,
      oauth: { tenantId: dv.tenantId, clientId: dv.clientId, authorityURL: dv.authorityUrl },
      credentialsSecretRef: { name: 'dynamics' },
      caBundle: { secretRef: { name: 'ca' } },
    },
    requireApprovedUsers: false,
    incomingFiltering: { users: 'All' },
    defaults: { outgoing: 'None' },
  });
  await create(admin, 'emailserverprofiles', ns, 'imap', {
    serverType: 'IMAP',
    incoming: { server: '127.0.0.1', port: dovecot.ports.imaps, caBundle: { secretRef: { name: 'ca' } } },
  });
  await createSecret(admin, ns, 'dcrash-mail', { username: 'dcrash', password: 'dcrash-Imap-Pass' });
  await create(admin, 'mailboxes', ns, 'dcrash', {
    emailAddress: 'dcrash@example.com',
    owner: { kind: 'User', name: 'dcrash' },
    deploymentRef: { name: 'contoso' },
    serverProfileRef: { name: 'imap' },
    credentialsSecretRef: { name: 'dcrash-mail' },
  });
  manager = await startManager(admin, ns);
  await waitForCondition(admin, 'mailboxes', ns, 'dcrash', 'Ready', (c) => c.status === 'True', 60_000);

  const args = (extra: string[] = []) => [
    '--role=worker',
    '--kubeconfig',
    info.kubeconfigs.admin,
    '--namespace',
    ns,
    '--lease-namespace',
    ns,
    '--identity',
    'dcrash-worker',
    '--shards',
    '4',
    '--poll-interval',
    '2s',
    ...extra,
  ];
  const held = async () => (await testGet<Stats>('/_test/stats')).incoming;
  let kills = 0;
  while (kills < KILLS) {
    const w = spawnOperator(args(kills % 2 ? ['--parser-threads', '2'] : []));
    workers.push(w);
    await w.waitForLog((l) => l.msg === 'sync started', 60_000);
    // Kill while emails are being written: once this life has delivered some, at a random moment.
    const start = await held();
    await waitFor('progress', async () => ((await held()) > start ? true : undefined), { timeoutMs: 120_000, intervalMs: 50 });
    await new Promise((r) => setTimeout(r, Math.random() * 400));
    await w.kill('SIGKILL');
    kills++;
  }
  const before = await held();
  expect(before).toBeLessThan(TOTAL); // the kills really interrupted the ingest
  workers.push(spawnOperator(args(['--parser-threads', '2'])));
  await waitFor('all activities', async () => ((await held()) >= TOTAL ? true : undefined), { timeoutMs: 180_000, intervalMs: 1000 });
  await new Promise((r) => setTimeout(r, 2000)); // anything extra would show up now
  const { emails } = await testGet<{ emails: { messageid: string; statuscode: number }[] }>(
    '/_test/emails?submittedby=dcrash%40example.com',
  );
  expect(emails.length).toBe(TOTAL);
  const ids = new Set(emails.map((e) => e.messageid));
  expect(ids.size).toBe(TOTAL);
  for (let i = 0; i < TOTAL; i++) if (!ids.has(`<dcrash-${i}@customer.example>`)) throw new Error(`lost dcrash-${i}`);
  // Every one complete: created and closed as Received in one change set.
  expect(emails.filter((e) => e.statuscode !== 4)).toEqual([]);
  const { httpRequests } = await testGet<Stats>('/_test/stats');
  console.log(
    `Dynamics crash test: ${kills} kills, each after some progress, ${before} delivered before the last start, ${httpRequests} HTTP requests to Dataverse in all`,
  );
}, 900_000);
