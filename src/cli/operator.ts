// `mailsync operator`: the controller (leader-elected) and the sync worker (shard Leases), in one
// process by default or separately with --role. Thin: flags in (OPERATOR_FLAGS), wiring out.

import { readFile } from 'node:fs/promises';
import { describeError } from '../kube/errors.js';
import { forwardToPeers, PEER_ANNOTATION, startNotificationEndpoint, type NotificationEndpoint } from '../connect/notification-endpoint.js';
import os from 'node:os';
import { ConnectCrmTesting } from '../connect/crm-tester.js';
import { ConnectMailboxTesting } from '../connect/mailbox-tester.js';
import { DynamicsGate } from '../connect/dynamics-gate.js';
import { DynamicsMirror } from '../connect/dynamics-mirror.js';
import { ConnectSyncParts } from '../connect/sync-parts.js';
import { createCaches, Manager, startCaches } from '../controllers/manager.js';
import { createClients, loadKubeConfig } from '../kube/client.js';
import { EventRecorder } from '../kube/events.js';
import { LeaderElector } from '../kube/leader.js';
import { ownNamespace } from '../kube/own-namespace.js';
import { ShardOwner } from '../kube/shards.js';
import { createLogger } from '../log/logger.js';
import { parseListenAddress, startObservabilityServer } from '../observability/http-server.js';
import { instrumentManager, instrumentTesting, syncMetricsHooks } from '../observability/instrument.js';
import { createMetrics } from '../observability/metrics.js';
import { EventLoopMonitor, OperatorReadiness } from '../observability/probes.js';
import { defaultParserThreads, ParserPool } from '../sync/parser-pool.js';
import { SyncWorker } from '../sync/worker.js';
import { Pacer } from '../util/pacer.js';
import type { OperatorFlags } from './operator-flags.js';

