// EmailServerProfileReconciler: checks what the API server cannot (referenced Secrets exist) and
// reports Ready and the counts of the profile's mailboxes.

import type { EmailServerProfile, ProfileStatus } from '../api/types.js';
import { RESOURCES } from '../api/types.js';
import { setCondition } from '../kube/conditions.js';
import { patchStatus } from '../kube/status.js';
import type { ControllerContext } from './context.js';
import { mailboxCounts } from './counts.js';
import { effectiveProfileName } from './resolve.js';

export class ProfileReconciler {
  constructor(private readonly ctx: ControllerContext) {}

  /** Mailboxes that use this profile, directly or through their Deployment's default. */
  mailboxesOf(p: EmailServerProfile) {
    const ns = p.metadata.namespace;
    return this.ctx.caches.mailboxes
      .list(ns)
      .filter((m) => effectiveProfileName(m, this.ctx.caches.deployments.get(ns, m.spec.deploymentRef.name)) === p.metadata.name);
  }

  async reconcile(namespace: string, name: string): Promise<void> {
    const p = this.ctx.caches.profiles.get(namespace, name);
    if (!p || p.metadata.deletionTimestamp) return;
    const gen = p.metadata.generation;
    const next: ProfileStatus = { ...(p.status ?? {}), observedGeneration: gen, mailboxes: mailboxCounts(this.mailboxesOf(p)) };
    const problem = this.missingSecret(p);
    next.conditions = setCondition(
      p.status?.conditions,
      problem
        ? { type: 'Ready', status: 'False', reason: 'SecretNotFound', message: problem }
        : { type: 'Ready', status: 'True', reason: 'Valid', message: 'profile is valid' },
      gen,
    );
    const before = p.status?.conditions?.find((c) => c.type === 'Ready');
    await patchStatus(this.ctx.clients, { ...RESOURCES.profiles, namespace, name }, p.status, next);
    if (problem && before?.reason !== 'SecretNotFound') await this.ctx.events.record(p, 'Warning', 'SecretNotFound', problem);
  }

  private missingSecret(p: EmailServerProfile): string | undefined {
    for (const dir of ['incoming', 'outgoing'] as const) {
      const ref = p.spec[dir]?.credentials?.secretRef;
      if (ref && !this.ctx.caches.secrets.get(p.metadata.namespace, ref.name)) {
        return `Secret "${ref.name}" (spec.${dir}.credentials.secretRef) not found in namespace "${p.metadata.namespace}"`;
      }
    }
    return undefined;
  }
}
