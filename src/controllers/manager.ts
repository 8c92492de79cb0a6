// Wires watch caches to work queues and reconcilers. A change to any object re-reconciles the
// objects that depend on it at once (profile -> its mailboxes, Deployment -> its mailboxes,
// Secret -> whatever names it), not at the next resync. Status-only updates of an object do
// not re-queue that object, so writing status never loops; the exception is a profile's rollout
// status (a published revision, a new batch), which its mailboxes act on.

import { describeError, isConflict } from '../kube/errors.js';
import type { KubernetesObject, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { Deployment, EmailServerProfile, Mailbox } from '../api/types.js';
import { APPROVED_ADDRESS, DENIED_ADDRESS, RESOURCES, SYNC_REQUESTED_AT, TEST_REQUESTED_AT } from '../api/types.js';
import type { KubeClients } from '../kube/client.js';
import { EventRecorder } from '../kube/events.js';
import { keyOf, WatchCache, type ResourceType } from '../kube/watch-cache.js';
import { MultiNamespaceCache, type ObjectCache } from '../kube/object-cache.js';
import { runWorkers, WorkQueue, type ReconcileHook, type ReconcileResult } from '../kube/workqueue.js';
import type { Logger } from '../log/logger.js';
import type { Caches } from '../domain/caches.js';
import type { ControllerContext } from './context.js';
import { splitKey } from './context.js';
import { DeploymentReconciler } from './deployment.js';
import { MailboxReconciler, type TestPolicy } from './mailbox.js';
import type { CrmTesting, MailboxTesting } from '../domain/testing-ports.js';
import { getCondition } from '../kube/conditions.js';
import { ProfileReconciler } from './profile.js';
import { SYNC_DIRECTIONS } from '../domain/sync-failure.js';
import { AddressClaims } from './address-claims.js';
import { TestSlots } from './rollout-slots.js';
import { UP_TO_DATE } from './rollout-mailbox.js';
import { mailboxIndex } from '../domain/mailbox-index.js';
import { effectiveProfileName } from './resolve.js';

export interface ManagerOptions {
  /** Watch only this namespace; all namespaces when empty. */
  namespace?: string;
  resyncMs?: number;
  watchTimeoutSeconds?: number;
  logger: Logger;
  /** The mail side of Test and Enable (src/connect in the operator). */
  testing: MailboxTesting;
  /** Tests Deployments' CRM connectors (src/connect); without it Deployments are only validated. */
  crmTesting?: CrmTesting;
  testPolicy?: TestPolicy;
  /** Domains the operator may auto-approve at most (see ControllerContext.autoApproveCap). */
  autoApproveCap?: string[];
  /** Caches shared with a sync worker in the same process. */
  caches?: Caches;
  /**
   * Mailbox reconciles at once. Tests of one profile are limited by its spec.rollout.maxConcurrentTests;
   * this bounds tests across all profiles. Default 32.
   */
  mailboxWorkers?: number;
}

/** True when a change is one the owner of the object asked for (spec, annotations, deletion). */
export function specOrRequestChanged(o: KubernetesObject, old: KubernetesObject): boolean {
  const a = o.metadata ?? {};
  const b = old.metadata ?? {};
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    a.annotations?.[TEST_REQUESTED_AT] !== b.annotations?.[TEST_REQUESTED_AT] ||
    a.annotations?.[SYNC_REQUESTED_AT] !== b.annotations?.[SYNC_REQUESTED_AT] ||
    a.annotations?.[APPROVED_ADDRESS] !== b.annotations?.[APPROVED_ADDRESS] ||
    a.annotations?.[DENIED_ADDRESS] !== b.annotations?.[DENIED_ADDRESS]
  );
}

/** What mailboxes act on in a profile's status: the published revision and the admitted batch. */
function rolloutChanged(p: EmailServerProfile, old: EmailServerProfile): boolean {
  const sig = (x: EmailServerProfile) => {
    const r = x.status?.rollout;
    return [x.status?.revision, r?.revision, r?.batch, r?.batchAfter, r?.admittedThrough].join('|');
  };
  return sig(p) !== sig(old);
}

