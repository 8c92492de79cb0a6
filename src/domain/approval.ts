// Email-address approval, as cert-manager approves CertificateRequests: Approved/Denied
// conditions that only holders of the `approve` verb on mailboxes.mailsync.dev may set (enforced
// at admission by the ValidatingAdmissionPolicy in crds/). An approval binds to the exact
// address recorded in status.emailAddress; when spec.emailAddress changes, it is withdrawn.
// The declarative form for GitOps is the mailsync.dev/approved-address (or denied-address)
// annotation, guarded by the same policy.

import type { Deployment, Mailbox } from '../api/types.js';
import { APPROVED_ADDRESS, DENIED_ADDRESS, mailboxKind } from '../api/types.js';
import { getCondition } from '../kube/conditions.js';

export interface ApprovalState {
  state: 'Approved' | 'Denied' | 'Pending' | 'NotRequired';
  message: string;
  /** Set when an approval for another address was found and must be withdrawn. */
  withdrawn?: string;
}

export function approvalRequired(mbx: Mailbox, d: Deployment | undefined): boolean {
  if (!d) return true;
  // A forward mailbox is a shared service mailbox, approved as queues' are.
  return mailboxKind(mbx) === 'User' ? d.spec.requireApprovedUsers !== false : d.spec.requireApprovedQueues !== false;
}

export function approvalOf(mbx: Mailbox, d: Deployment | undefined): ApprovalState {
  const address = mbx.spec.emailAddress;
  const approved = getCondition(mbx.status?.conditions, 'Approved');
  const denied = getCondition(mbx.status?.conditions, 'Denied');
  const boundTo = mbx.status?.emailAddress;
  const ann = mbx.metadata.annotations ?? {};
  let withdrawn: string | undefined;
  if (approved?.status === 'True' && boundTo !== address) {
    withdrawn = `approval was for ${boundTo ?? 'another address'} and spec.emailAddress is now ${address}: processing stops until ${address} is approved`;
  }
  if ((denied?.status === 'True' && boundTo === address) || ann[DENIED_ADDRESS] === address) {
    return { state: 'Denied', message: `${address} was denied by an approver`, withdrawn };
  }
  if (!approvalRequired(mbx, d)) return { state: 'NotRequired', message: 'approval not required by the Deployment', withdrawn };
  if ((approved?.status === 'True' && boundTo === address) || ann[APPROVED_ADDRESS] === address) {
    return { state: 'Approved', message: `${address} is approved`, withdrawn };
  }
  const verb = `kubectl mailsync approve mailbox ${mbx.metadata.name} -n ${mbx.metadata.namespace}`;
  return {
    state: 'Pending',
    message: `${address} awaits approval by a principal holding the approve verb on mailboxes.mailsync.dev (${verb})`,
    withdrawn,
  };
}

export interface ApprovalGrant {
  type: 'Approved' | 'Denied';
  reason: string;
  message: string;
}

/**
 * An approval or denial the operator should record in status: from the declarative annotations
 * (set by an approver, checked at admission) or by auto-approval of the Deployment's domains
 * (needs the approve verb, which the operator holds only when auto-approval is switched on).
 */
export function grantToRecord(mbx: Mailbox, d: Deployment | undefined, cap?: string[]): ApprovalGrant | undefined {
  const address = mbx.spec.emailAddress;
  const ann = mbx.metadata.annotations ?? {};
  const bound = mbx.status?.emailAddress === address;
  const has = (t: string) => bound && getCondition(mbx.status?.conditions, t)?.status === 'True';
  if (ann[DENIED_ADDRESS] === address)
    return has('Denied')
      ? undefined
      : { type: 'Denied', reason: 'DeniedByAnnotation', message: `${address} denied through the ${DENIED_ADDRESS} annotation` };
  if (has('Approved') || has('Denied')) return undefined;
  if (ann[APPROVED_ADDRESS] === address)
    return { type: 'Approved', reason: 'ApprovedByAnnotation', message: `${address} approved through the ${APPROVED_ADDRESS} annotation` };
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  const capped = !cap || cap.some((x) => x.toLowerCase() === domain);
  if (approvalRequired(mbx, d) && capped && d?.spec.autoApproveDomains?.some((x) => x.toLowerCase() === domain)) {
    return {
      type: 'Approved',
      reason: 'AutoApproved',
      message: `${address} approved automatically: ${domain} is in spec.autoApproveDomains of deployment "${d.metadata.name}"`,
    };
  }
  return undefined;
}
