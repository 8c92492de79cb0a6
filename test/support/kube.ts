// Test helpers for the shared control plane: clients per identity, namespaces, waiting for status.

import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ControlPlaneInfo, Identity } from '../../dev/control-plane.js';
import { waitFor } from '../../dev/processes.js';
import { GROUP, VERSION } from '../../src/api/schema.js';
import { createClients, loadKubeConfig, type KubeClients } from '../../src/kube/client.js';
import type { Condition } from '../../src/kube/conditions.js';
import { apiMessage } from '../../src/kube/errors.js';

export function controlPlaneInfo(): ControlPlaneInfo {
  const file = process.env.MAILSYNC_TEST_CONTROL_PLANE;
  if (!file)
    throw new Error('MAILSYNC_TEST_CONTROL_PLANE is not set: run tests through `make test` (jest globalSetup starts the control plane)');
  return JSON.parse(readFileSync(file, 'utf8')) as ControlPlaneInfo;
}

export function clientsAs(id: Identity, info = controlPlaneInfo()): KubeClients {
  return createClients(loadKubeConfig(info.kubeconfigs[id]));
}

export async function newNamespace(admin: KubeClients, prefix = 'test'): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await admin.core.createNamespace({ body: { metadata: { name } } });
  return name;
}

export type Plural = 'emailserverprofiles' | 'mailboxes' | 'deployments';
const KIND: Record<Plural, string> = { emailserverprofiles: 'EmailServerProfile', mailboxes: 'Mailbox', deployments: 'Deployment' };

export function obj(
  plural: Plural,
  namespace: string,
  name: string,
  spec: unknown,
  metadata: Record<string, unknown> = {},
): KubernetesObject & { spec: unknown } {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: KIND[plural], metadata: { name, namespace, ...metadata }, spec };
}

export async function create(
  c: KubeClients,
  plural: Plural,
  namespace: string,
  name: string,
  spec: unknown,
  metadata: Record<string, unknown> = {},
): Promise<KubernetesObject> {
  return c.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural,
    body: obj(plural, namespace, name, spec, metadata),
  });
}

/** Creates the object and returns the API server's refusal message (or throws if it was accepted). */
export async function rejection(c: KubeClients, plural: Plural, namespace: string, name: string, spec: unknown): Promise<string> {
  try {
    await create(c, plural, namespace, name, spec);
  } catch (err) {
    return apiMessage(err);
  }
  throw new Error(`${plural}/${name} was accepted, expected a rejection`);
}

export async function get(
  c: KubeClients,
  plural: Plural,
  namespace: string,
  name: string,
): Promise<KubernetesObject & { spec: any; status?: any }> {
  return c.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, name });
}

export async function mergePatchSpec(c: KubeClients, plural: Plural, namespace: string, name: string, patch: object): Promise<void> {
  const { mergePatch } = await import('../../src/kube/client.js');
  await c.custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, name, body: patch }, mergePatch());
}

export function condition(o: { status?: { conditions?: Condition[] } }, type: string): Condition | undefined {
  return o.status?.conditions?.find((x) => x.type === type);
}

/** Waits until the object's condition satisfies `pred`; returns the object. */
export async function waitForCondition(
  c: KubeClients,
  plural: Plural,
  namespace: string,
  name: string,
  type: string,
  pred: (cond: Condition) => boolean,
  timeoutMs = 30_000,
): Promise<KubernetesObject & { spec: any; status?: any }> {
  let last: Condition | undefined;
  try {
    return await waitFor(
      `${plural}/${name} condition ${type}`,
      async () => {
        const o = await get(c, plural, namespace, name);
        last = condition(o, type);
        return last && pred(last) ? o : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`, { cause: err });
  }
}

/** A user's Mailbox spec in the shape most tests use: `<user>@example.com`, Deployment `crm`, Secret `<user>-mail`. */
export const userMailbox = (user: string, extra: object = {}) => ({
  emailAddress: `${user}@example.com`,
  owner: { kind: 'User', name: user },
  deploymentRef: { name: 'crm' },
  credentialsSecretRef: { name: `${user}-mail` },
  ...extra,
});
