// `mailsync approve|deny mailbox NAME`: the imperative approval, also usable as the kubectl plugin
// `kubectl mailsync approve mailbox NAME`. It records the Approved or Denied condition bound to
// the mailbox's current address; the API server's admission policy checks that the caller holds
// the approve verb and answers with its own message when not.

import { GROUP, VERSION } from '../api/schema.js';
import type { Mailbox } from '../api/types.js';
import { createClients, loadKubeConfig } from '../kube/client.js';
import { removeCondition, setCondition } from '../kube/conditions.js';
import { apiMessage, isConflict, statusCode } from '../kube/errors.js';
import { patchStatus } from '../kube/status.js';

export interface ApproveOptions {
  kubeconfig?: string;
  namespace?: string;
  name: string;
  decision: 'Approved' | 'Denied';
  reason?: string;
}

export async function approveMailbox(opts: ApproveOptions): Promise<string> {
  const kc = loadKubeConfig(opts.kubeconfig);
  const clients = createClients(kc);
  const namespace = opts.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const other = opts.decision === 'Approved' ? 'Denied' : 'Approved';
  for (let attempt = 1; ; attempt++) {
    const mbx = (await clients.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'mailboxes', name: opts.name })) as Mailbox;
    const address = mbx.spec.emailAddress;
    const verb = opts.decision === 'Approved' ? 'approved' : 'denied';
    const message = `${address} ${verb} with mailsync ${opts.decision === 'Approved' ? 'approve' : 'deny'}${opts.reason ? `: ${opts.reason}` : ''}`;
    const conditions = setCondition(removeCondition(mbx.status?.conditions, other), { type: opts.decision, status: 'True', reason: opts.decision, message }, mbx.metadata.generation);
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
      const hint = statusCode(err) === 403 && !/may not approve/.test(apiMessage(err)) ? ' (approving needs the approve verb on mailboxes.mailsync.dev and patch on mailboxes/status: the mailsync-approver ClusterRole)' : '';
      throw new Error(apiMessage(err) + hint);
    }
  }
}
