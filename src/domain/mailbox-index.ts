// Which mailboxes belong to what, and their counts, kept up to date from the watch caches' events
// instead of a scan of every mailbox: at 10,000 mailboxes a scan per event is what made a bulk
// Test and Enable grow faster than the number of mailboxes (the profile and Deployment
// reconcilers and the sync worker each filtered the whole cache on every Mailbox update, status
// writes included). Every lookup here costs what it returns, and every event costs the same at 10
// mailboxes and at 10,000.
//
// One index per set of caches (mailboxIndex()), shared by the controllers and the sync worker of a
// process. It registers its cache handlers before anyone who reads it, so a handler that asks the
// index about an event's mailbox sees the event already applied.

import type { Deployment, Mailbox } from '../api/types.js';
import type { ObjectCache } from '../kube/object-cache.js';
import { keyOf } from '../kube/watch-cache.js';
import { countsOf, emptyCounts, type MailboxCounts } from './mailbox-counts.js';

/** The profile name a mailbox uses after defaults, or undefined when neither names one. */
export function effectiveProfileName(mbx: Mailbox, deployment: Deployment | undefined): string | undefined {
  return mbx.spec.serverProfileRef?.name ?? deployment?.spec.defaults?.serverProfileRef?.name;
}

/** What one mailbox contributes to the groups it is in. */
interface Entry {
  namespace: string;
  deployment: string;
  /** The profile it resolves to (spec, else its Deployment's default). */
  profile?: string;
  /** The profile it runs on (status.serverProfile); may differ during a move. */
  runsOn?: string;
  /** spec.credentialsSecretRef. */
  secret?: string;
  counts: MailboxCounts;
}

type Group = { keys: Set<string>; counts: MailboxCounts };

const groupKey = (namespace: string, name: string) => `${namespace}/${name}`;

export class MailboxIndex {
  private readonly entries = new Map<string, Entry>();
  private readonly byDeployment = new Map<string, Group>();
  private readonly byProfile = new Map<string, Group>();
  private readonly byRunningProfile = new Map<string, Group>();
  private readonly bySecret = new Map<string, Group>();

  constructor(private readonly caches: { mailboxes: ObjectCache<Mailbox>; deployments: ObjectCache<Deployment> }) {
    // Objects already cached (an index made after the caches listed) count at once.
    for (const m of caches.mailboxes.list()) this.put(m);
    caches.mailboxes.addHandlers({
      onAdd: (m) => this.put(m),
      onUpdate: (m) => this.put(m),
      onDelete: (m) => this.remove(keyOf(m)),
    });
    // A Deployment's default profile decides which profile its mailboxes count for.
    const refresh = (d: Deployment) => {
      for (const key of [...(this.byDeployment.get(groupKey(d.metadata.namespace, d.metadata.name))?.keys ?? [])]) {
        const m = caches.mailboxes.get(d.metadata.namespace, key.slice(key.indexOf('/') + 1));
        if (m) this.put(m);
      }
    };
    caches.deployments.addHandlers({ onAdd: refresh, onUpdate: refresh, onDelete: refresh });
  }

  /** Mailboxes whose spec.deploymentRef names this Deployment. */
  ofDeployment(namespace: string, name: string): Mailbox[] {
    return this.objects(this.byDeployment.get(groupKey(namespace, name)));
  }

  /** Mailboxes that use this profile, directly or through their Deployment's default. */
  ofProfile(namespace: string, name: string): Mailbox[] {
    return this.objects(this.byProfile.get(groupKey(namespace, name)));
  }

  /** Mailboxes that run on this profile now (status.serverProfile). */
  runningOn(namespace: string, name: string): Mailbox[] {
    return this.objects(this.byRunningProfile.get(groupKey(namespace, name)));
  }

  /** Keys (namespace/name) of mailboxes whose spec.credentialsSecretRef names this Secret. */
  usingSecret(namespace: string, name: string): string[] {
    return [...(this.bySecret.get(groupKey(namespace, name))?.keys ?? [])];
  }

  countsOfDeployment(namespace: string, name: string): MailboxCounts {
    return { ...(this.byDeployment.get(groupKey(namespace, name))?.counts ?? emptyCounts()) };
  }

  countsOfProfile(namespace: string, name: string): MailboxCounts {
    return { ...(this.byProfile.get(groupKey(namespace, name))?.counts ?? emptyCounts()) };
  }

  /** The group's mailboxes by name: a stable order (a mailbox's update re-adds it to its groups), as messages list them. */
  private objects(g: Group | undefined): Mailbox[] {
    const out: Mailbox[] = [];
    for (const key of [...(g?.keys ?? [])].sort()) {
      const i = key.indexOf('/');
      const m = this.caches.mailboxes.get(key.slice(0, i), key.slice(i + 1));
      if (m) out.push(m);
    }
    return out;
  }

  private put(m: Mailbox): void {
    const key = keyOf(m);
    this.remove(key);
    const ns = m.metadata.namespace;
    const e: Entry = {
      namespace: ns,
      deployment: m.spec.deploymentRef.name,
      profile: effectiveProfileName(m, this.caches.deployments.get(ns, m.spec.deploymentRef.name)),
      runsOn: m.status?.serverProfile,
      secret: m.spec.credentialsSecretRef?.name,
      counts: countsOf(m),
    };
    this.entries.set(key, e);
    this.join(this.byDeployment, groupKey(ns, e.deployment), key, e.counts, 1);
    if (e.profile) this.join(this.byProfile, groupKey(ns, e.profile), key, e.counts, 1);
    if (e.runsOn) this.join(this.byRunningProfile, groupKey(ns, e.runsOn), key, e.counts, 1);
    if (e.secret) this.join(this.bySecret, groupKey(ns, e.secret), key, e.counts, 1);
  }

  private remove(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.join(this.byDeployment, groupKey(e.namespace, e.deployment), key, e.counts, -1);
    if (e.profile) this.join(this.byProfile, groupKey(e.namespace, e.profile), key, e.counts, -1);
    if (e.runsOn) this.join(this.byRunningProfile, groupKey(e.namespace, e.runsOn), key, e.counts, -1);
    if (e.secret) this.join(this.bySecret, groupKey(e.namespace, e.secret), key, e.counts, -1);
  }

  private join(groups: Map<string, Group>, name: string, key: string, counts: MailboxCounts, sign: 1 | -1): void {
    let g = groups.get(name);
    if (!g) groups.set(name, (g = { keys: new Set(), counts: emptyCounts() }));
    if (sign > 0) g.keys.add(key);
    else g.keys.delete(key);
    g.counts.total += sign * counts.total;
    g.counts.enabled += sign * counts.enabled;
    g.counts.failing += sign * counts.failing;
    if (!g.keys.size) groups.delete(name);
  }
}

const indexes = new WeakMap<object, MailboxIndex>();

/** The index of these caches, made on first use (before the caller adds handlers of its own). */
export function mailboxIndex(caches: { mailboxes: ObjectCache<Mailbox>; deployments: ObjectCache<Deployment> }): MailboxIndex {
  let index = indexes.get(caches.mailboxes);
  if (!index) indexes.set(caches.mailboxes, (index = new MailboxIndex(caches)));
  return index;
}
