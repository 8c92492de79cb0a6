// MailboxReconciler: resolves a Mailbox's Deployment and profile (with defaults) and reports the
// result as status conditions. Mail-server tests plug in through MailboxTester so this file
// knows nothing of IMAP, EWS or SMTP.

import type { Mailbox, MailboxStatusT } from '../api/types.js';
import { RESOURCES } from '../api/types.js';
import { setCondition, type Condition } from '../kube/conditions.js';
import { patchStatus } from '../kube/status.js';
import type { ReconcileResult } from '../kube/workqueue.js';
import type { ControllerContext } from './context.js';
import { resolveMailbox } from './resolve.js';

export class MailboxReconciler {
  constructor(private readonly ctx: ControllerContext) {}

  async reconcile(namespace: string, name: string): Promise<ReconcileResult | void> {
    const mbx = this.ctx.caches.mailboxes.get(namespace, name);
    if (!mbx || mbx.metadata.deletionTimestamp) return;
    const gen = mbx.metadata.generation;
    const prev = mbx.status ?? {};
    let conditions: Condition[] = prev.conditions ?? [];
    const next: MailboxStatusT = { ...prev, observedGeneration: gen };

    const res = resolveMailbox(mbx, this.ctx.caches);
    if (!res.ok) {
      conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason: res.reason, message: res.message }, gen);
      next.conditions = conditions;
      delete next.serverProfile;
      await this.write(mbx, next, 'Warning', res.reason, res.message);
      return;
    }
    next.serverProfile = res.value.profile.metadata.name;
    const message = `using profile "${res.value.profile.metadata.name}" and deployment "${res.value.deployment.metadata.name}"`;
    conditions = setCondition(conditions, { type: 'Ready', status: 'True', reason: 'Resolved', message }, gen);
    next.conditions = conditions;
    await this.write(mbx, next, 'Normal', 'Resolved', message);
  }

  /** Patches status when it changed and records an Event when Ready changed. */
  private async write(mbx: Mailbox, next: MailboxStatusT, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const before = mbx.status?.conditions?.find((c) => c.type === 'Ready');
    const after = next.conditions?.find((c) => c.type === 'Ready');
    await patchStatus(this.ctx.clients, { ...RESOURCES.mailboxes, namespace: mbx.metadata.namespace, name: mbx.metadata.name }, mbx.status, next);
    if (before?.status !== after?.status || before?.reason !== after?.reason) {
      await this.ctx.events.record(mbx, type, reason, message);
    }
  }
}
