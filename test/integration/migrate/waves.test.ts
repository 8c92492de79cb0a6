// An imported organization applied wave by wave, as GitOps would: a small organization whose
// profiles reach real servers (IMAP and POP3 on Dovecot, EWS and Graph on the wire-format fakes),
// imported with --waves, its base patched by a kustomize overlay (the CA bundles and the Graph URL
// of this test's servers, which Dynamics does not know), its Secret stubs filled, then one wave
// directory at a time. The operator runs in the test process with the Dynamics 365 connector
// delivering into the same fake Dataverse environment the configuration was read from.
//
// Every mailbox already holds mail from before its start date: the Deployment's firstSync.since
// (24h before its first successful test), a mailbox's own Process Email Received After, or its
// profile's Process Email From when that is later. None of it may reach the CRM; the mail after it
// must. Then --cutover hands over the Enabled mailboxes in Dataverse, and --rollback restores them.

import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { waitFor } from '../../../dev/processes.js';
import type { Condition } from '../../../src/kube/conditions.js';
import { goodMessage } from '../../support/corpus.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { seedWaveOrganization, type WaveMailbox } from '../../support/dynamics-organizations.js';
import { FakeDynamics } from '../../support/fake-crm-dynamics.js';
import { FakeDataverseConfig } from '../../support/fake-dataverse-config.js';
import { FakeEws } from '../../support/fake-ews.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { clientsAs, condition, controlPlaneInfo, get, newNamespace } from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { bindImportRoles, kubectlApply, readTree, runImport } from '../../support/migrate-env.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';

const admin = clientsAs('admin');
const CLIENT = {
  tenantId: 'fabrikam-tenant',
  clientId: '3c9f5a11-2b2b-4d4d-8e8e-1234567890ab',
  clientSecret: 'waves~Client.Secret_9876543210',
};
const SVC = { username: 'FABRIKAM\\svc-crm', password: 'waves-Ews-Service-Password-1', canImpersonate: true };
const LOGINS: Record<string, { username: string; password: string }> = {
  support: { username: 'support', password: 'waves-Support-Password-2' },
  ann: { username: 'ann', password: 'waves-Ann-Password-3' },
  bob: { username: 'bob', password: 'waves-Bob-Password-4' },
  carl: { username: 'carl', password: 'waves-Carl-Password-5' },
  gus: { username: 'gus', password: 'waves-Gus-Password-6' },
};
const HOUR = 3_600_000;
const now = Date.now();
const dateOnly = (t: number) => new Date(t).toISOString().slice(0, 10);
const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

const MAILBOXES: WaveMailbox[] = [
  { name: 'Support', address: 'support@fabrikam.example', kind: 'Queue', protocol: 'IMAP', login: 'support', approval: 1 },
  { name: 'Sales', address: 'sales@fabrikam.example', kind: 'Queue', protocol: 'Graph', approval: 1 },
  { name: 'Ann', address: 'ann@fabrikam.example', kind: 'User', protocol: 'IMAP', login: 'ann', approval: 1 },
  { name: 'Bob', address: 'bob@fabrikam.example', kind: 'User', protocol: 'POP3', login: 'bob', approval: 1 },
  // His own Process Email Received After (two days ago, a date) replaces the Deployment's 24 hours.
  {
    name: 'Carl',
    address: 'carl@fabrikam.example',
    kind: 'User',
    protocol: 'POP3',
    login: 'carl',
    approval: 1,
    processFrom: dateOnly(now - 48 * HOUR),
  },
  { name: 'Dan', address: 'dan@fabrikam.example', kind: 'User', protocol: 'EWS', approval: 1 },
  { name: 'Erin', address: 'erin@fabrikam.example', kind: 'User', protocol: 'EWS', approval: 1 },
  { name: 'Fay', address: 'fay@fabrikam.example', kind: 'User', protocol: 'Graph', approval: 1 },
  // Still pending approval in Dynamics: imported unapproved, never Enabled, never handed over.
  { name: 'Gus', address: 'gus@fabrikam.example', kind: 'User', protocol: 'IMAP', login: 'gus', approval: 2 },
];
const k8sName = (m: WaveMailbox) => m.address.replace('@', '.');

