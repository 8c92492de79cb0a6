// `helm template` across representative values: which objects render, what the operator's pods
// and RBAC look like, and that bad values fail with the schema's (or the chart's) message.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import { CHART_DIR, kindCounts, one, ofKind, render, renderError, valuesFile, type Manifest } from '../../support/helm.js';

const SERVICE_MONITOR = 'monitoring.coreos.com/v1/ServiceMonitor';
const METRIC_FAMILIES = [
  'mailsync_messages_total',
  'mailsync_failures_total',
  'mailsync_sync_latency_seconds',
  'mailsync_mailboxes',
  'mailsync_reconcile_duration_seconds',
  'mailsync_workqueue_depth',
];

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

/** The verbs a set of rules grants on group/resource (ignoring resourceNames restrictions). */
function verbsOn(rules: Rule[], group: string, resource: string): string[] {
  const v = new Set<string>();
  for (const r of rules) if (r.apiGroups?.includes(group) && r.resources?.includes(resource)) r.verbs.forEach((x) => v.add(x));
  return [...v].sort();
}

/** Every rule of every role bound to the operator's ServiceAccount. */
function operatorRules(objs: Manifest[], sa = 'mailsync-operator'): Rule[] {
  const bindings = objs.filter(
    (o) =>
      (o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') &&
      o.subjects?.some((s: { kind: string; name: string }) => s.kind === 'ServiceAccount' && s.name === sa),
  );
  return bindings.flatMap((b) => one(objs, b.roleRef.kind, b.roleRef.name).rules as Rule[]);
}

let chart: { appVersion: string; version: string };
beforeAll(async () => {
  chart = yaml.load(await readFile(path.join(CHART_DIR, 'Chart.yaml'), 'utf8')) as typeof chart;
});

describe('defaults', () => {
  let objs: Manifest[];
  beforeAll(async () => {
    objs = await render();
  });

  test('render the CRDs, the ServiceAccount, RBAC, the controller and its metrics Service, nothing optional', () => {
    expect(kindCounts(objs)).toEqual({
      CustomResourceDefinition: 3,
      ValidatingAdmissionPolicy: 5,
      ValidatingAdmissionPolicyBinding: 5,
      ServiceAccount: 1,
      ClusterRole: 5,
      ClusterRoleBinding: 1,
      Role: 1,
      RoleBinding: 1,
      Service: 1,
      Deployment: 1,
    });
  });

  test('every object is labelled, and every namespaced object names its namespace', () => {
    const fromCrdsDir = ['CustomResourceDefinition', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];
    for (const o of objs) {
      if (fromCrdsDir.includes(o.kind!)) continue; // carried over from crds/ as they are
      expect(o.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
      expect(o.metadata?.labels?.['app.kubernetes.io/instance']).toBe('mailsync-operator');
      if (!['ClusterRole', 'ClusterRoleBinding'].includes(o.kind!)) expect(o.metadata?.namespace).toBe('mailsync-system');
    }
  });

  test('the ServiceAccount is mailsync-operator: the operator identity system:serviceaccount:mailsync-system:mailsync-operator', () => {
    one(objs, 'ServiceAccount', 'mailsync-operator');
    expect(one(objs, 'Deployment').spec.template.spec.serviceAccountName).toBe('mailsync-operator');
  });

  test('the controller: leader election, downward-API namespace, image tag from appVersion, restricted security context', () => {
    const d = one(objs, 'Deployment', 'mailsync-operator');
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(d.spec.replicas).toBe(1);
    expect(c.image).toBe(`ghcr.io/mailsync/mailsync-operator:${chart.appVersion}`);
    expect(c.args).toEqual([
      'operator',
      '--role=all',
      '--leader-elect=true',
      '--lease-namespace=mailsync-system',
      '--lease-name=mailsync-operator',
      '--metrics-addr=:8080',
    ]);
    const env = Object.fromEntries(c.env.map((e: { name: string }) => [e.name, e]));
    expect(env.POD_NAMESPACE.valueFrom.fieldRef.fieldPath).toBe('metadata.namespace');
    expect(env.WATCH_NAMESPACE.value).toBe('');
    expect(env.LOG_LEVEL.value).toBe('info');
    expect(env.AUTO_APPROVE_DOMAINS).toBeUndefined();
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.resources.requests).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
  });

  test('the metrics Service targets the http port of the operator pods', () => {
    const s = one(objs, 'Service', 'mailsync-operator');
    expect(s.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
    expect(s.spec.selector).toEqual({ 'app.kubernetes.io/name': 'mailsync-operator', 'app.kubernetes.io/instance': 'mailsync-operator' });
  });

  test('the operator may read the three kinds and what they reference, write status and Events, write back rotated refresh tokens, request ServiceAccount tokens, and nothing more', () => {
    const rules = operatorRules(objs);
    for (const r of ['emailserverprofiles', 'mailboxes', 'deployments']) {
      expect(verbsOn(rules, 'mailsync.dev', r)).toEqual(['get', 'list', 'watch']);
      expect(verbsOn(rules, 'mailsync.dev', `${r}/status`)).toEqual(['patch', 'update']);
    }
    expect(verbsOn(rules, '', 'secrets')).toEqual(['get', 'list', 'patch', 'watch']);
    expect(verbsOn(rules, '', 'serviceaccounts/token')).toEqual(['create']);
    expect(verbsOn(rules, '', 'configmaps')).toEqual(['get', 'list', 'watch']);
    expect(verbsOn(rules, '', 'events')).toEqual(['create', 'patch']);
    expect(verbsOn(rules, 'coordination.k8s.io', 'leases')).toEqual(['create', 'get', 'list', 'update', 'watch']);
    for (const r of rules) {
      expect(r.verbs).not.toContain('*');
      expect(r.verbs).not.toContain('approve');
      expect(r.resources).not.toContain('*');
      expect(r.apiGroups).not.toContain('*');
    }
  });

  test("Leases only in the release namespace: the leader-election Lease and the sync workers' shard and membership Leases, never delete", () => {
    const role = one(objs, 'Role', 'mailsync-operator-leases');
    expect(role.metadata?.namespace).toBe('mailsync-system');
    expect(role.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['mailsync-operator'], verbs: ['get', 'update'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'update'] },
    ]);
    const rb = one(objs, 'RoleBinding', 'mailsync-operator-leases');
    expect(rb.subjects).toEqual([{ kind: 'ServiceAccount', name: 'mailsync-operator', namespace: 'mailsync-system' }]);
  });

  test('user roles: approver approves, mailbox-admin manages without approve or status, credentials-admin also reads Secrets, viewer reads; aggregated into view/edit', () => {
    const approver = one(objs, 'ClusterRole', 'mailsync-approver');
    expect(verbsOn(approver.rules, 'mailsync.dev', 'mailboxes')).toEqual(['approve', 'get', 'list', 'watch']);
    expect(verbsOn(approver.rules, 'mailsync.dev', 'mailboxes/status')).toEqual(['patch', 'update']);
    expect(approver.metadata?.labels?.['rbac.authorization.k8s.io/aggregate-to-admin']).toBeUndefined();
    const admin = one(objs, 'ClusterRole', 'mailsync-mailbox-admin');
    for (const r of ['emailserverprofiles', 'mailboxes', 'deployments']) {
      expect(verbsOn(admin.rules, 'mailsync.dev', r)).toEqual(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']);
      expect(verbsOn(admin.rules, 'mailsync.dev', `${r}/status`)).toEqual([]);
    }
    expect(admin.metadata?.labels?.['rbac.authorization.k8s.io/aggregate-to-edit']).toBe('true');
    expect(verbsOn(admin.rules, '', 'secrets')).toEqual([]);
    // What mailbox-admin may do, plus reading Secrets: the admission policy lets only those who
    // may read a Secret make the operator use it. Never aggregated (edit and admin read Secrets).
    const creds = one(objs, 'ClusterRole', 'mailsync-credentials-admin');
    for (const r of ['emailserverprofiles', 'mailboxes', 'deployments'])
      expect(verbsOn(creds.rules, 'mailsync.dev', r)).toEqual(verbsOn(admin.rules, 'mailsync.dev', r));
    expect(verbsOn(creds.rules, '', 'secrets')).toEqual(['get']);
    expect(verbsOn(creds.rules, 'mailsync.dev', 'mailboxes')).not.toContain('approve');
    expect(Object.keys(creds.metadata?.labels ?? {}).filter((l) => l.startsWith('rbac.authorization.k8s.io/aggregate'))).toEqual([]);
    const viewer = one(objs, 'ClusterRole', 'mailsync-viewer');
    for (const r of ['emailserverprofiles', 'mailboxes', 'deployments'])
      expect(verbsOn(viewer.rules, 'mailsync.dev', r)).toEqual(['get', 'list', 'watch']);
    expect(viewer.metadata?.labels?.['rbac.authorization.k8s.io/aggregate-to-view']).toBe('true');
    // No group is bound unless asked.
    expect(ofKind(objs, 'ClusterRoleBinding').map((b) => b.metadata?.name)).toEqual(['mailsync-operator']);
  });
});

describe('admission policies from crds/', () => {
  const POLICIES = [
    'deployments-approval.mailsync.dev',
    'deployments-credentials.mailsync.dev',
    'emailserverprofiles-credentials.mailsync.dev',
    'mailboxes-approval.mailsync.dev',
    'mailboxes-credentials.mailsync.dev',
  ];
  const kinds = ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];
  const names = (objs: Manifest[], kind: string) =>
    ofKind(objs, kind)
      .map((o) => o.metadata?.name)
      .sort();

  test('rendered by default, each with its binding, and kept on uninstall; admissionPolicy.enabled=false drops them', async () => {
    const objs = await render();
    expect(names(objs, 'ValidatingAdmissionPolicy')).toEqual(POLICIES);
    expect(names(objs, 'ValidatingAdmissionPolicyBinding')).toEqual(POLICIES);
    for (const p of objs.filter((o) => kinds.includes(o.kind!))) expect(p.metadata?.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect((await render({ set: ['admissionPolicy.enabled=false'] })).filter((o) => kinds.includes(o.kind!))).toHaveLength(0);
    expect((await render({ set: ['crds.enabled=false'] })).filter((o) => kinds.includes(o.kind!))).toHaveLength(2 * POLICIES.length);
  });
});

describe('production values: workers, PDB, NetworkPolicy, ServiceMonitor, dashboard', () => {
  let objs: Manifest[];
  beforeAll(async () => {
    objs = await render({ files: [valuesFile('production.yaml')], apiVersions: [SERVICE_MONITOR] });
  });

  test('render the optional objects', () => {
    expect(kindCounts(objs)).toMatchObject({
      StatefulSet: 1,
      PodDisruptionBudget: 2,
      NetworkPolicy: 1,
      ServiceMonitor: 1,
      ConfigMap: 1,
      Service: 2,
      Deployment: 1,
    });
  });

  test('workers run `operator --role=worker` as a StatefulSet with the same restricted pod', () => {
    const sts = one(objs, 'StatefulSet', 'mailsync-operator-worker');
    const c = sts.spec.template.spec.containers[0];
    expect(sts.spec.replicas).toBe(4);
    expect(sts.spec.serviceName).toBe('mailsync-operator-worker');
    one(objs, 'Service', 'mailsync-operator-worker');
    expect(c.args).toEqual([
      'operator',
      '--role=worker',
      '--lease-namespace=mailsync-system',
      '--lease-name=mailsync-operator',
      '--metrics-addr=:8080',
    ]);
    expect(c.image).toMatch(/^ghcr\.io\/mailsync\/mailsync-operator@sha256:/);
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(sts.spec.template.spec.serviceAccountName).toBe('mailsync-operator');
    expect(sts.spec.selector.matchLabels['app.kubernetes.io/component']).toBe('worker');
    // Shard Leases for the workers.
    expect(one(objs, 'Role', 'mailsync-operator-leases').rules.some((r: Rule) => !r.resourceNames && r.verbs.includes('list'))).toBe(true);
  });

  test('PodDisruptionBudgets (policy/v1) for controller and workers', () => {
    const pdb = one(objs, 'PodDisruptionBudget', 'mailsync-operator');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec.minAvailable).toBe(2);
    expect(pdb.spec.selector.matchLabels['app.kubernetes.io/component']).toBe('controller');
    expect(one(objs, 'PodDisruptionBudget', 'mailsync-operator-worker').spec.maxUnavailable).toBe(1);
    expect(one(objs, 'Deployment').spec.replicas).toBe(3);
  });

  test('NetworkPolicy: metrics in from the given peers; API server, DNS and mail/CRM out', () => {
    const np = one(objs, 'NetworkPolicy');
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.podSelector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'mailsync-operator',
      'app.kubernetes.io/instance': 'mailsync-operator',
    });
    expect(np.spec.ingress).toEqual([
      {
        ports: [{ port: 'http', protocol: 'TCP' }],
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
      },
    ]);
    const [api, dns, mail, crm] = np.spec.egress;
    expect(api).toEqual({
      ports: [{ port: 6443, protocol: 'TCP' }],
      to: [{ ipBlock: { cidr: '10.96.0.1/32' } }, { ipBlock: { cidr: '192.168.10.0/24' } }],
    });
    expect(dns.ports).toEqual([
      { port: 53, protocol: 'UDP' },
      { port: 53, protocol: 'TCP' },
    ]);
    expect(dns.to[0].podSelector.matchLabels['k8s-app']).toBe('kube-dns');
    expect(mail.ports.map((p: { port: number }) => p.port)).toEqual([993, 587]);
    expect(crm.to).toEqual([{ ipBlock: { cidr: '198.51.100.10/32' } }]);
  });

  test('the default NetworkPolicy lets metrics in from anywhere and the usual mail and HTTPS ports out', async () => {
    const np = one(await render({ set: ['networkPolicy.enabled=true'] }), 'NetworkPolicy');
    expect(np.spec.ingress).toEqual([{ ports: [{ port: 'http', protocol: 'TCP' }] }]);
    expect(np.spec.egress[0]).toEqual({
      ports: [
        { port: 443, protocol: 'TCP' },
        { port: 6443, protocol: 'TCP' },
      ],
    });
    expect(np.spec.egress[2].ports.map((p: { port: number }) => p.port)).toEqual(expect.arrayContaining([993, 995, 587, 465, 443]));
  });

  test('ServiceMonitor scrapes /metrics on the http port, only when the cluster serves the API', async () => {
    const sm = one(objs, 'ServiceMonitor');
    expect(sm.metadata?.labels?.release).toBe('kube-prometheus-stack');
    expect(sm.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', honorLabels: true, interval: '15s', scrapeTimeout: '10s' }]);
    expect(sm.spec.selector.matchLabels['app.kubernetes.io/component']).toBe('metrics');
    expect(one(objs, 'Service', 'mailsync-operator').metadata?.labels?.['app.kubernetes.io/component']).toBe('metrics');
    expect(ofKind(await render({ files: [valuesFile('production.yaml')] }), 'ServiceMonitor')).toHaveLength(0);
  });

  test('the Grafana dashboard ConfigMap carries the sidecar label and a dashboard over every mailsync_* family', () => {
    const cm = one(objs, 'ConfigMap');
    expect(cm.metadata?.namespace).toBe('monitoring');
    expect(cm.metadata?.labels?.grafana_dashboard).toBe('1');
    expect(cm.metadata?.annotations?.grafana_folder).toBe('Mail');
    const dash = JSON.parse(cm.data['mailsync-operator.json']) as { uid: string; panels: { title: string; targets: { expr: string }[] }[] };
    expect(dash.uid).toBe('mailsync-operator');
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    for (const m of METRIC_FAMILIES) expect(exprs).toContain(m);
    expect(exprs).toMatch(/histogram_quantile\(0\.99, sum by \(le\) \(rate\(mailsync_sync_latency_seconds_bucket/);
    expect(dash.panels.map((p) => p.title)).toEqual(
      expect.arrayContaining(['Mailboxes by state', 'Messages in / out', 'Failures by reason', 'Sync latency', 'Reconcile duration']),
    );
  });

  test('the groups in values are bound to the user roles', () => {
    const approvers = one(objs, 'ClusterRoleBinding', 'mailsync-operator-approver');
    expect(approvers.roleRef.name).toBe('mailsync-approver');
    expect(approvers.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'mail-approvers' }]);
    expect(one(objs, 'ClusterRoleBinding', 'mailsync-operator-mailbox-admin').roleRef.name).toBe('mailsync-mailbox-admin');
    expect(one(objs, 'ClusterRoleBinding', 'mailsync-operator-credentials-admin').subjects[0].name).toBe('mail-credential-admins');
    expect(one(objs, 'ClusterRoleBinding', 'mailsync-operator-viewer').subjects[0].name).toBe('helpdesk');
  });
});

