import type { Deployment } from '../../../src/api/types.js';
import { ConnectorCache } from '../../../src/connect/sync-parts.js';
import type { SecretSource } from '../../../src/domain/secret-source.js';

const deployment = (uid: string, url = 'https://crm.example/hooks'): Deployment =>
  ({
    apiVersion: 'mailsync.dev/v1alpha1',
    kind: 'Deployment',
    metadata: { name: `d-${uid}`, namespace: 'ns', uid },
    spec: { crm: { type: 'Webhook', url, credentialsSecretRef: { name: 'crm' } } },
  }) as unknown as Deployment;

const secrets = (version: string): SecretSource => ({
  secret: (name) =>
    name === 'crm'
      ? { data: { token: `token-${version}-0123456789`, signingKey: `key-${version}-0123456789` }, resourceVersion: version }
      : undefined,
  configMap: () => undefined,
});

test('one connector per Deployment: reused while its configuration stands, replaced (not added) when it changes', () => {
  const cache = new ConnectorCache();
  const first = cache.get(deployment('a'), secrets('1'));
  expect(cache.get(deployment('a'), secrets('1'))).toBe(first);
  const rotated = cache.get(deployment('a'), secrets('2'));
  expect(rotated).not.toBe(first);
  const moved = cache.get(deployment('a', 'https://crm2.example/hooks'), secrets('2'));
  expect(moved).not.toBe(rotated);
  expect(cache.size).toBe(1);
  cache.get(deployment('b'), secrets('1'));
  expect(cache.size).toBe(2);
});

test('a missing credentials Secret is named in the error', () => {
  const cache = new ConnectorCache();
  expect(() => cache.get(deployment('a'), { secret: () => undefined, configMap: () => undefined })).toThrow(
    'Secret "crm" (spec.crm.credentialsSecretRef) not found',
  );
});
