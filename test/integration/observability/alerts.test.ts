// The chart's alerts, tested with `promtool test rules` (promtool built from Go modules, like
// kube-apiserver) on the series a real operator exports: an operator runs against the real API
// server, Dovecot and a webhook CRM in a scenario where some things are broken (a wrong password,
// a CRM that is down, a profile change that fails and pauses its rollout), its /metrics is scraped
// over HTTP, and those very series, labels and values are the input of the rule tests.

import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { REPO_ROOT } from '../../../dev/control-plane.js';
import { waitFor } from '../../../dev/processes.js';
import { startObservabilityServer } from '../../../src/observability/http-server.js';
import { goodMessage } from '../../support/corpus.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { freePorts } from '../../support/free-port.js';
import { one, render } from '../../support/helm.js';
import { clientsAs, condition, create, get, mergePatchSpec, newNamespace, userMailbox, waitForCondition } from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';

const admin = clientsAs('admin');
const CRM = { token: 'alerts-Crm-Token-2468', signingKey: 'alerts-Signing-Key-1357' };
const run = promisify(execFile);
let dovecot: DovecotFixture;
let crm: FakeCrmWebhook;
let op: InProcessOperator;
let dir: string;

interface Rule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Series {
  name: string;
  labels: Record<string, string>;
  /** The sample as scraped: `name{labels}`. */
  selector: string;
  value: number;
}

let ns: string;
let rules: { groups: { name: string; rules: Rule[] }[] };
let scraped: Series[];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mailsync-promtool-'));
  const users = ['amy', 'bob', 'queue', 'mia'];
  dovecot = await startDovecot({ users: users.map((u) => ({ username: u, password: `${u}-Alert-Pass` })) });
  crm = await FakeCrmWebhook.start(CRM);
  ns = await newNamespace(admin, 'alerts');
  const [closed] = await freePorts(1); // nothing listens there
  await createSecret(admin, ns, 'ca', { 'ca.crt': dovecot.caPem });
  await createSecret(admin, ns, 'crm', CRM);
  const deployment = (url: string) => ({
    crm: { type: 'Webhook', url, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    requireApprovedQueues: false,
    incomingFiltering: { users: 'All', queues: 'All' },
    defaults: { serverProfileRef: { name: 'imap' }, outgoing: 'None' },
  });
  await create(admin, 'deployments', ns, 'crm', deployment(crm.url));
  await create(admin, 'deployments', ns, 'down', deployment(`http://127.0.0.1:${closed}`));
  const profile = (port: number) => ({
    serverType: 'IMAP',
    incoming: { server: '127.0.0.1', port, caBundle: { secretRef: { name: 'ca' } }, timeout: '3s' },
    rollout: { batchSize: 10, interval: '1s' },
  });
  await create(admin, 'emailserverprofiles', ns, 'imap', profile(dovecot.ports.imaps));
  await create(admin, 'emailserverprofiles', ns, 'moving', profile(dovecot.ports.imaps));
  for (const u of users)
    await createSecret(admin, ns, `${u}-mail`, { username: u, password: u === 'bob' ? 'not-bobs-Password' : `${u}-Alert-Pass` });
  await create(admin, 'mailboxes', ns, 'amy', userMailbox('amy'));
  await create(admin, 'mailboxes', ns, 'bob', userMailbox('bob'));
  await create(admin, 'mailboxes', ns, 'queue', { ...userMailbox('queue'), owner: { kind: 'Queue', name: 'support' } });
  await create(admin, 'mailboxes', ns, 'mia', userMailbox('mia', { serverProfileRef: { name: 'moving' } }));
  op = await startOperator(admin, ns, { pollIntervalMs: 60_000 });
  for (const u of ['amy', 'queue', 'mia']) await waitForCondition(admin, 'mailboxes', ns, u, 'Ready', (c) => c.status === 'True', 30_000);
  await dovecot.deliver('amy', goodMessage(1, { to: 'amy@example.com', messageId: 'alerts-1@customer.example' }));
  await waitFor('a delivery', async () => (crm.activities().length ? true : undefined));
  // A profile change to a port where nothing listens: the batch fails and the rollout pauses.
  await mergePatchSpec(admin, 'emailserverprofiles', ns, 'moving', { spec: { incoming: { port: closed } } });
  await waitForCondition(
    admin,
    'emailserverprofiles',
    ns,
    'moving',
    'RolloutPaused',
    (c) => c.reason === 'FailureThresholdReached',
    60_000,
  );
  await waitForCondition(admin, 'mailboxes', ns, 'bob', 'Stalled', (c) => c.reason === 'AuthenticationFailed');
  await waitForCondition(admin, 'deployments', ns, 'down', 'Ready', (c) => c.reason === 'CRMUnreachable');
  expect(condition(await get(admin, 'mailboxes', ns, 'mia'), 'Reconciling')?.status).toBe('True');

  // A real scrape of /metrics, as Prometheus does it.
  const server = await startObservabilityServer({ address: { host: '127.0.0.1', port: 0 }, metrics: op.metrics });
  try {
    scraped = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
  } finally {
    await server.close(0);
  }
  const rendered = one(await render({ apiVersions: ['monitoring.coreos.com/v1/PrometheusRule'] }), 'PrometheusRule');
  rules = rendered.spec;
  await writeFile(path.join(dir, 'rules.yaml'), yaml.dump(rules));
}, 180_000);

