// Runs the controllers in the test process, watching one namespace, as a given identity.

import { readFileSync } from 'node:fs';
import { ConnectMailboxTesting } from '../../src/connect/mailbox-tester.js';
import { Manager } from '../../src/controllers/manager.js';
import type { TestPolicy } from '../../src/controllers/mailbox.js';
import type { KubeClients } from '../../src/kube/client.js';
import { createLogger } from '../../src/log/logger.js';

/** Operators in tests log at debug into the suite's log file, which the secret scan reads. */
function testLogger(namespace: string) {
  const destination = process.env.MAILSYNC_TEST_LOG_FILE;
  return createLogger({ level: process.env.TEST_LOG_LEVEL ?? (destination ? 'debug' : 'silent'), name: `test-${namespace}`, destination });
}

/** The lines (JSON text) that operators of this namespace wrote so far to the suite's log file. */
export function operatorLog(namespace: string): string[] {
  const file = process.env.MAILSYNC_TEST_LOG_FILE;
  if (!file) throw new Error('MAILSYNC_TEST_LOG_FILE is not set: run tests through `make test`');
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`"name":"test-${namespace}"`));
}

/** Tests retry quickly: the policy is the product's, with a shorter base. */
export const FAST_RETRIES: TestPolicy = { maxTransientFailures: 10, backoff: { baseMs: 300, maxMs: 3000, jitter: 0.2 } };

/** The controllers alone (no sync worker); `crm` also tests each Deployment's CRM connector, as the operator does. */
export async function startManager(
  clients: KubeClients,
  namespace: string,
  opts: { resyncMs?: number; testPolicy?: TestPolicy; crm?: boolean } = {},
): Promise<Manager> {
  const logger = testLogger(namespace);
  const crmTesting = opts.crm ? new ConnectCrmTesting(new ConnectorCache(), logger) : undefined;
  const m = new Manager(clients, {
    namespace,
    logger,
    resyncMs: opts.resyncMs,
    testing: new ConnectMailboxTesting(logger),
    crmTesting,
    testPolicy: opts.testPolicy ?? FAST_RETRIES,
  });
  await m.start();
  return m;
}

import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../dev/control-plane.js';

