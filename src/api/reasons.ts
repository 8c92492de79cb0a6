// The registry of condition types and reasons: the one place that says what a reason means. The
// reasons are part of the API (they are what `kubectl get`, GitOps health checks, Events, metrics
// and alerts show), so they live here, in the innermost layer:
//
//   - classifyError (src/mail/errors.ts) and the CRM connectors produce them; whether a mail
//     failure is permanent comes from here (MailError.permanent);
//   - the Ready/Reconciling/Stalled summary of all three kinds (src/controllers/summary.ts) asks
//     `kind` whether a failure is retried (Reconciling) or waits for a person (Stalled);
//   - the mailbox counts and the mailsync_mailboxes states are derived from it;
//   - the table in docs/observability.md is rendered from it (`make generate`; a test fails when it
//     drifts), and a unit test fails when code can produce a reason that is missing here.
//
// kind:
//   permanent  retrying cannot fix it: the direction (or object) stops until something changes
//              (its Secret, its profile, its Deployment, a test request)
//   transient  retried with back-off, counted against the transient-failure budget
//   progress   work under way (kstatus Reconciling), not a failure
//   item       one message or email failed; it is reported and skipped, the direction goes on
//   state      a condition reason that describes a state, not a failure
//   event      used only as an Event reason
// directions: which mail directions can report it: in (mail server to CRM), out (CRM to mail
// server), act (appointments, contacts, tasks); [] for reasons about whole objects.

export const CONDITION_TYPES = {
  Ready: 'Every kind: the summary (kstatus). True when the object does what its spec asks.',
  Reconciling: 'Every kind: work is under way or a transient failure is being retried (kstatus; absent otherwise).',
  Stalled: 'Every kind: a failure that waits for a person: a permanent failure, or the retry budget ran out (kstatus; absent otherwise).',
  IncomingEmailReady: 'Mailbox: incoming mail works. The Test and Enable result, then any sync failure of the incoming direction.',
  OutgoingEmailReady: 'Mailbox: outgoing mail works. The Test and Enable result, then any sync failure of the outgoing direction.',
  AppointmentsContactsTasksReady: 'Mailbox: appointment, contact and task synchronization works (Exchange).',
  Approved: 'Mailbox: an approver approved the address in status.emailAddress.',
  Denied: 'Mailbox: an approver denied the address in status.emailAddress.',
  Enabled: 'Mailbox: processing is on for at least one direction.',
  UpToDate: 'Mailbox: it runs the current revision of its profile (False while a rollout holds it on its last-known-good revision).',
  Synced: 'Mailbox: the last sync cycle of every running direction succeeded (written by the sync worker).',
  RolloutPaused: 'EmailServerProfile: the rollout of the current revision is paused (by hand, or at the failure threshold).',
} as const;
export type ConditionType = keyof typeof CONDITION_TYPES;

export type ReasonKind = 'permanent' | 'transient' | 'progress' | 'item' | 'state' | 'event';
export type ReasonDirection = 'in' | 'out' | 'act';
/** error: processing stopped; warning: degraded or one item lost; info: nothing to do. */
export type Severity = 'error' | 'warning' | 'info';

export interface ReasonInfo {
  kind: ReasonKind;
  directions: readonly ReasonDirection[];
  severity: Severity;
  /** One line: what it means and what to do, for messages and the docs table. */
  hint: string;
  /** Also reported for single messages (status.recentFailures, `mailsync failures`). */
  item?: true;
}

const MAIL = ['in', 'out', 'act'] as const;
/** What the sync loops meet: every direction's worker, the appointment, contact and task loop too. */
const SYNC = ['in', 'out', 'act'] as const;
const NONE = [] as const;

