// The watch caches the controller and the sync workers read API objects from (read-only).

import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { Deployment, EmailServerProfile, Mailbox } from '../api/types.js';
import type { ObjectCache } from '../kube/object-cache.js';

export interface Caches {
  profiles: ObjectCache<EmailServerProfile>;
  mailboxes: ObjectCache<Mailbox>;
  deployments: ObjectCache<Deployment>;
  secrets: ObjectCache<V1Secret & { metadata: { name: string; namespace: string } }>;
  configMaps: ObjectCache<V1ConfigMap>;
}
