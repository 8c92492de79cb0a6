// What `make dev-cluster` sets up on a fresh control plane, in a directory of its own (the repo's
// .dev-cluster/ for make, a temporary one for tests that follow the docs): the CRDs and admission
// policies from crds/ and the RBAC of every identity (identity-roles.ts), all marked for adoption
// by the release docs/helm.md installs; one kubeconfig per identity; and a summary saying which
// kubeconfig is whose and what it may do.

import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Applier } from '../src/kube/apply.js';
import { loadKubeConfig } from '../src/kube/client.js';
import { DOCUMENTED_RELEASE } from './chart.js';
import { IDENTITIES, type ControlPlaneInfo, type Identity } from './control-plane.js';
import { installCrds } from './crds.js';
import { devRbac, kebab, rolesOf } from './identity-roles.js';

/** The kubeconfig file of an identity inside the dev cluster directory (admin's is plain `kubeconfig`). */
export const kubeconfigName = (id: Identity): string => (id === 'admin' ? 'kubeconfig' : `kubeconfig-${kebab(id)}`);

/**
 * Prepares the cluster of `info` and writes the kubeconfigs into `dir`. Returns the summary (also
 * written to `dir/identities.txt`), with paths shown relative to `shownFrom`.
 */
export async function setUpDevCluster(info: ControlPlaneInfo, dir: string, shownFrom = dir): Promise<string> {
  const kc = loadKubeConfig(info.kubeconfigs.admin);
  await installCrds(kc, { adoptBy: DOCUMENTED_RELEASE });
  const rbac = devRbac();
  await new Applier(kc, 'mailsync-dev-cluster').applyAll(rbac);
  const rows: string[][] = [['IDENTITY', 'USER', 'ROLES', 'KUBECONFIG']];
  for (const id of Object.keys(IDENTITIES) as Identity[]) {
    const file = path.join(dir, kubeconfigName(id));
    await copyFile(info.kubeconfigs[id], file);
    const roles = rolesOf(rbac, id);
    rows.push([kebab(id), IDENTITIES[id].user, roles.length ? roles.join(', ') : 'none', path.relative(shownFrom, file)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const summary = [
    `Identities (token users). Roles come from charts/mailsync-operator, rendered as release ${DOCUMENTED_RELEASE.name} in ${DOCUMENTED_RELEASE.namespace}:`,
    ...rows.map((r) => '  ' + r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]) : c)).join('  ')),
    '',
  ].join('\n');
  await writeFile(path.join(dir, 'identities.txt'), summary);
  return summary;
}
