// Rollout progress of any set of mailboxes, each against the current revision of the profile it
// resolves to: what a Deployment reports so that `kubectl wait --for=condition=Ready` on it waits
// for a change of its defaults to reach every mailbox that uses them. (A profile reports its own
// rollout through the RolloutController, with batches and pauses.)

import type { Mailbox } from '../api/types.js';
import type { Caches } from '../domain/caches.js';
import { directionsOf, resolveMailbox } from './resolve.js';
import { mailboxRolloutState } from './rollout-mailbox.js';
import { cacheVersions, profileRevision } from '../domain/revision.js';

export interface RolloutProgress {
  /** Mailboxes running what they should. */
  updated: number;
  /** Mailboxes still moving: waiting for a batch or a test. */
  pending: number;
  /** Mailboxes whose test of their new configuration failed; they run their last-known-good one. */
  failed: number;
  /** Names of up to five failed mailboxes, for a condition message. */
  failedNames: string[];
}

/**
 * Mailboxes whose configuration does not resolve (no profile, missing credentials) are left out:
 * their own Ready condition says why, and no rollout can finish them.
 */
export function rolloutProgress(caches: Caches, mailboxes: Mailbox[]): RolloutProgress {
  const out: RolloutProgress = { updated: 0, pending: 0, failed: 0, failedNames: [] };
  const revisions = new Map<string, string>();
  for (const m of mailboxes) {
    const res = resolveMailbox(m, caches);
    if (!res.ok) continue;
    const p = res.value.profile;
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    let revision = revisions.get(key);
    if (!revision) revisions.set(key, (revision = profileRevision(p, cacheVersions(caches, p.metadata.namespace))));
    const state = mailboxRolloutState(m, { profile: p.metadata.name, revision, directions: directionsOf(res.value) });
    if (state.upToDate) out.updated++;
    else if (state.failed) {
      out.failed++;
      if (out.failedNames.length < 5) out.failedNames.push(m.metadata.name);
    } else out.pending++;
  }
  return out;
}
