// `mailsync import dynamics` against a fake Dataverse environment seeded with a realistic
// organization (test/support/dynamics-organizations.ts: Exchange Online, on-premises Exchange with
// impersonation, IMAP/SMTP; 300 mailboxes of which 20 queues and one forward mailbox; approved,
// pending and rejected addresses; Negotiate authentication the operator cannot honour), run as a
// user runs it (the built CLI), its output applied with kubectl to the real API server.

import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { GROUP, VERSION } from '../../../src/api/schema.js';
import { APPROVED_ADDRESS, DENIED_ADDRESS } from '../../../src/api/types.js';
import { seedContoso, type ContosoOrganization } from '../../support/dynamics-organizations.js';
import { FakeDynamics } from '../../support/fake-crm-dynamics.js';
import { FakeDataverseConfig } from '../../support/fake-dataverse-config.js';
import { clientsAs, newNamespace } from '../../support/kube.js';
import { bindImportRoles, kubectlApply, readTree, runImport } from '../../support/migrate-env.js';

const admin = clientsAs('admin');
const CLIENT = {
  tenantId: 'contoso-tenant',
  clientId: '6a1f0d2e-7b7c-4c6e-9a55-0f3d2c1b0a99',
  clientSecret: 'import~Client.Secret_0123456789',
};
let dv: FakeDynamics;
let config: FakeDataverseConfig;
let org: ContosoOrganization;
let ns: string;
let out: string;

beforeAll(async () => {
  dv = await FakeDynamics.start({ clients: [CLIENT] });
  config = new FakeDataverseConfig();
  dv.extend(config);
  org = seedContoso(dv, config);
  ns = await newNamespace(admin, 'import');
  await bindImportRoles(ns);
  out = path.join(await mkdtemp(path.join(os.tmpdir(), 'mailsync-import-')), 'contoso');
}, 60_000);
afterAll(async () => {
  await dv?.close();
});

const list = async (plural: string) =>
  (
    (await admin.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural })) as {
      items: { metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> } }[];
    }
  ).items;

test('the dry run prints the verification summary and writes nothing', async () => {
  const ran = await runImport(dv, CLIENT, ['-n', ns, '--out', out, '--waves']);
  expect(ran.stderr).toBe('');
  expect(ran.code).toBe(0);
  expect(existsSync(out)).toBe(false);
  const text = ran.stdout;
  expect(text).toMatch(/EmailServerProfile\s+3\n/);
  expect(text).toMatch(/Mailbox\s+300\s+20 queues, 1 forward mailboxes, 279 users/);
  // Per profile: 10/5/5 queues; the forward mailbox on Exchange 2019; 140/80/59 users.
  expect(text).toMatch(/contoso-exchange-2019\s+ExchangeServer\s+5\s+1\s+80/);
  expect(text).toMatch(/contoso-imap\s+IMAP\s+5\s+0\s+59/);
  expect(text).toMatch(/microsoft-exchange-online\s+ExchangeOnline\s+10\s+0\s+140/);
  // Per delivery method: 3 users on Outlook become None, 5 users come through the forward mailbox.
  expect(text).toMatch(/incoming\s+292\s+5\s+3/);
  expect(text).toMatch(/outgoing\s+296\s+-\s+4/);
  expect(text).toMatch(/appointments, contacts, tasks\s+50\s+-\s+250/);
  expect(text).toContain(`${org.approval.approved} approved`);
  expect(text).toContain(`${org.approval.pending} pending`);
  expect(text).toContain(`${org.approval.rejected} rejected`);
  // What will not migrate, by its column.
  expect(text).toMatch(
    /Will not migrate as set[\s\S]*emailserverprofile\.incomingauthenticationprotocol = Negotiate \(1\) \(EmailServerProfile contoso-exchange-2019\): Negotiate \(Kerberos\) is not supported/,
  );
  // The wave plan: the 21 shared mailboxes, then 279 users in waves of 200.
  expect(text).toMatch(/1\s+waves\/01-queues\s+21 queues and forward mailboxes\s+about 1 s\s+5 h/);
  expect(text).toMatch(/3\s+waves\/03-users\s+79 users/);
  expect(text).toContain('Dry run: nothing was written.');
});

