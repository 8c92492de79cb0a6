// Profile revisions. A revision identifies everything a profile hands to its mailboxes: the whole
// spec except spec.rollout (which only says how a change travels), the versions of the Secrets and
// ConfigMaps it references, and the profile's name (so two identical profiles still have distinct
// revisions and a mailbox's revision says which profile it belongs to). Changing any of these is a
// new revision, which the profile's rollout takes to its mailboxes.
//
// Every field counts, including the ones that do not change how we connect (minPollingInterval,
// maxAttachmentSize, ...): the sync workers run a mailbox on the spec of the revision it runs on,
// so a field left out of the hash would silently never reach mailboxes until the next revision.

import { createHash } from 'node:crypto';
import type { EmailServerProfile, EmailServerProfileSpec } from '../api/types.js';
import type { Caches } from './caches.js';

/** The resourceVersion of a Secret or ConfigMap in the profile's namespace, or undefined if missing. */
export type VersionLookup = (kind: 'Secret' | 'ConfigMap', name: string) => string | undefined;

export function cacheVersions(caches: Caches, namespace: string): VersionLookup {
  return (kind, name) =>
    kind === 'Secret'
      ? caches.secrets.get(namespace, name)?.metadata.resourceVersion
      : caches.configMaps.get(namespace, name)?.metadata?.resourceVersion;
}

/** The part of a spec that a revision captures: all of it but spec.rollout. */
export function revisionSpec(spec: EmailServerProfileSpec): EmailServerProfileSpec {
  const { rollout: _rollout, ...rest } = spec;
  return rest;
}

/** "Kind/name" of every Secret and ConfigMap the spec references. */
export function referencedObjects(spec: EmailServerProfileSpec): { kind: 'Secret' | 'ConfigMap'; name: string }[] {
  const out = new Map<string, { kind: 'Secret' | 'ConfigMap'; name: string }>();
  const add = (kind: 'Secret' | 'ConfigMap', name: string | undefined) => name && out.set(`${kind}/${name}`, { kind, name });
  for (const c of [spec.incoming, spec.outgoing]) {
    add('Secret', c?.credentials?.secretRef?.name);
    add('Secret', c?.caBundle?.secretRef?.name);
    add('ConfigMap', c?.caBundle?.configMapRef?.name);
  }
  return [...out.values()];
}

export function profileRevision(profile: EmailServerProfile, versions: VersionLookup): string {
  const refs = referencedObjects(profile.spec)
    .map((r) => `${r.kind}/${r.name}@${versions(r.kind, r.name) ?? 'missing'}`)
    .sort();
  return hashOf({ profile: profile.metadata.name, spec: revisionSpec(profile.spec), refs });
}

/**
 * The spec of a revision the profile still records (status.revisions), or the current spec when
 * the revision is the current one; undefined when neither (the record was lost).
 */
export function specOfRevision(
  profile: EmailServerProfile,
  revision: string | undefined,
  versions: VersionLookup,
): EmailServerProfileSpec | undefined {
  if (!revision) return undefined;
  const recorded = profile.status?.revisions?.find((r) => r.revision === revision);
  if (recorded) return { ...(recorded.spec as EmailServerProfileSpec), rollout: profile.spec.rollout };
  return profileRevision(profile, versions) === revision ? profile.spec : undefined;
}

/** A short hash of a JSON value whose object keys are sorted, so key order never matters. */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex').slice(0, 16);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
