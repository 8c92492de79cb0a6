// Outgoing mail from Dataverse: the emails waiting to be sent, with their parties, attachments and
// threading headers; their attachments' content; and the status changes of sending them.
//
//   which emails wait  -> BackgroundSendEmail (the Email Router's message: "the query to find the
//                         email activities to send"), one FetchXML query over every mailbox of the
//                         Deployment that this process syncs: Pending Send or Sending, outgoing,
//                         sender in the list. At rest, that is all: one request per poll.
//   what they hold     -> one GET per 50 of them (in a $batch): parties, attachment metadata,
//                         the email they answer (its Message-ID: In-Reply-To and References)
//   attachments        -> `body` of activitymimeattachment up to 4 MB; larger ones in 4 MB blocks
//                         with InitializeAttachmentBlocksDownload and DownloadBlock, as "Use file data
//                         with Attachment and Note records" prescribes
//   status changes     -> $batch: claim (PATCH Sending, If-Match the version listed), release
//                         (PATCH Pending Send), sent (change set: PATCH messageid and actualend, then
//                         SendEmail with IssueSend false, which "records it as sent")
import type { BatchOperation } from './dynamics-batch.js';
import { FORMATTED_VALUES, type DataverseClient } from './dynamics-client.js';
import { rowsOf, TtlCache, type GetRunner } from './dynamics-lookups.js';
import { bareMessageId, recordId, storedMessageId } from './dynamics-odata.js';
import { ATTACHMENT_BLOCK_BYTES, DIRECTION_OUTGOING, EMAIL_STATUS, PARTICIPATION, STATE_OF_STATUS } from './dynamics-values.js';
import { CrmError, type OutgoingAttachment, type Party, type PendingEmail } from './types.js';

/** Senders per BackgroundSendEmail query: about 80 KB of FetchXML in the request body. */
const SENDERS_PER_QUERY = 2000;
/** Emails per detail GET. */
const IDS_PER_QUERY = 50;
/** Dataverse's page size limit, and so the most emails one query returns. */
const MAX_ROWS = 5000;

interface PendingRow {
  activityid: string;
  sender?: string | null;
  statuscode?: number | null;
}

interface DetailRow {
  activityid: string;
  '@odata.etag'?: string;
  statuscode?: number | null;
  deliveryattempts?: number | null;
  subject?: string | null;
  description?: string | null;
  messageid?: string | null;
  trackingtoken?: string | null;
  sender?: string | null;
  email_activity_parties?: PartyRow[];
  email_activity_mime_attachment?: AttachmentRow[];
  parentactivityid?: { messageid?: string | null } | null;
}

interface PartyRow {
  addressused?: string | null;
  participationtypemask?: number | null;
  '_partyid_value@OData.Community.Display.V1.FormattedValue'?: string;
}

interface AttachmentRow {
  activitymimeattachmentid: string;
  filename?: string | null;
  mimetype?: string | null;
  filesize?: number | null;
  attachmentcontentid?: string | null;
}

/** What was read about an email when it was listed, for its status changes. */
interface Listed {
  etag?: string;
  deliveryattempts: number;
  trackingToken?: string;
}

export class OutgoingReader {
  /** Emails listed recently: their version (for a safe claim) and counters. */
  private readonly listed = new TtlCache<Listed>(60 * 60_000, 50_000);

  constructor(
    private readonly client: DataverseClient,
    private readonly gets: GetRunner,
  ) {}

