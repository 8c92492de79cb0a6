// Secrets and ConfigMaps of one namespace, decoded, from the watch caches; with API clients also
// ServiceAccount tokens (workload identity) and writing back rotated refresh tokens.

import type { KubeClients } from '../kube/client.js';
import { serviceAccountToken, writeSecretKey } from '../kube/credential-writes.js';
import { registerSecret } from '../util/redact.js';
import type { Caches } from './context.js';
import type { SecretSource } from './mailbox-testing.js';

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
