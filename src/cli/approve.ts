// `mailsync approve|deny mailbox NAME`: the imperative approval, also usable as the kubectl plugin
// `kubectl mailsync approve mailbox NAME`. It records the Approved or Denied condition bound to
// the mailbox's current address; the API server's admission policy checks that the caller holds
// the approve verb and answers with its own message when not. `--address` pins the address the
// approver reviewed: the decision is written only while the mailbox still has that address (the
// write carries the resourceVersion it was checked at, so a change in between is a conflict and
// is checked again).

import { GROUP, VERSION } from '../api/schema.js';
import type { Mailbox } from '../api/types.js';
import { createClients, loadKubeConfig } from '../kube/client.js';
import { removeCondition, setCondition } from '../kube/conditions.js';
import { apiMessage, forbidden, isConflict, type Attempt } from '../kube/errors.js';
import { patchStatus } from '../kube/status.js';
import type { ApproveFlags } from './approve-flags.js';

export interface ApproveOptions extends ApproveFlags {
  name: string;
  decision: 'Approved' | 'Denied';
}

/** Why a refusal by RBAC happened and what fixes it; a policy's refusal says so itself. */
const ROLE_HINT =
  '; approving and denying need the mailsync-approver ClusterRole (verb approve on mailboxes.mailsync.dev, get on mailboxes, patch on mailboxes/status)';

export async function approveMailbox(opts: ApproveOptions): Promise<string> {
  const kc = loadKubeConfig(opts.kubeconfig);
  const clients = createClients(kc);
  const namespace = opts.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const other = opts.decision === 'Approved' ? 'Denied' : 'Approved';
  const verb = opts.decision === 'Approved' ? 'approved' : 'denied';
  const explain = (err: unknown, attempt: Omit<Attempt, 'resource' | 'group' | 'namespace'>): Error => {
    const refusal = forbidden(err, { ...attempt, resource: 'mailboxes', group: GROUP, namespace });
    if (refusal) return new Error(refusal.message + (refusal.byPolicy ? '' : ROLE_HINT));
    return new Error(apiMessage(err));
  };
  for (let attempt = 1; ; attempt++) {
    let mbx: Mailbox;
    try {
      mbx = (await clients.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: 'mailboxes',
        name: opts.name,
      })) as Mailbox;
    } catch (err) {
      throw explain(err, { verb: 'get' });
    }
    const address = mbx.spec.emailAddress;
    if (opts.address !== undefined && address !== opts.address) {
      throw new Error(
        `mailbox ${namespace}/${opts.name} now has the address ${address}, not ${opts.address} that you reviewed: nothing was ${verb}. Review the mailbox again and pass its current address to --address`,
      );
    }
    const message = `${address} ${verb} with mailsync ${opts.decision === 'Approved' ? 'approve' : 'deny'}${opts.reason ? `: ${opts.reason}` : ''}`;
    const conditions = setCondition(
      removeCondition(mbx.status?.conditions, other),
      { type: opts.decision, status: 'True', reason: opts.decision, message },
      mbx.metadata.generation,
    );
    try {
      await patchStatus(
        clients,
        { group: GROUP, version: VERSION, plural: 'mailboxes', namespace, name: opts.name, resourceVersion: mbx.metadata.resourceVersion },
        mbx.status,
        { ...(mbx.status ?? {}), conditions, emailAddress: address },
      );
      return `mailbox ${namespace}/${opts.name} (${address}) ${verb}`;
    } catch (err) {
      if (isConflict(err) && attempt < 5) continue;
      throw explain(err, { verb: 'patch', subresource: 'status' });
    }
  }
}
