// `mailsync operator`: the controller (leader-elected) and the sync worker (shard Leases), in one
// process by default or separately with --role. Thin: flags in, wiring out.

import { describeError } from '../kube/errors.js';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConnectCrmTesting } from '../connect/crm-testing.js';
import { ConnectMailboxTesting } from '../connect/mailbox-testing.js';
import { ConnectSyncParts } from '../connect/sync-parts.js';
import { createCaches, Manager, startCaches } from '../controllers/manager.js';
import { createClients, loadKubeConfig } from '../kube/client.js';
import { EventRecorder } from '../kube/events.js';
import { LeaderElector } from '../kube/leader.js';
import { ShardOwner } from '../kube/shards.js';
import { createLogger } from '../log/logger.js';
import { parseListenAddress, startObservabilityServer } from '../observability/http-server.js';
import { instrumentManager, instrumentTesting, syncMetricsHooks } from '../observability/instrument.js';
import { createMetrics } from '../observability/metrics.js';
import { EventLoopMonitor, OperatorReadiness } from '../observability/probes.js';
import { defaultParserThreads, ParserPool } from '../sync/parser-pool.js';
import { SyncWorker } from '../sync/worker.js';

export type Role = 'all' | 'controller' | 'worker';

export interface OperatorFlags {
  kubeconfig?: string;
  namespace?: string;
  role: Role;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseName: string;
  identity: string;
  shards: number;
  /** Threads that parse incoming MIME; 0 parses on the event loop. */
  parserThreads: number;
  outgoingPollMs?: number;
  pollIntervalMs?: number;
  logLevel?: string;
  /** Listen address of /metrics, /healthz and /readyz; "0" switches the server off. */
  metricsAddr: string;
}

export function defaultOperatorFlags(): OperatorFlags {
  return {
    kubeconfig: process.env.KUBECONFIG || undefined,
    namespace: process.env.WATCH_NAMESPACE || undefined,
    role: 'all',
    leaderElect: true,
    leaseNamespace: process.env.POD_NAMESPACE || 'default',
    leaseName: 'mailsync-operator',
    // A StatefulSet pod keeps its name across restarts: as identity it lets a restarted worker
    // re-take its own shard Leases at once. Elsewhere a random suffix keeps replicas apart.
    identity: process.env.POD_NAME || `${os.hostname()}-${randomBytes(4).toString('hex')}`,
    shards: 16,
    parserThreads: defaultParserThreads(os.availableParallelism()),
    logLevel: process.env.LOG_LEVEL,
    metricsAddr: process.env.METRICS_ADDR || ':8080',
  };
}

/** AUTO_APPROVE_DOMAINS (comma-separated; set by the chart's autoApproval.domains), if any. */
function autoApproveCap(): string[] | undefined {
  const list = (process.env.AUTO_APPROVE_DOMAINS ?? '').split(',').map((d) => d.trim()).filter(Boolean);
  return list.length ? list : undefined;
}

export async function runOperator(flags: OperatorFlags): Promise<void> {
  const logger = createLogger({ level: flags.logLevel });
  const metricsAddress = parseListenAddress(flags.metricsAddr); // a bad value fails before anything starts
  const metrics = createMetrics();
  const readiness = new OperatorReadiness();
  const eventLoop = new EventLoopMonitor().start();
  const clients = createClients(loadKubeConfig(flags.kubeconfig));
  const caches = createCaches(clients, { namespace: flags.namespace, logger });
  const runController = flags.role !== 'worker';
  const runWorker = flags.role !== 'controller';
  // One pool for every mailbox of the process: parsing is CPU work, shared by core, not by mailbox.
  const parser = runWorker && flags.parserThreads > 0 ? new ParserPool({ threads: flags.parserThreads }) : undefined;
  const syncParts = new ConnectSyncParts({ outgoingPollMs: flags.outgoingPollMs, pollIntervalMs: flags.pollIntervalMs, parser });
  const manager = runController
    ? new Manager(clients, { namespace: flags.namespace, logger, testing: instrumentTesting(new ConnectMailboxTesting(logger), metrics), crmTesting: new ConnectCrmTesting(syncParts.connectors, logger), caches, autoApproveCap: autoApproveCap() })
    : undefined;
  const elector =
    runController && flags.leaderElect
      ? new LeaderElector(clients, { namespace: flags.leaseNamespace, name: flags.leaseName, identity: flags.identity, logger })
      : undefined;
  const shards = runWorker ? new ShardOwner(clients, { namespace: flags.leaseNamespace, identity: flags.identity, shards: flags.shards, prefix: flags.leaseName, logger }) : undefined;
  const worker = shards
    ? new SyncWorker(clients, caches, shards, syncParts, {
        logger,
        events: new EventRecorder(clients, 'mailsync-worker', logger),
        metrics: syncMetricsHooks(metrics),
      })
    : undefined;

  // Only the leader reports mailboxes and queues: a standby's caches are warm too (for its workers).
  if (manager) instrumentManager(manager, metrics, { active: () => readiness.phase === 'running' });
  const server = metricsAddress
    ? await startObservabilityServer({ address: metricsAddress, metrics, readiness: [readiness.probe()], liveness: [eventLoop.probe()], logger })
    : undefined;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    readiness.stopping();
    logger.info({ signal }, 'shutting down');
    await worker?.stop();
    await shards?.stop();
    await parser?.close();
    await manager?.stop();
    await elector?.release();
    await server?.close(2000);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  logger.info({ identity: flags.identity, role: flags.role, leaderElect: flags.leaderElect }, 'mailsync operator starting');
  await startCaches(caches);
  if (worker && shards) {
    worker.start();
    shards.start();
    logger.info({ shards: flags.shards, parserThreads: parser ? flags.parserThreads : 0 }, 'sync worker started');
  }
  if (!manager) {
    readiness.leading();
    readiness.started();
    return;
  }
  if (!elector) {
    readiness.leading();
    await manager.start();
    readiness.started();
    return;
  }
  readiness.standby();
  await elector.run({
    onStartedLeading: () => {
      readiness.leading();
      manager.start().then(() => readiness.started(), (err) => {
        logger.fatal(`controllers failed to start: ${describeError(err)}`);
        process.exit(1);
      });
    },
    onStoppedLeading: () => {
      if (stopping) return;
      // Another replica may already be leading: stop at once rather than risk two writers.
      logger.error('lost leadership; exiting so that a fresh process can stand for election');
      process.exit(1);
    },
  });
}
