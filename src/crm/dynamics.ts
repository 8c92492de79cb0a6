// The Dynamics 365 connector: the CrmConnector contract over the Dataverse Web API v9.2.
//
//   incoming  -> an `email` activity (directioncode Incoming) with `email_activity_parties`
//                (sender, to, cc; bound to the contact/lead/account/user/queue that has the
//                address, else just `addressused`), attachments as `activitymimeattachments`,
//                then closed as Received
//   outgoing  -> emails in Pending Send from the mailbox's address; claimed as Sending, then
//                Sent (with our Message-ID) or Failed; released back to Pending Send
//   filtering -> contacts/leads/accounts (and users/queues) by their email columns
//
// Idempotency without custom columns (docs/crm.md): an incoming email is identified by its
// `messageid` plus `submittedby`, which we set to a marker naming the receiving Mailbox
// ("mailsync:<namespace>/<name>"). Before creating, the connector queries for that pair; a hit
// is a redelivery. The email is created open and closed as Received only after its attachments
// are in, so a redelivery that finds it still open finishes the job instead of duplicating it.
import { createHash } from 'node:crypto';
import { registerSecret } from '../util/redact.js';
import { ClientCredentialsTokenProvider, type ClientCredential } from '../mail/oauth.js';
import { DataverseClient, FORMATTED_VALUES, type TokenSource } from './dynamics-client.js';
import { bareMessageId, fit, messageIdForms, odataString, recordId, storedMessageId } from './dynamics-odata.js';
import { PartyResolver } from './dynamics-parties.js';
import { DIRECTION_INCOMING, DIRECTION_OUTGOING, EMAIL_STATUS, MAX_LENGTH, PARTICIPATION, STATE_OF_STATUS } from './dynamics-values.js';
import { CrmError, type AddressLookup, type CrmConnector, type DeliveryResult, type IncomingEmail, type Party, type PendingEmail } from './types.js';

export interface DynamicsConnectorOptions {
  /** Organization URL (spec.crm.url), e.g. https://contoso.crm.dynamics.com, or its /api/data/v9.x URL. */
  url: string;
  tenantId: string;
  clientId: string;
  /** The app's client secret; or `credential`, a certificate or workload identity. */
  clientSecret?: string;
  credential?: ClientCredential;
  /** Token authority (spec.crm.oauth.authorityURL); defaults to https://login.microsoftonline.com. */
  authorityUrl?: string;
  /** The token endpoint itself (spec.crm.oauth.tokenURL). */
  tokenUrl?: string;
  /** Defaults to `<organization URL>/.default`. */
  scope?: string;
  timeoutMs?: number;
  /** Extra trusted CA (PEM) for Dataverse and the token endpoint; verification stays on. */
  ca?: string;
  /** How to name the credentials' Secret in messages, e.g. `Secret "dynamics"`. */
  secretName?: string;
  /** Records per page when listing (default 500). */
  pageSize?: number;
  /** Replaces the client-credentials provider (tests). */
  tokens?: TokenSource;
}

interface EmailRow {
  activityid: string;
  statuscode?: number | null;
  deliveryattempts?: number | null;
  subject?: string | null;
  description?: string | null;
  messageid?: string | null;
  trackingtoken?: string | null;
  email_activity_parties?: PartyRow[];
}

interface PartyRow {
  addressused?: string | null;
  participationtypemask?: number | null;
  _partyid_value?: string | null;
  '_partyid_value@OData.Community.Display.V1.FormattedValue'?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Message-IDs asked for per query (each becomes two `messageid eq` terms). */
const MESSAGE_IDS_PER_QUERY = 10;

export class DynamicsConnector implements CrmConnector {
  readonly apiUrl: string;
  private readonly client: DataverseClient;
  private readonly parties: PartyResolver;

