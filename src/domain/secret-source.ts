// Secrets and ConfigMaps of one namespace, decoded, from the watch caches: what the tests and the
// sync workers read credentials and CA bundles from; with API clients also ServiceAccount tokens
// (workload identity) and writing back rotated refresh tokens.

import type { KubeClients } from '../kube/client.js';
import { serviceAccountToken, writeSecretKey } from '../kube/credential-writes.js';
import { registerSecret } from '../util/redact.js';
import type { Caches } from './caches.js';

export interface SecretSource {
  /** The namespace the names resolve in. */
  namespace?: string;
  secret(name: string): { data: Record<string, string>; resourceVersion: string } | undefined;
  configMap(name: string): { data: Record<string, string>; resourceVersion: string } | undefined;
  /** A token of a ServiceAccount of the namespace for this audience (workload identity federation). */
  serviceAccountToken?(name: string, audience: string): Promise<string>;
  /** Writes one key of a Secret of the namespace (a rotated refresh token). */
  writeSecretKey?(name: string, key: string, value: string): Promise<void>;
}

export function secretSource(caches: Pick<Caches, 'secrets' | 'configMaps'>, namespace: string, clients?: KubeClients): SecretSource {
  const decode = (data: Record<string, string> | undefined, b64: boolean) =>
    Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, b64 ? Buffer.from(v, 'base64').toString('utf8') : v]));
  return {
    namespace,
    ...(clients
      ? {
          serviceAccountToken: async (name: string, audience: string) => {
            const token = await serviceAccountToken(clients, namespace, name, audience);
            registerSecret(token);
            return token;
          },
          writeSecretKey: (name: string, key: string, value: string) => writeSecretKey(clients, namespace, name, key, value),
        }
      : {}),
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