describe('auto-approval', () => {
  test('off by default: nothing bound to the operator carries the verb approve', async () => {
    expect(operatorRules(await render()).flatMap((r) => r.verbs)).not.toContain('approve');
  });

  test('on: a separate ClusterRole grants the operator `approve` on mailboxes.mailsync.dev, and the domains reach the pod', async () => {
    const objs = await render({ files: [valuesFile('auto-approval.yaml')] });
    const role = one(objs, 'ClusterRole', 'mailsync-operator-approve');
    expect(role.rules).toEqual([{ apiGroups: ['mailsync.dev'], resources: ['mailboxes'], verbs: ['approve'] }]);
    expect(one(objs, 'ClusterRoleBinding', 'mailsync-operator-approve').subjects).toEqual([
      { kind: 'ServiceAccount', name: 'mailsync-operator', namespace: 'mailsync-system' },
    ]);
    expect(verbsOn(operatorRules(objs), 'mailsync.dev', 'mailboxes')).toEqual(['approve', 'get', 'list', 'watch']);
    const env = one(objs, 'Deployment').spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'AUTO_APPROVE_DOMAINS', value: 'contoso.example,fabrikam.example' });
  });

  test('on without a domain cap: the verb is granted, the domains come from each Deployment only', async () => {
    const objs = await render({ set: ['autoApproval.enabled=true'] });
    one(objs, 'ClusterRoleBinding', 'mailsync-operator-approve');
    const env = one(objs, 'Deployment').spec.template.spec.containers[0].env.map((e: { name: string }) => e.name);
    expect(env).not.toContain('AUTO_APPROVE_DOMAINS');
  });
});

