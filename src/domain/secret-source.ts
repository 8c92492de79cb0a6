// Secrets and ConfigMaps of one namespace, decoded, from the watch caches: what the tests and the
// sync workers read credentials and CA bundles from.

import type { Caches } from './caches.js';

export interface SecretSource {
  secret(name: string): { data: Record<string, string>; resourceVersion: string } | undefined;
  configMap(name: string): { data: Record<string, string>; resourceVersion: string } | undefined;
}

export function secretSource(caches: Pick<Caches, 'secrets' | 'configMaps'>, namespace: string): SecretSource {
  const decode = (data: Record<string, string> | undefined, b64: boolean) =>
    Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, b64 ? Buffer.from(v, 'base64').toString('utf8') : v]));
  return {
    secret: (name) => {
      const s = caches.secrets.get(namespace, name);
      return s && { data: decode(s.data, true), resourceVersion: s.metadata.resourceVersion ?? '' };
    },
    configMap: (name) => {
      const c = caches.configMaps.get(namespace, name);
      return c && { data: decode(c.data, false), resourceVersion: c.metadata?.resourceVersion ?? '' };
    },
  };
}
