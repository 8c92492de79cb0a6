// The Helm chart as the dev tools and tests use it: rendered with the real helm binary (built from
// Go modules like the control plane), and marked so that a later `helm install` adopts what the
// dev tools applied instead of refusing it.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import yaml from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { REPO_ROOT, resolveAssets } from './control-plane.js';

export const CHART = path.join(REPO_ROOT, 'charts', 'mailsync-operator');

export const RBAC_KINDS = new Set(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

/** The release docs/helm.md installs: its name and namespace. */
export interface HelmRelease {
  name: string;
  namespace: string;
}
export const DOCUMENTED_RELEASE: HelmRelease = { name: 'mailsync-operator', namespace: 'mailsync-system' };

function helm(args: string[]): string {
  return execFileSync(path.join(resolveAssets(), 'helm'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `helm template` with --set values; returns the rendered objects. */
export function renderChart(release: string, namespace: string, set: Record<string, string>): KubernetesObject[] {
  const flags = Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  // helm built from Go modules reports Kubernetes v1.20 unless told; render for the version we test.
  const out = helm(['template', release, CHART, '--namespace', namespace, '--kube-version', '1.36.3', ...flags]);
  return yaml.loadAll(out).filter((d): d is KubernetesObject => !!d);
}

/**
 * Copies of `objs` carrying Helm's ownership metadata for `release`, so that `helm install` of that
 * release adopts them (Helm refuses objects that exist without it). Helm then owns them: its
 * uninstall removes them unless the chart keeps them.
 */
export function adoptableBy(release: HelmRelease, objs: KubernetesObject[]): KubernetesObject[] {
  return objs.map((o) => ({
    ...o,
    metadata: {
      ...o.metadata,
      labels: { ...o.metadata?.labels, 'app.kubernetes.io/managed-by': 'Helm' },
      annotations: {
        ...o.metadata?.annotations,
        'meta.helm.sh/release-name': release.name,
        'meta.helm.sh/release-namespace': release.namespace,
      },
    },
  }));
}
