// `make bench-push`: new mail → CRM activity for Exchange mailboxes woken by notifications, EWS
// streaming notifications (Exchange Server) and Microsoft Graph change notifications (Exchange
// Online), against the protocol fakes, which emit notifications as the services do. The operator runs
// in this process (its controllers and sync worker, as the integration tests run it) against a
// private API server, with the safety resync 10 minutes away, so only a notification can bring a
// message in within the run. The fakes deliver notifications without the services' own delay
// (Graph documents up to a few seconds, EWS streaming about as long): that comes on top.
//
// Samples are added at fixed times (every SAMPLE_EVERY_MS, round robin over the mailboxes), and
// latencies read afterwards from when the CRM created each activity.
//
// BENCH_PUSH_SAMPLES (per kind, default 100), BENCH_PUSH_MAILBOXES (per kind, default 10).

import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlPlane } from '../dev/control-plane.js';
import { installCrds } from '../dev/crds.js';
import { waitFor } from '../dev/processes.js';
import { createClients, loadKubeConfig, type KubeClients } from '../src/kube/client.js';
import { goodMessage } from '../test/support/corpus.js';
import { FakeCrmWebhook } from '../test/support/fake-crm-webhook.js';
import { FakeEws } from '../test/support/fake-ews.js';
import { FakeGraph } from '../test/support/fake-graph.js';
import { FakeOAuth } from '../test/support/fake-oauth.js';
import { create, get, newNamespace } from '../test/support/kube.js';
import { createSecret } from '../test/support/mail-env.js';
import { startOperator, type InProcessOperator } from '../test/support/operator.js';
import { percentile } from './percentile.js';

const SAMPLES = Number(process.env.BENCH_PUSH_SAMPLES ?? 100);
const MAILBOXES = Number(process.env.BENCH_PUSH_MAILBOXES ?? 10);
const SAMPLE_EVERY_MS = 200;
const LATE_MS = 30_000;
const CRM = { token: 'push-Bench-Crm-Token-01', signingKey: 'push-Bench-Signing-Key-02' };
const SVC = { username: 'CONTOSO\\svc-bench', password: 'svc-Bench-Password-3', canImpersonate: true };
const APP = { tenantId: 'contoso-tenant', clientId: 'mailsync-bench-app', clientSecret: 'graph-Bench-Secret-77' };

const addresses = (kind: string) => Array.from({ length: MAILBOXES }, (_, i) => `${kind}${i}@contoso.example`);

interface Kind {
  name: string;
  method: string;
  mailboxes: string[];
  add: (mailbox: string, mime: string) => void;
  profile: (ns: string) => Promise<void>;
  operator: Parameters<typeof startOperator>[2];
}

async function setUp(admin: KubeClients, crm: FakeCrmWebhook, kind: Kind): Promise<{ ns: string; op: InProcessOperator }> {
  const ns = await newNamespace(admin, `push-${kind.name.toLowerCase()}`);
  await createSecret(admin, ns, 'crm', CRM);
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    incomingFiltering: { users: 'All' },
    defaults: { outgoing: 'None' },
  });
  await kind.profile(ns);
  const op = await startOperator(admin, ns, kind.operator);
  for (const address of kind.mailboxes)
    await create(admin, 'mailboxes', ns, address.split('@')[0], {
      emailAddress: address,
      owner: { kind: 'User', name: address },
      deploymentRef: { name: 'crm' },
      serverProfileRef: { name: 'exchange' },
    });
  for (const address of kind.mailboxes)
    await waitFor(
      `${address} notified by ${kind.method}`,
      async () =>
        (await get(admin, 'mailboxes', ns, address.split('@')[0])).status?.sync?.incoming?.notifications?.method === kind.method
          ? true
          : undefined,
      { timeoutMs: 60_000 },
    );
  return { ns, op };
}