/** Approvers write status; their changes must reach the reconciler although the generation stays. */
function approvalChanged(m: Mailbox, old: Mailbox): boolean {
  const sig = (x: Mailbox) =>
    ['Approved', 'Denied'].map((t) => `${getCondition(x.status?.conditions, t)?.status}`).join() + `|${x.status?.emailAddress}`;
  return sig(m) !== sig(old);
}

/**
 * A sync worker reported a direction failing, stopping or working again (status.sync.*.failure):
 * the controller folds it into the direction conditions. Volatile parts (the message, times) are
 * left out, so a failure that repeats does not re-queue the mailbox on every attempt.
 */
function syncFailureChanged(m: Mailbox, old: Mailbox): boolean {
  const sig = (x: Mailbox) =>
    SYNC_DIRECTIONS.map((d) => {
      const f = x.status?.sync?.[d]?.failure;
      return f ? [f.reason, f.permanent, f.exhausted, f.failures, f.basis].join(',') : '-';
    }).join('|');
  return sig(m) !== sig(old);
}

/**
 * What a profile's or Deployment's status reads from one of its mailboxes: counts, rollout state
 * and resolution. Writes that change none of it (a worker's checkpoint and counts, sync times, a
 * condition's message) do not re-queue the mailbox's profile and Deployment.
 */
function summarySignature(m: Mailbox): string {
  const s = m.status ?? {};
  const conds = (s.conditions ?? []).map((c) => `${c.type}=${c.status}:${c.reason}${c.type === UP_TO_DATE ? `:${c.message}` : ''}`);
  return [
    m.metadata.generation,
    m.metadata.deletionTimestamp,
    s.serverProfile,
    s.revision,
    s.configHash,
    s.targetRevision,
    s.testedRevision,
    s.testedConfigHash,
    s.rolloutBatch,
    ...conds,
  ].join('|');
}

/**
 * Summaries (counts, rollout progress) of a profile or Deployment are computed over all of its
 * mailboxes; mailbox events reach them at most this often, so a burst of 10,000 mailbox updates
 * costs a few summaries instead of 10,000.
 */
export const SUMMARY_INTERVAL_MS = 1000;

/**
 * The watch caches every role shares (controllers and sync workers read the same objects).
 * `namespace` may list several namespaces separated by commas: each is watched on its own.
 */
