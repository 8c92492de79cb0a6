// Email-address approval with the chart's roles and the admission policy from crds/, against the
// real API server with several identities. The controllers run as the operator's own identity.

import type { Manager } from '../../../src/controllers/manager.js';
import { approveMailbox } from '../../../src/cli/approve.js';
import { Applier } from '../../../src/kube/apply.js';
import { loadKubeConfig } from '../../../src/kube/client.js';
import { apiMessage } from '../../../src/kube/errors.js';
import { RBAC_KINDS, renderChart } from '../../../dev/chart.js';
import { clientsAs, condition, controlPlaneInfo, create, get, mergePatchSpec, newNamespace, waitForCondition } from '../../support/kube.js';
import { startManager } from '../../support/operator.js';
import { waitFor } from '../../../dev/processes.js';

const info = controlPlaneInfo();
const admin = clientsAs('admin', info);
const mailboxAdmin = clientsAs('mailboxAdmin', info);
const approver = clientsAs('approver', info);
let ns: string;
let manager: Manager;

const chartValues = {
  fullnameOverride: 'approval-test',
  'serviceAccount.name': 'mailsync-operator',
  'rbac.userRoles.namePrefix': 'approvaltest',
  'rbac.approverGroups[0]': 'mailsync-approvers',
  'rbac.mailboxAdminGroups[0]': 'mailsync-mailbox-admins',
  'rbac.credentialsAdminGroups[0]': 'mailsync-credentials-admins',
  'rbac.viewerGroups[0]': 'mailsync-viewers',
  'crds.enabled': 'false',
};

async function applyChartRbac(extra: Record<string, string> = {}): Promise<void> {
  const objs = renderChart('approval-test', 'mailsync-system', { ...chartValues, ...extra }).filter((o) => RBAC_KINDS.has(o.kind!));
  await new Applier(loadKubeConfig(info.kubeconfigs.admin), 'approval-test').applyAll(objs, 'mailsync-system');
}

const mailbox = (address: string, extra: object = {}) => ({
  emailAddress: address,
  owner: { kind: 'User', name: address },
  deploymentRef: { name: 'crm' },
  // Nothing to connect to: approval is what these tests are about.
  incoming: 'None',
  outgoing: 'None',
  ...extra,
});
const approve = (id: 'approver' | 'mailboxAdmin' | 'operator', name: string, decision: 'Approved' | 'Denied' = 'Approved') =>
  approveMailbox({ kubeconfig: info.kubeconfigs[id], namespace: ns, name, decision });

beforeAll(async () => {
  await admin.core.createNamespace({ body: { metadata: { name: 'mailsync-system' } } }).catch(() => undefined);
  await applyChartRbac();
  ns = await newNamespace(admin, 'approval');
  manager = await startManager(clientsAs('operator', info), ns);
  // A profile that carries mailboxes' credentials, and a Deployment's default profile and
  // auto-approval, are set up by those who may read the Secrets and approve (here: the admin).
  await create(clientsAs('credentialsAdmin', info), 'emailserverprofiles', ns, 'imap', {
    serverType: 'IMAP',
    incoming: { server: 'imap.example.com' },
  });
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: 'https://crm.example.com/hook' },
    defaults: { serverProfileRef: { name: 'imap' } },
    autoApproveDomains: ['auto.example'],
  });
});
afterAll(async () => manager?.stop());

test('the mailbox admin creates a mailbox but cannot approve it; the policy says why', async () => {
  await create(mailboxAdmin, 'mailboxes', ns, 'ann', mailbox('ann@example.com'));
  await waitForCondition(admin, 'mailboxes', ns, 'ann', 'Enabled', (c) => c.reason === 'AwaitingApproval');
  // Imperatively: the role has no access to status at all, so RBAC answers first.
  await expect(approve('mailboxAdmin', 'ann')).rejects.toThrow(
    /user "bob-mailbox-admin" may not patch mailboxes\/status .*need the mailsync-approver ClusterRole \(verb approve/,
  );
  // Declaratively (the way open to a mailbox admin): the admission policy answers.
  const err = await mergePatchSpec(mailboxAdmin, 'mailboxes', ns, 'ann', {
    metadata: { annotations: { 'mailsync.dev/approved-address': 'ann@example.com' } },
  }).catch((e) => e);
  expect(apiMessage(err)).toMatch(
    /user "bob-mailbox-admin" may not set mailsync.dev\/approved-address or mailsync.dev\/denied-address on mailbox "ann": declarative approval needs the approve verb/,
  );
});

test("the operator's own identity cannot approve either", async () => {
  await expect(approve('operator', 'ann')).rejects.toThrow(/may not approve or deny mailbox "ann"/);
});

test('the approver can, and processing starts', async () => {
  expect(await approve('approver', 'ann')).toMatch(/ann@example.com\) approved/);
  const o = await waitForCondition(admin, 'mailboxes', ns, 'ann', 'Enabled', (c) => c.reason === 'NothingToSync');
  expect(condition(o, 'Approved')?.status).toBe('True');
  expect(o.status.emailAddress).toBe('ann@example.com');
});

