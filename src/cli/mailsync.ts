#!/usr/bin/env node
// The `mailsync` command: `mailsync operator` runs the operator; further subcommands (approve,
// deny, import) are added by their features.

import { parseArgs } from 'node:util';
import { approveMailbox } from './approve.js';
import { failuresCommand } from './failures.js';
import { parseDuration } from '../connect/settings.js';
import { defaultOperatorFlags, runOperator, type Role } from './operator.js';

const USAGE = `Usage: mailsync <command> [flags]

Commands:
  operator                       Run the controller and sync workers.
  approve mailbox NAME [-n NS]   Approve the mailbox's current address (needs the approve verb).
  deny mailbox NAME [-n NS]      Deny the mailbox's current address (needs the approve verb).
  failures [MAILBOX] [-n NS|-A]  List what failed during sync: messages not processed, failing directions.

Also a kubectl plugin: install as kubectl-mailsync and run \`kubectl mailsync approve mailbox NAME\`.

Flags for operator:
  --kubeconfig PATH        kubeconfig to use (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --namespace NS           watch only this namespace (default: all; env WATCH_NAMESPACE)
  --role ROLE              all (default), controller, or worker
  --shards N               sync shards shared by the workers through Leases (default: 16)
  --outgoing-poll DURATION how often workers ask the CRM for emails pending send (default: 30s)
  --poll-interval DURATION safety resync interval, overriding profiles' minPollingInterval
  --parser-threads N       threads that parse incoming MIME (default: cores - 1, at most 4; 0 on 2 cores or fewer = parse on the event loop)
  --leader-elect=false     run without leader election (one replica only)
  --lease-namespace NS     namespace of the leader-election Lease (default: $POD_NAMESPACE or default)
  --lease-name NAME        name of the Lease (default: mailsync-operator)
  --identity ID            leader-election identity (default: hostname + random suffix)
  --log-level LEVEL        trace, debug, info, warn, error (default: info)
  --metrics-addr ADDR      serve /metrics, /healthz and /readyz on ADDR (default :8080, env METRICS_ADDR; 0 = off)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'operator') {
    const { values } = parseArgs({
      args: rest,
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        'leader-elect': { type: 'string' },
        'lease-namespace': { type: 'string' },
        'lease-name': { type: 'string' },
        identity: { type: 'string' },
        'log-level': { type: 'string' },
        'metrics-addr': { type: 'string' },
        role: { type: 'string' },
        shards: { type: 'string' },
        'outgoing-poll': { type: 'string' },
        'poll-interval': { type: 'string' },
        'parser-threads': { type: 'string' },
      },
    });
    const d = defaultOperatorFlags();
    const role = values.role ?? d.role;
    if (!['all', 'controller', 'worker'].includes(role)) throw new Error(`--role must be all, controller or worker, not "${role}"`);
    const shards = values.shards === undefined ? d.shards : Number(values.shards);
    if (!Number.isInteger(shards) || shards < 1 || shards > 1024) throw new Error(`--shards must be an integer from 1 to 1024, not "${values.shards}"`);
    const parserThreads = values['parser-threads'] === undefined ? d.parserThreads : Number(values['parser-threads']);
    if (!Number.isInteger(parserThreads) || parserThreads < 0 || parserThreads > 64) throw new Error(`--parser-threads must be an integer from 0 to 64, not "${values['parser-threads']}"`);
    await runOperator({
      kubeconfig: values.kubeconfig ?? d.kubeconfig,
      namespace: values.namespace ?? d.namespace,
      leaderElect: values['leader-elect'] === undefined ? d.leaderElect : values['leader-elect'] !== 'false',
      leaseNamespace: values['lease-namespace'] ?? d.leaseNamespace,
      leaseName: values['lease-name'] ?? d.leaseName,
      identity: values.identity ?? d.identity,
      logLevel: values['log-level'] ?? d.logLevel,
      metricsAddr: values['metrics-addr'] ?? d.metricsAddr,
      role: role as Role,
      shards,
      parserThreads,
      outgoingPollMs: values['outgoing-poll'] ? parseDuration(values['outgoing-poll'], 30_000) : undefined,
      pollIntervalMs: values['poll-interval'] ? parseDuration(values['poll-interval'], 300_000) : undefined,
    });
    return -1; // keeps running
  }
  if (command === 'approve' || command === 'deny') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { namespace: { type: 'string', short: 'n' }, kubeconfig: { type: 'string' }, reason: { type: 'string' } },
    });
    const [kind, name] = positionals;
    if (!['mailbox', 'mailboxes', 'mbx'].includes(kind ?? '') || !name) {
      process.stderr.write(`usage: mailsync ${command} mailbox NAME [-n NAMESPACE] [--reason TEXT]\n`);
      return 2;
    }
    const out = await approveMailbox({
      kubeconfig: values.kubeconfig ?? process.env.KUBECONFIG,
      namespace: values.namespace,
      name,
      decision: command === 'approve' ? 'Approved' : 'Denied',
      reason: values.reason,
    });
    process.stdout.write(`${out}\n`);
    return 0;
  }
  if (command === 'failures') {
    const r = await failuresCommand(rest);
    process.stdout.write(r.out);
    if (r.err) process.stderr.write(r.err);
    return r.code;
  }
  process.stderr.write(`mailsync: unknown command "${command}"\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    process.stderr.write(`mailsync: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
