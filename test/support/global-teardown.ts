// Stops the shared control plane, after the suite-wide secret scan: no value of any Secret a test
// created may appear, in any encoding a server may echo it in (test/support/secret-encodings.ts),
// in any log line an operator wrote, any Event, any status in the cluster or any printer column of
// `kubectl get -o wide`.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { resolveAssets, type ControlPlane } from '../../dev/control-plane.js';
import { waitFor } from '../../dev/processes.js';
import { createClients, loadKubeConfig } from '../../src/kube/client.js';
import type { RememberedSecret } from './mail-env.js';
import { leakedForms, logLineTexts, secretEncodings, stringsIn } from './secret-encodings.js';

const KINDS = ['mailboxes', 'emailserverprofiles', 'deployments'];

async function visibleEverywhere(cp: ControlPlane): Promise<string[]> {
  const c = createClients(loadKubeConfig(cp.info.kubeconfigs.admin));
  const parts: string[] = [];
  // Not parts.push(...xs): a whole suite's debug log is more lines than a call takes arguments.
  const add = (xs: string[]) => {
    for (const x of xs) parts.push(x);
  };
  const events = await c.core.listEventForAllNamespaces({});
  add(events.items.map((e) => `Event ${e.metadata?.namespace}/${e.metadata?.name}: ${e.reason} ${e.message}`));
  for (const plural of KINDS) {
    const list = (await c.custom.listClusterCustomObject({ group: 'mailsync.dev', version: 'v1alpha1', plural })) as {
      items: { metadata: { namespace: string; name: string }; status?: unknown }[];
    };
    // Each string decoded, so JSON's own escaping cannot hide a form of a secret.
    add(
      list.items.flatMap((i) => stringsIn(i.status ?? {}).map((t) => `${plural} ${i.metadata.namespace}/${i.metadata.name} status: ${t}`)),
    );
  }
  // The printer columns, as a viewer sees them.
  const kubectl = path.join(resolveAssets(), 'kubectl');
  const table = execFileSync(
    kubectl,
    ['--kubeconfig', cp.info.kubeconfigs.admin, 'get', KINDS.map((k) => `${k}.mailsync.dev`).join(','), '--all-namespaces', '-o', 'wide'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  add(table.split('\n').map((l) => `kubectl get -o wide: ${l}`));
  const logs = process.env.MAILSYNC_TEST_LOG_FILE;
  if (logs && existsSync(logs))
    add(
      readFileSync(logs, 'utf8')
        .split('\n')
        .flatMap((l) => logLineTexts(l).map((t) => `log: ${t}`)),
    );
  return parts;
}

function rememberedSecrets(): RememberedSecret[] {
  const file = process.env.MAILSYNC_TEST_SECRETS_FILE;
  if (!file || !existsSync(file)) return [];
  const byKey = new Map<string, RememberedSecret>();
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const s = JSON.parse(line) as RememberedSecret;
    if (s.value.length >= 8) byKey.set(JSON.stringify(s), s);
  }
  return [...byKey.values()];
}

export default async function globalTeardown(): Promise<void> {
  const cp = (globalThis as { __mailsyncControlPlane?: ControlPlane }).__mailsyncControlPlane;
  if (!cp) return;
  try {
    const secrets = rememberedSecrets();
    const forms = new Set(secrets.flatMap((s) => Object.values(secretEncodings(s.value, s.username))));
    // One pass per line over every form of every secret.
    const anyForm = forms.size
      ? new RegExp(
          [...forms]
            .sort((a, b) => b.length - a.length)
            .map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
            .join('|'),
        )
      : undefined;
    // A very short run can end while the API server still initialises its storage (429): retry.
    const seen = await waitFor('the secret scan', () => visibleEverywhere(cp), { timeoutMs: 60_000, intervalMs: 1000 });
    const leaks = anyForm ? seen.filter((line) => anyForm.test(line)) : [];
    process.stdout.write(
      `\nsecret scan: ${secrets.length} secret values in ${forms.size} encodings checked against ${seen.length} texts of log lines, Events, statuses and printer columns: ${leaks.length} leaks\n`,
    );
    if (leaks.length) {
      const shown = leaks.slice(0, 5).map(
        (l) =>
          `${leakedForms(
            l,
            secrets.map((s) => ({ secret: s.value, username: s.username })),
          ).join(', ')}: ${l.slice(0, 300)}`,
      );
      throw new Error(`secret values leaked:\n${shown.join('\n')}`);
    }
  } finally {
    await cp.stop();
  }
}
