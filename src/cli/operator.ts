// `mailsync operator`: the controller (leader-elected) and the sync worker (shard Leases), in one
// process by default or separately with --role. Thin: flags in, wiring out.

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
  outgoingPollMs?: number;
  pollIntervalMs?: number;
  logLevel?: string;
}

export function defaultOperatorFlags(): OperatorFlags {
  return {
    kubeconfig: process.env.KUBECONFIG || undefined,
    namespace: process.env.WATCH_NAMESPACE || undefined,
    role: 'all',
    leaderElect: true,
    leaseNamespace: process.env.POD_NAMESPACE || 'default',
    leaseName: 'mailsync-operator',
    identity: `${os.hostname()}-${randomBytes(4).toString('hex')}`,
    shards: 16,
    logLevel: process.env.LOG_LEVEL,
  };
}

export async function runOperator(flags: OperatorFlags): Promise<void> {
  const logger = createLogger({ level: flags.logLevel });
  const clients = createClients(loadKubeConfig(flags.kubeconfig));
  const caches = createCaches(clients, { namespace: flags.namespace, logger });
  const runController = flags.role !== 'worker';
  const runWorker = flags.role !== 'controller';
  const syncParts = new ConnectSyncParts({ outgoingPollMs: flags.outgoingPollMs, pollIntervalMs: flags.pollIntervalMs });
  const manager = runController
    ? new Manager(clients, { namespace: flags.namespace, logger, testing: new ConnectMailboxTesting(), crmTesting: new ConnectCrmTesting(syncParts.connectors), caches })
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
      })
    : undefined;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await worker?.stop();
    await shards?.stop();
    await manager?.stop();
    await elector?.release();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  logger.info({ identity: flags.identity, role: flags.role, leaderElect: flags.leaderElect }, 'mailsync operator starting');
  await startCaches(caches);
  if (worker && shards) {
    worker.start();
    shards.start();
    logger.info({ shards: flags.shards }, 'sync worker started');
  }
  if (!manager) return;
  if (!elector) {
    await manager.start();
    return;
  }
  await elector.run({
    onStartedLeading: () => {
      manager.start().catch((err) => {
        logger.fatal(`controllers failed to start: ${(err as Error).message}`);
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
