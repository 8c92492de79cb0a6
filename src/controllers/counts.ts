// Mailbox counts shown on profiles and Deployments.

import { isFailureReason } from '../api/reasons.js';
import type { Mailbox } from '../api/types.js';
import { getCondition } from '../kube/conditions.js';

export function mailboxCounts(mailboxes: Mailbox[]): { total: number; enabled: number; failing: number } {
  let enabled = 0;
  let failing = 0;
  for (const m of mailboxes) {
    if (getCondition(m.status?.conditions, 'Enabled')?.status === 'True') enabled++;
    const c = m.status?.conditions ?? [];
    // A condition that is False for a failure of the registry (permanent or transient).
    if (c.some((x) => x.status === 'False' && isFailureReason(x.reason))) failing++;
  }
  return { total: mailboxes.length, enabled, failing };
}