  /** Emails pending send for these senders, oldest first, at most `limit` each. */
  async pendingFor(addresses: string[], limit: number): Promise<Map<string, PendingEmail[]>> {
    const senders = [...new Set(addresses.map((a) => a.toLowerCase()))];
    const ids: { id: string; sender: string }[] = [];
    const perSender = new Map<string, number>();
    for (let i = 0; i < senders.length; i += SENDERS_PER_QUERY) {
      const chunk = senders.slice(i, i + SENDERS_PER_QUERY);
      const answer = await this.client.action<{ EntityCollection?: PendingRow[] }>('BackgroundSendEmail', {
        Query: {
          '@odata.type': 'Microsoft.Dynamics.CRM.FetchExpression',
          Query: pendingFetchXml(chunk, Math.min(MAX_ROWS, limit * chunk.length)),
        },
      });
      for (const row of answer?.EntityCollection ?? []) {
        const sender = row.sender?.toLowerCase();
        if (!row.activityid || !sender || !chunk.includes(sender)) continue;
        const n = perSender.get(sender) ?? 0;
        if (n >= limit) continue;
        perSender.set(sender, n + 1);
        ids.push({ id: row.activityid, sender });
      }
    }
    const details = await this.details(ids.map((x) => x.id));
    const out = new Map<string, PendingEmail[]>();
    for (const { id, sender } of ids) {
      const row = details.get(id.toLowerCase());
      // Sent or cancelled between the two reads: no longer pending.
      if (!row || (row.statuscode !== EMAIL_STATUS.PendingSend && row.statuscode !== EMAIL_STATUS.Sending)) continue;
      const list = out.get(sender) ?? [];
      list.push(pendingEmail(row, sender));
      out.set(sender, list);
    }
    return out;
  }

  /** An attachment's content: the base64 `body` up to 4 MB, blocks beyond. */
  async attachment(a: OutgoingAttachment): Promise<Buffer> {
    const id = recordId(a.attachmentId ?? '', 'attachment id');
    if (a.size <= ATTACHMENT_BLOCK_BYTES) {
      const path = `activitymimeattachments(${id})?$select=body`;
      const [r] = await this.gets([{ method: 'GET', path }]);
      if (r.kind !== 'one' || r.response.status !== 200)
        throw r.kind === 'one'
          ? this.client.itemError(r.response, path)
          : new CrmError('CRMError', 'Dynamics 365 $batch: the attachment read was not processed; it is retried with back-off');
      return Buffer.from(String((r.response.body as { body?: unknown } | undefined)?.body ?? ''), 'base64');
    }
    const init = await this.client.action<{ FileContinuationToken?: string; FileSizeInBytes?: number }>(
      'InitializeAttachmentBlocksDownload',
      {
        Target: { '@odata.type': 'Microsoft.Dynamics.CRM.activitymimeattachment', activitymimeattachmentid: id },
      },
    );
    const token = init?.FileContinuationToken;
    const size = init?.FileSizeInBytes;
    if (!token || typeof size !== 'number')
      throw new CrmError(
        'CRMError',
        `Dynamics 365: InitializeAttachmentBlocksDownload gave no continuation token for attachment ${id}; it is retried with back-off`,
      );
    const blocks: Buffer[] = [];
    for (let offset = 0; offset < size; offset += ATTACHMENT_BLOCK_BYTES) {
      const block = await this.client.action<{ Data?: string }>('DownloadBlock', {
        Offset: offset,
        BlockLength: ATTACHMENT_BLOCK_BYTES,
        FileContinuationToken: token,
      });
      blocks.push(Buffer.from(block?.Data ?? '', 'base64'));
    }
    return Buffer.concat(blocks);
  }

  /** The claim: Sending, with our Message-ID, only if the email is still the version listed. */
  claim(id: string, messageId: string): BatchOperation {
    const listed = this.listed.get(id) ?? undefined;
    return {
      method: 'PATCH',
      path: `emails(${id})`,
      headers: { 'if-match': listed?.etag ?? '*' },
      body: {
        statecode: STATE_OF_STATUS[EMAIL_STATUS.Sending],
        statuscode: EMAIL_STATUS.Sending,
        messageid: storedMessageId(messageId),
        deliveryattempts: (listed?.deliveryattempts ?? 0) + 1,
      },
    };
  }

  /** Records the email as sent: our Message-ID and time, then SendEmail with IssueSend false. */
  sent(id: string, messageId: string, sentAt: string): BatchOperation[] {
    const token = this.listed.get(id)?.trackingToken ?? '';
    return [
      {
        method: 'PATCH',
        path: `emails(${id})`,
        headers: { 'if-match': '*' },
        body: { messageid: storedMessageId(messageId), actualend: sentAt },
      },
      { method: 'POST', path: `emails(${id})/Microsoft.Dynamics.CRM.SendEmail`, body: { IssueSend: false, TrackingToken: token } },
    ];
  }

