// `helm install` into a real API server, then who may do what, checked with
// SelfSubjectAccessReviews as each identity of the token file: the operator's ServiceAccount can
// do its job and nothing more, and each user role grants what it promises when bound through
// values. The operator itself then runs with the chart's identity, arguments and environment
// and reconciles a sample end to end.
//
// This suite starts its own control plane instead of using the shared one. The operator identity
// in the token file is fixed (system:serviceaccount:mailsync-system:mailsync-operator), and other
// suites bind roles to it in the shared control plane and leave them there (approval.test.ts
// switches auto-approval on), so "the operator cannot approve" would depend on test order. A
// fresh cluster also lets the chart own the CRDs and the admission policy, as in a real install
// (in the shared one globalSetup owns them and Helm refuses to adopt objects it did not create),
// and lets us check that they survive `helm uninstall`.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AuthorizationV1Api, type KubernetesObject } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { ControlPlane, IDENTITIES, REPO_ROOT, type ControlPlaneInfo, type Identity } from '../../../dev/control-plane.js';
import { waitFor } from '../../../dev/processes.js';
import { approveMailbox } from '../../../src/cli/approve.js';
import { Applier } from '../../../src/kube/apply.js';
import { createClients, loadKubeConfig, type KubeClients } from '../../../src/kube/client.js';
import { apiMessage } from '../../../src/kube/errors.js';
import { ApiError, objectPath, rawRequest } from '../../../src/kube/raw.js';
import { CHART_DIR, helm, kindCounts, one, parseManifests, render, valuesFile } from '../../support/helm.js';
import { clientsAs, condition, create, get, newNamespace, rejection, waitForCondition } from '../../support/kube.js';
import { spawnOperator, type OperatorProcess } from '../../support/operator.js';

const RELEASE = 'mailsync-operator';
const NS = 'mailsync-system';
const CRDS = ['deployments.mailsync.dev', 'emailserverprofiles.mailsync.dev', 'mailboxes.mailsync.dev'];
const POLICY = 'mailboxes-approval.mailsync.dev';
const POLICIES = [
  POLICY,
  'deployments-approval.mailsync.dev',
  'mailboxes-credentials.mailsync.dev',
  'emailserverprofiles-credentials.mailsync.dev',
  'deployments-credentials.mailsync.dev',
];

let cp: ControlPlane;
let info: ControlPlaneInfo;
let admin: KubeClients;
let applier: Applier;
let installOutput: string;
let appNs: string;
let otherNs: string;
let operator: OperatorProcess | undefined;

const asAdmin = () => ({ kubeconfig: info.kubeconfigs.admin });
const helmInstall = (...extra: string[]) =>
  helm(
    [
      'install',
      RELEASE,
      CHART_DIR,
      '--namespace',
      NS,
      '--create-namespace',
      '--wait=false',
      '-f',
      valuesFile('test-identities.yaml'),
      ...extra,
    ],
    asAdmin(),
  );
const helmUpgrade = (...set: string[]) =>
  helm(
    ['upgrade', RELEASE, CHART_DIR, '--namespace', NS, '--reset-then-reuse-values', '--wait=false', ...set.flatMap((s) => ['--set', s])],
    asAdmin(),
  );

beforeAll(async () => {
  cp = await ControlPlane.start();
  info = cp.info;
  admin = createClients(loadKubeConfig(info.kubeconfigs.admin));
  applier = new Applier(admin.kc, 'chart-test');
  // A ServiceMonitor is asked for but the cluster has no prometheus-operator: it must be skipped.
  installOutput = (await helmInstall('--set', 'prometheus.serviceMonitor.enabled=true')).stdout;
  appNs = await newNamespace(admin, 'tenant');
  otherNs = await newNamespace(admin, 'other');
}, 180_000);

afterAll(async () => {
  await operator?.kill('SIGKILL');
  await cp?.stop();
});

// --- access reviews ---------------------------------------------------------------------------