describe('a second, namespace-scoped release (crds.enabled=false)', () => {
  let objs: Manifest[];
  beforeAll(async () => {
    objs = await render({ release: 'team-a', namespace: 'team-a-system', files: [valuesFile('second-release.yaml')] });
  });

  test('renders no CRDs and no user ClusterRoles, only its own controller', () => {
    expect(ofKind(objs, 'CustomResourceDefinition')).toHaveLength(0);
    expect(ofKind(objs, 'ClusterRole').map((r) => r.metadata?.name)).toEqual(['mailsync-team-a']);
    expect(ofKind(objs, 'ClusterRoleBinding')).toHaveLength(0);
    one(objs, 'Deployment', 'mailsync-team-a');
  });

  test('binds the operator and the approvers in the watched namespace only', () => {
    const rb = one(objs, 'RoleBinding', 'mailsync-team-a');
    expect(rb.metadata?.namespace).toBe('team-a');
    expect(rb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'mailsync-team-a' });
    expect(rb.subjects).toEqual([{ kind: 'ServiceAccount', name: 'mailsync-team-a', namespace: 'team-a-system' }]);
    const approvers = one(objs, 'RoleBinding', 'mailsync-team-a-approver');
    expect(approvers.metadata?.namespace).toBe('team-a');
    expect(approvers.roleRef.name).toBe('mailsync-approver');
    const c = one(objs, 'Deployment').spec.template.spec.containers[0];
    expect(c.env).toContainEqual({ name: 'WATCH_NAMESPACE', value: 'team-a' });
    expect(c.args).toContain('--lease-name=mailsync-team-a');
    expect(one(objs, 'Role', 'mailsync-team-a-leases').metadata?.namespace).toBe('team-a-system');
  });
});

