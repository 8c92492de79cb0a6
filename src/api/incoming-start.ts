// Where a mailbox's incoming sync starts: mail received before it never reaches the CRM. As in
// Dynamics, a profile's "Process Email From" and a mailbox's "Process Email Received After" both
// apply and the later one wins. A mailbox that sets none of its own takes the Deployment's
// spec.firstSync.since, counted back from its first successful test (Microsoft's migration wizard
// sets 24 hours). Shared by the controller (status.incomingStart) and the sync workers (the
// filter), so what the status shows is what the sources apply.

import { durationMs } from './quantities.js';
import type { DeploymentSpec, EmailServerProfileSpec, MailboxSpec } from './types.js';

export type IncomingStartSource = 'EmailServerProfile' | 'Mailbox' | 'Deployment';

export interface IncomingStart {
  after: Date;
  from: IncomingStartSource;
}

export interface IncomingStartInput {
  profile: Pick<EmailServerProfileSpec, 'processEmailReceivedAfter'>;
  mailbox: Pick<MailboxSpec, 'processEmailReceivedAfter'>;
  deployment?: Pick<DeploymentSpec, 'firstSync'>;
  /** status.firstSuccessfulTestTime of the mailbox. */
  firstSuccessfulTestTime?: string;
}

/** The effective start, or undefined when nothing limits the first sync (the whole Inbox is read). */
export function incomingStart(input: IncomingStartInput): IncomingStart | undefined {
  const candidates: IncomingStart[] = [];
  const at = (iso: string | undefined): Date | undefined => {
    const t = iso ? Date.parse(iso) : NaN;
    return Number.isNaN(t) ? undefined : new Date(t);
  };
  const profile = at(input.profile.processEmailReceivedAfter);
  if (profile) candidates.push({ after: profile, from: 'EmailServerProfile' });
  const own = at(input.mailbox.processEmailReceivedAfter);
  const since = input.deployment?.firstSync?.since;
  const tested = at(input.firstSuccessfulTestTime);
  if (own) candidates.push({ after: own, from: 'Mailbox' });
  else if (since && tested) candidates.push({ after: new Date(tested.getTime() - durationMs(since, 0)), from: 'Deployment' });
  // The later wins; on a tie the mailbox's own setting is named, as the more specific one.
  return candidates.reduce<IncomingStart | undefined>(
    (best, c) => (!best || c.after.getTime() >= best.after.getTime() ? c : best),
    undefined,
  );
}
