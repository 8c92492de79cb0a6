// The dev cluster as `make dev-cluster` sets it up (dev/dev-cluster-setup.ts), used as the docs
// say: docs/approval.md's walkthrough run command by command, as written, with the identities'
// kubeconfigs, the chart's roles, the built CLI and kubectl; then the CLI's exit codes and
// one-line messages for what the walkthrough does not show.
//
// Its own control plane: the roles are bound cluster-wide, as on a developer's machine, and the
// shared one must not gain them for every other suite.

import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ControlPlane, REPO_ROOT } from '../../../dev/control-plane.js';
import { setUpDevCluster } from '../../../dev/dev-cluster-setup.js';
import { spawnGuarded, type Guarded } from '../../../dev/processes.js';
import { mailsync, mailsyncCommand, shell } from '../../support/cli.js';
import { consoleSteps, fencedBlocks, readDoc, section } from '../../support/docs.js';
import { toolsDir } from '../../support/helm.js';
import { clientsAs, create } from '../../support/kube.js';

const WALKTHROUGH = section(readDoc('docs/approval.md'), 'Walkthrough on the dev cluster');
const steps = consoleSteps(fencedBlocks(WALKTHROUGH, 'console'));

let cp: ControlPlane;
let work: string;
let summary: string;
let env: NodeJS.ProcessEnv;
const background: Guarded[] = [];
const kubeconfig = (file: string) => path.join(work, '.dev-cluster', file);

beforeAll(async () => {
  cp = await ControlPlane.start();
  // The repository root as the walkthrough sees it: .dev-cluster/ and examples/.
  work = await mkdtemp(path.join(os.tmpdir(), 'mailsync-walkthrough-'));
  await mkdir(path.join(work, '.dev-cluster'));
  summary = await setUpDevCluster(cp.info, path.join(work, '.dev-cluster'), work);
  await symlink(path.join(REPO_ROOT, 'examples'), path.join(work, 'examples'));
  const bin = await mailsyncCommand(path.join(work, 'bin'));
  // What the pasted lines of `make dev-cluster` give a shell; HOME without a ~/.kube/config.
  env = { PATH: `${bin}:${toolsDir()}:${process.env.PATH}`, HOME: work };
}, 180_000);

