// Namespaced objects for end-to-end tests: Secrets, and the CA bundles of the mail fixtures.

import { appendFileSync } from 'node:fs';
import type { KubeClients } from '../../src/kube/client.js';
import { stringsIn } from './secret-encodings.js';

/** A remembered secret value, with the username of its login (for the SASL forms the scan looks for). */
export interface RememberedSecret {
  value: string;
  username?: string;
}

/** Remembers secret values for the suite-wide scan in global-teardown: one JSON object per line. */
export function rememberSecrets(data: Record<string, string>): void {
  const file = process.env.MAILSYNC_TEST_SECRETS_FILE;
  // CA certificates are public; everything else in a test Secret is treated as secret.
  const values = Object.entries(data)
    .filter(([k]) => !k.endsWith('.crt') && k !== 'username')
    .map(([, value]): RememberedSecret => ({ value, username: data.username }));
  if (file && values.length) appendFileSync(file, values.map((v) => `${JSON.stringify(v)}\n`).join(''));
}

export async function createSecret(c: KubeClients, namespace: string, name: string, data: Record<string, string>): Promise<void> {
  rememberSecrets(data);
  await c.core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData: data } });
}

export async function updateSecret(c: KubeClients, namespace: string, name: string, data: Record<string, string>): Promise<void> {
  rememberSecrets(data);
  await c.core.replaceNamespacedSecret({ namespace, name, body: { metadata: { name }, stringData: data } });
}

/** Every string in the namespace's Events and mailsync objects' status, for secret scans. */
export async function visibleText(c: KubeClients, namespace: string): Promise<string> {
  const events = await c.core.listNamespacedEvent({ namespace });
  const parts = events.items.map((e) => `${e.reason} ${e.message}`);
  for (const plural of ['mailboxes', 'emailserverprofiles', 'deployments']) {
    const list = (await c.custom.listNamespacedCustomObject({ group: 'mailsync.dev', version: 'v1alpha1', namespace, plural })) as {
      items: { status?: unknown }[];
    };
    // Each string decoded: a secret is found by its own form, not hidden by JSON's escaping.
    parts.push(...list.items.flatMap((i) => stringsIn(i.status ?? {})));
  }
  return parts.join('\n');
}