export interface OperatorProcess {
  child: ChildProcess;
  /** JSON log lines seen so far. */
  lines: Record<string, unknown>[];
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `mailsync operator` as a separate process, as a Deployment's pod would run it. */
export function spawnOperator(args: string[], env: NodeJS.ProcessEnv = {}): OperatorProcess {
  const child = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'dist/src/cli/mailsync.js'), 'operator', '--metrics-addr=127.0.0.1:0', ...args],
    {
      env: { ...process.env, LOG_LEVEL: 'debug', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ msg: line });
      }
      if (process.env.MAILSYNC_TEST_LOG_FILE) appendFileSync(process.env.MAILSYNC_TEST_LOG_FILE, `${line}\n`);
      waiters.splice(0).forEach((w) => w());
    }
  });
  child.stderr!.on('data', (d: Buffer) => lines.push({ stderr: d.toString() }));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    lines,
    async waitForLog(pred, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`log line not seen; last lines: ${JSON.stringify(lines.slice(-5))}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 250);
        });
      }
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

import { ConnectSyncParts, ConnectorCache, type SyncPartsOptions } from '../../src/connect/sync-parts.js';
import {
  startNotificationEndpoint,
  type NotificationEndpoint,
  type NotificationReceiver,
} from '../../src/connect/notification-endpoint.js';
import { sharedTestPki } from './https-server.js';
import { ConnectCrmTesting } from '../../src/connect/crm-tester.js';
import { DynamicsGate } from '../../src/connect/dynamics-gate.js';
import { DynamicsMirror } from '../../src/connect/dynamics-mirror.js';
import { createCaches, startCaches } from '../../src/controllers/manager.js';
import { EventRecorder } from '../../src/kube/events.js';
import { ShardOwner } from '../../src/kube/shards.js';
import { SyncWorker } from '../../src/sync/worker.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { instrumentManager, instrumentTesting, syncMetricsHooks } from '../../src/observability/instrument.js';

export interface InProcessOperator {
  /** The operator's metrics registry, as /metrics would serve it. */
  metrics: Metrics;
  manager: Manager;
  worker: SyncWorker;
  /** Mailbox status into Dynamics 365 and its approvals back (flush() writes at once). */
  mirror: DynamicsMirror;
  shards: ShardOwner;
  parts: ConnectSyncParts;
  /** The Graph notification endpoint, when asked for (HTTPS with the test CA's certificate). */
  endpoint?: NotificationEndpoint;
  stop(): Promise<void>;
}

/** The notification endpoint on a loopback port, serving HTTPS with the test certificate. */
export async function startTestEndpoint(receive: NotificationReceiver['receive'], port = 0): Promise<NotificationEndpoint> {
  const { certPem, keyPem } = await sharedTestPki();
  return startNotificationEndpoint({ address: { host: '127.0.0.1', port }, graph: { receive }, tls: { cert: certPem, key: keyPem } });
}

/** Controllers and a sync worker in the test process, sharing caches as `mailsync operator` does. */
export async function startOperator(
  clients: KubeClients,
  namespace: string,
  opts: {
    testPolicy?: TestPolicy;
    outgoingPollMs?: number;
    pollIntervalMs?: number;
    identity?: string;
    parts?: SyncPartsOptions;
    /** Serve the Graph notification endpoint and give Graph its URL. */
    graphEndpoint?: boolean;
  } = {},
): Promise<InProcessOperator> {
  const logger = testLogger(namespace);
  const caches = createCaches(clients, { namespace, logger });
  let parts: ConnectSyncParts | undefined;
  const endpoint = opts.graphEndpoint ? await startTestEndpoint((items) => parts!.graphNotifications.receive(items)) : undefined;
  parts = new ConnectSyncParts({
    outgoingPollMs: opts.outgoingPollMs ?? 500,
    pollIntervalMs: opts.pollIntervalMs ?? 60_000,
    ...opts.parts,
    ...(endpoint ? { graph: { notificationUrl: endpoint.url, ...opts.parts?.graph } } : {}),
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const gate = new DynamicsGate({
    caches,
    connectors: parts.connectors,
    events: new EventRecorder(clients, 'mailsync-operator', logger),
    logger,
  });
  const manager = new Manager(clients, {
    namespace,
    logger,
    testing: instrumentTesting(new ConnectMailboxTesting(logger, gate), metrics),
    crmTesting: new ConnectCrmTesting(parts.connectors, logger),
    testPolicy: opts.testPolicy ?? FAST_RETRIES,
    caches,
  });
  const shards = new ShardOwner(clients, { namespace, identity: opts.identity ?? 'test-worker', shards: 4, logger, retryPeriodMs: 500 });
  const worker = new SyncWorker(clients, caches, shards, parts, {
    logger,
    events: new EventRecorder(clients, 'mailsync-worker', logger),
    statusIntervalMs: 200,
    metrics: syncMetricsHooks(metrics),
  });
  const mirror = new DynamicsMirror({
    clients,
    caches,
    connectors: parts.connectors,
    events: new EventRecorder(clients, 'mailsync-operator', logger),
    logger,
    intervalMs: 1000,
  });
  instrumentManager(manager, metrics, { active: () => true });
  await startCaches(caches);
  await manager.start();
  mirror.start();
  worker.start();
  shards.start();
  return {
    metrics,
    manager,
    worker,
    shards,
    parts,
    endpoint,
    mirror,
    async stop() {
      await worker.stop();
      await shards.stop();
      await mirror.stop();
      await manager.stop();
      await endpoint?.close();
    },
  };
}
