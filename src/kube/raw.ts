// Plain JSON requests to the API server. client-node's generated models rename fields such as
// `x-kubernetes-validations` and drop what they do not know, so objects whose exact shape matters
// (CRDs, admission policies, apply from manifests) are sent as they are.

import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { fetch } from 'undici';

export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export async function rawRequest<T = unknown>(
  kc: KubeConfig,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const ctx = new RequestContext(cluster.server + path, HttpMethod[method]);
  await kc.applySecurityAuthentication(ctx);
  const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = contentType;
  const res = await fetch(cluster.server + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: ctx.getDispatcher(),
  });
  const text = await res.text();
  const parsed = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const msg = (parsed as { message?: string })?.message ?? `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, msg, parsed);
  }
  return parsed as T;
}

/** The REST path of an object (or its collection when name is empty). */
export function objectPath(apiVersion: string, plural: string, namespace?: string, name?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}${namespace ? `/namespaces/${namespace}` : ''}/${plural}${name ? `/${name}` : ''}`;
}