afterAll(async () => {
  for (const b of background) await b.stop();
  await cp?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('make dev-cluster', () => {
  test("prints each identity's kubeconfig and roles, as docs/approval.md's table lists them", () => {
    const rows = [...WALKTHROUGH.matchAll(/^\| `(kubeconfig[^`]*)` \| `([^`]+)` \| (.*) \|$/gm)];
    expect(rows.map((r) => r[1])).toEqual([
      'kubeconfig',
      'kubeconfig-operator',
      'kubeconfig-approver',
      'kubeconfig-mailbox-admin',
      'kubeconfig-credentials-admin',
      'kubeconfig-viewer',
      'kubeconfig-nobody',
    ]);
    const lines = summary.split('\n');
    for (const [, file, user, roles] of rows) {
      const line = lines.find((l) => l.trimEnd().endsWith(` .dev-cluster/${file}`));
      expect(line).toContain(` ${user} `);
      // The same roles, no more and no fewer: role names in backticks, not the namespaces after "in".
      const documented = [...roles.matchAll(/(?<!in )`([^`]+)`/g)].map((m) => m[1]).filter((r) => r !== 'system:masters');
      const printed = [...line!.matchAll(/(?:ClusterRole|Role) ([^\s,]+)/g)].map((m) => m[1]);
      expect({ file, roles: printed.sort() }).toEqual({ file, roles: documented.sort() });
      if (roles === 'none') expect(line).toMatch(/ none /);
    }
  });
});

/**
 * kubectl's stderr without client-go's own log lines (klog: `W1204 16:48:20.420846   27234 file.go:664] …`).
 * When `kubectl wait` has its condition it cancels its watch, and the reflector may log that as a
 * warning ("watch ended with error … context canceled") or not, depending on timing: a line with a
 * timestamp and a PID that no document can show. Everything else kubectl prints is compared.
 */
const withoutClientGoLogs = (stderr: string): string =>
  stderr
    .split('\n')
    .filter((line) => !/^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d{6}\s+\d+ [\w.-]+:\d+\] /.test(line))
    .join('\n');

describe('docs/approval.md walkthrough, as written', () => {
  test('has the steps the issue asks for', () => {
    const commands = steps.map((s) => s.command).join('\n');
    expect(commands).toMatch(/mailsync approve .*kubeconfig-approver/);
    expect(commands).toMatch(/mailsync approve .*kubeconfig-mailbox-admin/);
    expect(commands).toMatch(/kubeconfig-viewer .* get /);
  });

  // Output is compared exactly; a command whose output is an error must fail, every other succeed.
  // A command ending in `&` (the operator) runs in the background until the suite ends.
  test.each(steps)('$ $command', async ({ command, expected }) => {
    if (command.endsWith(' &')) {
      background.push(
        spawnGuarded('bash', ['-c', `exec ${command.slice(0, -2)}`], { cwd: work, env, logFile: path.join(work, 'background.log') }),
      );
      expect(expected).toBe('');
      return;
    }
    const ran = await shell(command, { cwd: work, env });
    const output = (ran.stdout + withoutClientGoLogs(ran.stderr)).replace(/\n$/, '');
    expect({ output, failed: ran.code !== 0 }).toEqual({ output: expected, failed: /^(Error|mailsync:)/.test(expected) });
  });
});

describe('mailsync approve/deny: exit codes and one-line messages', () => {
  const NS = 'cli';
  beforeAll(async () => {
    const admin = clientsAs('admin', cp.info);
    await admin.core.createNamespace({ body: { metadata: { name: NS } } });
    const mailboxAdmin = clientsAs('mailboxAdmin', cp.info);
    await create(mailboxAdmin, 'mailboxes', NS, 'mallory', {
      emailAddress: 'mallory@contoso.example',
      owner: { kind: 'User', name: 'mallory' },
      deploymentRef: { name: 'contoso' },
    });
  });
  const as = (id: string, ...args: string[]) => mailsync([...args, '-n', NS, '--kubeconfig', kubeconfig(`kubeconfig-${id}`)]);

  test('the approver denies with a reason: exit 0, one line', async () => {
    const r = await as(
      'approver',
      'deny',
      'mailbox',
      'mallory',
      '--reason',
      'not a company address',
      '--address',
      'mallory@contoso.example',
    );
    expect(r).toEqual({ code: 0, stdout: 'mailbox cli/mallory (mallory@contoso.example) denied\n', stderr: '' });
  });

  test('no role at all: the refused read names user, verb, resource and namespace', async () => {
    const r = await as('nobody', 'approve', 'mailbox', 'mallory');
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'mailsync: forbidden: user "eve-nobody" may not get mailboxes (API group mailsync.dev) in namespace "cli"; approving and denying need the mailsync-approver ClusterRole (verb approve on mailboxes.mailsync.dev, get on mailboxes, patch on mailboxes/status)\n',
    });
  });

  test('a mailbox that does not exist: the server says so, in one line', async () => {
    const r = await as('approver', 'approve', 'mailbox', 'ghost');
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'mailsync: mailboxes.mailsync.dev "ghost" not found\n' });
  });

  test('the operator identity may write status, but the admission policy stops it approving: its message, one line', async () => {
    const r = await as('operator', 'approve', 'mailbox', 'mallory');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'mailsync: user "system:serviceaccount:mailsync-system:mailsync-operator" may not approve or deny mailbox "mallory": setting the Approved or Denied condition or status.emailAddress needs the approve verb on mailboxes.mailsync.dev (bind the mailsync-approver ClusterRole)\n',
    );
  });

  test('the pinned address is checked against the mailbox, not against a previous decision', async () => {
    const r = await as('approver', 'approve', 'mailbox', 'mallory', '--address', 'mallory@fabrikam.example');
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'mailsync: mailbox cli/mallory now has the address mallory@contoso.example, not mallory@fabrikam.example that you reviewed: nothing was approved. Review the mailbox again and pass its current address to --address\n',
    });
    const status = JSON.parse(
      (
        await shell(`kubectl get mailbox mallory -n ${NS} -o jsonpath='{.status.conditions}'`, {
          cwd: work,
          env: { ...env, KUBECONFIG: kubeconfig('kubeconfig') },
        })
      ).stdout,
    ) as { type: string; status: string }[];
    expect(status.filter((c) => c.type === 'Approved' || c.type === 'Denied')).toEqual([
      expect.objectContaining({ type: 'Denied', status: 'True' }),
    ]);
  });

  test('the kubeconfig context namespace is the default namespace, as with kubectl', async () => {
    const text = await readFile(kubeconfig('kubeconfig-approver'), 'utf8');
    expect(text).toMatch(/namespace: default/);
    const r = await mailsync(['approve', 'mailbox', 'mallory', '--kubeconfig', kubeconfig('kubeconfig-approver')]);
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'mailsync: mailboxes.mailsync.dev "mallory" not found\n' });
  });
});