/**
 * "verb resource[.group][/subresource] [-n namespace] [name]", e.g.
 * "patch mailboxes.mailsync.dev/status -n $app" or "update leases.coordination.k8s.io -n mailsync-system mailsync-operator".
 * $app and $other stand for the test namespaces.
 */
function attributes(spec: string): Record<string, string> {
  const words = spec
    .replace(/\$app/g, appNs)
    .replace(/\$other/g, otherNs)
    .split(/\s+/);
  const [verb, target, ...rest] = words;
  const [resGroup, subresource] = target.split('/');
  const dot = resGroup.indexOf('.');
  const attrs: Record<string, string> = {
    verb,
    resource: dot < 0 ? resGroup : resGroup.slice(0, dot),
    group: dot < 0 ? '' : resGroup.slice(dot + 1),
  };
  if (subresource) attrs.subresource = subresource;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '-n') attrs.namespace = rest[++i];
    else attrs.name = rest[i];
  }
  return attrs;
}

async function allowed(id: Identity, spec: string): Promise<boolean> {
  const api = loadKubeConfig(info.kubeconfigs[id]).makeApiClient(AuthorizationV1Api);
  const review = await api.createSelfSubjectAccessReview({
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attributes(spec) } },
  });
  return review.status?.allowed === true;
}

/** Checks every expectation; lists all mismatches at once. */
async function mismatches(id: Identity, can: string[], cannot: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const s of can) if (!(await allowed(id, s))) out.push(`${id} should be allowed to ${s}`);
  for (const s of cannot) if (await allowed(id, s)) out.push(`${id} should NOT be allowed to ${s}`);
  return out;
}

async function expectAccess(id: Identity, can: string[], cannot: string[]): Promise<void> {
  expect(await mismatches(id, can, cannot)).toEqual([]);
}

/** After an upgrade RBAC changes reach the authorizer through its informers: poll briefly. */
async function eventuallyAccess(id: Identity, can: string[], cannot: string[]): Promise<void> {
  let last: string[] = [];
  try {
    await waitFor(`${id} access`, async () => ((last = await mismatches(id, can, cannot)).length === 0 ? true : undefined), {
      timeoutMs: 15_000,
      intervalMs: 250,
    });
  } catch {
    expect(last).toEqual([]);
  }
}

const OPERATOR_CAN = [
  'list mailboxes.mailsync.dev',
  'watch mailboxes.mailsync.dev',
  'get mailboxes.mailsync.dev -n $app',
  'list emailserverprofiles.mailsync.dev',
  'watch deployments.mailsync.dev',
  'patch mailboxes.mailsync.dev/status -n $app',
  'update mailboxes.mailsync.dev/status -n $app',
  'patch emailserverprofiles.mailsync.dev/status -n $app',
  'patch deployments.mailsync.dev/status -n $app',
  'create events -n $app',
  'patch events -n $app',
  'create events.events.k8s.io -n $app',
  'get secrets -n $app',
  'list secrets',
  'watch secrets',
  'list configmaps',
  `create leases.coordination.k8s.io -n ${NS}`,
  `get leases.coordination.k8s.io -n ${NS} mailsync-operator`,
  `update leases.coordination.k8s.io -n ${NS} mailsync-operator`,
  // Sync workers: shard Leases and membership Leases, listed to count the live workers.
  `list leases.coordination.k8s.io -n ${NS}`,
  `update leases.coordination.k8s.io -n ${NS} mailsync-operator-shard-3`,
  `update leases.coordination.k8s.io -n ${NS} mailsync-operator-worker-mailsync-operator-7d9f`,
];