export function createCaches(
  clients: KubeClients,
  opts: { namespace?: string; resyncMs?: number; watchTimeoutSeconds?: number; logger: Logger },
): Caches {
  const namespaces = (opts.namespace ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const cache = <T extends KubernetesObject>(type: ResourceType): ObjectCache<T> => {
    const make = (namespace?: string) =>
      new WatchCache<T>(clients, type, {
        namespace,
        resyncMs: opts.resyncMs,
        watchTimeoutSeconds: opts.watchTimeoutSeconds,
        logger: opts.logger,
      });
    if (namespaces.length <= 1) return make(namespaces[0]);
    return new MultiNamespaceCache(namespaces.map(make), namespaces);
  };
  return {
    profiles: cache<EmailServerProfile>(RESOURCES.profiles),
    mailboxes: cache<Mailbox>(RESOURCES.mailboxes),
    deployments: cache<Deployment>(RESOURCES.deployments),
    secrets: cache<V1Secret & { metadata: { name: string; namespace: string } }>(RESOURCES.secrets),
    configMaps: cache<V1ConfigMap>(RESOURCES.configMaps),
  };
}

/** Starts every cache and resolves once each has listed once. Idempotent. */
export async function startCaches(caches: Caches): Promise<void> {
  const all = Object.values(caches) as ObjectCache<never>[];
  all.forEach((c) => c.start());
  await Promise.all(all.map((c) => c.waitForSync()));
}

export class Manager {
  readonly caches: Caches;
  readonly queues = { mailboxes: new WorkQueue(), profiles: new WorkQueue(), deployments: new WorkQueue() };
  readonly ctx: ControllerContext;
  readonly reconcilers: { mailboxes: MailboxReconciler; profiles: ProfileReconciler; deployments: DeploymentReconciler };
  /** Per-profile limits on connection tests running at once. */
  readonly slots: TestSlots;
  private workers: Promise<unknown>[] = [];

  constructor(
    clients: KubeClients,
    private readonly opts: ManagerOptions,
  ) {
    this.caches = opts.caches ?? createCaches(clients, opts);
    this.ctx = {
      clients,
      caches: this.caches,
      events: new EventRecorder(clients, 'mailsync-operator', opts.logger),
      logger: opts.logger,
      autoApproveCap: opts.autoApproveCap,
    };
    this.ctx.addressClaims = new AddressClaims(this.caches.mailboxes, (m) => this.queues.mailboxes.add(keyOf(m)));
    // A freed test slot wakes the mailbox it was reserved for.
    this.slots = new TestSlots((key) => this.queues.mailboxes.add(key));
    this.reconcilers = {
      mailboxes: new MailboxReconciler(this.ctx, opts.testing, opts.testPolicy, this.slots),
      profiles: new ProfileReconciler(this.ctx, opts.testing),
      deployments: new DeploymentReconciler(this.ctx, opts.crmTesting),
    };
    this.wire();
  }

  private wire(): void {
    const { caches, queues } = this;
    const index = mailboxIndex(caches);
    const q = {
      mailbox: (m: Mailbox) => queues.mailboxes.add(keyOf(m)),
      profile: (ns: string, name: string | undefined) => name && queues.profiles.add(`${ns}/${name}`),
      deployment: (ns: string, name: string | undefined) => name && queues.deployments.add(`${ns}/${name}`),
    };
    // A mailbox's change reaches its profile and Deployment summaries at most once a SUMMARY_INTERVAL_MS.
    const mailboxOwners = (m: Mailbox) => {
      const ns = m.metadata.namespace;
      queues.deployments.addAfter(`${ns}/${m.spec.deploymentRef.name}`, SUMMARY_INTERVAL_MS);
      const profile = effectiveProfileName(m, caches.deployments.get(ns, m.spec.deploymentRef.name));
      if (profile) queues.profiles.addAfter(`${ns}/${profile}`, SUMMARY_INTERVAL_MS);
      // A mailbox moving away from a profile still counts in that one's rollout until it arrives.
      if (m.status?.serverProfile && m.status.serverProfile !== profile)
        queues.profiles.addAfter(`${ns}/${m.status.serverProfile}`, SUMMARY_INTERVAL_MS);
    };
    caches.mailboxes.addHandlers({
      onAdd: (m) => {
        q.mailbox(m);
        mailboxOwners(m);
      },
      onUpdate: (m, old) => {
        if (specOrRequestChanged(m, old) || approvalChanged(m, old) || syncFailureChanged(m, old)) q.mailbox(m);
        if (summarySignature(m) !== summarySignature(old)) mailboxOwners(m);
        if (old.spec.serverProfileRef?.name !== m.spec.serverProfileRef?.name || old.spec.deploymentRef.name !== m.spec.deploymentRef.name)
          mailboxOwners(old);
      },
      onDelete: mailboxOwners,
      onResync: (all) => all.forEach(q.mailbox),
    });
    const mailboxesOfProfile = (p: EmailServerProfile) => this.reconcilers.profiles.mailboxesOf(p).forEach(q.mailbox);
    caches.profiles.addHandlers({
      onAdd: (p) => {
        q.profile(p.metadata.namespace, p.metadata.name);
        mailboxesOfProfile(p);
      },
      onUpdate: (p, old) => {
        if (specOrRequestChanged(p, old)) {
          q.profile(p.metadata.namespace, p.metadata.name);
          mailboxesOfProfile(p);
        } else if (rolloutChanged(p, old)) {
          mailboxesOfProfile(p);
        }
      },
      // Mailboxes that named a deleted profile must learn that it is gone.
      onDelete: (p) => mailboxesOfProfile(p),
      onResync: (all) => all.forEach((p) => q.profile(p.metadata.namespace, p.metadata.name)),
    });
    const deploymentChanged = (d: Deployment) => {
      const ns = d.metadata.namespace;
      q.deployment(ns, d.metadata.name);
      index.ofDeployment(ns, d.metadata.name).forEach(q.mailbox);
      // Defaults decide which profile a mailbox uses, so profile counts may move.
      caches.profiles.list(ns).forEach((p) => q.profile(ns, p.metadata.name));
    };
    caches.deployments.addHandlers({
      onAdd: deploymentChanged,
      onUpdate: (d, old) => specOrRequestChanged(d, old) && deploymentChanged(d),
      onDelete: deploymentChanged,
      onResync: (all) => all.forEach((d) => q.deployment(d.metadata.namespace, d.metadata.name)),
    });
    const secretChanged = (s: V1Secret & { metadata: { name: string; namespace: string } }) => {
      const ns = s.metadata.namespace;
      const name = s.metadata.name;
      for (const p of caches.profiles.list(ns)) {
        const refs = [p.spec.incoming, p.spec.outgoing].flatMap((c) => [c?.credentials?.secretRef?.name, c?.caBundle?.secretRef?.name]);
        if (refs.includes(name)) {
          q.profile(ns, p.metadata.name);
          mailboxesOfProfile(p);
        }
      }
      for (const key of index.usingSecret(ns, name)) queues.mailboxes.add(key);
      for (const d of caches.deployments.list(ns)) if (d.spec.crm.credentialsSecretRef?.name === name) q.deployment(ns, d.metadata.name);
    };
    caches.secrets.addHandlers({ onAdd: secretChanged, onUpdate: secretChanged, onDelete: secretChanged });
    const configMapChanged = (c: V1ConfigMap) => {
      const ns = c.metadata!.namespace!;
      const name = c.metadata!.name;
      for (const p of caches.profiles.list(ns)) {
        if (p.spec.incoming?.caBundle?.configMapRef?.name === name || p.spec.outgoing?.caBundle?.configMapRef?.name === name) {
          // The ConfigMap's version is part of the profile's revision.
          q.profile(ns, p.metadata.name);
          mailboxesOfProfile(p);
        }
      }
    };
    caches.configMaps.addHandlers({ onAdd: configMapChanged, onUpdate: configMapChanged, onDelete: configMapChanged });
  }

  private readonly hooks: ReconcileHook[] = [];

  /** Wraps every reconcile from now on (observability/instrument.ts times them). Call before start(). */
  aroundReconcile(hook: ReconcileHook): void {
    this.hooks.push(hook);
  }

  /** Starts the caches, waits until each has listed once, then starts the workers. */
  async start(): Promise<void> {
    await startCaches(this.caches);
    const log = this.opts.logger;
    const run = (name: keyof Manager['queues'], n: number, fn: (ns: string, name: string) => Promise<ReconcileResult | void>) =>
      runWorkers(
        this.queues[name],
        n,
        (key) => {
          const [ns, obj] = splitKey(key);
          // The hooks wrap the reconcile, the first added outermost.
          return this.hooks.reduceRight<() => Promise<ReconcileResult | void>>(
            (inner, hook) => () => hook(name, inner),
            () => fn(ns, obj),
          )();
        },
        (key, err, retryInMs) => {
          // A conflict only means our cached copy was stale: the retry reads the new one.
          const [namespace, obj] = splitKey(key);
          (isConflict(err) ? log.debug : log.warn).call(
            log,
            { resource: name, namespace, name: obj, retryInMs },
            `reconcile failed: ${describeError(err)}`,
          );
        },
      );
    this.workers = [
      run('mailboxes', this.opts.mailboxWorkers ?? 32, (ns, n) => this.reconcilers.mailboxes.reconcile(ns, n)),
      run('profiles', 2, (ns, n) => this.reconcilers.profiles.reconcile(ns, n)),
      run('deployments', 2, (ns, n) => this.reconcilers.deployments.reconcile(ns, n)),
    ];
    log.info({ namespace: this.opts.namespace ?? '(all)' }, 'controllers started');
  }

  async stop(): Promise<void> {
    Object.values(this.caches).forEach((c) => c.stop());
    Object.values(this.queues).forEach((q) => q.shutdown());
    await Promise.allSettled(this.workers);
  }
}