  constructor(options: DynamicsConnectorOptions) {
    const { apiUrl, origin } = dataverseUrls(options.url);
    this.apiUrl = apiUrl;
    registerSecret(options.clientSecret);
    const secret = options.secretName ?? 'the Secret named by spec.crm.credentialsSecretRef';
    const tokens =
      options.tokens ??
      new ClientCredentialsTokenProvider({
        tenantId: options.tenantId,
        clientId: options.clientId,
        ...(options.clientSecret !== undefined ? { clientSecret: options.clientSecret } : {}),
        ...(options.credential ? { credential: options.credential } : {}),
        ...(options.tokenUrl ? { tokenUrl: options.tokenUrl } : {}),
        scope: options.scope ?? `${origin}/.default`,
        authorityUrl: options.authorityUrl,
        ca: options.ca,
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      });
    this.client = new DataverseClient({
      apiUrl,
      tokens,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ca: options.ca,
      secrets: options.clientSecret ? [options.clientSecret] : [],
      pageSize: options.pageSize ?? 500,
      authHint:
        `check spec.crm.oauth (tenantId, clientId "${options.clientId}") and the client's credential (key "clientSecret", or "tls.crt" and "tls.key", in ${secret}, or the federated credential of oauth.serviceAccountName), and that the app ` +
        'is an application user of this Dataverse environment with a security role that can read and write emails, contacts, leads, accounts, users and queues',
    });
    this.parties = new PartyResolver(this.client);
  }

  async test(signal?: AbortSignal): Promise<void> {
    // WhoAmI needs a valid token for this environment and an application user behind it.
    await this.client.get('WhoAmI', signal);
  }

  async deliverIncoming(email: IncomingEmail): Promise<DeliveryResult> {
    if (!bareMessageId(email.messageId)) throw new CrmError('CRMRejected', `Dynamics 365: the email from mailbox ${email.mailbox} has no Message-ID`);
    const messageid = storedMessageId(email.messageId);
    const marker = submittedByMarker(email.mailbox);
    const filter = `messageid eq ${odataString(messageid)} and submittedby eq ${odataString(marker)} and directioncode eq ${DIRECTION_INCOMING}`;
    const [existing] = await this.client.list<EmailRow>(`emails?$select=activityid,statuscode&$filter=${encodeURIComponent(filter)}`, 1);
    if (existing) {
      // A redelivery. If the earlier attempt stopped before closing the email, finish it now.
      if (existing.statuscode !== EMAIL_STATUS.Received) await this.complete(existing.activityid, email, false);
      return { crmId: existing.activityid, created: false };
    }
    const body: Record<string, unknown> = {
      subject: fit(email.subject, MAX_LENGTH.subject),
      description: email.htmlBody ?? textToHtml(email.textBody ?? ''),
      directioncode: DIRECTION_INCOMING,
      messageid,
      submittedby: marker,
      email_activity_parties: await this.incomingParties(email),
    };
    if (email.regarding) body['parentactivityid@odata.bind'] = `/emails(${recordId(email.regarding.crmEmailId, 'regarding email id')})`;
    const created = await this.client.create<EmailRow>('emails', body, ['activityid']);
    await this.complete(created.activityid, email, true);
    return { crmId: created.activityid, created: true };
  }

  async findEmailByMessageId(messageIds: string[]): Promise<string | undefined> {
    const wanted = [...new Set(messageIds.map(bareMessageId).filter(Boolean))];
    for (let i = 0; i < wanted.length; i += MESSAGE_IDS_PER_QUERY) {
      const chunk = wanted.slice(i, i + MESSAGE_IDS_PER_QUERY);
      const filter = chunk.flatMap(messageIdForms).map((v) => `messageid eq ${odataString(v)}`).join(' or ');
      const rows = await this.client.list<EmailRow>(`emails?$select=activityid,messageid&$filter=${encodeURIComponent(filter)}`, 50);
      const byId = new Map<string, string>();
      for (const r of rows) if (r.messageid) byId.set(bareMessageId(r.messageid).toLowerCase(), r.activityid);
      // The earliest id in the caller's order wins (In-Reply-To before References).
      for (const id of chunk) {
        const hit = byId.get(id.toLowerCase());
        if (hit) return hit;
      }
    }
    return undefined;
  }

