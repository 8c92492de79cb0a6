// What every reconciler gets: read-only caches, API clients, an event recorder and a logger.

import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { Deployment, EmailServerProfile, Mailbox } from '../api/types.js';
import type { KubeClients } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';
import type { ObjectCache } from '../kube/object-cache.js';
import type { Logger } from '../log/logger.js';
import type { AddressClaims } from './address-claims.js';

export interface Caches {
  profiles: ObjectCache<EmailServerProfile>;
  mailboxes: ObjectCache<Mailbox>;
  deployments: ObjectCache<Deployment>;
  secrets: ObjectCache<V1Secret & { metadata: { name: string; namespace: string } }>;
  configMaps: ObjectCache<V1ConfigMap>;
}

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
