// `mailsync failures [MAILBOX] [-n NS] [-A]`, also the kubectl plugin `kubectl mailsync failures`:
// what failed during sync, as a table. Two kinds of rows, newest first:
//   message  one message or email that could not be processed (status.recentFailures: a message
//            the CRM refused, an attachment too large, an email the server rejected)
//   sync     a direction that is failing right now (status.sync.<direction>.failure)
// Reading needs only `get`/`list` on mailboxes.mailsync.dev (the chart's viewer role).

import { GROUP, VERSION } from '../api/schema.js';
import type { Mailbox } from '../api/types.js';
import { createClients, loadKubeConfig } from '../kube/client.js';
import type { FailuresFlags } from './failures-flags.js';
import { UsageError } from './flags.js';
import { SYNC_DIRECTIONS } from '../domain/sync-failure.js';

export interface FailureRow {
  namespace: string;
  mailbox: string;
  time: string;
  kind: 'message' | 'sync';
  direction: string;
  reason: string;
  item: string;
  message: string;
}

/** The rows of one mailbox, newest first. */
export function failureRows(m: Mailbox): FailureRow[] {
  const base = { namespace: m.metadata.namespace, mailbox: m.metadata.name };
  const rows: FailureRow[] = (m.status?.recentFailures ?? []).map((f) => ({
    ...base,
    time: f.time,
    kind: 'message',
    direction: f.direction,
    reason: f.reason,
    item: f.item ?? '-',
    message: f.message ?? '',
  }));
  for (const d of SYNC_DIRECTIONS) {
    const f = m.status?.sync?.[d]?.failure;
    if (!f) continue;
    const state = f.exhausted ? 'stopped, probed by the controller' : f.permanent ? 'stopped' : `retrying, ${f.failures ?? 0} counted`;
    rows.push({
      ...base,
      time: f.since ?? '',
      kind: 'sync',
      direction: d === 'incoming' ? 'in' : d === 'outgoing' ? 'out' : 'act',
      reason: f.exhausted ? 'TooManyTransientFailures' : f.reason,
      item: `(${state})`,
      message: f.message,
    });
  }
  return rows.sort((a, b) => b.time.localeCompare(a.time));
}

/** A kubectl-style table: columns padded to their widest cell, the last one left as is. */
export function formatTable(rows: FailureRow[], withNamespace: boolean): string {
  const header = [...(withNamespace ? ['NAMESPACE'] : []), 'MAILBOX', 'TIME', 'KIND', 'DIRECTION', 'REASON', 'ITEM', 'MESSAGE'];
  const cells = rows.map((r) => [
    ...(withNamespace ? [r.namespace] : []),
    r.mailbox,
    r.time,
    r.kind,
    r.direction,
    r.reason,
    r.item,
    r.message.replace(/\s+/g, ' '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] + 3)))
      .join('')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

/** Lists the failures of one mailbox, a namespace or every namespace; the table, or a line saying there are none. */
export async function failuresCommand(values: FailuresFlags, positionals: string[]): Promise<string> {
  if (positionals.length > 1) throw new UsageError('mailsync failures', `takes at most one mailbox name, got "${positionals.join(' ')}"`);
  if (positionals.length && values.allNamespaces)
    throw new UsageError('mailsync failures', 'a mailbox name and --all-namespaces exclude each other');
  const kc = loadKubeConfig(values.kubeconfig);
  const clients = createClients(kc);
  const namespace = values.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const plural = 'mailboxes';
  // API errors reach the entry point, which prints the server's one-line message.
  let mailboxes: Mailbox[];
  if (positionals.length) {
    mailboxes = [
      (await clients.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural,
        name: positionals[0],
      })) as Mailbox,
    ];
  } else if (values.allNamespaces) {
    mailboxes = ((await clients.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as { items: Mailbox[] }).items;
  } else {
    mailboxes = (
      (await clients.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural })) as { items: Mailbox[] }
    ).items;
  }
  const rows = mailboxes.flatMap(failureRows).sort((a, b) => b.time.localeCompare(a.time));
  if (!rows.length) {
    const where = positionals.length
      ? `mailbox ${namespace}/${positionals[0]}`
      : values.allNamespaces
        ? 'any namespace'
        : `namespace ${namespace}`;
    return `No failures recorded for ${where}.\n`;
  }
  return formatTable(rows, !!values.allNamespaces);
}