export const REASONS = {
  // --- Mail server failures (classifyError), Test and Enable and sync alike.
  AuthenticationFailed: {
    kind: 'permanent',
    directions: MAIL,
    severity: 'error',
    hint: 'the server rejected the credentials: check the username and the password or token in the credentials Secret',
  },
  MailboxNotFound: {
    kind: 'permanent',
    directions: MAIL,
    severity: 'error',
    hint: 'the mailbox or folder does not exist on this server: check the email address and the folder',
  },
  SendAsDenied: {
    kind: 'permanent',
    directions: ['out'],
    severity: 'error',
    hint: 'the account may not send as (or on behalf of) this address: grant the send-as or send-on-behalf right, or change spec.outgoing.sendMode',
  },
  TLSError: {
    kind: 'permanent',
    directions: MAIL,
    severity: 'error',
    hint: 'TLS failed: check the TLS mode and port, and add the CA of a private server certificate to the profile (caBundle)',
  },
  UnsupportedConfiguration: {
    kind: 'permanent',
    directions: MAIL,
    severity: 'error',
    hint: 'the server or this combination of settings does not support what the profile asks: change the setting the message names',
  },
  ServerUnreachable: {
    kind: 'transient',
    directions: MAIL,
    severity: 'warning',
    hint: 'no connection to the server (refused, reset, DNS): retried with back-off; check the host, the port and that the server runs',
  },
  Timeout: { kind: 'transient', directions: MAIL, severity: 'warning', hint: 'the server did not answer in time: retried with back-off' },
  Throttled: {
    kind: 'transient',
    directions: MAIL,
    severity: 'warning',
    hint: 'the server asked us to slow down: retried no sooner than its Retry-After',
  },
  ServerError: {
    kind: 'transient',
    directions: MAIL,
    severity: 'warning',
    hint: 'the server reported a temporary problem: retried with back-off',
  },
  ProtocolError: {
    kind: 'transient',
    directions: MAIL,
    severity: 'warning',
    hint: 'the server answered something we could not understand: retried with back-off; if it lasts, the server may be incompatible',
  },
  TooManyTransientFailures: {
    kind: 'permanent',
    directions: MAIL,
    severity: 'error',
    hint: 'the transient-failure budget (spec.retryPolicy of the Deployment) ran out: the direction is disabled and probed now and then (30 min, then hourly by default); it is re-enabled by itself when a probe passes',
  },
  SyncFailed: {
    kind: 'transient',
    directions: SYNC,
    severity: 'warning',
    hint: 'a sync cycle failed in an unexpected way: retried with back-off; see the operator log',
  },

  // --- CRM connector failures (src/crm/errors.ts), on Deployments and during sync.
  CRMUnreachable: {
    kind: 'transient',
    directions: SYNC,
    severity: 'warning',
    hint: 'no answer from the CRM (refused, DNS, timeout): retried with back-off; a TLS failure is permanent (add the CA to spec.crm.caBundle)',
  },
  CRMAuthenticationFailed: {
    kind: 'permanent',
    directions: SYNC,
    severity: 'error',
    hint: 'the CRM refused the credentials or the application: check the Secret in spec.crm.credentialsSecretRef and the application user',
  },
  CRMThrottled: {
    kind: 'transient',
    directions: SYNC,
    severity: 'warning',
    hint: 'the CRM asked us to slow down: retried no sooner than its Retry-After',
  },
  CRMError: { kind: 'transient', directions: SYNC, severity: 'warning', hint: 'the CRM failed (5xx or 408): retried with back-off' },
  CRMRejected: {
    kind: 'permanent',
    directions: SYNC,
    severity: 'warning',
    item: true,
    hint: 'the CRM refused a request (4xx): a refused message is reported and skipped, the others go on; a refused whole request stops the direction',
  },

  // --- Single messages and emails: reported, skipped, never retried automatically.
  CorruptMessage: {
    kind: 'item',
    directions: ['in'],
    severity: 'warning',
    item: true,
    hint: 'the message is not valid MIME (or crashed the parser): skipped; moved to Undeliverable with moveFailedToUndeliverable',
  },
  NotFromForwardingMailbox: {
    kind: 'item',
    directions: ['in'],
    severity: 'warning',
    item: true,
    hint: "a message in a forward mailbox that was not forwarded (as an attachment) by a mailbox of its Deployment whose incoming delivery method is ForwardMailbox: skipped; add or approve the forwarder's Mailbox",
  },
  AttachmentTooLarge: {
    kind: 'item',
    directions: ['in'],
    severity: 'warning',
    item: true,
    hint: 'an attachment is over maxAttachmentSize (Deployment or profile): skipped',
  },
  MessageRejected: {
    kind: 'item',
    directions: ['out'],
    severity: 'warning',
    item: true,
    hint: 'the mail server refused this email (recipients, size, content): marked failed in the CRM',
  },
  AttachmentUnavailable: {
    kind: 'item',
    directions: ['out'],
    severity: 'warning',
    item: true,
    hint: 'an attachment of the CRM email could not be fetched from the CRM (or not with the size it announced) after 3 attempts: the email was not sent and is marked failed; check the attachment in the CRM and send again',
  },
  SendOutcomeUnknown: {
    kind: 'item',
    directions: ['out'],
    severity: 'warning',
    item: true,
    hint: 'the connection failed after the email was transmitted: marked failed, not re-sent; check with the recipient and resend from the CRM',
  },

  // --- Coexistence with Dynamics 365's own email processing (src/crm/dynamics-coexistence.ts).
  ProcessedByDynamics: {
    kind: 'permanent',
    directions: MAIL,
    severity: 'error',
    hint: "Dynamics' server-side synchronization or the Email Router still processes this address (its Dataverse mailbox row): list it in the Deployment's spec.crm.dynamics.handOver, or set its delivery methods to None in Dynamics and request a test",
  },

  // --- Configuration the controller checks (two objects, or a Secret).
  ItemRejected: {
    kind: 'item',
    directions: ['act'],
    severity: 'warning',
    item: true,
    hint: 'Exchange or the CRM refused one appointment, contact or task: it is reported and skipped until it changes again; the others go on',
  },
  ClaimedByAnotherOrganization: {
    kind: 'permanent',
    directions: ['act'],
    severity: 'error',
    hint: 'another Deployment (organization) synchronizes appointments, contacts and tasks of this mailbox: only one may; set spec.act.takeOver: true on the Mailbox that should, or spec.appointmentsContactsTasks: None on the other',
  },
  SecretNotFound: {
    kind: 'permanent',
    directions: MAIL,
    severity: 'error',
    hint: 'a Secret the object names does not exist in its namespace: create it or correct the reference',
  },
  CredentialsMissing: {
    kind: 'permanent',
    directions: MAIL,
    severity: 'error',
    hint: 'no credentials, or the Secret lacks the key this authentication needs: set spec.credentialsSecretRef or add the key',
  },
  CABundleNotFound: {
    kind: 'permanent',
    directions: MAIL,
    severity: 'error',
    hint: 'the Secret or ConfigMap key named in caBundle does not exist',
  },
  AddressInUse: {
    kind: 'permanent',
    directions: NONE,
    severity: 'error',
    hint: 'another Mailbox (named in the message) syncs this address: one mailbox, one organization; delete one, or set spec.takeOverAddress on the one that should sync',
  },
  DeploymentNotFound: {
    kind: 'permanent',
    directions: NONE,
    severity: 'error',
    hint: 'the Deployment in spec.deploymentRef does not exist: create it or correct the name',
  },
  ServerProfileNotSet: {
    kind: 'permanent',
    directions: NONE,
    severity: 'error',
    hint: 'no email server profile: set spec.serverProfileRef or the Deployment default',
  },
  ServerProfileNotFound: {
    kind: 'permanent',
    directions: NONE,
    severity: 'error',
    hint: 'the email server profile named does not exist: create it or correct the reference',
  },

  // --- Rollouts (EmailServerProfile, and UpToDate on mailboxes).
  FailureThresholdReached: {
    kind: 'permanent',
    directions: NONE,
    severity: 'error',
    hint: 'failures in a batch reached spec.rollout.failureThreshold: the rollout paused; fix or revert the profile',
  },
  RolloutIncomplete: {
    kind: 'permanent',
    directions: NONE,
    severity: 'error',
    hint: 'mailboxes whose test of the current revision failed keep their last-known-good revision: fix the cause or request a test',
  },
  RolloutInProgress: {
    kind: 'progress',
    directions: NONE,
    severity: 'info',
    hint: 'mailboxes are moving to the current revision in batches',
  },
  WaitingForBatch: {
    kind: 'progress',
    directions: NONE,
    severity: 'info',
    hint: 'the mailbox waits for its batch of the rollout; it runs its last-known-good revision meanwhile',
  },
  PausedByUser: { kind: 'state', directions: NONE, severity: 'info', hint: 'spec.rollout.paused is true' },
  RolloutPaused: {
    kind: 'state',
    directions: NONE,
    severity: 'warning',
    hint: 'the rollout paused: see the RolloutPaused condition for why',
  },
  UpToDate: { kind: 'state', directions: NONE, severity: 'info', hint: 'runs the current revision of its profile' },
  MailboxesFailing: {
    kind: 'state',
    directions: NONE,
    severity: 'warning',
    hint: "spec.rollout.failureThreshold percent or more of the profile's mailboxes have a failing direction: see the mailboxes' conditions",
  },

  // --- States of a mailbox (Enabled, Ready and the direction conditions).
  Succeeded: {
    kind: 'state',
    directions: MAIL,
    severity: 'info',
    hint: 'the direction passed Test and Enable (or synced again after a failure)',
  },
  NotRun: { kind: 'state', directions: MAIL, severity: 'info', hint: 'the delivery method of this direction is None' },
  Enabled: { kind: 'state', directions: NONE, severity: 'info', hint: 'every requested direction is processing' },
  PartiallyEnabled: {
    kind: 'state',
    directions: NONE,
    severity: 'warning',
    hint: 'some directions process, others failed (see the direction conditions)',
  },
  RunningLastKnownGood: {
    kind: 'state',
    directions: NONE,
    severity: 'warning',
    hint: 'processes on its last-known-good revision: its test of the new one failed or waits',
  },
  Suspended: { kind: 'state', directions: NONE, severity: 'info', hint: 'spec.suspended is true' },
  AwaitingApproval: {
    kind: 'state',
    directions: NONE,
    severity: 'info',
    hint: 'the Deployment requires approval and the address is not approved yet: `mailsync approve mailbox NAME`',
  },
  Denied: { kind: 'state', directions: NONE, severity: 'warning', hint: 'an approver denied the address' },
  Approved: { kind: 'state', directions: NONE, severity: 'info', hint: 'approved with `mailsync approve`' },
  ApprovedByAnnotation: {
    kind: 'state',
    directions: NONE,
    severity: 'info',
    hint: 'approved through the mailsync.dev/approved-address annotation',
  },
  DeniedByAnnotation: {
    kind: 'state',
    directions: NONE,
    severity: 'warning',
    hint: 'denied through the mailsync.dev/denied-address annotation',
  },
  ApprovedInDynamics: {
    kind: 'state',
    directions: NONE,
    severity: 'info',
    hint: 'approved in Dynamics 365 ("Approve Email"), accepted because the Deployment sets spec.crm.dynamics.approvalSource: DynamicsOrKubernetes',
  },
  AutoApproved: {
    kind: 'state',
    directions: NONE,
    severity: 'info',
    hint: "the address's domain is in spec.autoApproveDomains of its Deployment",
  },
  ThroughForwardMailbox: {
    kind: 'state',
    directions: NONE,
    severity: 'info',
    hint: "incoming delivery method ForwardMailbox: the mailbox is not read; the Deployment's forward mailbox receives its mail and attributes it to this mailbox's owner",
  },
  NothingToSync: { kind: 'state', directions: NONE, severity: 'info', hint: 'every delivery method is None' },
  TestPending: {
    kind: 'progress',
    directions: NONE,
    severity: 'info',
    hint: "waiting for Test and Enable (its profile's spec.rollout.maxConcurrentTests limits tests at once)",
  },
  RetryingTest: { kind: 'progress', directions: NONE, severity: 'info', hint: 'a transient failure is being retried' },
  RetryingSync: {
    kind: 'progress',
    directions: SYNC,
    severity: 'info',
    hint: 'a direction that fails transiently during sync is retried within seconds by its worker',
  },
  Ready: { kind: 'state', directions: NONE, severity: 'info', hint: 'the object does what its spec asks' },
  Synced: { kind: 'state', directions: SYNC, severity: 'info', hint: 'the last sync cycle of every running direction succeeded' },

  // --- States of a Deployment.
  Connected: { kind: 'state', directions: NONE, severity: 'info', hint: 'the CRM connector is reachable and authenticated' },
  Valid: {
    kind: 'state',
    directions: NONE,
    severity: 'info',
    hint: 'the Deployment is valid (its connector is not tested in this process)',
  },
  RetryingConnectorTest: { kind: 'progress', directions: NONE, severity: 'info', hint: 'the CRM connector test is retried with back-off' },

  // --- Event reasons only.
  TestSucceeded: { kind: 'event', directions: NONE, severity: 'info', hint: 'Test and Enable passed' },
  RevisionUpdated: {
    kind: 'event',
    directions: NONE,
    severity: 'info',
    hint: 'the mailbox passed its test of a new revision and switched to it',
  },
  RolloutTestFailed: {
    kind: 'event',
    directions: NONE,
    severity: 'warning',
    hint: 'the test of a new revision failed; the mailbox keeps its last-known-good revision',
  },
  RolloutBatchStarted: { kind: 'event', directions: NONE, severity: 'info', hint: 'a rollout admitted the next batch of mailboxes' },
  RolloutBatchCompleted: { kind: 'event', directions: NONE, severity: 'info', hint: 'every mailbox of a batch has a test result' },
  RolloutCompleted: { kind: 'event', directions: NONE, severity: 'info', hint: 'every mailbox runs the current revision' },
  ApprovalWithdrawn: {
    kind: 'event',
    directions: NONE,
    severity: 'warning',
    hint: 'spec.emailAddress changed, which withdraws an approval',
  },
  ApprovedByAnnotationForbidden: {
    kind: 'event',
    directions: NONE,
    severity: 'warning',
    hint: 'the operator may not record an approval: it lacks the approve verb',
  },
  DeniedByAnnotationForbidden: {
    kind: 'event',
    directions: NONE,
    severity: 'warning',
    hint: 'the operator may not record a denial: it lacks the approve verb',
  },
  AutoApprovedForbidden: {
    kind: 'event',
    directions: NONE,
    severity: 'warning',
    hint: 'auto-approval is configured but the operator lacks the approve verb (chart value autoApproval.enabled)',
  },
  ConnectionTestSucceeded: {
    kind: 'event',
    directions: NONE,
    severity: 'info',
    hint: "the profile's own connection test passed (status.connectionTest)",
  },
  ConnectionTestFailed: {
    kind: 'event',
    directions: NONE,
    severity: 'warning',
    hint: "the profile's own connection test failed: status.connectionTest says which server and step",
  },
  ApprovedInDynamicsForbidden: {
    kind: 'event',
    directions: NONE,
    severity: 'warning',
    hint: 'an address is approved in Dynamics 365 but the operator may not record approvals: it lacks the approve verb (chart value autoApproval.enabled)',
  },
  HandedOverFromDynamics: {
    kind: 'event',
    directions: NONE,
    severity: 'info',
    hint: "the operator set the address's Dataverse mailbox delivery methods to None, so Dynamics stops processing it (spec.crm.dynamics.handOver)",
  },
  CRMConnected: { kind: 'event', directions: NONE, severity: 'info', hint: 'the CRM connector test passed' },
  ACTDryRun: {
    kind: 'event',
    directions: ['act'],
    severity: 'info',
    hint: 'what a dry run of appointment, contact and task sync would do (Mailbox spec.act.dryRun); nothing was written',
  },
  SyncRecovered: { kind: 'event', directions: SYNC, severity: 'info', hint: 'a direction that failed during sync works again' },
  NotificationsUnavailable: {
    kind: 'event',
    directions: ['in'],
    severity: 'warning',
    hint: 'push notifications (EWS, Microsoft Graph) could not be set up for the mailbox: it is polled meanwhile; status.sync.incoming.notifications says why (for Graph, usually an endpoint Microsoft cannot reach: see docs/sync.md)',
  },
  NotificationsActive: {
    kind: 'event',
    directions: ['in'],
    severity: 'info',
    hint: 'push notifications work again for the mailbox after a fallback to polling',
  },
} as const satisfies Record<string, ReasonInfo>;

export type Reason = keyof typeof REASONS;

const table: Record<string, ReasonInfo> = REASONS;

/** The registry entry of a reason, or undefined for one that is not registered. */
export function reasonInfo(reason: string): ReasonInfo | undefined {
  return Object.hasOwn(table, reason) ? table[reason] : undefined;
}

export const isReason = (reason: string): reason is Reason => reasonInfo(reason) !== undefined;
/** Retrying cannot fix it: the direction or object waits for a change (Stalled). Unknown reasons count as permanent. */
export const isPermanentReason = (reason: string): boolean => (reasonInfo(reason)?.kind ?? 'permanent') === 'permanent';
/** Retried with back-off and counted against the budget (Reconciling). */
export const isTransientReason = (reason: string): boolean => reasonInfo(reason)?.kind === 'transient';
/** A failure of a direction or object (permanent or transient), as opposed to a state or progress. */
export const isFailureReason = (reason: string): boolean => {
  const kind = reasonInfo(reason)?.kind;
  return kind === 'permanent' || kind === 'transient';
};

/** The reasons of one kind, in registry order. */
export const reasonsOfKind = (kind: ReasonKind): Reason[] => (Object.keys(REASONS) as Reason[]).filter((r) => REASONS[r].kind === kind);
