// Mailbox counts shown on profiles and Deployments: what one mailbox contributes (countsOf), summed
// incrementally by the MailboxIndex (mailbox-index.ts) rather than by scanning every mailbox.

import { isFailureReason } from '../api/reasons.js';
import type { Mailbox } from '../api/types.js';
import { getCondition } from '../kube/conditions.js';
import { DIRECTION_CONDITIONS, DIRECTIONS } from './testing-ports.js';

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

export interface MailboxCounts {
  total: number;
  enabled: number;
  failing: number;
}

export const emptyCounts = (): MailboxCounts => ({ total: 0, enabled: 0, failing: 0 });

/** One mailbox's share of the counts (the index sums them per profile and Deployment, incrementally). */
export function countsOf(m: Mailbox): MailboxCounts {
  return {
    total: 1,
    enabled: getCondition(m.status?.conditions, 'Enabled')?.status === 'True' ? 1 : 0,
    failing: failingDirection(m) ? 1 : 0,
  };
}