afterAll(async () => {
  await op?.stop();
  await dovecot?.cleanup();
  await crm?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The samples of a Prometheus text exposition. */
function parseExposition(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    out.push({ name: m[1], labels, selector: `${m[1]}${m[2] ?? ''}`, value: Number(m[3]) });
  }
  return out;
}

const allRules = () => rules.groups.flatMap((g) => g.rules);
const metricsOf = (expr: string) => [...new Set([...expr.matchAll(/\b(mailsync_[a-z_]+)\b/g)].map((m) => m[1]))];
const labelsOf = (expr: string) => [
  ...new Set(
    [...expr.matchAll(/\bby \(([^)]*)\)/g)]
      .flatMap((m) => m[1].split(',').map((l) => l.trim()))
      .concat([...expr.matchAll(/(\w+)\s*(?:=~|!=|=)\s*"/g)].map((m) => m[1])),
  ),
];

test('the shipped alerts use only metrics and labels a real operator exports', () => {
  expect(allRules().map((r) => r.alert)).toEqual([
    'MailsyncProfileMailboxesFailing',
    'MailsyncMailboxDisabled',
    'MailsyncSyncLagHigh',
    'MailsyncCRMUnreachable',
    'MailsyncRolloutPaused',
  ]);
  const problems: string[] = [];
  for (const r of allRules()) {
    const series = metricsOf(r.expr).map((name) => {
      const found = scraped.filter((s) => s.name === name && (s.labels.namespace ?? ns) === ns);
      if (!found.length) problems.push(`${r.alert}: no series ${name} in the scrape`);
      return found;
    });
    for (const label of labelsOf(r.expr)) {
      if (!series.some((list) => list.some((s) => label in s.labels)))
        problems.push(`${r.alert}: label ${label} is on none of its metrics`);
    }
  }
  expect(problems).toEqual([]);
  // Every alert can be routed by tenant.
  for (const r of allRules()) expect(r.expr).toMatch(/by \(namespace/);
});

/** An alert as promtool expects it: labels of the series plus the rule's, annotations rendered. */
function expected(alert: string, labels: Record<string, string>) {
  const rule = allRules().find((r) => r.alert === alert)!;
  const all = { ...labels, ...rule.labels };
  const annotations = Object.fromEntries(
    Object.entries(rule.annotations ?? {}).map(([k, v]) => [k, v.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => all[l] ?? '')]),
  );
  return { exp_labels: all, exp_annotations: annotations };
}

async function promtool(tests: unknown[]): Promise<void> {
  const file = path.join(dir, `test-${Date.now()}.yaml`);
  await writeFile(file, yaml.dump({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }, { lineWidth: -1 }));
  const bin = execFileSync(path.join(REPO_ROOT, 'hack', 'build-promtool.sh'), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  try {
    await run(bin, ['test', 'rules', file], { cwd: dir });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`promtool test rules failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
}

const inputOf = (names: string[], values: (s: Series) => string) =>
  scraped.filter((s) => names.includes(s.name)).map((s) => ({ series: s.selector, values: values(s) }));

test('promtool: on the scraped series as they are, exactly the alerts of what is broken fire', async () => {
  // The state the operator reported, held for 40 minutes: a gauge keeps its value, a counter stays flat.
  const input = inputOf(
    ['mailsync_mailboxes', 'mailsync_crm_connected', 'mailsync_rollout_paused', 'mailsync_sync_latency_seconds_bucket'],
    (s) => `${s.value}x40`,
  );
  const alerts = (alertname: string, exp: ReturnType<typeof expected>[]) => ({ eval_time: '30m', alertname, exp_alerts: exp });
  await promtool([
    {
      interval: '1m',
      input_series: input,
      alert_rule_test: [
        // "moving": its only mailbox failed the test of the change (100%); "imap": 1 of 3 (bob).
        alerts('MailsyncProfileMailboxesFailing', [expected('MailsyncProfileMailboxesFailing', { namespace: ns, profile: 'moving' })]),
        alerts('MailsyncMailboxDisabled', [expected('MailsyncMailboxDisabled', { namespace: ns, profile: 'imap', owner_kind: 'User' })]),
        alerts('MailsyncCRMUnreachable', [expected('MailsyncCRMUnreachable', { namespace: ns, deployment: 'down' })]),
        alerts('MailsyncRolloutPaused', [expected('MailsyncRolloutPaused', { namespace: ns, profile: 'moving' })]),
        // One message in well under a second, long ago: no lag.
        alerts('MailsyncSyncLagHigh', []),
      ],
    },
  ]);
}, 120_000);

test('promtool: sync lag on the scraped latency series fires above the threshold only', async () => {
  const buckets = scraped.filter((s) => s.name === 'mailsync_sync_latency_seconds_bucket' && s.labels.namespace === ns);
  expect(buckets.length).toBeGreaterThan(5);
  const { le: _le, ...group } = buckets[0].labels;
  // Ten deliveries a minute: slow ones only reach the +Inf bucket (over 300 s), fast ones every bucket.
  const slow = (s: Series) => (s.labels.le === '+Inf' ? '0+10x40' : '0x40');
  const fast = () => '0+10x40';
  const lag = (values: (s: Series) => string) => ({
    interval: '1m',
    input_series: buckets.map((s) => ({ series: s.selector, values: values(s) })),
    alert_rule_test: [
      { eval_time: '30m', alertname: 'MailsyncSyncLagHigh', exp_alerts: values === slow ? [expected('MailsyncSyncLagHigh', group)] : [] },
    ],
  });
  await promtool([lag(slow), lag(fast)]);
}, 120_000);
