// `mailsync operator`: the controller (leader-elected) in one process. Thin: flags in, wiring out.

import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConnectMailboxTesting } from '../connect/mailbox-testing.js';
import { Manager } from '../controllers/manager.js';
import { createClients, loadKubeConfig } from '../kube/client.js';
import { LeaderElector } from '../kube/leader.js';
import { createLogger } from '../log/logger.js';

export interface OperatorFlags {
  kubeconfig?: string;
  namespace?: string;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseName: string;
  identity: string;
  logLevel?: string;
}

export function defaultOperatorFlags(): OperatorFlags {
  return {
    kubeconfig: process.env.KUBECONFIG || undefined,
    namespace: process.env.WATCH_NAMESPACE || undefined,
    leaderElect: true,
    leaseNamespace: process.env.POD_NAMESPACE || 'default',
    leaseName: 'mailsync-operator',
    identity: `${os.hostname()}-${randomBytes(4).toString('hex')}`,
    logLevel: process.env.LOG_LEVEL,
  };
}

export async function runOperator(flags: OperatorFlags): Promise<void> {
  const logger = createLogger({ level: flags.logLevel });
  const clients = createClients(loadKubeConfig(flags.kubeconfig));
  const manager = new Manager(clients, { namespace: flags.namespace, logger, testing: new ConnectMailboxTesting() });
  const elector = flags.leaderElect
    ? new LeaderElector(clients, { namespace: flags.leaseNamespace, name: flags.leaseName, identity: flags.identity, logger })
    : undefined;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await manager.stop();
    await elector?.release();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  logger.info({ identity: flags.identity, leaderElect: flags.leaderElect }, 'mailsync operator starting');
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