test('changing an approved address withdraws the approval, stops processing and says why', async () => {
  await mergePatchSpec(mailboxAdmin, 'mailboxes', ns, 'ann', { spec: { emailAddress: 'ann.other@example.com' } });
  const o = await waitForCondition(admin, 'mailboxes', ns, 'ann', 'Enabled', (c) => c.reason === 'AwaitingApproval');
  expect(condition(o, 'Approved')).toBeUndefined();
  // The Event is recorded after the status write that the wait above saw.
  const withdrawn = await waitFor('the ApprovalWithdrawn Event', async () =>
    (await admin.core.listNamespacedEvent({ namespace: ns })).items.find(
      (e) => e.involvedObject.name === 'ann' && e.reason === 'ApprovalWithdrawn',
    ),
  );
  expect(withdrawn?.type).toBe('Warning');
  expect(withdrawn?.message).toMatch(/approval was for ann@example.com and spec.emailAddress is now ann.other@example.com/);
});

test('anyone who may write status but lacks the verb (here: a status writer role) is stopped by the policy', async () => {
  const { Applier: A } = await import('../../../src/kube/apply.js');
  await new A(loadKubeConfig(info.kubeconfigs.admin), 'approval-test').applyAll([
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'status-writer', namespace: ns },
      rules: [{ apiGroups: ['mailsync.dev'], resources: ['mailboxes', 'mailboxes/status'], verbs: ['get', 'patch'] }],
    } as never,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'status-writer', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'status-writer' },
      subjects: [{ kind: 'User', name: 'carol-viewer', apiGroup: 'rbac.authorization.k8s.io' }],
    } as never,
  ]);
  const err = await approveMailbox({ kubeconfig: info.kubeconfigs.viewer, namespace: ns, name: 'ann', decision: 'Approved' }).catch(
    (e) => e,
  );
  expect(String(err)).toMatch(
    /user "carol-viewer" may not approve or deny mailbox "ann": setting the Approved or Denied condition or status.emailAddress needs the approve verb/,
  );
});

test('declarative approval from Git: the approver sets the annotation and the operator records it', async () => {
  await mergePatchSpec(approver, 'mailboxes', ns, 'ann', {
    metadata: { annotations: { 'mailsync.dev/approved-address': 'ann.other@example.com' } },
  }).catch(async (err) => {
    // The approver role can read and approve but not edit specs; a GitOps identity holds both.
    expect(apiMessage(err)).toMatch(/forbidden/i);
    await mergePatchSpec(admin, 'mailboxes', ns, 'ann', {
      metadata: { annotations: { 'mailsync.dev/approved-address': 'ann.other@example.com' } },
    });
  });
  const o = await waitForCondition(
    admin,
    'mailboxes',
    ns,
    'ann',
    'Approved',
    (c) => c.status === 'True' && c.reason === 'ApprovedByAnnotation',
  );
  expect(o.status.emailAddress).toBe('ann.other@example.com');
  await waitForCondition(admin, 'mailboxes', ns, 'ann', 'Enabled', (c) => c.reason === 'NothingToSync');
});

test('denial stops processing', async () => {
  await create(mailboxAdmin, 'mailboxes', ns, 'mallory', mailbox('mallory@example.com'));
  await approve('approver', 'mallory', 'Denied');
  const o = await waitForCondition(admin, 'mailboxes', ns, 'mallory', 'Enabled', (c) => c.reason === 'Denied');
  expect(condition(o, 'Approved')).toBeUndefined();
});

test('auto-approval needs the approve verb: refused without it, recorded with it', async () => {
  await create(mailboxAdmin, 'mailboxes', ns, 'auto', mailbox('someone@auto.example'));
  await waitForCondition(admin, 'mailboxes', ns, 'auto', 'Enabled', (c) => c.reason === 'AwaitingApproval');
  await waitFor('AutoApprovedForbidden event', async () => {
    const ev = await admin.core.listNamespacedEvent({ namespace: ns });
    return ev.items.some((e) => e.involvedObject.name === 'auto' && e.reason === 'AutoApprovedForbidden') ? true : undefined;
  });
  await applyChartRbac({ 'autoApproval.enabled': 'true', 'autoApproval.domains[0]': 'auto.example' });
  await mergePatchSpec(admin, 'mailboxes', ns, 'auto', {
    metadata: { annotations: { 'mailsync.dev/test-requested-at': new Date().toISOString() } },
  });
  const o = await waitForCondition(
    admin,
    'mailboxes',
    ns,
    'auto',
    'Approved',
    (c) => c.status === 'True' && c.reason === 'AutoApproved',
    30_000,
  );
  expect(o.status.emailAddress).toBe('someone@auto.example');
});