test('written with --waves, it applies to the API server with 0 admission errors as credentials admin and approver, and the report names the unmapped setting', async () => {
  const ran = await runImport(dv, CLIENT, ['-n', ns, '--out', out, '--waves', '--dry-run=false']);
  expect(ran.stderr).toBe('');
  expect(ran.code).toBe(0);
  const files = await readTree(out);
  expect([...files.keys()].filter((f) => f.startsWith('waves/'))).toEqual([
    'waves/01-queues/kustomization.yaml',
    'waves/01-queues/mailboxes.yaml',
    'waves/02-users/kustomization.yaml',
    'waves/02-users/mailboxes.yaml',
    'waves/03-users/kustomization.yaml',
    'waves/03-users/mailboxes.yaml',
  ]);
  const report = files.get('MIGRATION-REPORT.md')!;
  expect(report).toContain(
    '| `emailserverprofile.incomingauthenticationprotocol` | Negotiate (1) | EmailServerProfile contoso-exchange-2019 |',
  );
  const stubs = yaml.loadAll(files.get('secret-stubs.yaml')!) as { metadata: { name: string }; stringData: Record<string, string> }[];
  expect(stubs.flatMap((s) => Object.values(s.stringData)).every((v) => v === '')).toBe(true); // keys only, never a value
  expect(stubs.find((s) => s.metadata.name === 'user230.contoso.example-mail')?.stringData).toEqual({ username: '', password: '' });

  // Someone who may not read Secrets is refused by the credentials policy: the import names them.
  const refused = await kubectlApply(path.join(out, 'base'), 'mailboxAdmin');
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/may not create .*Secret/);

  const applied = await kubectlApply(out, 'credentialsAdmin');
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);
  expect(applied.stdout.split('\n').filter((l) => / created$/.test(l))).toHaveLength(1 + 3 + 300);
  const mailboxes = await list('mailboxes');
  expect(mailboxes).toHaveLength(300);
  expect(mailboxes.filter((m) => m.metadata.annotations?.[APPROVED_ADDRESS])).toHaveLength(org.approval.approved);
  expect(mailboxes.filter((m) => m.metadata.annotations?.[DENIED_ADDRESS])).toHaveLength(org.approval.rejected);
  expect(mailboxes.filter((m) => m.metadata.labels?.['mailsync.dev/migration-wave'] === '1')).toHaveLength(21);
  expect(await list('emailserverprofiles')).toHaveLength(3);
  expect(await list('deployments')).toHaveLength(1);
}, 180_000);

test('re-running on an unchanged organization writes byte-identical files; a change in Dynamics shows up where it belongs', async () => {
  const before = await readTree(out);
  const again = await runImport(dv, CLIENT, ['-n', ns, '--out', out, '--waves', '--dry-run=false']);
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/Wrote 0 changed files of \d+/);
  expect(await readTree(out)).toEqual(before);

  // user 230 (IMAP profile, third wave: users 201 to 279) stops sending through Dynamics.
  const row = config.mailboxes().find((m) => m.emailaddress === 'user230@contoso.example')!;
  config.updateMailbox(String(row.mailboxid), { outgoingemaildeliverymethod: 0 });
  try {
    const changed = await runImport(dv, CLIENT, ['-n', ns, '--out', out, '--waves', '--dry-run=false']);
    expect(changed.code).toBe(0);
    const after = await readTree(out);
    const differ = [...after.keys()].filter((f) => after.get(f) !== before.get(f));
    expect(differ).toEqual(['MIGRATION-REPORT.md', 'waves/03-users/mailboxes.yaml']);
  } finally {
    config.updateMailbox(String(row.mailboxid), { outgoingemaildeliverymethod: 2 });
  }
}, 120_000);
