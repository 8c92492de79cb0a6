// docs/helm.md's `helm install`, as written, on a freshly started control plane set up as `make
// dev-cluster` sets it up (the CRDs, the admission policy and the chart's roles already applied):
// Helm adopts what is there instead of refusing it; the NOTES' rollout check gives up after its
// timeout instead of hanging where no pod can run (this control plane has no nodes); and the
// operator, run with the chart's identity and no --lease-namespace, keeps its Leases where the
// chart lets it.

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ControlPlane, REPO_ROOT } from '../../../dev/control-plane.js';
import { setUpDevCluster } from '../../../dev/dev-cluster-setup.js';
import { createClients, loadKubeConfig, type KubeClients } from '../../../src/kube/client.js';
import { rawRequest } from '../../../src/kube/raw.js';
import { shell, type Ran } from '../../support/cli.js';
import { fencedBlocks, readDoc, section, shellCommands } from '../../support/docs.js';
import { toolsDir } from '../../support/helm.js';
import { spawnOperator, type OperatorProcess } from '../../support/operator.js';

const INSTALL_SECTION = section(readDoc('docs/helm.md'), 'Install');
const [installBlock, devClusterBlock] = fencedBlocks(INSTALL_SECTION, 'sh');
const [helmInstall, rolloutStatus] = shellCommands(installBlock);

let cp: ControlPlane;
let admin: KubeClients;
let work: string;
let env: NodeJS.ProcessEnv;
let installed: Ran;
let operator: OperatorProcess | undefined;

beforeAll(async () => {
  cp = await ControlPlane.start();
  admin = createClients(loadKubeConfig(cp.info.kubeconfigs.admin));
  work = await mkdtemp(path.join(os.tmpdir(), 'mailsync-dev-helm-'));
  await mkdir(path.join(work, '.dev-cluster'));
  await setUpDevCluster(cp.info, path.join(work, '.dev-cluster'));
  // A shell after pasting what `make dev-cluster` prints; helm's own directories kept private.
  env = { PATH: `${toolsDir()}:${process.env.PATH}`, HOME: work, KUBECONFIG: cp.info.kubeconfigs.admin };
  installed = await shell(helmInstall, { cwd: REPO_ROOT, env });
}, 180_000);

afterAll(async () => {
  await operator?.kill('SIGKILL');
  await cp?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const releaseOf = async (apiPath: string) =>
  (await rawRequest<KubernetesObject>(admin.kc, 'GET', apiPath)).metadata?.annotations?.['meta.helm.sh/release-name'];

test('the page documents one install, and the dev-cluster section repeats it', () => {
  expect(helmInstall).toMatch(/^helm install mailsync-operator charts\/mailsync-operator --namespace mailsync-system --create-namespace/);
  expect(
    shellCommands(devClusterBlock)
      .filter((c) => c.startsWith('helm install'))
      .map((c) => c.replace(/\s+/g, ' ')),
  ).toEqual([helmInstall.replace(/\s+/g, ' ')]);
});

test('helm install as documented succeeds where the dev cluster applied the CRDs and roles, and adopts them', async () => {
  expect({ code: installed.code, stderr: installed.stderr }).toEqual({ code: 0, stderr: '' });
  expect(installed.stdout).toMatch(/^STATUS: deployed$/m);
  expect(await releaseOf('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/mailboxes.mailsync.dev')).toBe('mailsync-operator');
  expect(await releaseOf('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/mailboxes-approval.mailsync.dev')).toBe(
    'mailsync-operator',
  );
  expect(await releaseOf('/apis/rbac.authorization.k8s.io/v1/clusterroles/mailsync-approver')).toBe('mailsync-operator');
  expect(await releaseOf('/apis/rbac.authorization.k8s.io/v1/namespaces/mailsync-system/roles/mailsync-operator-leases')).toBe(
    'mailsync-operator',
  );
});

test("the NOTES' rollout check, also on the page, has a timeout and fails after it where no pod can run", async () => {
  const fromNotes = installed.stdout
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.includes('rollout status'));
  expect(fromNotes).toBe(rolloutStatus);
  expect(fromNotes).toMatch(/ --timeout=\S+$/);
  // The same command with a shorter timeout, so the suite does not wait the documented one out.
  const ran = await shell(fromNotes!.replace(/--timeout=\S+$/, '--timeout=2s'), { cwd: REPO_ROOT, env });
  expect(ran.code).not.toBe(0);
  expect(ran.stderr).toMatch(/timed out waiting for the condition/);
});

test("the operator run with the chart's identity and no --lease-namespace keeps its Leases in the release namespace", async () => {
  operator = spawnOperator(['--kubeconfig', cp.info.kubeconfigs.operator, '--identity', 'dev-laptop']);
  const starting = await operator.waitForLog((l) => l.msg === 'mailsync operator starting');
  expect(starting).toMatchObject({
    leaseNamespace: 'mailsync-system',
    leaseNamespaceFrom: 'service account system:serviceaccount:mailsync-system:mailsync-operator',
  });
  await operator.waitForLog((l) => l.msg === 'controllers started');
  const lease = await admin.coordination.readNamespacedLease({ name: 'mailsync-operator', namespace: 'mailsync-system' });
  expect(lease.spec?.holderIdentity).toBe('dev-laptop');
  await operator.kill('SIGTERM');
  operator = undefined;
}, 60_000);
