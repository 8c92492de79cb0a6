// What the import tests share: running `mailsync import dynamics` against a fake Dataverse
// environment as a user would (the built CLI, the secret in the environment), applying its output
// with kubectl as a given identity, and the chart's roles bound in one namespace.

import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveAssets, type Identity } from '../../dev/control-plane.js';
import { renderChart } from '../../dev/chart.js';
import { Applier } from '../../src/kube/apply.js';
import { loadKubeConfig } from '../../src/kube/client.js';
import { mailsync, type Ran } from './cli.js';
import type { FakeClient } from './fake-oauth.js';
import type { FakeDynamics } from './fake-crm-dynamics.js';
import { controlPlaneInfo } from './kube.js';

const ROLE_PREFIX = 'migratetest';

/** Runs `mailsync import dynamics` against the fake with the app `client`, plus `args`. */
export async function runImport(dv: FakeDynamics, client: FakeClient, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Ran> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mailsync-import-ca-'));
  const caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, dv.caPem);
  return mailsync(
    [
      'import',
      'dynamics',
      '--url',
      dv.orgUrl,
      '--tenant-id',
      client.tenantId,
      '--client-id',
      client.clientId,
      '--authority-url',
      dv.authorityUrl,
      '--ca-file',
      caFile,
      ...args,
    ],
    { DYNAMICS_CLIENT_SECRET: client.clientSecret, ...extraEnv },
  );
}

/** `kubectl apply -k DIR` (or -f) as `identity`. */
export function kubectlApply(target: string, identity: Identity, flag: '-k' | '-f' = '-k'): Promise<Ran> {
  const kubectl = path.join(resolveAssets(), 'kubectl');
  return new Promise((resolve) => {
    execFile(
      kubectl,
      ['--kubeconfig', controlPlaneInfo().kubeconfigs[identity], 'apply', flag, target],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/**
 * The chart's mailsync-credentials-admin and mailsync-approver roles bound in `namespace` to the
 * credentials admin's group (the identity docs/migration.md says applies an import), and the
 * mailbox admin's role to its group (who may not: it cannot read Secrets).
 */
export async function bindImportRoles(namespace: string): Promise<void> {
  const roles = renderChart('migrate-test', 'mailsync-system', {
    'rbac.userRoles.namePrefix': ROLE_PREFIX,
    'crds.enabled': 'false',
  }).filter((o) => o.kind === 'ClusterRole' && o.metadata?.name?.startsWith(`${ROLE_PREFIX}-`));
  const granted = [
    ['credentials-admin', 'mailsync-credentials-admins'],
    ['approver', 'mailsync-credentials-admins'],
    ['mailbox-admin', 'mailsync-mailbox-admins'],
  ];
  const bindings = granted.map(([role, group]) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: `import-${role}`, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${ROLE_PREFIX}-${role}` },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
  }));
  await new Applier(loadKubeConfig(controlPlaneInfo().kubeconfigs.admin), 'migrate-test').applyAll([...roles, ...bindings]);
}

/** Every file under `dir` with its content, by relative path. */
export async function readTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(path.relative(dir, p), await readFile(p, 'utf8'));
    }
  };
  await walk(dir);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}
