// When a change may send mail to other people, and what a delete on one side does to the other:
// Dynamics' rules (reference act-sync.md §3), and the fixes for its top complaints (§7): a record
// leaving the filter unlinks instead of cancelling the meeting, and nothing is ever sent for past
// meetings, no-op updates, the first sync or a dry run. Pure functions.

import { hasAttendees, KEY_FIELDS, type ActKind, type AppointmentState, type Fields } from './model.js';

export interface RuleContext {
  /** The mailbox's own address (lower case). */
  mailbox: string;
  now: Date;
  /** The first sync of this kind for this mailbox: a backfill, which never invites. */
  initial: boolean;
}

const isOrganizer = (fields: Fields, ctx: RuleContext): boolean => (fields.organizer ?? ctx.mailbox) === ctx.mailbox;
const inFuture = (fields: Fields, ctx: RuleContext): boolean => {
  const end = Date.parse(String(fields.end ?? fields.start ?? ''));
  return Number.isFinite(end) && end > ctx.now.getTime();
};

/**
 * Whether writing this appointment to Exchange may send invitations or updates: only for the
 * organizer's future meetings with attendees, outside the first sync, and for an update only when a
 * key field changed (Dynamics: subject, body, location, times, attendees, organizer, status, priority).
 */
export function mayInvite(fields: Fields, changed: string[] | 'create', ctx: RuleContext): boolean {
  if (ctx.initial || !isOrganizer(fields, ctx) || !inFuture(fields, ctx) || !hasAttendees(fields)) return false;
  return changed === 'create' || changed.some((f) => KEY_FIELDS.has(f));
}

export type RemovalReason = 'deleted' | 'leftFilter' | 'accessLost';

/** What a CRM record's removal does to its linked Exchange item. */
export function onCrmRemoval(
  kind: ActKind,
  reason: RemovalReason,
  last: Fields | undefined,
  ctx: RuleContext,
): { action: 'delete' | 'unlink'; sendCancellations: boolean } {
  // A logical delete (left the filter, lost access) unlinks: the meeting is not cancelled (§7.1).
  if (reason !== 'deleted') return { action: 'unlink', sendCancellations: false };
  if (kind === 'appointment') {
    // Deleted in Exchange only when linked, organized by this mailbox and in the future.
    if (!last || !isOrganizer(last, ctx) || !inFuture(last, ctx)) return { action: 'unlink', sendCancellations: false };
    return { action: 'delete', sendCancellations: hasAttendees(last) };
  }
  // A task completed in Exchange stays there.
  if (kind === 'task' && last?.status === 'completed') return { action: 'unlink', sendCancellations: false };
  return { action: 'delete', sendCancellations: false };
}

/** What an Exchange item's deletion does to its linked CRM record. */
export function onExchangeRemoval(
  kind: ActKind,
  crm: Fields | undefined,
  state: AppointmentState | undefined,
  ctx: RuleContext,
): 'delete' | 'unlink' {
  if (kind === 'task') return 'delete';
  // Contacts deleted in Outlook are untracked; the CRM keeps its contact.
  if (kind === 'contact') return 'unlink';
  // Kept in the CRM when completed or cancelled, in the past, or organized by someone else.
  if (!crm || state === 'completed' || state === 'canceled' || !isOrganizer(crm, ctx) || !inFuture(crm, ctx)) return 'unlink';
  return 'delete';
}

/**
 * A CRM cancellation reaches Exchange as a cancellation only when the Deployment allows it
 * (propagateCancellations), this mailbox organizes the meeting, it is in the future and has
 * attendees; otherwise the meeting only shows as free (Dynamics: Completed and Canceled map to Free).
 */
export function cancellationReachesExchange(fields: Fields, allowed: boolean, ctx: RuleContext): boolean {
  return allowed && !ctx.initial && isOrganizer(fields, ctx) && inFuture(fields, ctx) && hasAttendees(fields);
}

/** The CRM's fields as Exchange should show them: a completed or cancelled appointment is free time. */
export function exchangeView(kind: ActKind, fields: Fields, state: AppointmentState | undefined): Fields {
  if (kind === 'appointment' && (state === 'completed' || state === 'canceled')) return { ...fields, showAs: 'free' };
  return fields;
}
