// Renders the Helm chart with the real helm binary (built from Go modules like the control plane).

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import yaml from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { REPO_ROOT, resolveAssets } from '../../dev/control-plane.js';

export const CHART = path.join(REPO_ROOT, 'charts', 'mailsync-operator');

export function helm(args: string[]): string {
  return execFileSync(path.join(resolveAssets(), 'helm'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `helm template` with --set values; returns the rendered objects. */
export function renderChart(release: string, namespace: string, set: Record<string, string>): KubernetesObject[] {
  const flags = Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  // helm built from Go modules reports Kubernetes v1.20 unless told; render for the version we test.
  const out = helm(['template', release, CHART, '--namespace', namespace, '--kube-version', '1.36.3', ...flags]);
  return yaml.loadAll(out).filter((d): d is KubernetesObject => !!d);
}

export const RBAC_KINDS = new Set(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
