// The sync worker: owns a share of the mailboxes through shard Leases and runs a MailboxSyncer for
// each mailbox of its shards whose directions passed Test and Enable. It restarts a syncer when
// the mailbox's configuration revision changes, stops it when the shard moves away, and runs a
// cycle at once when the mailbox's sync-now annotation changes.
//
// A direction that failed permanently during sync (or spent its transient budget) is not run
// again until what it ran on changes (domain/sync-failure.ts): no sign-in in between.
//
// A mailbox runs on the profile revision it passed its test on (status.serverProfile and
// status.revision), not on the profile's current spec: while a rollout holds it back, or after its
// test of a new revision failed, it keeps running on its last-known-good configuration. The spec
// of that revision comes from the profile's status.revisions (see controllers/profile.ts).

import type { Deployment, EmailServerProfile, Mailbox } from '../api/types.js';
import { SYNC_REQUESTED_AT } from '../api/types.js';
import type { Caches } from '../domain/caches.js';
import { secretSource, type SecretSource } from '../domain/secret-source.js';
import { forwardingMailboxes, internalAddresses } from '../domain/organization.js';
import { getCondition } from '../kube/conditions.js';
import { runsDirection, syncBasis } from '../domain/sync-failure.js';
import type { EventRecorder } from '../kube/events.js';
import type { KubeClients } from '../kube/client.js';
import type { ShardOwner } from '../kube/shards.js';
import { keyOf } from '../kube/watch-cache.js';
import { cacheVersions, referencedObjects, specOfRevision } from '../domain/revision.js';
import { mailboxIndex, type MailboxIndex } from '../domain/mailbox-index.js';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../log/logger.js';
import { MailboxSyncer, type SyncParts } from './mailbox-syncer.js';
import { MailboxStatusReporter, type SyncMetricsHooks } from './status-reporter.js';

export interface SyncPlanInput {
  mailbox: Mailbox;
  profile: EmailServerProfile;
  deployment: Deployment;
  lookups: SecretSource;
  incoming: boolean;
  outgoing: boolean;
  /** Forward mailboxes: the forwarding mailbox with an address (read from the caches at each call). */
  forwarders?: (address: string) => Mailbox | undefined;
  /** Whether an address is one of the organization's own mailboxes (read from the caches at each call). */
  isInternal?: (address: string) => boolean;
  /** Live sync workers now: a profile's shared connection limit is divided among them. */
  liveWorkers?: () => number;
  /** Appointments, contacts and tasks (src/act). */
  act?: boolean;
  /** The mailbox's logger (namespace and mailbox on every line), for protocol detail at debug level. */
  logger?: Logger;
}

/** Builds the protocol and CRM parts of a syncer (src/connect implements it). */
export interface SyncPartsFactory {
  create(input: SyncPlanInput): Promise<SyncParts>;
}

interface Running {
  signature: string;
  syncRequest?: string;
  syncer: MailboxSyncer;
  reporter: MailboxStatusReporter;
}

export interface WorkerOptions {
  logger: Logger;
  events: EventRecorder;
  metrics?: SyncMetricsHooks;
  /** Status writes per mailbox are coalesced over this interval. */
  statusIntervalMs?: number;
}