// The mail each mailbox holds before it is applied: [id, hours ago, reaches the CRM].
const MAIL: Record<string, [string, number, boolean][]> = {
  Support: [
    ['old', 96, false],
    ['recent', 1, true],
  ],
  Sales: [
    ['old', 96, false],
    ['recent', 1, true],
  ],
  Ann: [
    ['old', 96, false],
    ['recent', 1, true],
  ],
  Bob: [
    ['old', 96, false],
    ['recent', 1, true],
  ],
  Carl: [
    ['old', 96, false],
    ['mid', 30, true],
    ['recent', 1, true],
  ],
  // The Exchange profile's Process Email From (12 hours ago) is later than the Deployment's 24 hours.
  Dan: [
    ['old', 96, false],
    ['mid', 18, false],
    ['recent', 1, true],
  ],
  Erin: [
    ['old', 96, false],
    ['recent', 1, true],
  ],
  Fay: [
    ['old', 96, false],
    ['mid', 30, false],
    ['recent', 1, true],
  ],
};
const messageId = (mailbox: string, id: string) => `${id}-${mailbox.toLowerCase()}@customer.example`;

let dovecot: DovecotFixture;
let dv: FakeDynamics;
let config: FakeDataverseConfig;
let ews: FakeEws;
let graph: FakeGraph;
let op: InProcessOperator;
let ns: string;
let work: string;
let out: string;
let ids: Record<string, string>;

beforeAll(async () => {
  dovecot = await startDovecot({ users: Object.values(LOGINS) });
  dv = await FakeDynamics.start({ clients: [CLIENT] });
  config = new FakeDataverseConfig();
  dv.extend(config);
  ews = await FakeEws.start({ accounts: [SVC], mailboxes: ['dan@fabrikam.example', 'erin@fabrikam.example'] });
  graph = await FakeGraph.start(dv.oauth, ['sales@fabrikam.example', 'fay@fabrikam.example']);
  ids = seedWaveOrganization(
    dv,
    config,
    { dovecotImaps: dovecot.ports.imaps, dovecotPop3s: dovecot.ports.pop3s, ewsUrl: ews.ewsUrl, exchangeProcessFrom: iso(now - 12 * HOUR) },
    MAILBOXES,
  );

  // The mail that is there before the migration, each with the time its server received it.
  for (const m of MAILBOXES) {
    for (const [id, hoursAgo] of MAIL[m.name] ?? []) {
      const at = new Date(now - hoursAgo * HOUR);
      const raw = `Received: from mx.customer.example by mail.fabrikam.example; ${at.toUTCString()}\r\n${goodMessage(1, { to: m.address, messageId: messageId(m.name, id), subject: `${id} for ${m.name}` })}`;
      if (m.protocol === 'IMAP' || m.protocol === 'POP3') await dovecot.deliverOffline(m.login!, raw, at);
      else if (m.protocol === 'EWS') ews.addMessage(m.address, raw, at);
      else graph.addMessage(m.address, raw, at);
    }
  }

  ns = await newNamespace(admin, 'waves');
  await bindImportRoles(ns);
  work = await mkdtemp(path.join(os.tmpdir(), 'mailsync-waves-'));
  out = path.join(work, 'fabrikam');
  const ran = await runImport(dv, CLIENT, ['-n', ns, '--out', out, '--waves', '--wave-size', '3', '--dry-run=false']);
  if (ran.code !== 0) throw new Error(`import failed: ${ran.stderr}`);

  // What Dynamics does not know about this test's servers, as an overlay on the import's base.
  await mkdir(path.join(work, 'overlay'));
  const patch = (kind: string, name: string, spec: object) => ({
    apiVersion: 'mailsync.dev/v1alpha1',
    kind,
    metadata: { name, namespace: ns },
    spec,
  });
  const ca = { secretRef: { name: 'test-ca' } };
  await writeFile(
    path.join(work, 'overlay', 'patches.yaml'),
    [
      patch('Deployment', 'fabrikam', { crm: { caBundle: ca } }),
      patch('EmailServerProfile', 'dovecot-imap', { incoming: { caBundle: ca } }),
      patch('EmailServerProfile', 'dovecot-pop3', { incoming: { caBundle: ca } }),
      patch('EmailServerProfile', 'contoso-exchange', { incoming: { caBundle: ca } }),
      patch('EmailServerProfile', 'exchange-online', { incoming: { url: graph.baseUrl, caBundle: ca } }),
    ]
      .map((p) => yaml.dump(p))
      .join('---\n'),
  );
  await writeFile(
    path.join(work, 'overlay', 'kustomization.yaml'),
    yaml.dump({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['../fabrikam/base'],
      patches: [{ path: 'patches.yaml' }],
    }),
  );

  // The Secret stubs, filled in as an administrator would (outside Git), and the test's CA.
  await createSecret(admin, ns, 'test-ca', { 'ca.crt': [dv.caPem, dovecot.caPem].join('\n') });
  const stubs = yaml.loadAll(await readFile(path.join(out, 'secret-stubs.yaml'), 'utf8')).filter(Boolean) as {
    metadata: { name: string };
    stringData: Record<string, string>;
  }[];
  for (const s of stubs) {
    const who = MAILBOXES.find((m) => `${k8sName(m)}-mail` === s.metadata.name);
    const values: Record<string, string> =
      s.stringData.clientSecret !== undefined
        ? { clientSecret: CLIENT.clientSecret }
        : who
          ? LOGINS[who.login!]
          : { username: SVC.username, password: SVC.password };
    expect(Object.keys(values).sort()).toEqual(Object.keys(s.stringData).sort());
    await createSecret(admin, ns, s.metadata.name, values);
  }
  op = await startOperator(admin, ns, { pollIntervalMs: 500, outgoingPollMs: 500 });
}, 240_000);

