// Which mailboxes forward to a forward mailbox: those of its Deployment, in its namespace, whose
// incoming delivery method is ForwardMailbox (Dynamics: incoming email "Forward Mailbox"). A
// message in the forward mailbox belongs to the one whose address forwarded it. A suspended,
// denied or unapproved forwarder counts as none, as its own mailbox would process nothing.

import type { Mailbox } from '../api/types.js';
import { approvalOf } from './approval.js';
import type { Caches } from './context.js';
import { effectiveDeliveryMethods } from './resolve.js';

/** Looks up, from the caches at each call, the forwarding mailbox of `forward` with an address. */
export function forwardingMailboxes(caches: Caches, forward: Mailbox): (address: string) => Mailbox | undefined {
  const ns = forward.metadata.namespace;
  const deploymentName = forward.spec.deploymentRef.name;
  return (address) => {
    const wanted = address.toLowerCase();
    const deployment = caches.deployments.get(ns, deploymentName);
    return caches.mailboxes.list(ns).find(
      (m) =>
        m.spec.emailAddress.toLowerCase() === wanted &&
        !m.spec.forwardMailbox &&
        !m.spec.suspended &&
        !m.metadata.deletionTimestamp &&
        m.spec.deploymentRef.name === deploymentName &&
        effectiveDeliveryMethods(m, deployment).incoming === 'ForwardMailbox' &&
        ['Approved', 'NotRequired'].includes(approvalOf(m, deployment).state),
    );
  };
}
