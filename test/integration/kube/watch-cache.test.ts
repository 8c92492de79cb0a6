// WatchCache against the real API server: re-list on 410 Gone, restart of a stalled watch,
// and nothing missed across either.

import type { V1ConfigMap } from '@kubernetes/client-node';
import { ControlPlane } from '../../../dev/control-plane.js';
import { createClients, loadKubeConfig } from '../../../src/kube/client.js';
import { waitFor } from '../../../dev/processes.js';
import { WatchCache } from '../../../src/kube/watch-cache.js';
import { silentLogger } from '../../../src/log/logger.js';
import { clientsAs, newNamespace } from '../../support/kube.js';

const admin = clientsAs('admin');
const type = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' };
let ns: string;
const caches: WatchCache<V1ConfigMap>[] = [];

beforeAll(async () => {
  ns = await newNamespace(admin, 'watch');
});
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  caches.forEach((c) => c.stop());
  for (const s of stops) await s();
});

const cm = (name: string) => admin.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { a: name } } });

test('a stalled watch (no events, no bookmarks) is restarted and still sees later changes', async () => {
  const cache = new WatchCache<V1ConfigMap>(admin, type, {
    namespace: ns,
    logger: silentLogger(),
    stallMs: 1000,
    watchTimeoutSeconds: 300,
  });
  caches.push(cache);
  cache.start();
  await cache.waitForSync();
  await waitFor('a stall', async () => (cache.stats.stalls >= 2 ? true : undefined), { timeoutMs: 10_000 });
  await cm('after-stall');
  await waitFor('the change', async () => (cache.get(ns, 'after-stall') ? true : undefined), { timeoutMs: 10_000 });
});

test('cached objects leave managedFields out, listed and watched alike; an update through the cache keeps them on the server', async () => {
  await cm('managed-listed');
  const cache = new WatchCache<V1ConfigMap>(admin, type, { namespace: ns, logger: silentLogger() });
  caches.push(cache);
  cache.start();
  await cache.waitForSync();
  await cm('managed-watched');
  const watched = await waitFor('the watched object', async () => cache.get(ns, 'managed-watched'), { timeoutMs: 10_000 });
  const listed = cache.get(ns, 'managed-listed')!;
  expect((await admin.core.readNamespacedConfigMap({ namespace: ns, name: 'managed-listed' })).metadata?.managedFields).not.toHaveLength(0);
  expect([listed.metadata?.managedFields, watched.metadata?.managedFields]).toEqual([undefined, undefined]);
  // A PUT of the cached object (no managedFields at all) leaves the server's alone.
  await admin.core.replaceNamespacedConfigMap({ namespace: ns, name: 'managed-listed', body: { ...listed, data: { a: 'changed' } } });
  const after = await admin.core.readNamespacedConfigMap({ namespace: ns, name: 'managed-listed' });
  expect(after.data).toEqual({ a: 'changed' });
  expect(after.metadata?.managedFields?.length).toBeGreaterThan(0);
});

test('a resourceVersion the server no longer has (410 Gone) leads to a full re-list', async () => {
  // Without the API server's watch cache, watches go to etcd, whose compaction makes old
  // versions answer 410 Gone.
  const cp = await ControlPlane.start({ apiserverArgs: ['--watch-cache=false'] });
  stops.push(() => cp.stop());
  const admin = createClients(loadKubeConfig(cp.info.kubeconfigs.admin));
  const ns = 'default';
  const cm = (name: string) => admin.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { a: name } } });
  await cm('after-stall');
  const cache = new WatchCache<V1ConfigMap>(admin, type, { namespace: ns, logger: silentLogger() });
  caches.push(cache);
  const deleted: string[] = [];
  cache.addHandlers({ onDelete: (o) => deleted.push(o.metadata!.name!) });
  cache.start();
  await cache.waitForSync();
  const listsBefore = cache.stats.lists;
  // Resume the next watch from a version that etcd has compacted away.
  // Stop the cache's watch from seeing the deletion, so only a re-list can reveal it.
  await cache.stop();
  for (let i = 0; i < 5; i++) await cm(`filler-${i}`);
  await admin.core.deleteNamespacedConfigMap({ namespace: ns, name: 'after-stall' });
  await cp.compactEtcd();
  (cache as unknown as { resourceVersion: string }).resourceVersion = '2';
  cache.start();
  await waitFor('re-list', async () => (cache.stats.lists > listsBefore ? true : undefined), { timeoutMs: 15_000 });
  await waitFor('deletion seen', async () => (deleted.includes('after-stall') ? true : undefined), { timeoutMs: 15_000 });
  expect(cache.get(ns, 'after-stall')).toBeUndefined();
});

test('a list of more objects than one page (custom resources too) is read completely', async () => {
  const ns2 = await newNamespace(admin, 'paging');
  const type2 = { apiVersion: 'mailsync.dev/v1alpha1', kind: 'Mailbox', plural: 'mailboxes' };
  for (let i = 0; i < 7; i++) {
    await admin.custom.createNamespacedCustomObject({
      group: 'mailsync.dev',
      version: 'v1alpha1',
      namespace: ns2,
      plural: 'mailboxes',
      body: {
        apiVersion: 'mailsync.dev/v1alpha1',
        kind: 'Mailbox',
        metadata: { name: `m${i}` },
        spec: { emailAddress: `m${i}@example.com`, owner: { kind: 'User', name: `m${i}` }, deploymentRef: { name: 'd' } },
      },
    });
  }
  const cache = new WatchCache<V1ConfigMap>(admin, type2, { namespace: ns2, logger: silentLogger(), pageSize: 3 });
  caches.push(cache);
  cache.start();
  await cache.waitForSync();
  expect(
    cache
      .list()
      .map((o) => o.metadata!.name)
      .sort(),
  ).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
});
