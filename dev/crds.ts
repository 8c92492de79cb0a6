// Installs the CRDs and admission policies from crds/ into a cluster and waits until the API
// server serves them.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { Applier } from '../src/kube/apply.js';
import { rawRequest } from '../src/kube/raw.js';
import { adoptableBy, type HelmRelease } from './chart.js';
import { REPO_ROOT } from './control-plane.js';
import { waitFor } from './processes.js';

export async function readManifests(dir: string): Promise<KubernetesObject[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
  const out: KubernetesObject[] = [];
  for (const f of files) {
    for (const doc of yaml.loadAll(await readFile(path.join(dir, f), 'utf8'))) if (doc) out.push(doc as KubernetesObject);
  }
  return out;
}

/** `adoptBy`: mark them for adoption by that Helm release (the dev cluster, for docs/helm.md's install). */
export async function installCrds(kc: KubeConfig, opts: { adoptBy?: HelmRelease } = {}): Promise<void> {
  const manifests = await readManifests(path.join(REPO_ROOT, 'crds'));
  const crds = opts.adoptBy ? adoptableBy(opts.adoptBy, manifests) : manifests;
  await new Applier(kc).applyAll(crds);
  for (const crd of crds.filter((c) => c.kind === 'CustomResourceDefinition')) {
    await waitFor(`CRD ${crd.metadata?.name} established`, async () => {
      const got = await rawRequest<{ status?: { conditions?: { type: string; status: string }[] } }>(
        kc,
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata!.name}`,
      );
      return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    });
  }
}
