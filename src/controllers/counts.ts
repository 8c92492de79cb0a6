// Mailbox counts shown on profiles and Deployments.

import type { Mailbox } from '../api/types.js';
import { getCondition } from '../kube/conditions.js';

const FAILING = new Set(['AuthenticationFailed', 'ServerUnreachable', 'TLSError', 'MailboxNotFound', 'TooManyTransientFailures', 'Throttled', 'Timeout', 'ServerError', 'ProtocolError', 'UnsupportedConfiguration']);

export function mailboxCounts(mailboxes: Mailbox[]): { total: number; enabled: number; failing: number } {
  let enabled = 0;
  let failing = 0;
  for (const m of mailboxes) {
    if (getCondition(m.status?.conditions, 'Enabled')?.status === 'True') enabled++;
    const c = m.status?.conditions ?? [];
    if (c.some((x) => x.status === 'False' && FAILING.has(x.reason))) failing++;
  }
  return { total: mailboxes.length, enabled, failing };
}
