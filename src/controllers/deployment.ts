// DeploymentReconciler: reports Ready and the counts of the Deployment's mailboxes.

import type { DeploymentStatusT } from '../api/types.js';
import { RESOURCES } from '../api/types.js';
import { setCondition } from '../kube/conditions.js';
import { patchStatus } from '../kube/status.js';
import type { ControllerContext } from './context.js';
import { mailboxCounts } from './counts.js';

export class DeploymentReconciler {
  constructor(private readonly ctx: ControllerContext) {}

  async reconcile(namespace: string, name: string): Promise<void> {
    const d = this.ctx.caches.deployments.get(namespace, name);
    if (!d || d.metadata.deletionTimestamp) return;
    const gen = d.metadata.generation;
    const mailboxes = this.ctx.caches.mailboxes.list(namespace).filter((m) => m.spec.deploymentRef.name === name);
    const next: DeploymentStatusT = { ...(d.status ?? {}), observedGeneration: gen, mailboxes: mailboxCounts(mailboxes) };
    const ref = d.spec.crm.credentialsSecretRef;
    const problem = ref && !this.ctx.caches.secrets.get(namespace, ref.name) ? `Secret "${ref.name}" (spec.crm.credentialsSecretRef) not found in namespace "${namespace}"` : undefined;
    next.conditions = setCondition(
      d.status?.conditions,
      problem
        ? { type: 'Ready', status: 'False', reason: 'SecretNotFound', message: problem }
        : { type: 'Ready', status: 'True', reason: 'Valid', message: 'deployment is valid' },
      gen,
    );
    await patchStatus(this.ctx.clients, { ...RESOURCES.deployments, namespace, name }, d.status, next);
  }
}