describe('other switches', () => {
  test("leaderElection.enabled=false: the Lease role keeps only the sync workers' Leases, and the flag says so", async () => {
    const objs = await render({ set: ['leaderElection.enabled=false'] });
    const role = one(objs, 'Role') as unknown as { rules: { resourceNames?: string[] }[] };
    expect(role.rules.some((r) => r.resourceNames?.includes('mailsync-operator'))).toBe(false);
    expect(one(objs, 'Deployment').spec.template.spec.containers[0].args).toEqual([
      'operator',
      '--role=all',
      '--leader-elect=false',
      '--lease-namespace=mailsync-system',
      '--lease-name=mailsync-operator',
      '--metrics-addr=:8080',
    ]);
  });

  test('leaderElection.namespace moves the Lease and its Role', async () => {
    const objs = await render({ set: ['leaderElection.namespace=kube-system'] });
    expect(one(objs, 'Role').metadata?.namespace).toBe('kube-system');
    expect(one(objs, 'Deployment').spec.template.spec.containers[0].args).toContain('--lease-namespace=kube-system');
  });

  test('a release not named after the chart gets prefixed names; the ServiceAccount can be named explicitly', async () => {
    expect(one(await render({ release: 'mail' }), 'ServiceAccount').metadata?.name).toBe('mail-mailsync-operator');
    expect(one(await render({ release: 'mail', set: ['serviceAccount.name=mailsync-operator'] }), 'ServiceAccount').metadata?.name).toBe(
      'mailsync-operator',
    );
  });

  test('image.tag overrides appVersion', async () => {
    expect(one(await render({ set: ['image.tag=0.2.0-rc.1'] }), 'Deployment').spec.template.spec.containers[0].image).toBe(
      'ghcr.io/mailsync/mailsync-operator:0.2.0-rc.1',
    );
  });

  test('rbac.create=false and serviceAccount.create=false render no RBAC and use the named ServiceAccount', async () => {
    const objs = await render({
      set: ['rbac.create=false', 'rbac.userRoles.create=false', 'serviceAccount.create=false', 'serviceAccount.name=existing'],
    });
    expect(Object.keys(kindCounts(objs)).filter((k) => /Role|ServiceAccount/.test(k))).toEqual([]);
    expect(one(objs, 'Deployment').spec.template.spec.serviceAccountName).toBe('existing');
  });
});