  /** The emails' details, by lower-case id, read together in one $batch. */
  private async details(ids: string[]): Promise<Map<string, DetailRow>> {
    const ops: BatchOperation[] = [];
    for (let i = 0; i < ids.length; i += IDS_PER_QUERY)
      ops.push({ method: 'GET', path: detailsPath(ids.slice(i, i + IDS_PER_QUERY)), headers: { prefer: FORMATTED_VALUES } });
    const out = new Map<string, DetailRow>();
    const results = ops.length ? await this.gets(ops) : [];
    for (const r of results) {
      for (const row of rowsOf<DetailRow>(this.client, r, 'emails')) {
        out.set(row.activityid.toLowerCase(), row);
        this.listed.set(row.activityid.toLowerCase(), {
          etag: row['@odata.etag'],
          deliveryattempts: row.deliveryattempts ?? 0,
          trackingToken: row.trackingtoken ?? undefined,
        });
      }
    }
    return out;
  }
}

/** FetchXML for BackgroundSendEmail: outgoing emails in Pending Send or Sending from these senders. */
export function pendingFetchXml(senders: string[], top: number): string {
  const values = (vs: (string | number)[]) => vs.map((v) => `<value>${xmlEscape(String(v))}</value>`).join('');
  return (
    `<fetch top="${Math.max(1, Math.floor(top))}" no-lock="true"><entity name="email">` +
    '<attribute name="activityid"/><attribute name="sender"/><attribute name="statuscode"/>' +
    '<filter type="and">' +
    `<condition attribute="directioncode" operator="eq" value="${DIRECTION_OUTGOING ? 1 : 0}"/>` +
    `<condition attribute="statuscode" operator="in">${values([EMAIL_STATUS.PendingSend, EMAIL_STATUS.Sending])}</condition>` +
    `<condition attribute="sender" operator="in">${values(senders)}</condition>` +
    '</filter><order attribute="createdon"/></entity></fetch>'
  );
}

function detailsPath(ids: string[]): string {
  const filter = ids.map((id) => `activityid eq ${recordId(id)}`).join(' or ');
  const expand = [
    'email_activity_parties($select=addressused,participationtypemask,_partyid_value)',
    'email_activity_mime_attachment($select=activitymimeattachmentid,filename,mimetype,filesize,attachmentcontentid)',
    'parentactivityid($select=messageid)',
  ].join(',');
  return `emails?$select=activityid,statuscode,deliveryattempts,subject,description,messageid,trackingtoken,sender&$filter=${encodeURIComponent(filter)}&$expand=${encodeURIComponent(expand)}`;
}

function pendingEmail(r: DetailRow, mailboxAddress: string): PendingEmail {
  const parties = (mask: number): Party[] =>
    (r.email_activity_parties ?? [])
      .filter((p) => p.participationtypemask === mask && p.addressused)
      .map((p) => {
        const name = p['_partyid_value@OData.Community.Display.V1.FormattedValue'];
        return name ? { address: p.addressused!, name } : { address: p.addressused! };
      });
  const email: PendingEmail = {
    crmEmailId: r.activityid,
    from: parties(PARTICIPATION.Sender)[0] ?? { address: mailboxAddress },
    to: parties(PARTICIPATION.To),
    cc: parties(PARTICIPATION.Cc),
    bcc: parties(PARTICIPATION.Bcc),
    subject: r.subject ?? '',
    state: r.statuscode === EMAIL_STATUS.Sending ? 'Sending' : 'PendingSend',
  };
  if (r.description) email.htmlBody = r.description;
  if (r.messageid) email.messageId = bareMessageId(r.messageid);
  if (r.trackingtoken) email.trackingToken = r.trackingtoken;
  // A reply written in Dynamics answers its parent activity: thread it under the parent's Message-ID.
  const parent = r.parentactivityid?.messageid ? bareMessageId(r.parentactivityid.messageid) : undefined;
  if (parent) {
    email.inReplyTo = parent;
    email.references = [parent];
  }
  const attachments = (r.email_activity_mime_attachment ?? []).map((a): OutgoingAttachment => ({
    attachmentId: a.activitymimeattachmentid,
    filename: a.filename || 'attachment',
    contentType: a.mimetype || 'application/octet-stream',
    size: a.filesize ?? 0,
    ...(a.attachmentcontentid ? { contentId: a.attachmentcontentid } : {}),
  }));
  if (attachments.length) email.attachments = attachments;
  return email;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}