export async function runOperator(flags: OperatorFlags): Promise<void> {
  const logger = createLogger({ level: flags.logLevel });
  const metricsAddress = parseListenAddress(flags.metricsAddr); // a bad value fails before anything starts
  const metrics = createMetrics();
  const readiness = new OperatorReadiness();
  const eventLoop = new EventLoopMonitor().start();
  const clients = createClients(loadKubeConfig(flags.kubeconfig));
  const lease = flags.leaseNamespace ? { namespace: flags.leaseNamespace, from: '--lease-namespace' } : await ownNamespace(clients.kc);
  const caches = createCaches(clients, { namespace: flags.namespace, logger });
  const runController = flags.role !== 'worker';
  const runWorker = flags.role !== 'controller';
  // One pool for every mailbox of the process: parsing is CPU work, shared by core, not by mailbox.
  const parserThreads = flags.parserThreads ?? defaultParserThreads(os.availableParallelism());
  const parser = runWorker && parserThreads > 0 ? new ParserPool({ threads: parserThreads }) : undefined;
  const pacer = new Pacer({ concurrency: flags.signInConcurrency, perSecond: flags.signInRate });
  const notifyAddress = runWorker ? parseListenAddress(flags.notificationAddr, '--notification-addr') : undefined;
  if (flags.graphNotificationUrl && runWorker && !notifyAddress) {
    throw new Error(
      '--graph-notification-url needs --notification-addr (for example :8443): Microsoft Graph must reach the endpoint the URL names',
    );
  }
  if (!!flags.notificationTlsCert !== !!flags.notificationTlsKey)
    throw new Error('--notification-tls-cert and --notification-tls-key go together');
  const notifyTls = flags.notificationTlsCert
    ? { cert: await readFile(flags.notificationTlsCert, 'utf8'), key: await readFile(flags.notificationTlsKey!, 'utf8') }
    : undefined;
  const debugLog = (message: string, fields?: Record<string, unknown>) => logger.debug(fields ?? {}, message);
  const syncParts = new ConnectSyncParts({
    outgoingPollMs: flags.outgoingPoll,
    pollIntervalMs: flags.pollInterval,
    parser,
    pacer,
    ews: { debug: debugLog },
    graph: { notificationUrl: notifyAddress ? flags.graphNotificationUrl : undefined, debug: debugLog },
  });
  // Test and Enable first checks that Dynamics 365 does not process a mailbox itself.
  const gate = new DynamicsGate({
    caches,
    clients,
    connectors: syncParts.connectors,
    events: new EventRecorder(clients, 'mailsync-operator', logger),
    logger,
  });
  const manager = runController
    ? new Manager(clients, {
        namespace: flags.namespace,
        logger,
        testing: instrumentTesting(new ConnectMailboxTesting(logger, gate), metrics),
        crmTesting: new ConnectCrmTesting(syncParts.connectors, logger),
        caches,
        autoApproveCap: flags.autoApproveDomains?.length ? flags.autoApproveDomains : undefined,
      })
    : undefined;
  // Mailbox status into Dynamics 365 and its approvals back, for Deployments that ask (the leader only).
  const mirror = runController
    ? new DynamicsMirror({
        clients,
        caches,
        connectors: syncParts.connectors,
        events: new EventRecorder(clients, 'mailsync-operator', logger),
        logger,
      })
    : undefined;
  const elector =
    runController && flags.leaderElect
      ? new LeaderElector(clients, { namespace: lease.namespace, name: flags.leaseName, identity: flags.identity, logger })
      : undefined;
  // The endpoint listens before the shards are taken, so its address is on the membership Lease.
  let shards: ShardOwner | undefined;
  const endpoint: NotificationEndpoint | undefined = notifyAddress
    ? await startNotificationEndpoint({
        address: notifyAddress,
        graph: syncParts.graphNotifications,
        tls: notifyTls,
        logger,
        forward: (items): Promise<void> =>
          forwardToPeers(
            (shards?.peers() ?? []).map((a: Record<string, string>) => a[PEER_ANNOTATION]).filter((a): a is string => !!a),
            items,
            !!notifyTls,
          ),
      })
    : undefined;
  const peerAddress =
    endpoint && flags.podIp
      ? { [PEER_ANNOTATION]: `${flags.podIp.includes(':') ? `[${flags.podIp}]` : flags.podIp}:${endpoint.port}` }
      : undefined;
  shards = runWorker
    ? new ShardOwner(clients, {
        namespace: lease.namespace,
        identity: flags.identity,
        shards: flags.shards,
        prefix: flags.leaseName,
        logger,
        memberAnnotations: peerAddress,
      })
    : undefined;
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
    ? await startObservabilityServer({
        address: metricsAddress,
        metrics,
        readiness: [readiness.probe()],
        liveness: [eventLoop.probe()],
        logger,
      })
    : undefined;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    readiness.stopping();
    logger.info({ signal }, 'shutting down');
    // What is not written by then is safe (reading is at-least-once, delivery idempotent): the
    // pod must be gone before the kubelet kills it.
    setTimeout(() => {
      logger.warn(
        { timeoutMs: flags.shutdownTimeout },
        'shutdown took longer than --shutdown-timeout; exiting now (the next start resumes from the last saved checkpoints)',
      );
      process.exit(0);
    }, flags.shutdownTimeout).unref();
    await endpoint?.close();
    await worker?.stop();
    await shards?.stop();
    await parser?.close();
    await mirror?.stop();
    await manager?.stop();
    await elector?.release();
    await server?.close(2000);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  logger.info(
    {
      identity: flags.identity,
      role: flags.role,
      leaderElect: flags.leaderElect,
      leaseNamespace: lease.namespace,
      leaseNamespaceFrom: lease.from,
    },
    'mailsync operator starting',
  );
  await startCaches(caches);
  if (worker && shards) {
    worker.start();
    shards.start();
    logger.info(
      {
        shards: flags.shards,
        parserThreads: parser ? parserThreads : 0,
        notificationEndpoint: endpoint?.port,
        graphNotificationUrl: syncParts.graphNotifications.enabled ? flags.graphNotificationUrl : undefined,
      },
      'sync worker started',
    );
  }
  if (!manager) {
    readiness.leading();
    readiness.started();
    return;
  }
  if (!elector) {
    readiness.leading();
    await manager.start();
    mirror?.start();
    readiness.started();
    return;
  }
  readiness.standby();
  await elector.run({
    onStartedLeading: () => {
      readiness.leading();
      manager.start().then(
        () => {
          mirror?.start();
          readiness.started();
        },
        (err) => {
          logger.fatal(`controllers failed to start: ${describeError(err)}`);
          process.exit(1);
        },
      );
    },
    onStoppedLeading: () => {
      if (stopping) return;
      // Another replica may already be leading: stop at once rather than risk two writers.
      logger.error('lost leadership; exiting so that a fresh process can stand for election');
      process.exit(1);
    },
  });
}