describe('bad values fail with a message that names the value', () => {
  test.each([
    ['replicaCount: "two"', { set: ['replicaCount=two'] }, /\/replicaCount': got string, want integer/],
    ['an unknown top-level key', { set: ['replicas=2'] }, /additional properties 'replicas' not allowed/],
    ['an unknown key in a block', { set: ['image.name=x'] }, /at '\/image': additional properties 'name' not allowed/],
    ['logLevel: loud', { set: ['logLevel=loud'] }, /\/logLevel': value must be one of 'trace', 'debug', 'info', 'warn', 'error'/],
    ['image.pullPolicy: Sometimes', { set: ['image.pullPolicy=Sometimes'] }, /\/image\/pullPolicy': value must be one of/],
    ['crds.enabled: "yes"', { set: ['crds.enabled=yes'] }, /\/crds\/enabled': got string, want boolean/],
    [
      'a malformed auto-approval domain',
      { set: ['autoApproval.enabled=true', 'autoApproval.domains={Contoso_Example}'] },
      /\/autoApproval\/domains\/0': 'Contoso_Example' does not match pattern/,
    ],
    [
      'two replicas without leader election',
      { set: ['replicaCount=2', 'leaderElection.enabled=false'] },
      /replicaCount: 2 needs leaderElection.enabled=true/,
    ],
    [
      'no ServiceAccount to run as',
      { set: ['serviceAccount.create=false'] },
      /serviceAccount.name is required when serviceAccount.create is false/,
    ],
    [
      'a values file with an unknown key',
      { files: [valuesFile('invalid/unknown-key.yaml')] },
      /additional properties 'replica' not allowed/,
    ],
  ])('%s', async (_name, opts, message) => {
    expect(await renderError(opts)).toMatch(message);
  });
});
