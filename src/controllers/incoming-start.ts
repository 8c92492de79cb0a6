// Records when a mailbox's incoming test first passed and the start of its incoming sync that
// follows from it (src/api/incoming-start.ts), so that `kubectl get mailbox -o yaml` shows what
// the sync workers apply.

import { incomingStart } from '../api/incoming-start.js';
import type { Deployment, EmailServerProfile, Mailbox, MailboxStatusT } from '../api/types.js';
import { getCondition, type Condition } from '../kube/conditions.js';

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Sets status.firstSuccessfulTestTime (once, when incoming works) and status.incomingStart in `next`. */
export function recordIncomingStart(
  mbx: Mailbox,
  profile: EmailServerProfile,
  deployment: Deployment,
  next: MailboxStatusT,
  conds: Condition[],
  now = new Date(),
): void {
  if (!next.firstSuccessfulTestTime && getCondition(conds, 'IncomingEmailReady')?.status === 'True')
    next.firstSuccessfulTestTime = iso(now);
  const start = incomingStart({
    profile: profile.spec,
    mailbox: mbx.spec,
    deployment: deployment.spec,
    firstSuccessfulTestTime: next.firstSuccessfulTestTime,
  });
  if (start) next.incomingStart = { after: iso(start.after), from: start.from };
  else delete next.incomingStart;
}