  async lookupAddress(address: string): Promise<AddressLookup> {
    const owner = await this.parties.resolve(address);
    return { isCrmRecord: !!owner.crmRecord, isEmailEnabledRecord: !!(owner.crmRecord ?? owner.internal) };
  }

  async listPendingSend(mailboxAddress: string, limit: number): Promise<PendingEmail[]> {
    // "Sending" ones are listed too: claimed by an attempt that never reported back (docs/outgoing.md).
    const filter = `(statuscode eq ${EMAIL_STATUS.PendingSend} or statuscode eq ${EMAIL_STATUS.Sending}) and directioncode eq ${DIRECTION_OUTGOING} and sender eq ${odataString(mailboxAddress)}`;
    const query = [
      '$select=activityid,subject,description,messageid,trackingtoken,statuscode',
      `$filter=${encodeURIComponent(filter)}`,
      `$orderby=${encodeURIComponent('createdon asc')}`,
      `$expand=${encodeURIComponent('email_activity_parties($select=addressused,participationtypemask,_partyid_value)')}`,
    ].join('&');
    const rows = await this.client.list<EmailRow>(`emails?${query}`, Math.max(1, Math.floor(limit)), [FORMATTED_VALUES]);
    return rows.map((r) => pendingEmail(r, mailboxAddress));
  }

  async markSending(crmEmailId: string, messageId: string): Promise<void> {
    const id = recordId(crmEmailId);
    const current = await this.current(id, 'claim it for sending', [EMAIL_STATUS.PendingSend, EMAIL_STATUS.Sending]);
    await this.setStatus(id, EMAIL_STATUS.Sending, { messageid: storedMessageId(messageId), deliveryattempts: (current.deliveryattempts ?? 0) + 1 });
  }

  async releaseSending(crmEmailId: string): Promise<void> {
    const id = recordId(crmEmailId);
    const current = await this.current(id, 'return it to Pending Send', [EMAIL_STATUS.PendingSend, EMAIL_STATUS.Sending]);
    if (current.statuscode === EMAIL_STATUS.Sending) await this.setStatus(id, EMAIL_STATUS.PendingSend);
  }

  async markSent(crmEmailId: string, messageId: string, sentAt: string): Promise<void> {
    await this.setStatus(recordId(crmEmailId), EMAIL_STATUS.Sent, { messageid: storedMessageId(messageId), actualend: sentAt });
  }

  async markFailed(crmEmailId: string, reason: string, _message: string): Promise<void> {
    const id = recordId(crmEmailId);
    // The email table has no column for a failure reason: it is reported on the Mailbox and in
    // Events by the pipeline. A sent email is never turned into a failed one.
    await this.current(id, `mark it failed (${reason})`, [EMAIL_STATUS.PendingSend, EMAIL_STATUS.Sending, EMAIL_STATUS.Failed, EMAIL_STATUS.Draft]);
    await this.setStatus(id, EMAIL_STATUS.Failed);
  }

  /** The sender, to and cc parties, each bound to its record when one has the address. */
  private async incomingParties(email: IncomingEmail): Promise<Record<string, unknown>[]> {
    const roles: Array<[Party, number]> = [
      [email.from, PARTICIPATION.Sender],
      ...email.to.map((p): [Party, number] => [p, PARTICIPATION.To]),
      ...email.cc.map((p): [Party, number] => [p, PARTICIPATION.Cc]),
    ];
    const wanted = roles.filter(([p]) => p?.address);
    const owners = await Promise.all(wanted.map(([p]) => this.parties.resolve(p.address)));
    return wanted.map(([p, mask], i) => {
      const party: Record<string, unknown> = { participationtypemask: mask, addressused: fit(p.address, MAX_LENGTH.addressused) };
      const record = owners[i].crmRecord ?? owners[i].internal;
      if (record) party[`partyid_${record.entity}@odata.bind`] = `/${record.entitySet}(${record.id})`;
      return party;
    });
  }

