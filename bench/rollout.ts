// `node dist/bench/rollout.js`: how long 1,000 mailboxes take with the default spec.rollout
// (batchSize 50, maxConcurrentTests 10, interval 30s, failureThreshold 50%), beside Dynamics 365's
// migration guidance: test and enable at most 200 mailboxes at a time, every 5 hours, so 1,000
// mailboxes take 25 hours.
//   1. Test and Enable of 1,000 new mailboxes (IMAP login and INBOX, SMTP authentication), from
//      the controllers' start to every mailbox Enabled.
//   2. A change to their profile rolled out to all 1,000 running mailboxes: batches of 50, each
//      tested before it switches, 30 s apart (about ten minutes, mostly the intervals; --quick
//      skips it).
// Everything runs on this machine: a private kube-apiserver and etcd, Dovecot (IMAPS),
// smtp-server (STARTTLS), and the controllers in this process. BENCH_ROLLOUT_MAILBOXES changes
// the count.
//
// The controllers start before the Mailboxes are created, as with `kubectl apply` of 1,000
// mailboxes to a running operator.

import { performance } from 'node:perf_hooks';
import { ControlPlane } from '../dev/control-plane.js';
import { installCrds } from '../dev/crds.js';
import { GROUP, VERSION } from '../src/api/schema.js';
import { ConnectMailboxTesting } from '../src/connect/mailbox-tester.js';
import { Manager } from '../src/controllers/manager.js';
import { rolloutSettings } from '../src/controllers/rollout.js';
import { createClients, loadKubeConfig, mergePatch, type KubeClients } from '../src/kube/client.js';
import { createLogger } from '../src/log/logger.js';
import { startDovecot } from '../test/support/dovecot.js';
import { startSmtpReceiver } from '../test/support/smtp-receiver.js';
import { pool } from './pool.js';

const N = Number(process.env.BENCH_ROLLOUT_MAILBOXES ?? 1000);
const QUICK = process.argv.includes('--quick');
const NS = 'bench-rollout';
// Dynamics 365: "test and enable at most 200 mailboxes at a time, every 5 hours".
const GUIDANCE_MS = Math.ceil(N / 200) * 5 * 3_600_000;

const password = (i: number) => `bench-${i}-Mailbox-Pass`;
const fmt = (ms: number) =>
  ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
const hours = (ms: number) => `${ms / 3_600_000} h`;
const row = (measure: string, value: string, guidance: string, ratio: string) =>
  console.log(`| ${measure} | ${value} | ${guidance} | ${ratio} |`);

const create = (c: KubeClients, plural: string, name: string, spec: object) =>
  c.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: NS,
    plural,
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: { emailserverprofiles: 'EmailServerProfile', mailboxes: 'Mailbox', deployments: 'Deployment' }[plural],
      metadata: { name, namespace: NS },
      spec,
    },
  });
const secret = (c: KubeClients, name: string, data: Record<string, string>) =>
  c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name }, stringData: data } });
const profileStatus = async (c: KubeClients) =>
  (
    (await c.custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: 'emailserverprofiles',
      name: 'imap',
    })) as { status?: any }
  ).status ?? {};