const OPERATOR_CANNOT = [
  'approve mailboxes.mailsync.dev -n $app',
  'approve mailboxes.mailsync.dev -n $app ann',
  'create mailboxes.mailsync.dev -n $app',
  'update mailboxes.mailsync.dev -n $app',
  'patch mailboxes.mailsync.dev -n $app',
  'delete mailboxes.mailsync.dev -n $app',
  'delete emailserverprofiles.mailsync.dev -n $app',
  'delete deployments.mailsync.dev -n $app',
  'create secrets -n $app',
  'update secrets -n $app',
  'delete events -n $app',
  'create pods -n $app',
  `create pods -n ${NS}`,
  'create deployments.apps -n $app',
  'list nodes',
  'update leases.coordination.k8s.io -n $app mailsync-operator',
  'create leases.coordination.k8s.io -n $app',
  'get leases.coordination.k8s.io -n kube-system mailsync-operator',
  `delete leases.coordination.k8s.io -n ${NS} mailsync-operator`,
  'create clusterrolebindings.rbac.authorization.k8s.io',
  'escalate clusterroles.rbac.authorization.k8s.io',
  'update customresourcedefinitions.apiextensions.k8s.io',
  'delete validatingadmissionpolicies.admissionregistration.k8s.io',
];

// --- the install ----------------------------------------------------------------------------

describe('helm install', () => {
  test('succeeds, and every object of the release exists in the API server', async () => {
    const status = JSON.parse((await helm(['status', RELEASE, '--namespace', NS, '-o', 'json'], asAdmin())).stdout) as {
      info: { status: string };
    };
    expect(status.info.status).toBe('deployed');
    const objs = parseManifests((await helm(['get', 'manifest', RELEASE, '--namespace', NS], asAdmin())).stdout);
    expect(kindCounts(objs)).toEqual({
      CustomResourceDefinition: 3,
      ValidatingAdmissionPolicy: POLICIES.length,
      ValidatingAdmissionPolicyBinding: POLICIES.length,
      ServiceAccount: 1,
      ClusterRole: 5,
      ClusterRoleBinding: 5,
      Role: 1,
      RoleBinding: 1,
      Service: 1,
      Deployment: 1,
    });
    for (const o of objs) {
      const { plural, namespaced } = await applier.resource(o.apiVersion!, o.kind!);
      const got = await rawRequest<KubernetesObject>(
        admin.kc,
        'GET',
        objectPath(o.apiVersion!, plural, namespaced ? (o.metadata?.namespace ?? NS) : undefined, o.metadata!.name),
      );
      expect(got.metadata?.annotations?.['meta.helm.sh/release-name']).toBe(RELEASE);
    }
  });

  test('the ServiceAccount is the operator identity of the token file', async () => {
    const sa = await admin.core.readNamespacedServiceAccount({ name: 'mailsync-operator', namespace: NS });
    expect(`system:serviceaccount:${sa.metadata?.namespace}:${sa.metadata?.name}`).toBe(IDENTITIES.operator.user);
  });

  test('the CRDs installed by the chart are established', async () => {
    for (const name of CRDS) {
      await waitFor(`CRD ${name} established`, async () => {
        const crd = await rawRequest<{ status?: { conditions?: { type: string; status: string }[] } }>(
          admin.kc,
          'GET',
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
        );
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
      });
    }
  });

  test('NOTES tell the user what to do next, and that the ServiceMonitor was skipped', () => {
    expect(installOutput).toMatch(/kubectl -n mailsync-system rollout status deployment\/mailsync-operator/);
    expect(installOutput).toMatch(/Approve the mailbox addresses/);
    expect(installOutput).toMatch(/kubectl get mailboxes -n <namespace> -w/);
    expect(installOutput).toMatch(
      /WARNING: prometheus.serviceMonitor.enabled is true but the cluster does not serve\s+monitoring.coreos.com\/v1 ServiceMonitor/,
    );
  });

  test('the objects of the production values are accepted too (server-side dry run)', async () => {
    const objs = await render({
      namespace: NS,
      files: [valuesFile('production.yaml')],
      set: ['crds.enabled=false', 'admissionPolicy.enabled=false', 'grafana.dashboard.namespace='],
    });
    expect(Object.keys(kindCounts(objs))).toEqual(
      expect.arrayContaining(['StatefulSet', 'PodDisruptionBudget', 'NetworkPolicy', 'ConfigMap']),
    );
    const refused: string[] = [];
    for (const o of objs) {
      const { plural, namespaced } = await applier.resource(o.apiVersion!, o.kind!);
      const p = objectPath(o.apiVersion!, plural, namespaced ? o.metadata?.namespace : undefined, o.metadata!.name);
      try {
        await rawRequest(admin.kc, 'PATCH', `${p}?fieldManager=chart-test&force=true&dryRun=All`, o, 'application/apply-patch+yaml');
      } catch (err) {
        refused.push(`${o.kind}/${o.metadata?.name}: ${(err as ApiError).message}`);
      }
    }
    expect(refused).toEqual([]);
  });
});

