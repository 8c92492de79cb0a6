// One Dataverse mailbox row -> one Mailbox spec with its annotations, the Secret stub it needs,
// and findings. Pure.

import { APPROVED_ADDRESS, DENIED_ADDRESS, type MailboxSpec } from '../api/types.js';
import { ACT_DELIVERY, ADDRESS_STATUS, INCOMING_DELIVERY, optionName, OUTGOING_DELIVERY, type MailboxRow } from './dataverse.js';
import { rfc3339, type Note, type SecretStub } from './map-profile.js';

/** The Dataverse row a Mailbox was imported from: the cut-over finds the row by it. */
export const DYNAMICS_MAILBOX_ID = 'mailsync.dev/dynamics-mailbox-id';

const COL = 'mailbox';

export interface MailboxProfileInfo {
  name: string;
  exchange: boolean;
  inactive: boolean;
  mailboxSecretKeys: string[];
}

export interface MappedMailbox {
  spec: MailboxSpec;
  annotations: Record<string, string>;
  secret?: SecretStub;
  /** Queues and forward mailboxes: shared mailboxes, tested and enabled first. */
  shared: boolean;
  approval: 'Approved' | 'Pending' | 'Rejected';
}

export interface MailboxContext {
  deployment: string;
  /** Undefined when the row names no profile (the Deployment's default applies). */
  profile?: MailboxProfileInfo;
}