/** Polls the profile until every mailbox runs `revision` (any revision when undefined) and is enabled. */
async function untilAllOn(c: KubeClients, revision?: string): Promise<any> {
  for (;;) {
    const s = await profileStatus(c);
    const m = s.mailboxes ?? {};
    if (s.revision && (!revision || s.revision === revision) && m.total === N && m.updated === N && m.enabled === N) return s;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  console.log(
    `mailsync-operator rollout benchmark (${new Date().toISOString()}, Node ${process.version}, ${N} mailboxes, default spec.rollout, loopback)\n`,
  );
  const cp = await ControlPlane.start();
  const users = Array.from({ length: N }, (_, i) => ({ username: `u${i}`, password: password(i) }));
  const dovecot = await startDovecot({ users });
  const smtp = await startSmtpReceiver({ users });
  let manager: Manager | undefined;
  const cleanup = async () => {
    await manager?.stop();
    await dovecot.cleanup();
    await smtp.close();
    await cp.stop();
  };
  // Ctrl-C during the ten-minute rollout leaves no Dovecot or API server behind.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  try {
    const kc = loadKubeConfig(cp.info.kubeconfigs.admin);
    await installCrds(kc);
    const c = createClients(kc);
    await c.core.createNamespace({ body: { metadata: { name: NS } } });
    await secret(c, 'ca', { 'ca.crt': `${dovecot.caPem}\n${smtp.caPem}` });
    await create(c, 'deployments', 'crm', {
      crm: { type: 'Webhook', url: 'https://crm.example.com/hook' },
      requireApprovedUsers: false,
      requireApprovedQueues: false,
      defaults: { serverProfileRef: { name: 'imap' } },
    });
    // No spec.rollout: the API server fills in the defaults.
    await create(c, 'emailserverprofiles', 'imap', {
      serverType: 'IMAP',
      incoming: { server: '127.0.0.1', port: dovecot.ports.imaps, tls: 'Implicit', caBundle: { secretRef: { name: 'ca' } } },
      outgoing: { server: '127.0.0.1', port: smtp.port, tls: 'STARTTLS', caBundle: { secretRef: { name: 'ca' } } },
    });
    await pool([...Array(N).keys()], 16, (i) => secret(c, `mbx-${i}`, { username: `u${i}`, password: password(i) }));
    const { intervalMs, ...defaults } = rolloutSettings({ serverType: 'IMAP' });
    console.log(`spec.rollout: the defaults (${JSON.stringify({ ...defaults, interval: `${intervalMs / 1000}s` })})\n`);
    const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'silent', name: 'bench-rollout' });
    manager = new Manager(c, { namespace: NS, logger, testing: new ConnectMailboxTesting() });
    await manager.start();

    // 1. Test and Enable of new mailboxes, from the first Mailbox created to the last enabled.
    let t = performance.now();
    await pool([...Array(N).keys()], 16, (i) =>
      create(c, 'mailboxes', `mbx-${String(i).padStart(4, '0')}`, {
        emailAddress: `u${i}@example.com`,
        owner: { kind: i % 10 === 0 ? 'Queue' : 'User', name: `owner-${i}` },
        deploymentRef: { name: 'crm' },
        credentialsSecretRef: { name: `mbx-${i}` },
      }),
    );
    const createdMs = performance.now() - t;
    const first = await untilAllOn(c);
    const enableMs = performance.now() - t;
    console.log('| measure | mailsync | Dynamics 365 guidance | ratio |');
    console.log('|---|---|---|---|');
    row(
      `Test and Enable of ${N} new mailboxes (IMAP + SMTP, at most ${manager.slots.peak(`${NS}/imap`)} tests at once; creating them took ${fmt(createdMs)})`,
      fmt(enableMs),
      `${hours(GUIDANCE_MS)} (200 per 5 h)`,
      `${Math.round(GUIDANCE_MS / enableMs).toLocaleString('en')}x faster`,
    );

    // 2. A change rolled out to running mailboxes, batch by batch.
    if (!QUICK) {
      t = performance.now();
      await c.custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: NS,
          plural: 'emailserverprofiles',
          name: 'imap',
          body: { spec: { incoming: { timeout: '20s' } } },
        },
        mergePatch(),
      );
      let revision: string | undefined;
      while (!revision || revision === first.revision) {
        revision = (await profileStatus(c)).revision;
        await new Promise((r) => setTimeout(r, 100));
      }
      const done = await untilAllOn(c, revision);
      const rolloutMs = performance.now() - t;
      row(
        `Rollout of a profile change to ${N} running mailboxes (${done.rollout.batch} batches, each tested before it switches)`,
        fmt(rolloutMs),
        `${hours(GUIDANCE_MS)} (200 per 5 h)`,
        `${Math.round(GUIDANCE_MS / rolloutMs).toLocaleString('en')}x faster`,
      );
    }
    const logins = ((await dovecot.log()).match(/client passdb out: OK/g) ?? []).length;
    console.log(
      `\nLogins at Dovecot: ${logins}; SMTP authentications: ${users.reduce((n, u) => n + smtp.authAttempts(u.username), 0)} (one of each per mailbox and test).`,
    );
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