export class SyncWorker {
  private readonly running = new Map<string, Running>();
  private readonly warnedSpec = new Set<string>();
  private readonly index: MailboxIndex;
  /** Mailboxes to look at on the next pass; `everything` when a change may concern any of them. */
  private readonly dirty = new Set<string>();
  private everything = true;
  private timer?: NodeJS.Timeout;
  private reconciling: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly clients: KubeClients,
    private readonly caches: Caches,
    private readonly shards: ShardOwner,
    private readonly factory: SyncPartsFactory,
    private readonly opts: WorkerOptions,
  ) {
    this.index = mailboxIndex(caches);
  }

  start(): void {
    // A change marks the mailboxes it concerns, so one mailbox's status write costs one mailbox's
    // look, whatever the number of mailboxes: a full pass over all of them only when the shards move.
    const mark = (keys: Iterable<string>) => {
      for (const k of keys) this.dirty.add(k);
      this.schedule();
    };
    const mailbox = (m: Mailbox) => mark([keyOf(m)]);
    this.caches.mailboxes.addHandlers({ onAdd: mailbox, onUpdate: mailbox, onDelete: mailbox });
    const keysOf = (ms: Mailbox[]) => ms.map(keyOf);
    // Profiles: workers read the spec of the revision a mailbox runs on (status.revisions).
    const profile = (p: EmailServerProfile, old?: EmailServerProfile) => {
      if (old && old.metadata.generation === p.metadata.generation && isDeepStrictEqual(old.status?.revisions, p.status?.revisions)) return;
      mark(keysOf(this.index.runningOn(p.metadata.namespace, p.metadata.name)));
    };
    this.caches.profiles.addHandlers({ onAdd: (p) => profile(p), onUpdate: profile, onDelete: (p) => profile(p) });
    // Deployments: their spec (the CRM connector, filtering, retry policy); their status is not read.
    const deployment = (d: Deployment, old?: Deployment) => {
      if (old && old.metadata.generation === d.metadata.generation) return;
      mark(keysOf(this.index.ofDeployment(d.metadata.namespace, d.metadata.name)));
    };
    this.caches.deployments.addHandlers({ onAdd: (d) => deployment(d), onUpdate: deployment, onDelete: (d) => deployment(d) });
    // Secrets: a Deployment's CRM credentials, and a profile's (its revision when no record is kept).
    const secret = (sec: { metadata: { namespace: string; name: string } }) => {
      const { namespace: ns, name } = sec.metadata;
      for (const d of this.caches.deployments.list(ns)) if (d.spec.crm.credentialsSecretRef?.name === name) deployment(d);
      for (const p of this.caches.profiles.list(ns))
        if (referencedObjects(p.spec).some((r) => r.kind === 'Secret' && r.name === name)) profile(p);
    };
    this.caches.secrets.addHandlers({ onAdd: secret, onUpdate: secret, onDelete: secret });
    this.shards.onChange(() => {
      this.everything = true;
      this.schedule();
    });
    this.schedule();
  }

  /** Mailboxes being synced by this worker (namespace/name). */
  syncing(): string[] {
    return [...this.running.keys()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.reconciling;
    await Promise.all([...this.running.keys()].map((k) => this.stopOne(k)));
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    // Coalesce bursts of cache events (a status write, a list) into one pass.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reconciling = this.reconciling
        .then(() => this.reconcile())
        .catch((err) => this.opts.logger.error(`sync worker: ${(err as Error).message}`));
    }, 100);
  }

  /** What should run for a mailbox, or undefined when nothing should. */
  private desired(m: Mailbox): (SyncPlanInput & { signature: string }) | undefined {
    if (m.metadata.deletionTimestamp || m.spec.suspended) return undefined;
    if (!this.shards.owns(keyOf(m))) return undefined;
    const c = m.status?.conditions;
    const enabled = getCondition(c, 'Enabled');
    if (enabled?.status !== 'True') return undefined;
    const basis = syncBasis(m, this.caches);
    const incoming = runsDirection(m.status, 'incoming', getCondition(c, 'IncomingEmailReady'), basis);
    const outgoing = runsDirection(m.status, 'outgoing', getCondition(c, 'OutgoingEmailReady'), basis);
    const act = runsDirection(m.status, 'appointmentsContactsTasks', getCondition(c, 'AppointmentsContactsTasksReady'), basis);
    if (!incoming && !outgoing && !act) return undefined;
    const ns = m.metadata.namespace;
    const deployment = this.caches.deployments.get(ns, m.spec.deploymentRef.name);
    const current = m.status?.serverProfile ? this.caches.profiles.get(ns, m.status.serverProfile) : undefined;
    if (!deployment || !current) return undefined;
    const profile = { ...current, spec: this.runningSpec(current, m) };
    // The configuration that passed its test identifies what runs; a new one restarts the syncer.
    const signature = [
      m.status?.revision,
      m.status?.configHash,
      incoming,
      outgoing,
      act,
      deployment.metadata.generation,
      deployment.spec.crm.credentialsSecretRef?.name &&
        this.caches.secrets.get(ns, deployment.spec.crm.credentialsSecretRef.name)?.metadata.resourceVersion,
    ].join('|');
    const forwarders = m.spec.forwardMailbox ? forwardingMailboxes(this.caches, m) : undefined;
    const isInternal = internalAddresses(this.caches, m);
    const liveWorkers = () => this.shards.workerCount;
    return {
      mailbox: m,
      profile,
      deployment,
      lookups: secretSource(this.caches, ns, this.clients),
      incoming,
      outgoing,
      act,
      signature,
      isInternal,
      liveWorkers,
      ...(forwarders ? { forwarders } : {}),
    };
  }

  /** The profile spec of the revision the mailbox runs on; the current spec when that record is gone. */
  private runningSpec(profile: EmailServerProfile, m: Mailbox): EmailServerProfile['spec'] {
    const spec = specOfRevision(profile, m.status?.revision, cacheVersions(this.caches, profile.metadata.namespace));
    if (spec) return spec;
    const key = keyOf(m);
    if (!this.warnedSpec.has(key)) {
      this.warnedSpec.add(key);
      this.opts.logger.warn(
        { mailbox: key, revision: m.status?.revision },
        `revision ${m.status?.revision} of profile "${profile.metadata.name}" is not recorded in its status.revisions; running on the current spec`,
      );
    }
    return profile.spec;
  }

  private async reconcile(): Promise<void> {
    let keys: Iterable<string>;
    if (this.everything) {
      this.everything = false;
      this.dirty.clear();
      keys = new Set([...this.caches.mailboxes.list().map(keyOf), ...this.running.keys()]);
    } else {
      keys = [...this.dirty];
      this.dirty.clear();
    }
    for (const key of keys) {
      if (this.stopped) return;
      const i = key.indexOf('/');
      const m = this.caches.mailboxes.get(key.slice(0, i), key.slice(i + 1));
      const w = m && this.desired(m);
      const r = this.running.get(key);
      if (r && (!w || w.signature !== r.signature)) await this.stopOne(key);
      if (!w) continue;
      const request = w.mailbox.metadata.annotations?.[SYNC_REQUESTED_AT];
      const now = this.running.get(key);
      if (now) {
        if (request !== now.syncRequest) {
          now.syncRequest = request;
          now.syncer.syncNow();
        }
        continue;
      }
      await this.startOne(key, w, request);
    }
  }

  private async startOne(key: string, w: SyncPlanInput & { signature: string }, request: string | undefined): Promise<void> {
    const log = this.opts.logger.child({ namespace: w.mailbox.metadata.namespace, mailbox: w.mailbox.metadata.name });
    let parts: SyncParts;
    try {
      parts = await this.factory.create({ ...w, logger: log });
    } catch (err) {
      log.warn(`cannot start sync: ${(err as Error).message}`);
      return;
    }
    const { namespace, name } = w.mailbox.metadata;
    const reporter = new MailboxStatusReporter(this.clients, w.mailbox, this.opts.events, log, {
      latest: () => this.caches.mailboxes.get(namespace, name),
      metrics: this.opts.metrics,
      intervalMs: this.opts.statusIntervalMs,
      directions: [
        ...(w.incoming ? ['incoming' as const] : []),
        ...(w.outgoing ? ['outgoing' as const] : []),
        ...(w.act ? ['appointmentsContactsTasks' as const] : []),
      ],
      // Read when a failure is recorded: what the mailbox runs on by then (a test may have passed since the start).
      basis: () => syncBasis(this.caches.mailboxes.get(w.mailbox.metadata.namespace, w.mailbox.metadata.name) ?? w.mailbox, this.caches),
    });
    const syncer = new MailboxSyncer(parts, reporter);
    this.running.set(key, { signature: w.signature, syncRequest: request, syncer, reporter });
    syncer.start();
    log.info({ incoming: w.incoming, outgoing: w.outgoing, appointmentsContactsTasks: w.act ?? false }, 'sync started');
  }

  private async stopOne(key: string): Promise<void> {
    const r = this.running.get(key);
    if (!r) return;
    this.running.delete(key);
    await r.syncer.stop();
    await r.reporter.close();
    const [namespace, mailbox] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    this.opts.logger.info({ namespace, mailbox }, 'sync stopped');
  }
}
