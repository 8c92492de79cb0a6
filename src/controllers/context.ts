// What every reconciler gets: read-only caches, API clients, an event recorder and a logger.

import type { Caches } from '../domain/caches.js';
import type { KubeClients } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';
import type { Logger } from '../log/logger.js';
import type { AddressClaims } from './address-claims.js';

export interface ControllerContext {
  clients: KubeClients;
  caches: Caches;
  events: EventRecorder;
  logger: Logger;
  /**
   * Cluster-wide cap on auto-approval (the chart's autoApproval.domains): when set, the operator
   * auto-approves only addresses whose domain is in both this list and the Deployment's
   * spec.autoApproveDomains, so a mailbox admin cannot widen auto-approval by editing a Deployment.
   */
  autoApproveCap?: string[];
  /** Mailboxes by address (one mailbox, one organization); the caches are scanned without it. */
  addressClaims?: AddressClaims;
}

export const splitKey = (key: string): [string, string] => {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
};
