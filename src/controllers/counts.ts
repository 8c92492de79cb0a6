// Mailbox counts shown on profiles and Deployments: what one mailbox contributes (countsOf), summed
// incrementally by the MailboxIndex (mailbox-index.ts) rather than by scanning every mailbox.

import { isFailureReason } from '../api/reasons.js';
import type { Mailbox } from '../api/types.js';
import { getCondition } from '../kube/conditions.js';

export interface MailboxCounts {
  total: number;
  enabled: number;
  failing: number;
}

export const emptyCounts = (): MailboxCounts => ({ total: 0, enabled: 0, failing: 0 });

/** One mailbox's share of the counts. */
export function countsOf(m: Mailbox): MailboxCounts {
  const c = m.status?.conditions ?? [];
  return {
    total: 1,
    enabled: getCondition(c, 'Enabled')?.status === 'True' ? 1 : 0,
    // A condition that is False for a failure of the registry (permanent or transient).
    failing: c.some((x) => x.status === 'False' && isFailureReason(x.reason)) ? 1 : 0,
  };
}