/** Adds SAMPLES messages at fixed times, then reads when the CRM created each. */
async function measure(crm: FakeCrmWebhook, kind: Kind): Promise<{ latencies: number[]; late: number }> {
  const sent = new Map<string, number>();
  const start = Date.now() + 1_000;
  for (let s = 0; s < SAMPLES; s++) {
    await sleep(Math.max(0, start + s * SAMPLE_EVERY_MS - Date.now()));
    const id = `push-${kind.name}-${s}@customer.example`;
    sent.set(id, Date.now());
    kind.add(kind.mailboxes[s % kind.mailboxes.length], goodMessage(s, { messageId: id }));
  }
  await sleep(LATE_MS);
  const created = new Map(crm.activities().map((a) => [a.messageId, Date.parse(a.createdAt)]));
  const latencies = [...sent].map(([id, at]) => Math.min(LATE_MS, (created.get(id) ?? Infinity) - at));
  return { latencies, late: latencies.filter((ms) => ms >= LATE_MS).length };
}

async function main(): Promise<void> {
  console.log(
    `mailsync-operator push-notification latency (${new Date().toISOString()}, Node ${process.version}, ${os.availableParallelism()} cores, loopback)`,
  );
  console.log(`${SAMPLES} messages per kind, one every ${SAMPLE_EVERY_MS} ms over ${MAILBOXES} mailboxes; safety resync every 10 min\n`);
  const cp = await ControlPlane.start();
  const kc = loadKubeConfig(cp.info.kubeconfigs.admin);
  await installCrds(kc);
  const admin = createClients(kc);
  const crm = await FakeCrmWebhook.start(CRM);
  const oauth = await FakeOAuth.start({ clients: [APP] });
  const ews = await FakeEws.start({ accounts: [SVC], mailboxes: addresses('ews') });
  const graph = await FakeGraph.start(oauth, addresses('graph'));
  const operators: InProcessOperator[] = [];
  const kinds: Kind[] = [
    {
      name: 'EWS',
      method: 'EWSStreaming',
      mailboxes: addresses('ews'),
      add: (m, mime) => void ews.addMessage(m, mime),
      profile: async (ns) => {
        await createSecret(admin, ns, 'ca', { 'ca.crt': ews.caPem });
        await createSecret(admin, ns, 'svc', { username: SVC.username, password: SVC.password });
        await create(admin, 'emailserverprofiles', ns, 'exchange', {
          serverType: 'ExchangeServer',
          incoming: {
            url: ews.ewsUrl,
            credentials: { source: 'Profile', secretRef: { name: 'svc' }, impersonation: true },
            caBundle: { secretRef: { name: 'ca' } },
          },
        });
      },
      operator: { pollIntervalMs: 10 * 60_000 },
    },
    {
      name: 'Graph',
      method: 'GraphChangeNotifications',
      mailboxes: addresses('graph'),
      add: (m, mime) => void graph.addMessage(m, mime),
      profile: async (ns) => {
        await createSecret(admin, ns, 'ca', { 'ca.crt': [oauth.caPem, graph.caPem].join('\n') });
        await createSecret(admin, ns, 'app', { clientSecret: APP.clientSecret });
        await create(admin, 'emailserverprofiles', ns, 'exchange', {
          serverType: 'ExchangeOnline',
          incoming: {
            url: graph.baseUrl,
            authentication: 'OAuth2',
            oauth: { tenantId: APP.tenantId, clientId: APP.clientId, authorityURL: oauth.authorityUrl },
            credentials: { source: 'Profile', secretRef: { name: 'app' } },
            caBundle: { secretRef: { name: 'ca' } },
          },
        });
      },
      operator: { pollIntervalMs: 10 * 60_000, graphEndpoint: true },
    },
  ];
  console.log('| measure | mailsync | baseline / Dynamics 365 | target |');
  console.log('|---|---|---|---|');
  try {
    for (const kind of kinds) {
      const { op } = await setUp(admin, crm, kind);
      operators.push(op);
      const r = await measure(crm, kind);
      console.log(
        `| new mail → CRM activity, ${kind.name} (${kind.method}), ${SAMPLES} messages: p50, p99 | ${percentile(r.latencies, 50)} ms, ${percentile(r.latencies, 99)} ms${r.late ? ` (${r.late} not in the CRM within ${LATE_MS / 1000} s)` : ''} | polled: up to one interval (5–15 min); Dynamics: 5–15 min cycles | p99 ≤ 2 s |`,
      );
    }
  } finally {
    for (const op of operators) await op.stop();
    await Promise.all([ews.close(), graph.close(), oauth.close(), crm.close()]);
    await cp.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
