// The Kubernetes API clients the operator uses, built from one KubeConfig.

import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';

export interface KubeClients {
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
  objects: KubernetesObjectApi;
  watch: Watch;
}

export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  reuseConnections(kc);
  return kc;
}

type DispatcherFactory = (cluster: unknown, agentOptions: Record<string, unknown>) => Dispatcher | undefined;

/**
 * client-node 2.0 builds a new undici Agent for every request (KubeConfig.createDispatcher), so
 * each status write, Lease renewal and Event opened a TLS connection of its own: a handshake per
 * request (a few ms of CPU each, thousands during a bulk enable) and sockets left to time out.
 * The agents are kept per cluster and TLS options instead (tokens travel in headers, not in them),
 * so requests share keep-alive connections as client-go's do.
 */
function reuseConnections(kc: KubeConfig): void {
  const target = kc as unknown as { createDispatcher: DispatcherFactory };
  const create = target.createDispatcher.bind(kc);
  const agents = new Map<string, Dispatcher | undefined>();
  target.createDispatcher = (cluster, agentOptions) => {
    const key = createHash('sha256')
      .update(JSON.stringify([cluster, agentOptions]))
      .digest('hex');
    if (!agents.has(key)) agents.set(key, create(cluster, agentOptions));
    return agents.get(key);
  };
}

export function createClients(kc: KubeConfig): KubeClients {
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    coordination: kc.makeApiClient(CoordinationV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
    watch: new Watch(kc),
  };
}

/** Request options that send a JSON merge patch (client-node defaults to JSON patch). */
export const mergePatch = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