afterAll(async () => {
  await op?.stop();
  await Promise.all([dv?.close(), ews?.close(), graph?.close(), dovecot?.cleanup()]);
});

type Observed = { spec: any; status?: { conditions?: Condition[]; incomingStart?: { after: string; from: string } } };
const mailbox = (m: WaveMailbox) => get(admin, 'mailboxes', ns, k8sName(m)) as Promise<Observed>;
const delivered = (mailbox: string, id: string) => dv.emails().filter((e) => e.messageid === `<${messageId(mailbox, id)}>`).length;

test('applied wave by wave, the queues are tested before any user; Dynamics keeps them until the cut-over', async () => {
  const base = await kubectlApply(path.join(work, 'overlay'), 'credentialsAdmin');
  expect(base.stderr).toBe('');
  const waves = [...(await readTree(out)).keys()].filter((f) => /^waves\/[^/]+\/kustomization\.yaml$/.test(f)).map((f) => path.dirname(f));
  expect(waves).toEqual(['waves/01-queues', 'waves/02-users', 'waves/03-users', 'waves/04-users']);

  // Until it is handed over, Dynamics processes each mailbox: the operator tests it, and its
  // coexistence check holds every direction Dynamics still processes (ProcessedByDynamics).
  const testedAt = new Map<string, number>();
  for (const [i, wave] of waves.entries()) {
    const applied = await kubectlApply(path.join(out, wave), 'credentialsAdmin');
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const names = (yaml.loadAll(await readFile(path.join(out, wave, 'mailboxes.yaml'), 'utf8')) as { metadata: { name: string } }[]).map(
      (o) => o.metadata.name,
    );
    const members = MAILBOXES.filter((m) => names.includes(k8sName(m)));
    expect(members.map(k8sName).sort()).toEqual([...names].sort());
    for (const m of members) {
      if (m.approval !== 1) {
        await waitFor(
          `${m.name} awaiting approval`,
          async () => (condition(await mailbox(m), 'Enabled')?.reason === 'AwaitingApproval' ? true : undefined),
          { timeoutMs: 30_000, intervalMs: 200 },
        );
        continue;
      }
      const o = await waitFor(
        `${m.name} tested and held by the coexistence check (wave ${i + 1})`,
        async () => {
          const x = await mailbox(m);
          return condition(x, 'IncomingEmailReady')?.reason === 'ProcessedByDynamics' && condition(x, 'Enabled')?.reason !== 'TestPending'
            ? x
            : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      testedAt.set(m.name, Date.parse(condition(o, 'Enabled')!.lastTransitionTime));
    }
    if (i === 0) expect(members.map((m) => m.kind)).toEqual(['Queue', 'Queue']);
  }
  const queues = MAILBOXES.filter((m) => m.kind === 'Queue').map((m) => testedAt.get(m.name)!);
  const users = MAILBOXES.filter((m) => m.kind === 'User' && testedAt.has(m.name)).map((m) => testedAt.get(m.name)!);
  expect(Math.max(...queues)).toBeLessThanOrEqual(Math.min(...users));
  // Nothing was processed twice: while Dynamics holds them, the operator took no mail in.
  expect(
    Object.entries(MAIL).flatMap(([name, mail]) => mail.filter(([id]) => delivered(name, id) > 0).map(([id]) => `${name}/${id}`)),
  ).toEqual([]);
}, 300_000);

test('--cutover hands over the tested mailboxes in Dataverse and they are Enabled; --rollback restores every changed row', async () => {
  const rowsBefore = new Map(Object.entries(ids).map(([name, id]) => [name, { ...config.mailbox(id)! }]));
  const kubeconfig = controlPlaneInfo().kubeconfigs.credentialsAdmin;
  const dry = await runImport(dv, CLIENT, ['-n', ns, '--out', out, '--cutover', '--kubeconfig', kubeconfig]);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain('Would hand over 8 mailboxes');
  expect(config.patches).toEqual([]);

  const ran = await runImport(dv, CLIENT, ['-n', ns, '--out', out, '--cutover', '--kubeconfig', kubeconfig, '--dry-run=false']);
  expect(ran.stderr).toBe('');
  expect(ran.code).toBe(0);
  expect(ran.stdout).toMatch(/Left alone \(1\):\n {2}gus\.fabrikam\.example: not Enabled in the operator \(AwaitingApproval/);
  const enabled = MAILBOXES.filter((m) => m.approval === 1);
  expect(new Set(config.patches.map((p) => p.id))).toEqual(new Set(enabled.map((m) => ids[m.name])));
  for (const m of MAILBOXES) {
    const row = config.mailbox(ids[m.name])!;
    const handedOver = m.approval === 1;
    const sendsThroughDynamics = m.protocol === 'EWS' || m.protocol === 'Graph';
    // Dynamics stops what the operator now does; Gus stays as he was.
    const expected = { incoming: handedOver ? 0 : 2, outgoing: sendsThroughDynamics && !handedOver ? 2 : 0 };
    expect([m.name, row.incomingemaildeliverymethod, row.outgoingemaildeliverymethod]).toEqual([
      m.name,
      expected.incoming,
      expected.outgoing,
    ]);
  }
  // The cut-over requested a test of each held mailbox: they are Enabled now.
  expect(ran.stdout).toContain('Requested a test of 8 mailboxes');
  for (const m of enabled) {
    await waitFor(
      `${m.name} Enabled after the cut-over`,
      async () => (condition(await mailbox(m), 'Enabled')?.reason === 'Enabled' ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  }

  // The start each mailbox shows is the one its mail was filtered by: no mailbox takes mail from
  // before its start.
  const starts = Object.fromEntries(await Promise.all(enabled.map(async (m) => [m.name, (await mailbox(m)).status?.incomingStart?.from])));
  expect(starts).toEqual({
    Support: 'Deployment',
    Sales: 'Deployment',
    Ann: 'Deployment',
    Bob: 'Deployment',
    Carl: 'Mailbox',
    Dan: 'EmailServerProfile',
    Erin: 'EmailServerProfile',
    Fay: 'Deployment',
  });
  for (const [name, mail] of Object.entries(MAIL)) {
    for (const [id, , reaches] of mail)
      if (reaches)
        await waitFor(`${id} mail of ${name} in the CRM`, async () => (delivered(name, id) ? true : undefined), {
          timeoutMs: 60_000,
          intervalMs: 200,
        });
  }
  // These servers list a mailbox's mail in the order it arrived (UIDs, message numbers, change
  // logs), and the pipeline decides on a message before the ones after it reach the CRM: once the
  // newest mail is there, every older message has been decided, so none may be there.
  const wrong = Object.entries(MAIL).flatMap(([name, mail]) =>
    mail.filter(([id, , reaches]) => delivered(name, id) !== (reaches ? 1 : 0)).map(([id]) => `${name}/${id}`),
  );
  expect(wrong).toEqual([]);

  const report = await readFile(path.join(out, 'MIGRATION-REPORT.md'), 'utf8');
  expect(report).toContain(
    `| dan.fabrikam.example | ${ids.Dan} | incoming, outgoing | incomingemaildeliverymethod=2, outgoingemaildeliverymethod=2 | incomingemaildeliverymethod=0, outgoingemaildeliverymethod=0 |`,
  );

  // A re-run of the import after the cut-over does not turn the handed-over Mailboxes to None.
  const before = await readTree(out);
  expect((await runImport(dv, CLIENT, ['-n', ns, '--out', out, '--waves', '--wave-size', '3', '--dry-run=false'])).code).toBe(0);
  const after = await readTree(out);
  expect([...after.keys()].filter((f) => after.get(f) !== before.get(f))).toEqual([]);

  const rolled = await runImport(dv, CLIENT, ['-n', ns, '--out', out, '--rollback', '--dry-run=false']);
  expect(rolled.code).toBe(0);
  expect(rolled.stdout).toContain('Restored 8 Dataverse mailbox rows');
  for (const [name, row] of rowsBefore) expect([name, config.mailbox(ids[name])]).toEqual([name, row]);
  expect((await readTree(out)).has('cutover.json')).toBe(false);
  expect(await readFile(path.join(out, 'MIGRATION-REPORT.md'), 'utf8')).toContain('No mailbox handed over yet.');
}, 240_000);
