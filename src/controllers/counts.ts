// Mailbox counts shown on profiles and Deployments.

import { isFailureReason } from '../api/reasons.js';
import type { Mailbox } from '../api/types.js';
import { getCondition } from '../kube/conditions.js';
import { DIRECTION_CONDITIONS, DIRECTIONS } from './rollout-mailbox.js';

/**
 * The first direction condition that reports a failure (permanent or transient, in its test or
 * during sync), or undefined. Only direction conditions count: a mailbox held on its
 * last-known-good revision after a failed test of a new one processes mail, and the rollout
 * counts it as `failed`, not here.
 */
export function failingDirection(m: Mailbox): { type: string; reason: string } | undefined {
  for (const d of DIRECTIONS) {
    const c = getCondition(m.status?.conditions, DIRECTION_CONDITIONS[d]);
    if (c?.status === 'False' && isFailureReason(c.reason)) return { type: c.type, reason: c.reason };
  }
  return undefined;
}

export function mailboxCounts(mailboxes: Mailbox[]): { total: number; enabled: number; failing: number } {
  let enabled = 0;
  let failing = 0;
  for (const m of mailboxes) {
    if (getCondition(m.status?.conditions, 'Enabled')?.status === 'True') enabled++;
    if (failingDirection(m)) failing++;
  }
  return { total: mailboxes.length, enabled, failing };
}