// --- alerts -------------------------------------------------------------------------------------

describe('the PrometheusRule with the alerts', () => {
  const manifestKinds = async () =>
    kindCounts(parseManifests((await helm(['get', 'manifest', RELEASE, '--namespace', NS], asAdmin())).stdout));

  test('is skipped while the cluster does not serve monitoring.coreos.com/v1 PrometheusRule', async () => {
    expect((await manifestKinds()).PrometheusRule).toBeUndefined();
  });

  test('is installed once its CRD exists (prometheus-operator installed later): five alerts', async () => {
    const crd = yaml.load(
      await readFile(path.join(REPO_ROOT, 'test/fixtures/crds/monitoring.coreos.com_prometheusrules.yaml'), 'utf8'),
    ) as KubernetesObject;
    await applier.apply(crd);
    await waitFor('PrometheusRule served', async () => {
      const groups = await rawRequest<{ groups: { name: string }[] }>(admin.kc, 'GET', '/apis');
      return groups.groups.some((g) => g.name === 'monitoring.coreos.com') ? true : undefined;
    });
    await helmUpgrade();
    expect((await manifestKinds()).PrometheusRule).toBe(1);
    const rule = await rawRequest<{
      metadata: { annotations?: Record<string, string> };
      spec: { groups: { rules: { alert?: string }[] }[] };
    }>(admin.kc, 'GET', `/apis/monitoring.coreos.com/v1/namespaces/${NS}/prometheusrules/mailsync-operator`);
    expect(rule.metadata.annotations?.['meta.helm.sh/release-name']).toBe(RELEASE);
    expect(rule.spec.groups.flatMap((g) => g.rules.map((r) => r.alert))).toEqual([
      'MailsyncProfileMailboxesFailing',
      'MailsyncMailboxDisabled',
      'MailsyncSyncLagHigh',
      'MailsyncCRMUnreachable',
      'MailsyncRolloutPaused',
    ]);
  });
});

// --- the operator's ServiceAccount ------------------------------------------------------------

