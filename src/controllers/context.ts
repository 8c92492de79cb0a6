// What every reconciler gets: read-only caches, API clients, an event recorder and a logger.

import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { Deployment, EmailServerProfile, Mailbox } from '../api/types.js';
import type { KubeClients } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';
import type { WatchCache } from '../kube/watch-cache.js';
import type { Logger } from '../log/logger.js';

export interface Caches {
  profiles: WatchCache<EmailServerProfile>;
  mailboxes: WatchCache<Mailbox>;
  deployments: WatchCache<Deployment>;
  secrets: WatchCache<V1Secret & { metadata: { name: string; namespace: string } }>;
  configMaps: WatchCache<V1ConfigMap>;
}

export interface ControllerContext {
  clients: KubeClients;
  caches: Caches;
  events: EventRecorder;
  logger: Logger;
}

export const splitKey = (key: string): [string, string] => {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
};
