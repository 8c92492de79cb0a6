// Option-set values of the Dataverse `email` and `activityparty` tables that the Dynamics 365
// connector reads and writes. Each comes from Microsoft's generated table reference (the same
// values in the Web API metadata of every environment); docs/crm.md lists the sources.

/**
 * email.statecode ("Activity Status"). Source: Email table reference, StateCode choices
 * (https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/email#BKMK_StateCode).
 */
export const EMAIL_STATE = {
  Open: 0,
  Completed: 1,
  Canceled: 2,
} as const;

/**
 * email.statuscode ("Status Reason"), each valid only with the state in the comment. Source: Email
 * table reference, StatusCode choices (…/reference/entities/email#BKMK_StatusCode).
 */
export const EMAIL_STATUS = {
  Draft: 1, // state Open
  Completed: 2, // state Completed
  Sent: 3, // state Completed
  Received: 4, // state Completed
  Canceled: 5, // state Canceled
  PendingSend: 6, // state Completed
  Sending: 7, // state Completed
  Failed: 8, // state Open
} as const;

/** The state each status reason belongs to: a PATCH must send the matching pair. */
export const STATE_OF_STATUS: Record<number, number> = {
  [EMAIL_STATUS.Draft]: EMAIL_STATE.Open,
  [EMAIL_STATUS.Completed]: EMAIL_STATE.Completed,
  [EMAIL_STATUS.Sent]: EMAIL_STATE.Completed,
  [EMAIL_STATUS.Received]: EMAIL_STATE.Completed,
  [EMAIL_STATUS.Canceled]: EMAIL_STATE.Canceled,
  [EMAIL_STATUS.PendingSend]: EMAIL_STATE.Completed,
  [EMAIL_STATUS.Sending]: EMAIL_STATE.Completed,
  [EMAIL_STATUS.Failed]: EMAIL_STATE.Open,
};

/**
 * email.directioncode: a Boolean whose true label is "Outgoing" and false label "Incoming".
 * Source: Email table reference, DirectionCode (…/reference/entities/email#BKMK_DirectionCode).
 */
export const DIRECTION_INCOMING = false;
export const DIRECTION_OUTGOING = true;

/**
 * activityparty.participationtypemask. Source: ActivityParty table reference,
 * ParticipationTypeMask choices (…/reference/entities/activityparty#BKMK_ParticipationTypeMask).
 */
export const PARTICIPATION = {
  Sender: 1,
  To: 2,
  Cc: 3,
  Bcc: 4,
} as const;

/** Column limits from the same references: longer values are refused with HTTP 400. */
export const MAX_LENGTH = {
  subject: 800,
  messageid: 320,
  submittedby: 250,
  addressused: 320,
  filename: 255,
  trackingtoken: 50,
} as const;

/**
 * Downloads of attachments larger than this go in blocks (InitializeAttachmentBlocksDownload,
 * DownloadBlock): "Use file data with Attachment and Note records" advises plain reads of the
 * base64 `body` only for files under 4 MB, and blocks of at most 4 MB.
 */
export const ATTACHMENT_BLOCK_BYTES = 4 * 1024 * 1024;