describe("the operator's ServiceAccount", () => {
  test('can do its job: watch the three kinds, write their status, read Secrets, record Events, hold its Lease', async () => {
    await expectAccess('operator', OPERATOR_CAN, []);
  });

  test('and nothing more: no approve, no spec writes or deletes, no pods, no Leases elsewhere', async () => {
    await expectAccess('operator', [], OPERATOR_CANNOT);
  });

  test("runs with the chart's arguments and environment and reconciles a sample end to end", async () => {
    const manifest = parseManifests((await helm(['get', 'manifest', RELEASE, '--namespace', NS], asAdmin())).stdout);
    const container = one(manifest, 'Deployment', 'mailsync-operator').spec.template.spec.containers[0];
    const env: Record<string, string> = {};
    for (const e of container.env as { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[]) {
      if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = NS;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = 'mailsync-operator-0';
      else env[e.name] = e.value ?? '';
    }
    const [command, ...args] = container.args as string[];
    expect(command).toBe('operator');
    operator = spawnOperator([...args, '--kubeconfig', info.kubeconfigs.operator, '--identity', 'pod-0'], env);
    await operator.waitForLog((l) => l.msg === 'controllers started', 30_000);
    const lease = await admin.coordination.readNamespacedLease({ name: 'mailsync-operator', namespace: NS });
    expect(lease.spec?.holderIdentity).toBe('pod-0');

    // A profile that carries the mailboxes' credentials decides where every Mailbox's Secret goes:
    // the mailbox admin, who cannot read Secrets, is refused by the chart's admission policy; the
    // credentials admin sets it up and the CRM organization, the mailbox admin declares a mailbox;
    // the operator tests it and asks for approval.
    const mailboxAdmin = clientsAs('mailboxAdmin', info);
    const credentialsAdmin = clientsAs('credentialsAdmin', info);
    const profile = {
      serverType: 'IMAP',
      incoming: { server: 'imap.example.com', credentials: { source: 'Mailbox' } },
      outgoing: { server: 'smtp.example.com', tls: 'STARTTLS' },
    };
    expect(await rejection(mailboxAdmin, 'emailserverprofiles', appNs, 'imap', profile)).toMatch(
      /user "bob-mailbox-admin" may not create email server profile "imap": it takes credentials from mailboxes.*mailsync-credentials-admin ClusterRole/,
    );
    await create(credentialsAdmin, 'emailserverprofiles', appNs, 'imap', profile);
    await create(credentialsAdmin, 'deployments', appNs, 'crm', {
      crm: { type: 'Webhook', url: 'https://crm.example.com/hook' },
      defaults: { serverProfileRef: { name: 'imap' } },
    });
    // Nothing to connect to: the delivery methods are None.
    await create(mailboxAdmin, 'mailboxes', appNs, 'ann', {
      emailAddress: 'ann@example.com',
      owner: { kind: 'User', name: 'ann' },
      deploymentRef: { name: 'crm' },
      incoming: 'None',
      outgoing: 'None',
    });
    const pending = await waitForCondition(admin, 'mailboxes', appNs, 'ann', 'Enabled', (c) => c.reason === 'AwaitingApproval');
    expect(pending.status.observedGeneration).toBe(pending.metadata?.generation);

    // Only the approver may approve: the mailbox admin may not even write status (RBAC), and the
    // operator, which writes status, is stopped by the chart's admission policy.
    const approveAs = (id: Identity) =>
      approveMailbox({ kubeconfig: info.kubeconfigs[id], namespace: appNs, name: 'ann', decision: 'Approved' });
    await expect(approveAs('mailboxAdmin')).rejects.toThrow(
      /user "bob-mailbox-admin" may not patch mailboxes\/status \(API group mailsync.dev\) in namespace/,
    );
    await expect(approveAs('operator')).rejects.toThrow(
      /user "system:serviceaccount:mailsync-system:mailsync-operator" may not approve or deny mailbox "ann".*approve verb/,
    );
    await approveAs('approver');
    const approved = await waitForCondition(admin, 'mailboxes', appNs, 'ann', 'Enabled', (c) => c.reason !== 'AwaitingApproval');
    expect(condition(approved, 'Approved')?.status).toBe('True');

    // The viewer sees it.
    expect((await get(clientsAs('viewer', info), 'mailboxes', appNs, 'ann')).spec.emailAddress).toBe('ann@example.com');
    await operator.kill('SIGTERM');
    operator = undefined;
  }, 90_000);
});

// --- user roles bound through values -------------------------------------------------------------

describe('user roles bound to groups through values', () => {
  test('approver (group mailsync-approvers): reads mailboxes, approves, writes their status; nothing else', async () => {
    await expectAccess(
      'approver',
      [
        'list mailboxes.mailsync.dev',
        'get mailboxes.mailsync.dev -n $app',
        'approve mailboxes.mailsync.dev -n $app ann',
        'patch mailboxes.mailsync.dev/status -n $app',
        'update mailboxes.mailsync.dev/status -n $app',
      ],
      [
        'create mailboxes.mailsync.dev -n $app',
        'patch mailboxes.mailsync.dev -n $app',
        'delete mailboxes.mailsync.dev -n $app',
        'create deployments.mailsync.dev -n $app',
        'patch deployments.mailsync.dev/status -n $app',
        'get secrets -n $app',
      ],
    );
  });

  test('mailbox admin (group mailsync-mailbox-admins): manages the three kinds; no approve, no status, no Secrets', async () => {
    const can = ['emailserverprofiles', 'mailboxes', 'deployments'].flatMap((r) =>
      ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'].map((v) => `${v} ${r}.mailsync.dev -n $app`),
    );
    await expectAccess('mailboxAdmin', can, [
      'approve mailboxes.mailsync.dev -n $app',
      'patch mailboxes.mailsync.dev/status -n $app',
      'update emailserverprofiles.mailsync.dev/status -n $app',
      'get secrets -n $app',
      'create pods -n $app',
    ]);
  });

  test('credentials admin (group mailsync-credentials-admins): what the mailbox admin may do, plus get on Secrets; no approve, no status', async () => {
    const can = ['emailserverprofiles', 'mailboxes', 'deployments'].flatMap((r) =>
      ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'].map((v) => `${v} ${r}.mailsync.dev -n $app`),
    );
    await expectAccess(
      'credentialsAdmin',
      [...can, 'get secrets -n $app', 'get secrets -n $app ann-mail'],
      [
        'approve mailboxes.mailsync.dev -n $app',
        'patch mailboxes.mailsync.dev/status -n $app',
        'create secrets -n $app',
        'update secrets -n $app',
        'create pods -n $app',
      ],
    );
  });

  test('viewer (group mailsync-viewers): reads the three kinds, nothing else', async () => {
    const can = ['emailserverprofiles', 'mailboxes', 'deployments'].flatMap((r) =>
      ['get', 'list', 'watch'].map((v) => `${v} ${r}.mailsync.dev -n $app`),
    );
    await expectAccess('viewer', can, [
      'create mailboxes.mailsync.dev -n $app',
      'patch mailboxes.mailsync.dev/status -n $app',
      'approve mailboxes.mailsync.dev -n $app',
      'get secrets -n $app',
    ]);
    await expect(
      create(clientsAs('viewer', info), 'mailboxes', appNs, 'v', {
        emailAddress: 'v@example.com',
        owner: { kind: 'User', name: 'v' },
        deploymentRef: { name: 'crm' },
      }),
    ).rejects.toThrow();
  });

  test('nobody (no group bound): nothing', async () => {
    await expectAccess(
      'nobody',
      [],
      ['list mailboxes.mailsync.dev', 'get mailboxes.mailsync.dev -n $app', 'approve mailboxes.mailsync.dev -n $app'],
    );
    await expect(get(clientsAs('nobody', info), 'mailboxes', appNs, 'ann')).rejects.toThrow();
  });
});

// --- upgrades ---------------------------------------------------------------------------------

describe('helm upgrade', () => {
  test('autoApproval.enabled grants the operator `approve` and nothing else; switching it off takes it away', async () => {
    await helmUpgrade('autoApproval.enabled=true');
    await eventuallyAccess('operator', ['approve mailboxes.mailsync.dev -n $app', 'approve mailboxes.mailsync.dev -n $other ann'], []);
    await expectAccess(
      'operator',
      OPERATOR_CAN,
      OPERATOR_CANNOT.filter((s) => !s.startsWith('approve ')),
    );
    await helmUpgrade('autoApproval.enabled=false');
    await eventuallyAccess('operator', [], ['approve mailboxes.mailsync.dev -n $app']);
  });

  test('watchNamespace narrows the operator and the user groups to that namespace', async () => {
    await helmUpgrade(`watchNamespace=${appNs}`);
    await eventuallyAccess(
      'operator',
      [
        'list mailboxes.mailsync.dev -n $app',
        'list secrets -n $app',
        'patch mailboxes.mailsync.dev/status -n $app',
        'create events -n $app',
        `update leases.coordination.k8s.io -n ${NS} mailsync-operator`,
      ],
      [
        'list mailboxes.mailsync.dev',
        'list secrets',
        'list secrets -n $other',
        'patch mailboxes.mailsync.dev/status -n $other',
        'create events -n $other',
      ],
    );
    await eventuallyAccess('approver', ['approve mailboxes.mailsync.dev -n $app ann'], ['approve mailboxes.mailsync.dev -n $other ann']);
    await eventuallyAccess('viewer', ['list mailboxes.mailsync.dev -n $app'], ['list mailboxes.mailsync.dev -n $other']);
    await helmUpgrade('watchNamespace=');
    await eventuallyAccess('operator', OPERATOR_CAN, []);
  });
});

// --- uninstall --------------------------------------------------------------------------------

describe('helm uninstall', () => {
  const exists = async (path: string) => {
    try {
      await rawRequest(admin.kc, 'GET', path);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return false;
      throw err;
    }
  };

  test('removes the operator and its RBAC but keeps the CRDs, the admission policy and the resources', async () => {
    const out = await helm(['uninstall', RELEASE, '--namespace', NS], asAdmin());
    expect(out.stdout + out.stderr).toMatch(/kept due to the resource policy/);
    for (const name of CRDS) expect(await exists(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`)).toBe(true);
    for (const policy of POLICIES) {
      expect(await exists(`/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${policy}`)).toBe(true);
      expect(await exists(`/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${policy}`)).toBe(true);
    }
    expect((await get(admin, 'mailboxes', appNs, 'ann')).spec.emailAddress).toBe('ann@example.com');
    expect(await exists(`/api/v1/namespaces/${NS}/serviceaccounts/mailsync-operator`)).toBe(false);
    expect(await exists('/apis/rbac.authorization.k8s.io/v1/clusterroles/mailsync-operator')).toBe(false);
    expect(await exists('/apis/rbac.authorization.k8s.io/v1/clusterroles/mailsync-approver')).toBe(false);
    await eventuallyAccess('operator', [], ['list mailboxes.mailsync.dev', 'patch mailboxes.mailsync.dev/status -n $app']);
    // The kept policy still guards approvals: someone allowed to write mailbox status, but
    // without the approve verb, is refused.
    await applier.applyAll([
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'status-writer', namespace: appNs },
        rules: [{ apiGroups: ['mailsync.dev'], resources: ['mailboxes', 'mailboxes/status'], verbs: ['get', 'patch', 'update'] }],
      } as KubernetesObject,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'status-writer', namespace: appNs },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'status-writer' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: IDENTITIES.nobody.user }],
      } as KubernetesObject,
    ]);
    await eventuallyAccess('nobody', ['patch mailboxes.mailsync.dev/status -n $app'], ['approve mailboxes.mailsync.dev -n $app']);
    const refusal = await approveMailbox({ kubeconfig: info.kubeconfigs.nobody, namespace: appNs, name: 'ann', decision: 'Denied' }).then(
      () => 'accepted',
      (err) => apiMessage(err),
    );
    expect(refusal).toMatch(/user "eve-nobody" may not approve or deny mailbox "ann"/);
  });

  test('a new release adopts the kept CRDs; its uninstall follows its own crds.keep (false: the CRDs and every resource go)', async () => {
    await helmInstall('--set', 'crds.keep=false', '--set', 'admissionPolicy.keep=false');
    const crd = await rawRequest<KubernetesObject>(
      admin.kc,
      'GET',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/mailboxes.mailsync.dev',
    );
    expect(crd.metadata?.annotations?.['meta.helm.sh/release-name']).toBe(RELEASE);
    // Helm decides what to keep from the release's manifest, not from the live object (whose
    // stale keep annotation survives adoption).
    const out = await helm(['uninstall', RELEASE, '--namespace', NS], asAdmin());
    expect(out.stdout).not.toMatch(/kept due to the resource policy/);
    await waitFor(
      'CRDs deleted by helm uninstall',
      async () => {
        for (const name of CRDS) if (await exists(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`)) return undefined;
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(await exists(`/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${POLICY}`)).toBe(false);
    // The API group (and with it every Mailbox) is gone.
    const groups = await rawRequest<{ groups: { name: string }[] }>(admin.kc, 'GET', '/apis');
    expect(groups.groups.map((g) => g.name)).not.toContain('mailsync.dev');
  }, 90_000);
});