  /** Adds the attachments not there yet, then closes the email as Received: the "complete" mark. */
  private async complete(id: string, email: IncomingEmail, fresh: boolean): Promise<void> {
    const missing = fresh ? [...email.attachments] : await this.missingAttachments(id, email);
    for (const a of missing) {
      await this.client.create(
        'activitymimeattachments',
        {
          'objectid_activitypointer@odata.bind': `/activitypointers(${id})`,
          objecttypecode: 'email',
          filename: fit(a.filename || 'attachment', MAX_LENGTH.filename),
          mimetype: a.contentType,
          body: a.contentBase64,
        },
        ['activitymimeattachmentid'],
      );
    }
    await this.setStatus(id, EMAIL_STATUS.Received);
  }

  private async missingAttachments(id: string, email: IncomingEmail): Promise<IncomingEmail['attachments']> {
    if (email.attachments.length === 0) return [];
    const filter = `_objectid_value eq ${id}`;
    const rows = await this.client.list<{ filename?: string | null }>(`activitymimeattachments?$select=filename&$filter=${encodeURIComponent(filter)}`, 1000);
    const present = new Map<string, number>();
    for (const r of rows) present.set(r.filename ?? '', (present.get(r.filename ?? '') ?? 0) + 1);
    return email.attachments.filter((a) => {
      const name = fit(a.filename || 'attachment', MAX_LENGTH.filename);
      const n = present.get(name) ?? 0;
      if (n > 0) present.set(name, n - 1);
      return n === 0;
    });
  }

  /** The email's status, which must be one of `allowed` for `what` to make sense. */
  private async current(id: string, what: string, allowed: number[]): Promise<EmailRow> {
    const row = await this.client.get<EmailRow>(`emails(${id})?$select=activityid,statuscode,deliveryattempts`);
    if (row.statuscode == null || !allowed.includes(row.statuscode)) {
      throw new CrmError('CRMRejected', `Dynamics 365: email ${id} has status reason ${statusName(row.statuscode)}; cannot ${what}`);
    }
    return row;
  }

  /** statecode and statuscode are always sent as a pair that belongs together. */
  private setStatus(id: string, status: number, extra: Record<string, unknown> = {}): Promise<void> {
    return this.client.update('emails', id, { ...extra, statecode: STATE_OF_STATUS[status], statuscode: status });
  }
}

/** The Web API base and the organization origin (the token audience) for spec.crm.url. */
export function dataverseUrls(url: string): { apiUrl: string; origin: string } {
  const trimmed = url.replace(/\/+$/, '');
  const origin = new URL(trimmed).origin;
  return { apiUrl: /\/api\/data\/v\d+(\.\d+)?$/.test(trimmed) ? trimmed : `${trimmed}/api/data/v9.2`, origin };
}

/** The `submittedby` value that names the receiving Mailbox (column limit 250). */
export function submittedByMarker(mailbox: string): string {
  const marker = `mailsync:${mailbox}`;
  return marker.length <= MAX_LENGTH.submittedby ? marker : `mailsync:sha256:${createHash('sha256').update(mailbox).digest('hex')}`;
}

function pendingEmail(r: EmailRow, mailboxAddress: string): PendingEmail {
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
  return email;
}

function statusName(status: number | null | undefined): string {
  const name = Object.entries(EMAIL_STATUS).find(([, v]) => v === status)?.[0];
  return name ? `${name} (${status})` : String(status);
}

/** Plain text as the HTML the description column holds. */
function textToHtml(text: string): string {
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return escaped.replace(/\r?\n/g, '<br>');
}
