// `mailsync operator`'s flags and the environment variables that stand in for them (the chart sets
// those): the usage text, the parser options and OperatorFlags all come from this table. Kept
// apart from operator.ts so that `mailsync --help` does not load the operator.

import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { duration, integer, list, oneOf, type FlagTable, type FlagValues } from './flags.js';

/** Microsoft Graph posts only to https:// URLs. */
function httpsUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(
      'is not a URL: use the public https:// URL of the notification endpoint, e.g. https://mailsync.contoso.example/graph/notifications',
    );
  }
  if (url.protocol !== 'https:') throw new Error('must be an https:// URL: Microsoft Graph posts notifications only over HTTPS');
  return text;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const OPERATOR_FLAGS = {
  kubeconfig: { value: 'PATH', help: 'kubeconfig to use', defaultText: '$KUBECONFIG, in-cluster, ~/.kube/config' },
  namespace: { value: 'NS', env: 'WATCH_NAMESPACE', help: 'watch only these namespaces, comma-separated', defaultText: 'all' },
  role: { value: 'ROLE', default: 'all', parse: oneOf(['all', 'controller', 'worker']), help: 'all, controller, or worker' },
  shards: { value: 'N', default: 16, parse: integer(1, 1024), help: 'sync shards shared by the workers through Leases' },
  'outgoing-poll': {
    value: 'DURATION',
    parse: duration,
    help: 'how often workers ask the CRM for emails pending send',
    defaultText: '30s',
  },
  'poll-interval': { value: 'DURATION', parse: duration, help: "safety resync interval, overriding profiles' minPollingInterval" },
  'parser-threads': {
    value: 'N',
    parse: integer(0, 64),
    // Computed by runOperator (defaultParserThreads), which loads the parser; --help should not.
    defaultText: 'cores - 1, at most 4; 0 on 2 cores or fewer = parse on the event loop',
    help: 'threads that parse incoming MIME',
  },
  'sign-in-concurrency': {
    value: 'N',
    default: 32,
    parse: integer(1, 10000),
    help: 'mailbox sign-ins (IMAP connections, POP3 cycles) in progress at once, after a restart and after an outage',
  },
  'sign-in-rate': { value: 'N', default: 100, parse: integer(1, 100000), help: 'mailbox sign-ins started per second at most' },
  'shutdown-timeout': {
    value: 'DURATION',
    default: 25_000,
    parse: duration,
    defaultText: '25s',
    help: "how long a SIGTERM may take to close connections and write the last checkpoints before the process exits anyway (keep it below the pod's terminationGracePeriodSeconds)",
  },
  'notification-addr': {
    value: 'ADDR',
    env: 'NOTIFICATION_ADDR',
    default: '0',
    help: 'serve the Microsoft Graph notification endpoint (POST /graph/notifications) on ADDR, e.g. :8443; 0 = off',
  },
  'graph-notification-url': {
    value: 'URL',
    env: 'GRAPH_NOTIFICATION_URL',
    parse: httpsUrl,
    help: 'the public https:// URL at which Microsoft Graph reaches the notification endpoint (your Ingress or Gateway); without it Exchange Online mailboxes are polled',
  },
  'notification-tls-cert': {
    value: 'PATH',
    help: 'serve the notification endpoint over HTTPS with this PEM certificate (with --notification-tls-key), instead of HTTP behind a TLS-terminating Ingress',
  },
  'notification-tls-key': { value: 'PATH', help: 'PEM private key for --notification-tls-cert' },
  'pod-ip': { value: 'IP', env: 'POD_IP', help: "this pod's IP: other workers pass it Graph notifications for the mailboxes it owns" },
  'leader-elect': { default: true, help: 'elect one active controller through a Lease; --leader-elect=false runs one replica without' },
  'lease-namespace': {
    value: 'NS',
    env: 'POD_NAMESPACE',
    defaultText: "the pod's namespace, else the namespace of the service account the credentials belong to, else the kubeconfig context's",
    help: 'namespace of the leader-election and shard Leases',
  },
  'lease-name': { value: 'NAME', default: 'mailsync-operator', help: 'name of the leader-election Lease (shard Leases get it as prefix)' },
  // A StatefulSet pod keeps its name across restarts: as identity it lets a restarted worker
  // re-take its own shard Leases at once. Elsewhere a random suffix keeps replicas apart.
  identity: {
    value: 'ID',
    env: 'POD_NAME',
    default: () => `${os.hostname()}-${randomBytes(4).toString('hex')}`,
    defaultText: 'hostname + random suffix',
    help: 'leader-election and shard identity',
  },
  'log-level': { value: 'LEVEL', env: 'LOG_LEVEL', default: 'info', parse: oneOf(LOG_LEVELS), help: LOG_LEVELS.slice(0, 5).join(', ') },
  'metrics-addr': { value: 'ADDR', env: 'METRICS_ADDR', default: ':8080', help: 'serve /metrics, /healthz and /readyz on ADDR; 0 = off' },
  'auto-approve-domains': {
    value: 'LIST',
    env: 'AUTO_APPROVE_DOMAINS',
    parse: list,
    help: "cluster-wide cap on the domains a Deployment's spec.autoApproveDomains may auto-approve, comma-separated (the chart's autoApproval.domains)",
  },
} as const satisfies FlagTable;

export type OperatorFlags = FlagValues<typeof OPERATOR_FLAGS>;
export type Role = OperatorFlags['role'];
