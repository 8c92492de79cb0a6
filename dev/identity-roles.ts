// The roles of the local control plane's identities (IDENTITIES in control-plane.ts), taken from
// the Helm chart itself so that what `make dev-cluster` grants is what the chart grants:
//   - the operator: the chart's own RBAC for its ServiceAccount (the token file's operator user is
//     that ServiceAccount), rendered for the release docs/helm.md installs;
//   - people: one ClusterRoleBinding per row of IDENTITY_ROLES to a user-facing ClusterRole of the
//     chart (a role the chart does not render is an error, so a rename cannot go unnoticed);
//   - admin: system:masters; nobody: nothing.
// The chart's objects carry Helm's ownership metadata for that release, so the documented
// `helm install` adopts them instead of refusing them.

import type { KubernetesObject } from '@kubernetes/client-node';
import { adoptableBy, DOCUMENTED_RELEASE, RBAC_KINDS, renderChart } from './chart.js';
import { IDENTITIES, type Identity } from './control-plane.js';

/**
 * Who holds which user-facing ClusterRole of the chart (its name without the `mailsync-` prefix).
 * One line per binding; docs/approval.md's identity table lists the same (a test compares them).
 */
export const IDENTITY_ROLES: readonly { identity: Identity; role: string }[] = [
  { identity: 'approver', role: 'approver' },
  { identity: 'mailboxAdmin', role: 'mailbox-admin' },
  { identity: 'credentialsAdmin', role: 'credentials-admin' },
  { identity: 'viewer', role: 'viewer' },
];

/** The chart's default rbac.userRoles.namePrefix. */
const USER_ROLE_PREFIX = 'mailsync';

/** mailboxAdmin -> mailbox-admin: how identities appear in file names and output. */
export const kebab = (id: Identity): string => id.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

type Subject = { kind: string; name: string; namespace?: string };
type Binding = KubernetesObject & { roleRef: { kind: string; name: string }; subjects?: Subject[] };

/** The Namespace, the chart's RBAC objects and the identities' bindings, ready to apply in this order. */
export function devRbac(): KubernetesObject[] {
  const release = DOCUMENTED_RELEASE;
  const chart = renderChart(release.name, release.namespace, {}).filter((o) => RBAC_KINDS.has(o.kind!));
  const clusterRoles = new Set(chart.filter((o) => o.kind === 'ClusterRole').map((o) => o.metadata!.name!));
  const bindings: Binding[] = IDENTITY_ROLES.map(({ identity, role }) => {
    const name = `${USER_ROLE_PREFIX}-${role}`;
    if (!clusterRoles.has(name))
      throw new Error(
        `IDENTITY_ROLES binds ${identity} to ClusterRole ${name}, which the chart does not render (it renders ${[...clusterRoles].join(', ')})`,
      );
    return {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `mailsync-dev-${kebab(identity)}-${role}`, labels: { 'app.kubernetes.io/part-of': 'mailsync-dev-cluster' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: IDENTITIES[identity].user }],
    };
  });
  const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: release.namespace } };
  return [namespace, ...adoptableBy(release, chart), ...bindings];
}

function holds(subject: Subject, id: Identity): boolean {
  const who = IDENTITIES[id];
  if (subject.kind === 'User') return subject.name === who.user;
  if (subject.kind === 'Group') return (who.groups as readonly string[]).includes(subject.name);
  return subject.kind === 'ServiceAccount' && `system:serviceaccount:${subject.namespace}:${subject.name}` === who.user;
}

/** What each identity holds according to `objs` (as devRbac returns them), for the dev cluster's summary. */
export function rolesOf(objs: KubernetesObject[], id: Identity): string[] {
  if ((IDENTITIES[id].groups as readonly string[]).includes('system:masters')) return ['everything (group system:masters)'];
  return objs
    .filter(
      (o): o is Binding =>
        (o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') && !!(o as Binding).subjects?.some((s) => holds(s, id)),
    )
    .map((b) =>
      b.kind === 'RoleBinding' ? `${b.roleRef.kind} ${b.roleRef.name} in ${b.metadata?.namespace}` : `${b.roleRef.kind} ${b.roleRef.name}`,
    );
}
