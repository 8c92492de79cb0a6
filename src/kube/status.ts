// Writes the status subresource once per reconcile, and only when it changed, with a JSON merge
// patch (Flux's source-controller pattern: compute everything, then patch at the end).

import { isDeepStrictEqual } from 'node:util';
import { redact } from '../util/redact.js';
import { mergePatch, type KubeClients } from './client.js';
import type { Condition } from './conditions.js';

export interface ObjectRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

/** Scrubs secrets from every condition message before it leaves the process. */
function scrub<S extends { conditions?: Condition[] }>(status: S): S {
  if (!status.conditions) return status;
  return { ...status, conditions: status.conditions.map((c) => ({ ...c, message: redact(c.message) })) };
}

/**
 * Patches `.status` to `next` when it differs from `current`. Fields present in `current` but
 * absent from `next` are removed (merge patch null). Returns the object the server returned, or
 * undefined when nothing had to be written. Pass the resourceVersion the status was computed from
 * when other writers (approvers) share the status.
 */
export async function patchStatus<S extends object>(
  clients: KubeClients,
  ref: ObjectRef & { resourceVersion?: string },
  current: S | undefined,
  next: S,
): Promise<unknown> {
  const clean = scrub(next as S & { conditions?: Condition[] });
  if (current && isDeepStrictEqual(current, clean)) return undefined;
  // Only changed fields are sent, so fields another writer owns (a sync worker's checkpoint) are
  // never rewritten from a stale copy; removed fields become null.
  const body = mergePatchOf((current ?? {}) as Record<string, unknown>, clean as Record<string, unknown>);
  return clients.custom.patchNamespacedCustomObjectStatus(
    {
      group: ref.group,
      version: ref.version,
      namespace: ref.namespace,
      plural: ref.plural,
      name: ref.name,
      // With a resourceVersion the write fails (409) instead of overwriting a concurrent change,
      // such as an approver's condition, that this reconcile did not see.
      body: { ...(ref.resourceVersion ? { metadata: { resourceVersion: ref.resourceVersion } } : {}), status: body },
    },
    mergePatch(),
  );
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The JSON merge patch (RFC 7386) that turns `cur` into `next`: changed fields, with nested
 * objects diffed the same way (a merge patch merges objects, so a key removed inside one must be
 * sent as null or the server keeps it); arrays are replaced whole.
 */
function mergePatchOf(cur: Record<string, unknown>, next: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(next)) {
    if (isDeepStrictEqual(cur[k], v)) continue;
    body[k] = isPlainObject(cur[k]) && isPlainObject(v) ? mergePatchOf(cur[k] as Record<string, unknown>, v) : v;
  }
  for (const k of Object.keys(cur)) if (!(k in next)) body[k] = null;
  return body;
}
