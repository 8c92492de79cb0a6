// What the operator asks of the API server for credentials beyond reading Secrets: a
// ServiceAccount token for workload identity federation (TokenRequest, audience bound, short-lived:
// useless against the API server itself), and writing back a refresh token that the identity
// provider rotated (only that key of that Secret).

import type { KubeClients } from './client.js';
import { mergePatch } from './client.js';

/** Lifetime asked for a federated token: the token endpoint checks it once, at the exchange. */
const TOKEN_SECONDS = 600;

export async function serviceAccountToken(clients: KubeClients, namespace: string, name: string, audience: string): Promise<string> {
  const answer = await clients.core.createNamespacedServiceAccountToken({
    namespace,
    name,
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: [audience], expirationSeconds: TOKEN_SECONDS },
    },
  });
  const token = answer.status?.token;
  if (!token) throw new Error(`the API server issued no token for ServiceAccount "${name}" in namespace "${namespace}"`);
  return token;
}

export async function writeSecretKey(clients: KubeClients, namespace: string, name: string, key: string, value: string): Promise<void> {
  await clients.core.patchNamespacedSecret(
    { namespace, name, body: { data: { [key]: Buffer.from(value).toString('base64') } } },
    mergePatch(),
  );
}
