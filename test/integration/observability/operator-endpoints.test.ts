// /metrics, /healthz and /readyz of real `mailsync operator` processes, two replicas electing a
// leader: both are ready (the standby too), only the leader reports mailboxes and reconciles,
// and when the leader shuts down the standby takes over and starts reporting.
// Runs once the entry point has --metrics-addr (wired in src/cli/operator.ts); skipped before.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../../dev/control-plane.js';
import { waitFor } from '../../../dev/processes.js';
import { freePorts } from '../../support/free-port.js';
import { clientsAs, controlPlaneInfo, create, newNamespace } from '../../support/kube.js';

const ENTRY = path.join(REPO_ROOT, 'dist/src/cli/mailsync.js');
const { stdout: usage } = await promisify(execFile)(process.execPath, [ENTRY, 'operator', '--help']);
const wired = usage.includes('--metrics-addr');

interface Replica {
  child: ChildProcess;
  url: string;
  log: () => string;
  exited: Promise<number | null>;
}
const replicas: Replica[] = [];

function startReplica(ns: string, identity: string, port: number): Replica {
  const child = spawn(
    process.execPath,
    [
      ENTRY,
      'operator',
      '--kubeconfig',
      controlPlaneInfo().kubeconfigs.admin,
      '--namespace',
      ns,
      '--role',
      'controller',
      '--lease-namespace',
      ns,
      '--lease-name',
      'obs',
      '--identity',
      identity,
      `--metrics-addr=127.0.0.1:${port}`,
    ],
    { env: { PATH: process.env.PATH, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const r = {
    child,
    url: `http://127.0.0.1:${port}`,
    log: () => out,
    exited: new Promise<number | null>((resolve) => child.once('exit', resolve)),
  };
  replicas.push(r);
  return r;
}
const get = async (r: Replica, p: string) => {
  const res = await fetch(r.url + p);
  return { status: res.status, body: await res.text() };
};
const mailboxCount = (metrics: string, ns: string) =>
  metrics
    .split('\n')
    .filter((l) => l.startsWith('mailsync_mailboxes{') && l.includes(`namespace="${ns}"`))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

afterAll(async () => {
  for (const r of replicas) if (r.child.exitCode === null) r.child.kill('SIGKILL');
});

(wired ? test : test.skip)(
  'leader and standby are both ready; only the leader reports; the standby takes over',
  async () => {
    const admin = clientsAs('admin');
    const ns = await newNamespace(admin, 'endpoints');
    // A mailbox whose Deployment does not exist: reconciled at once into a failing state.
    await create(admin, 'mailboxes', ns, 'ann', {
      emailAddress: 'ann@example.com',
      owner: { kind: 'User', name: 'ann' },
      deploymentRef: { name: 'missing' },
    });
    const [pa, pb] = await freePorts(2);

    const a = startReplica(ns, 'replica-a', pa);
    await waitFor('replica a to lead', async () => (a.log().includes('"controllers started"') ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    const b = startReplica(ns, 'replica-b', pb);
    await waitFor(
      'replica b to be ready',
      async () => ((await get(b, '/readyz').catch(() => undefined))?.status === 200 ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 100 },
    );

    expect(await get(a, '/readyz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get(b, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(b.log()).not.toContain('"controllers started"');
    await waitFor(
      'the leader to count the mailbox',
      async () => (mailboxCount((await get(a, '/metrics')).body, ns) === 1 ? true : undefined),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const standbyMetrics = (await get(b, '/metrics')).body;
    expect(mailboxCount(standbyMetrics, ns)).toBe(0);
    expect(standbyMetrics).not.toMatch(/^mailsync_reconcile_total\{/m);
    expect(standbyMetrics).toContain('# TYPE mailsync_reconcile_total counter');

    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    await waitFor('replica b to take over', async () => (b.log().includes('"controllers started"') ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    await waitFor(
      'the new leader to count the mailbox',
      async () => (mailboxCount((await get(b, '/metrics')).body, ns) === 1 ? true : undefined),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect((await get(b, '/readyz')).status).toBe(200);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  },
  90_000,
);