/** The mailbox, or a reason it cannot be imported (reported as NotMigrated by the caller). */
export function mapMailbox(
  row: MailboxRow,
  name: string,
  ctx: MailboxContext,
  note: Note,
): MappedMailbox | { skip: string; setting: string; value: string } {
  const address = (row.emailaddress ?? '').trim();
  if (!address) return { skip: 'no email address: there is nothing to connect', setting: `${COL}.emailaddress`, value: '(empty)' };
  const forward = row.isforwardmailbox === true;
  const target = row['_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname'];
  let owner: MailboxSpec['owner'];
  if (forward) {
    // As in Dynamics, a forward mailbox belongs to no user or queue: each forwarded message is the
    // activity of the mailbox that forwarded it (the schema refuses spec.owner on one).
    const who = row['_ownerid_value@OData.Community.Display.V1.FormattedValue'] ?? row._ownerid_value;
    if (who)
      note(
        'Changed',
        `${COL}.ownerid`,
        who,
        'a forward mailbox has no spec.owner: each forwarded message belongs to the user or queue whose mailbox forwarded it',
      );
  } else if (row._regardingobjectid_value && (target === 'systemuser' || target === 'queue')) {
    owner = {
      kind: target === 'queue' ? 'Queue' : 'User',
      name: row['_regardingobjectid_value@OData.Community.Display.V1.FormattedValue'] ?? row._regardingobjectid_value,
    };
  } else {
    return {
      skip: 'it belongs to no user or queue (Regarding is empty or another table)',
      setting: `${COL}.regardingobjectid`,
      value: target ?? '(empty)',
    };
  }
  const profile = ctx.profile;
  const spec: MailboxSpec = {
    emailAddress: address,
    ...(owner ? { owner } : {}),
    deploymentRef: { name: ctx.deployment },
    ...(profile ? { serverProfileRef: { name: profile.name } } : {}),
  };

  const outlook =
    'Dynamics 365 for Outlook (the client app) does this, not server-side synchronization: set to None, and the Outlook client keeps doing it';
  const incoming = row.incomingemaildeliverymethod;
  if (forward) spec.incoming = 'ServerSideSync';
  else if (incoming === INCOMING_DELIVERY.ServerSideSync) spec.incoming = 'ServerSideSync';
  else if (incoming === INCOMING_DELIVERY.ForwardMailbox) spec.incoming = 'ForwardMailbox';
  else {
    spec.incoming = 'None';
    if (incoming === INCOMING_DELIVERY.Outlook)
      note('Changed', `${COL}.incomingemaildeliverymethod`, optionName(INCOMING_DELIVERY, incoming), outlook);
  }
  const outgoing = row.outgoingemaildeliverymethod;
  spec.outgoing = !forward && outgoing === OUTGOING_DELIVERY.ServerSideSync ? 'ServerSideSync' : 'None';
  if (!forward && outgoing === OUTGOING_DELIVERY.Outlook)
    note('Changed', `${COL}.outgoingemaildeliverymethod`, optionName(OUTGOING_DELIVERY, outgoing), outlook);
  const act = row.actdeliverymethod;
  spec.appointmentsContactsTasks = 'None';
  if (act === ACT_DELIVERY.ServerSideSync) {
    if (owner?.kind === 'Queue' || forward)
      note(
        'NotMigrated',
        `${COL}.actdeliverymethod`,
        optionName(ACT_DELIVERY, act),
        'queues and forward mailboxes do not synchronize appointments, contacts and tasks: set to None',
      );
    else if (profile && !profile.exchange)
      note(
        'NotMigrated',
        `${COL}.actdeliverymethod`,
        optionName(ACT_DELIVERY, act),
        'appointments, contacts and tasks need an Exchange profile: set to None',
      );
    else spec.appointmentsContactsTasks = 'ServerSideSync';
  } else if (act === ACT_DELIVERY.Outlook) {
    note('Changed', `${COL}.actdeliverymethod`, optionName(ACT_DELIVERY, act), outlook);
  }

  let secret: SecretStub | undefined;
  const keys = profile?.mailboxSecretKeys ?? [];
  const syncs = spec.incoming === 'ServerSideSync' || spec.outgoing === 'ServerSideSync';
  if (keys.length && syncs) {
    secret = {
      name: `${name}-mail`,
      keys,
      usedBy: `Mailbox ${name} (spec.credentialsSecretRef)`,
      ...(row.username ? { hint: `user name in Dynamics: ${row.username}` } : {}),
    };
    spec.credentialsSecretRef = { name: secret.name };
    if (!row.allowemailconnectortousecredentials) {
      note(
        'Action',
        `${COL}.allowemailconnectortousecredentials`,
        false,
        `"Allow to Use Credentials" is No in Dynamics, so it could not sign in there either: fill Secret ${secret.name}`,
      );
    }
  }
  if (forward) spec.forwardMailbox = true;
  if (row.processanddeleteemails) {
    // Forward and queue mailboxes may delete what they processed, as Dynamics allows.
    if (forward || owner?.kind === 'Queue') spec.deleteAfterProcessing = true;
    else
      note(
        'NotMigrated',
        `${COL}.processanddeleteemails`,
        true,
        "only forward and queue mailboxes delete messages after processing: left in the user's mailbox",
      );
  }
  if (row.statecode === 1 || profile?.inactive) {
    spec.suspended = true;
    if (row.statecode === 1)
      note(
        'Changed',
        `${COL}.statecode`,
        'Inactive (1)',
        'an inactive mailbox processes no mail in Dynamics: imported with spec.suspended: true',
      );
  }
  const after = rfc3339(row.processemailreceivedafter);
  if (after) spec.processEmailReceivedAfter = after;

  const annotations: Record<string, string> = { [DYNAMICS_MAILBOX_ID]: row.mailboxid.toLowerCase() };
  const status = row.emailrouteraccessapproval;
  let approval: MappedMailbox['approval'] = 'Pending';
  if (status === ADDRESS_STATUS.Approved) {
    annotations[APPROVED_ADDRESS] = address;
    approval = 'Approved';
  } else if (status === ADDRESS_STATUS.Rejected) {
    annotations[DENIED_ADDRESS] = address;
    approval = 'Rejected';
  }
  return { spec, annotations, shared: owner?.kind === 'Queue' || forward, approval, ...(secret ? { secret } : {}) };
}
