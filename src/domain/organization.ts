// The organization a mailbox belongs to, as the sync pipeline asks about it: the other Mailboxes
// of its Deployment in its namespace (read from the caches at each call, so changes count at once).
//
// Forwarders: a forward mailbox's messages belong to the mailbox whose address forwarded them,
// among those whose incoming delivery method is ForwardMailbox (Dynamics: incoming email "Forward
// Mailbox"). A suspended, denied or unapproved forwarder counts as none, as its own mailbox would
// process nothing.
//
// Internal addresses: the organization's own users and queues are its mailboxes' addresses (for
// ignoring internal email, Dynamics' ignoreinternalemail).

import type { Mailbox } from '../api/types.js';
import { approvalOf } from './approval.js';
import type { Caches } from './caches.js';
import { effectiveDeliveryMethods } from './delivery-methods.js';

const sameDeployment = (caches: Caches, m: Mailbox): Mailbox[] =>
  caches.mailboxes
    .list(m.metadata.namespace)
    .filter((o) => o.spec.deploymentRef.name === m.spec.deploymentRef.name && !o.metadata.deletionTimestamp);

/** Whether an address is one of the organization's own mailboxes (a user's, a queue's or a forward mailbox). */
export function internalAddresses(caches: Caches, mailbox: Mailbox): (address: string) => boolean {
  return (address) => {
    const wanted = address.toLowerCase();
    return sameDeployment(caches, mailbox).some((m) => m.spec.emailAddress.toLowerCase() === wanted);
  };
}

/** Looks up, from the caches at each call, the forwarding mailbox of `forward` with an address. */
export function forwardingMailboxes(caches: Caches, forward: Mailbox): (address: string) => Mailbox | undefined {
  const ns = forward.metadata.namespace;
  const deploymentName = forward.spec.deploymentRef.name;
  return (address) => {
    const wanted = address.toLowerCase();
    const deployment = caches.deployments.get(ns, deploymentName);
    return sameDeployment(caches, forward).find(
      (m) =>
        m.spec.emailAddress.toLowerCase() === wanted &&
        !m.spec.forwardMailbox &&
        !m.spec.suspended &&
        effectiveDeliveryMethods(m, deployment).incoming === 'ForwardMailbox' &&
        ['Approved', 'NotRequired'].includes(approvalOf(m, deployment).state),
    );
  };
}
