// A reconciler's world in memory, for unit tests: the objects of one namespace behind the
// ObjectCache interface, and the Kubernetes client boundary (status patches, Events) played by a
// recorder that applies each merge patch to the stored object, as the API server would. Nothing
// of ours is replaced: the reconcilers, patchStatus and the EventRecorder run as in production.

import type { KubernetesObject } from '@kubernetes/client-node';
import type { Deployment, EmailServerProfile, Mailbox } from '../../src/api/types.js';
import type { ControllerContext } from '../../src/controllers/context.js';
import type { Caches } from '../../src/domain/caches.js';
import { cacheVersions, profileRevision } from '../../src/domain/revision.js';
import type { CrmTesting, CrmTestOutcome, Direction, MailboxTesting, TestOutcome } from '../../src/domain/testing-ports.js';
import type { KubeClients } from '../../src/kube/client.js';
import { getCondition } from '../../src/kube/conditions.js';
import { EventRecorder } from '../../src/kube/events.js';
import type { ObjectCache } from '../../src/kube/object-cache.js';
import { silentLogger } from '../../src/log/logger.js';

export const NS = 'sales';

type Obj = KubernetesObject & { metadata: { name: string; namespace: string }; status?: unknown };

/** An ObjectCache over a Map, read as the watch cache would be. */
class MemoryCache<T extends Obj> implements ObjectCache<T> {
  readonly items = new Map<string, T>();
  readonly stats = { lists: 0, watches: 0, errors: 0, stalls: 0 };
  get(namespace: string, name: string): T | undefined {
    return this.items.get(`${namespace}/${name}`);
  }
  list(namespace?: string): T[] {
    return [...this.items.values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace);
  }
  addHandlers(): void {}
  start(): void {}
  async stop(): Promise<void> {}
  async waitForSync(): Promise<void> {}
  hasSynced(): boolean {
    return true;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386 merge patch, as the API server applies it. */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

export interface RecordedEvent {
  object: string;
  type: string;
  reason: string;
  message: string;
}

export class ControllerWorld {
  readonly profiles = new MemoryCache<EmailServerProfile>();
  readonly mailboxes = new MemoryCache<Mailbox>();
  readonly deployments = new MemoryCache<Deployment>();
  readonly secrets = new MemoryCache<Obj & { data?: Record<string, string> }>();
  readonly configMaps = new MemoryCache<Obj & { data?: Record<string, string> }>();
  readonly events: RecordedEvent[] = [];
  /** Status patches sent, by "plural/name". */
  readonly patches: { object: string; body: unknown }[] = [];
  private version = 1;

  readonly clients = {
    custom: {
      patchNamespacedCustomObjectStatus: async (req: { plural: string; namespace: string; name: string; body: { status: unknown } }) => {
        const cache = this.cacheOf(req.plural);
        const current = cache.get(req.namespace, req.name);
        if (!current) throw Object.assign(new Error('not found'), { code: 404 });
        this.patches.push({ object: `${req.plural}/${req.name}`, body: req.body.status });
        const updated = {
          ...current,
          status: applyMergePatch(current.status, req.body.status),
          metadata: { ...current.metadata, resourceVersion: String(++this.version) },
        };
        cache.items.set(`${req.namespace}/${req.name}`, updated as never);
        return updated;
      },
    },
    core: {
      createNamespacedEvent: async (req: {
        body: { involvedObject: { kind?: string; name?: string }; type?: string; reason?: string; message?: string };
      }) => {
        const e = req.body;
        this.events.push({
          object: `${e.involvedObject.kind}/${e.involvedObject.name}`,
          type: e.type ?? '',
          reason: e.reason ?? '',
          message: e.message ?? '',
        });
        return e;
      },
      patchNamespacedEvent: async () => ({}),
    },
  } as unknown as KubeClients;

  readonly caches: Caches = {
    profiles: this.profiles,
    mailboxes: this.mailboxes,
    deployments: this.deployments,
    secrets: this.secrets,
    configMaps: this.configMaps,
  } as unknown as Caches;

  context(extra: Partial<ControllerContext> = {}): ControllerContext {
    const logger = silentLogger();
    return { clients: this.clients, caches: this.caches, events: new EventRecorder(this.clients, 'test', logger), logger, ...extra };
  }

  private cacheOf(plural: string): MemoryCache<Obj> {
    const caches: Record<string, MemoryCache<Obj>> = {
      emailserverprofiles: this.profiles,
      mailboxes: this.mailboxes,
      deployments: this.deployments,
    } as never;
    return caches[plural];
  }

  /** Stores (or replaces) an object, with a new resourceVersion and generation when its spec changed. */
  put<T extends Obj>(cache: MemoryCache<T>, o: Omit<T, 'metadata'> & { metadata: Partial<Obj['metadata']> & { name: string } }): T {
    const prev = cache.get(NS, o.metadata.name) as (Obj & { spec?: unknown }) | undefined;
    const specChanged = !prev || JSON.stringify(prev.spec) !== JSON.stringify((o as { spec?: unknown }).spec);
    const generation = (prev?.metadata as { generation?: number } | undefined)?.generation ?? 0;
    const obj = {
      ...o,
      metadata: {
        uid: `uid-${o.metadata.name}`,
        ...o.metadata,
        namespace: NS,
        resourceVersion: String(++this.version),
        generation: specChanged ? generation + 1 : generation,
      },
    } as unknown as T;
    cache.items.set(`${NS}/${o.metadata.name}`, obj);
    return obj;
  }

  /** A Deployment `crm` (webhook CRM) with these spec fields. */
  putDeployment(spec: Partial<Deployment['spec']> = {}): Deployment {
    return this.put(this.deployments, {
      apiVersion: 'mailsync.dev/v1alpha1',
      kind: 'Deployment',
      metadata: { name: 'crm' },
      spec: { crm: { type: 'Webhook', url: 'https://crm.example.com/hook' }, ...spec },
    });
  }

  /** An IMAP profile `imap` with these spec fields. */
  putProfile(spec: Partial<EmailServerProfile['spec']> = {}): EmailServerProfile {
    return this.put(this.profiles, {
      apiVersion: 'mailsync.dev/v1alpha1',
      kind: 'EmailServerProfile',
      metadata: { name: 'imap' },
      spec: { serverType: 'IMAP', incoming: { server: 'imap.example.com', port: 993 }, ...spec },
    });
  }

  /** A user's mailbox `<name>@example.com` of Deployment `crm` with its own Secret `<name>-mail`. */
  putMailbox(name: string, spec: Partial<Mailbox['spec']> = {}, status?: Mailbox['status']): Mailbox {
    return this.put(this.mailboxes, {
      apiVersion: 'mailsync.dev/v1alpha1',
      kind: 'Mailbox',
      metadata: { name },
      spec: {
        emailAddress: `${name}@example.com`,
        owner: { kind: 'User', name },
        deploymentRef: { name: 'crm' },
        credentialsSecretRef: { name: `${name}-mail` },
        ...spec,
      },
      ...(status ? { status } : {}),
    });
  }

  mailbox(name: string): Mailbox {
    return this.mailboxes.get(NS, name)!;
  }

  profile(name: string): EmailServerProfile {
    return this.profiles.get(NS, name)!;
  }

  /** Publishes the profile's current revision, as the profile reconciler does before mailboxes move to it. */
  publish(name: string, rollout?: NonNullable<EmailServerProfile['status']>['rollout']): string {
    const p = this.profile(name);
    const revision = profileRevision(p, cacheVersions(this.caches, NS));
    this.profiles.items.set(`${NS}/${name}`, {
      ...p,
      status: { ...(p.status ?? {}), revision, ...(rollout ? { rollout: { ...rollout, revision } } : {}) },
    });
    return revision;
  }
}

export const condition = (
  o: { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } } | undefined,
  type: string,
) => getCondition(o?.status?.conditions as never, type);

/** What each direction's test answers, by mailbox name; a direction missing from the script passes. */
export type Script = Record<string, Partial<Record<Direction, Partial<TestOutcome>>>>;

/** The MailboxTesting port, answering from a script (the implementation in src/connect talks to real servers). */
export class ScriptedMailboxTesting implements MailboxTesting {
  readonly runs: { mailbox: string; direction: Direction }[] = [];
  constructor(public script: Script = {}) {}
  plan(mailbox: Mailbox, _profile: EmailServerProfile, directions: Direction[]) {
    const name = mailbox.metadata.name;
    return {
      revision: JSON.stringify([mailbox.spec.credentialsSecretRef, directions]),
      steps: directions.map((direction) => ({
        direction,
        run: async (): Promise<TestOutcome> => {
          this.runs.push({ mailbox: name, direction });
          const o = this.script[name]?.[direction];
          return o
            ? { ok: false, permanent: false, reason: 'ServerUnreachable', message: `${direction} failed`, ...o }
            : { ok: true, permanent: false, reason: 'Succeeded', message: `${direction} works` };
        },
      })),
    };
  }
}

/** The CrmTesting port, answering with one outcome. */
export class ScriptedCrmTesting implements CrmTesting {
  runs = 0;
  constructor(public outcome: CrmTestOutcome) {}
  async test(): Promise<CrmTestOutcome> {
    this.runs++;
    return this.outcome;
  }
}