describe('switching approval off or widening auto-approval needs the approve verb', () => {
  const refusal = (patch: object) =>
    mergePatchSpec(mailboxAdmin, 'deployments', ns, 'crm', { spec: patch }).then(
      () => 'accepted',
      (err) => apiMessage(err),
    );

  test('the mailbox admin is refused with the policy message; other Deployment edits still go through', async () => {
    expect(await refusal({ requireApprovedQueues: false })).toMatch(
      /user "bob-mailbox-admin" may not set spec.requireApprovedQueues to false of deployments.mailsync.dev "crm": .*needs the approve verb on mailboxes.mailsync.dev in namespace "approval-[0-9a-f]+" \(bind the mailsync-approver ClusterRole/,
    );
    expect(await refusal({ requireApprovedUsers: false })).toMatch(/may not set spec.requireApprovedUsers to false/);
    expect(await refusal({ autoApproveDomains: ['auto.example', 'mine.example'] })).toMatch(
      /may not add mine.example to spec.autoApproveDomains/,
    );
    expect((await get(admin, 'deployments', ns, 'crm')).spec).toMatchObject({
      requireApprovedUsers: true,
      requireApprovedQueues: true,
      autoApproveDomains: ['auto.example'],
    });
    // Narrowing, and what has nothing to do with approval, needs no verb.
    expect(await refusal({ maxAttachmentSize: '4Mi' })).toBe('accepted');
  });

  test("accepting Dynamics' own approvals needs the verb too; mirroring status into Dynamics does not", async () => {
    await create(admin, 'deployments', ns, 'dyn', {
      crm: {
        type: 'Dynamics365',
        url: 'https://contoso.crm.dynamics.com',
        oauth: { tenantId: 'contoso', clientId: 'app' },
        credentialsSecretRef: { name: 'dyn' },
      },
    });
    const patch = (dynamics: object) =>
      mergePatchSpec(mailboxAdmin, 'deployments', ns, 'dyn', { spec: { crm: { dynamics } } }).then(
        () => 'accepted',
        (err) => apiMessage(err),
      );
    expect(await patch({ approvalSource: 'DynamicsOrKubernetes' })).toMatch(
      /may not set spec.crm.dynamics.approvalSource to DynamicsOrKubernetes of deployments.mailsync.dev "dyn"/,
    );
    expect(await patch({ statusMirror: true, approvalSource: 'Kubernetes' })).toBe('accepted');
  });

  test('an approver who may also edit Deployments turns the requirement off, and that enables without a re-test', async () => {
    await create(mailboxAdmin, 'mailboxes', ns, 'queue', mailbox('support@example.com', { owner: { kind: 'Queue', name: 'Support' } }));
    const before = await waitForCondition(admin, 'mailboxes', ns, 'queue', 'Enabled', (c) => c.reason === 'AwaitingApproval');
    // The approver role plus the mailbox-admin role in this namespace (as a GitOps identity holds both).
    await new Applier(loadKubeConfig(info.kubeconfigs.admin), 'approval-test').applyAll([
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'approver-edits', namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'approvaltest-mailbox-admin' },
        subjects: [{ kind: 'User', name: 'alice-approver', apiGroup: 'rbac.authorization.k8s.io' }],
      } as never,
    ]);
    await waitFor('RoleBinding in effect', () =>
      mergePatchSpec(approver, 'deployments', ns, 'crm', { spec: { requireApprovedQueues: false } }).then(
        () => true,
        () => undefined,
      ),
    );
    const after = await waitForCondition(admin, 'mailboxes', ns, 'queue', 'Enabled', (c) => c.reason === 'NothingToSync');
    expect(after.status.lastTestTime).toBe(before.status.lastTestTime);
    expect(after.status.testedRevision).toBe(before.status.testedRevision);
  });
});

test('viewers read but cannot write; nobody cannot even read', async () => {
  const viewer = clientsAs('viewer', info);
  expect((await get(viewer, 'mailboxes', ns, 'ann')).spec.emailAddress).toBe('ann.other@example.com');
  await expect(create(viewer, 'mailboxes', ns, 'v', mailbox('v@example.com'))).rejects.toThrow();
  await expect(get(clientsAs('nobody', info), 'mailboxes', ns, 'ann')).rejects.toThrow();
});
