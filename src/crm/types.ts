// The contract between the sync pipelines and a CRM. Connectors (Webhook, Dynamics 365) implement
// it; the pipelines know nothing of HTTP or OData. Every call is idempotent where it must be:
// deliverIncoming on (mailbox, Message-ID), markSent/markFailed on the CRM email id.

export interface Party {
  address: string;
  name?: string;
}

/** One incoming message as it becomes a CRM email activity. */
export interface IncomingEmail {
  /** The Mailbox (namespace/name) that received it: part of the idempotency key. */
  mailbox: string;
  /** The mailbox's address. */
  mailboxAddress: string;
  ownerKind: 'User' | 'Queue';
  ownerName: string;
  /** RFC 5322 Message-ID without angle brackets; synthesised from a content hash when missing. */
  messageId: string;
  /** Server-side identity (IMAP uidValidity:uid, POP3 UIDL, EWS/Graph id), for diagnostics. */
  sourceId: string;
  from: Party;
  to: Party[];
  cc: Party[];
  subject: string;
  /** ISO 8601. */
  receivedAt: string;
  sentAt?: string;
  textBody?: string;
  htmlBody?: string;
  inReplyTo?: string;
  references: string[];
  /** Outlook's Thread-Index header, when present. */
  threadIndex?: string;
  /**
   * Set when the message came through a forward mailbox (`mailbox`): the mailbox that forwarded it,
   * whose owner ownerKind/ownerName name, so the activity is the forwarder's.
   */
  forwardedBy?: { mailbox: string; address: string };
  /**
   * Found in the mailbox's Sent Items (the Deployment's trackSentItems): mail the owner sent
   * outside the CRM, an outgoing activity (Dynamics: an email found in Sent Items is Outgoing).
   */
  sent?: boolean;
  /** A tracking token found in the subject (e.g. CRM:0001001), for the CRM to resolve. */
  trackingToken?: string;
  /** The CRM email this one answers, when correlation found it (tracking token or headers). */
  regarding?: { crmEmailId: string; by: 'InReplyTo' | 'References' | 'TrackingToken' | 'ThreadIndex' };
  attachments: { filename: string; contentType: string; size: number; contentBase64: string }[];
}

export interface DeliveryResult {
  /** The CRM's id of the activity. */
  crmId: string;
  /** False when the CRM already had this (mailbox, Message-ID): a redelivery after a crash. */
  created: boolean;
}

/**
 * An attachment of a CRM email to send. Small ones come inline (`contentBase64`); large ones by
 * reference (`attachmentId` without content), and the pipeline fetches them with fetchAttachment
 * before it claims the email. An email whose attachments cannot all be fetched is never sent.
 */
export interface OutgoingAttachment {
  /** The CRM's id of the attachment: how one given by reference is fetched. */
  attachmentId?: string;
  filename: string;
  contentType: string;
  /** Bytes before base64; what is fetched must have exactly this size. */
  size: number;
  /** The content, inline; absent when the attachment is given by reference. */
  contentBase64?: string;
  /** Content-ID of an image the HTML body shows inline (`cid:<contentId>`). */
  contentId?: string;
}

/** A CRM email waiting to be sent ("Pending Send" in Dynamics). */
export interface PendingEmail {
  crmEmailId: string;
  /** The owner the mail is from (a user or queue address). */
  from: Party;
  to: Party[];
  cc: Party[];
  bcc: Party[];
  subject: string;
  textBody?: string;
  htmlBody?: string;
  /** Message-ID the CRM wants (if any), and threading headers of the email it answers. */
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
  /** Tracking token to put in the subject, when the Deployment enables tokens. */
  trackingToken?: string;
  attachments?: OutgoingAttachment[];
  /** Sending: claimed by an earlier attempt whose outcome is unknown (see docs/outgoing.md). */
  state?: 'PendingSend' | 'Sending';
}

/** What the CRM knows about an address, for incoming filtering. */
export interface AddressLookup {
  /** A contact, lead or account with this address exists. */
  isCrmRecord: boolean;
  /** Any email-enabled record (also users, queues, ...) has this address. */
  isEmailEnabledRecord: boolean;
}

