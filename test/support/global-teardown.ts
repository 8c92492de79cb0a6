// Stops the shared control plane, after the suite-wide secret scan: no value of any Secret a test
// created may appear in any log line an operator wrote, any Event or any status in the cluster.

import { existsSync, readFileSync } from 'node:fs';
import type { ControlPlane } from '../../dev/control-plane.js';
import { waitFor } from '../../dev/processes.js';
import { createClients, loadKubeConfig } from '../../src/kube/client.js';

async function visibleEverywhere(cp: ControlPlane): Promise<string[]> {
  const c = createClients(loadKubeConfig(cp.info.kubeconfigs.admin));
  const parts: string[] = [];
  const events = await c.core.listEventForAllNamespaces({});
  parts.push(...events.items.map((e) => `Event ${e.metadata?.namespace}/${e.metadata?.name}: ${e.reason} ${e.message}`));
  for (const plural of ['mailboxes', 'emailserverprofiles', 'deployments']) {
    const list = (await c.custom.listClusterCustomObject({ group: 'mailsync.dev', version: 'v1alpha1', plural })) as { items: { metadata: { namespace: string; name: string }; status?: unknown }[] };
    parts.push(...list.items.map((i) => `${plural} ${i.metadata.namespace}/${i.metadata.name} status: ${JSON.stringify(i.status ?? {})}`));
  }
  const logs = process.env.MAILSYNC_TEST_LOG_FILE;
  if (logs && existsSync(logs)) parts.push(...readFileSync(logs, 'utf8').split('\n').map((l) => `log: ${l}`));
  return parts;
}

export default async function globalTeardown(): Promise<void> {
  const cp = (globalThis as { __mailsyncControlPlane?: ControlPlane }).__mailsyncControlPlane;
  if (!cp) return;
  try {
    const file = process.env.MAILSYNC_TEST_SECRETS_FILE;
    const secrets = file && existsSync(file) ? [...new Set(readFileSync(file, 'utf8').split('\n').filter((s) => s.length >= 8))] : [];
    // A very short run can end while the API server still initialises its storage (429): retry.
    const seen = await waitFor('the secret scan', () => visibleEverywhere(cp), { timeoutMs: 60_000, intervalMs: 1000 });
    const leaks = seen.filter((line) => secrets.some((s) => line.includes(s)));
    process.stdout.write(`\nsecret scan: ${secrets.length} secret values checked against ${seen.length} log lines, Events and statuses: ${leaks.length} leaks\n`);
    if (leaks.length) throw new Error(`secret values leaked:\n${leaks.slice(0, 5).map((l) => l.slice(0, 300)).join('\n')}`);
  } finally {
    await cp.stop();
  }
}
