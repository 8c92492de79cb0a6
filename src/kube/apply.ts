// Server-side apply of arbitrary manifests (what `kubectl apply --server-side` does), with the
// resource's plural found through discovery.

import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { objectPath, rawRequest } from './raw.js';

interface ApiResourceList {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

export class Applier {
  private readonly discovery = new Map<string, Promise<ApiResourceList>>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly fieldManager = 'mailsync',
  ) {}

  async resource(apiVersion: string, kind: string): Promise<{ plural: string; namespaced: boolean }> {
    let list = this.discovery.get(apiVersion);
    if (!list) {
      list = rawRequest<ApiResourceList>(this.kc, 'GET', apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
      this.discovery.set(apiVersion, list);
      list.catch(() => this.discovery.delete(apiVersion));
    }
    const r = (await list).resources.find((x) => x.kind === kind && !x.name.includes('/'));
    if (!r) throw new Error(`the API server does not serve kind ${kind} in ${apiVersion}`);
    return { plural: r.name, namespaced: r.namespaced };
  }

  /** Applies one object; `namespace` fills in metadata.namespace for namespaced kinds without one. */
  async apply<T extends KubernetesObject>(obj: KubernetesObject, namespace?: string): Promise<T> {
    const { plural, namespaced } = await this.resource(obj.apiVersion!, obj.kind!);
    const ns = namespaced ? (obj.metadata?.namespace ?? namespace ?? 'default') : undefined;
    const body = { ...obj, metadata: { ...obj.metadata, ...(ns ? { namespace: ns } : {}) } };
    const p = `${objectPath(obj.apiVersion!, plural, ns, obj.metadata!.name)}?fieldManager=${this.fieldManager}&force=true`;
    return rawRequest<T>(this.kc, 'PATCH', p, body, 'application/apply-patch+yaml');
  }

  async applyAll(objs: KubernetesObject[], namespace?: string): Promise<void> {
    for (const o of objs) await this.apply(o, namespace);
  }
}