/** How the CRM writes tracking tokens in subjects (Dynamics: the organization's settings). */
export interface TrackingTokenFormat {
  prefix: string;
  /** Earlier prefixes still recognised in replies to old emails. */
  previousPrefixes?: string[];
  deploymentBase: number;
  userDigits: number;
  counterDigits: number;
}

/** The CRM's own verdict on tracking an incoming message (Dynamics' CheckIncomingEmail). */
export interface IncomingCheck {
  deliver: boolean;
  /** Why, in the CRM's words (e.g. Dynamics' reason code name NoRecipientMatch). */
  reason: string;
}

export interface CrmConnector {
  /** Checks reachability and authentication (Deployment Ready). Throws CrmError. */
  test(signal?: AbortSignal): Promise<void>;
  deliverIncoming(email: IncomingEmail): Promise<DeliveryResult>;
  /** Finds the CRM email whose Message-ID is one of these (for reply correlation). */
  findEmailByMessageId(messageIds: string[]): Promise<string | undefined>;
  lookupAddress(address: string): Promise<AddressLookup>;
  /** Finds the CRM email that carries this tracking token in its subject. */
  findEmailByTrackingToken(token: string): Promise<string | undefined>;
  /** Emails pending send from this mailbox (its owner), oldest first, at most `limit`. */
  listPendingSend(mailboxAddress: string, limit: number): Promise<PendingEmail[]>;
  /**
   * Emails pending send for many mailboxes at once (every mailbox of a Deployment that this
   * process syncs), at most `limitPerMailbox` each: one query per Deployment instead of one per
   * mailbox, so requests at rest grow with Deployments, not mailboxes. Keyed by lower-case address;
   * mailboxes with nothing pending are absent.
   */
  listPendingSendFor(mailboxAddresses: string[], limitPerMailbox: number): Promise<Map<string, PendingEmail[]>>;
  /** The content of an attachment given by reference (no `contentBase64`). */
  fetchAttachment(crmEmailId: string, attachment: OutgoingAttachment): Promise<Buffer>;
  /** Claims a pending email before sending so a crash mid-send is detectable (see docs/outgoing.md). */
  markSending(crmEmailId: string, messageId: string): Promise<void>;
  markSent(crmEmailId: string, messageId: string, sentAt: string): Promise<void>;
  markFailed(crmEmailId: string, reason: string, message: string): Promise<void>;
  /**
   * Returns a claimed email to Pending Send after a failure that certainly happened before the
   * message was handed to the mail server (connection refused, TLS, authentication), so it is
   * retried; never used when the outcome of a send is unknown.
   */
  releaseSending(crmEmailId: string): Promise<void>;
  /** The CRM's own tracking-token format, when it has one; the Deployment's spec.trackingToken otherwise. */
  trackingTokenFormat?(): Promise<TrackingTokenFormat | undefined>;
  /** Lets the CRM decide with its own rules whether a message is tracked (incomingFiltering CRMDecides). */
  checkIncoming?(email: IncomingEmail): Promise<IncomingCheck>;
}

export type CrmFailureReason = 'CRMUnreachable' | 'CRMAuthenticationFailed' | 'CRMThrottled' | 'CRMError' | 'CRMRejected';

export class CrmError extends Error {
  constructor(
    readonly reason: CrmFailureReason,
    message: string,
    /** `serverText`: what the CRM said, made safe (safeServerText), for debug logs only. */
    readonly opts: { retryAfterMs?: number; permanent?: boolean; cause?: unknown; serverText?: string } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'CrmError';
  }
  get permanent(): boolean {
    return this.opts.permanent ?? (this.reason === 'CRMAuthenticationFailed' || this.reason === 'CRMRejected');
  }
  /** How long the CRM asked us to wait (Retry-After), as MailError has it. */
  get retryAfterMs(): number | undefined {
    return this.opts.retryAfterMs;
  }
  /** What the CRM said, as MailError has it: for debug logs, never for status or Events. */
  get serverText(): string | undefined {
    return this.opts.serverText;
  }
}
