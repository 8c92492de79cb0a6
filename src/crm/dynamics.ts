// The Dynamics 365 connector: the CrmConnector contract over the Dataverse Web API v9.2, as
// Dynamics users expect to see mail in their CRM (docs/crm.md):
//
//   incoming  -> an `email` activity per (receiving mailbox, Message-ID), owned by the mailbox's
//                owner, with a queue item for a queue mailbox, the Regarding of the email it
//                answers, the tracking token, parties and attachments (dynamics-incoming.ts)
//   outgoing  -> emails in Pending Send, found for every mailbox of the Deployment at once with
//                BackgroundSendEmail; attachments fetched (in blocks when large); claimed as
//                Sending, then recorded as sent with SendEmail (IssueSend false), or Failed
//                (dynamics-outgoing.ts)
//   filtering -> contacts/leads/accounts (and users/queues) by their email columns; or Dynamics'
//                own rules with CheckIncomingEmail (incomingFiltering CRMDecides)
//   ACT       -> appointments, contacts and tasks: DynamicsActConnector (dynamics-act.ts) extends this
//
// Requests: concurrent calls are gathered (coalescer.ts) into $batch requests: the reads of many
// calls in one, the new emails of a batch in one (a change set each), the status changes of many
// emails in one. 429 from the service protection limits fails the request with its Retry-After
// (CRMThrottled), and the pipelines wait as asked.
import { Coalescer } from './coalescer.js';
import { registerSecret } from '../util/redact.js';
import type { ClientCredential, TokenSource, TokenSourceFactory } from '../net/oauth-client.js';
import { changeSetResult, type BatchOperation, type BatchResult } from './dynamics-batch.js';
import { DataverseClient, type RequestCounter } from './dynamics-client.js';
import { IncomingWriter } from './dynamics-incoming.js';
import { rowsOf, TtlCache, type GetRunner } from './dynamics-lookups.js';
import { bareMessageId, messageIdForms, odataString, recordId } from './dynamics-odata.js';
import { OutgoingReader } from './dynamics-outgoing.js';
import { PartyResolver } from './dynamics-parties.js';
import { DIRECTION_OUTGOING, EMAIL_STATUS, STATE_OF_STATUS } from './dynamics-values.js';
import {
  CrmError,
  type AddressLookup,
  type CrmConnector,
  type DeliveryResult,
  type IncomingCheck,
  type IncomingEmail,
  type OutgoingAttachment,
  type PendingEmail,
  type TrackingTokenFormat,
} from './types.js';

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
  /** Builds the OAuth client-credentials token source (mail/oauth.ts's clientCredentials in the operator). */
  tokenSource: TokenSourceFactory;
  /** Replaces the token source altogether (tests). */
  tokens?: TokenSource;
  /** false: every call alone, one email per request (the benchmark's per-message baseline). */
  batching?: boolean;
  /** Counts HTTP requests (the benchmark). */
  counter?: RequestCounter;
}

/** One outgoing status change, as the webhook contract's batch has them. */
type StatusChange =
  | { id: string; state: 'Sending'; messageId: string }
  | { id: string; state: 'PendingSend' }
  | { id: string; state: 'Sent'; messageId: string; sentAt: string };

const DEFAULT_TIMEOUT_MS = 30_000;
/** Message-IDs asked for per query (each becomes two `messageid eq` terms). */
const MESSAGE_IDS_PER_QUERY = 10;
/** Calls per $batch request, and batches in flight (coalescer.ts). */
const BATCH_LIMITS = { maxBatch: 100, maxInFlight: 4 };
const GET_LIMITS = { maxBatch: 200, maxInFlight: 4 };

/** CheckIncomingEmailResponse.ReasonCode values and their names (SDK reference, CheckIncomingEmailResponse.ReasonCode). */
const CHECK_REASONS: Record<number, string> = {
  [-1]: 'Unknown',
  0: 'Duplicate',
  1: 'NoCorrelationMatch',
  2: 'CorrelationMatch',
  3: 'NoRecipientMatch',
  4: 'InternalEmailReject',
  5: 'SenderMatch',
  6: 'AcceptAll',
  7: 'InvalidSender',
};

export class DynamicsConnector implements CrmConnector {
  readonly apiUrl: string;
  /** The Dataverse client, for modules that read more (coexistence, status mirror). */
  readonly client: DataverseClient;
  protected readonly parties: PartyResolver;
  private readonly incoming: IncomingWriter;
  private readonly outgoing: OutgoingReader;
  private readonly getBatches: Coalescer<BatchOperation, BatchResult>;
  private readonly deliveries: Coalescer<IncomingEmail, DeliveryResult>;
  private readonly changes: Coalescer<StatusChange, void>;
  private readonly gets: GetRunner;
  private readonly tokenFormat = new TtlCache<TrackingTokenFormat>(10 * 60_000);

  constructor(options: DynamicsConnectorOptions) {
    const { apiUrl, origin } = dataverseUrls(options.url);
    this.apiUrl = apiUrl;
    registerSecret(options.clientSecret);
    const secret = options.secretName ?? 'the Secret named by spec.crm.credentialsSecretRef';
    const tokens =
      options.tokens ??
      options.tokenSource({
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
      counter: options.counter,
      authHint:
        `check spec.crm.oauth (tenantId, clientId "${options.clientId}") and the client's credential (key "clientSecret", or "tls.crt" and "tls.key", in ${secret}, or the federated credential of oauth.serviceAccountName), and that the app ` +
        'is an application user of this Dataverse environment with a security role that can read and write emails, queue items, attachments and mailboxes, and read contacts, leads, accounts, users and queues',
    });
    const one = options.batching === false ? { maxBatch: 1, maxInFlight: 16 } : undefined;
    this.getBatches = new Coalescer({ ...(one ?? GET_LIMITS), run: (ops) => this.client.batch(ops) });
    this.gets = (ops) => Promise.all(ops.map((op) => this.getBatches.submit(op)));
    this.parties = new PartyResolver(this.client, this.gets);
    this.incoming = new IncomingWriter(this.client, this.parties, this.gets);
    this.outgoing = new OutgoingReader(this.client, this.gets);
    this.deliveries = new Coalescer({ ...(one ?? BATCH_LIMITS), run: (emails) => this.incoming.deliver(emails) });
    this.changes = new Coalescer({ ...(one ?? BATCH_LIMITS), run: (changes) => this.applyChanges(changes) });
  }

  async test(signal?: AbortSignal): Promise<void> {
    // WhoAmI needs a valid token for this environment and an application user behind it.
    await this.client.get('WhoAmI', signal);
  }

  deliverIncoming(email: IncomingEmail): Promise<DeliveryResult> {
    return this.deliveries.submit(email);
  }

  async findEmailByMessageId(messageIds: string[]): Promise<string | undefined> {
    const wanted = [...new Set(messageIds.map(bareMessageId).filter(Boolean))];
    const chunks: string[][] = [];
    for (let i = 0; i < wanted.length; i += MESSAGE_IDS_PER_QUERY) chunks.push(wanted.slice(i, i + MESSAGE_IDS_PER_QUERY));
    const paths = chunks.map((chunk) => {
      const filter = chunk
        .flatMap(messageIdForms)
        .map((v) => `messageid eq ${odataString(v)}`)
        .join(' or ');
      return `emails?$select=activityid,messageid&$filter=${encodeURIComponent(filter)}`;
    });
    const results = await this.gets(paths.map((path) => ({ method: 'GET', path })));
    const byId = new Map<string, string>();
    results.forEach((r, i) => {
      for (const row of rowsOf<{ activityid: string; messageid?: string | null }>(this.client, r, paths[i]))
        if (row.messageid) byId.set(bareMessageId(row.messageid).toLowerCase(), row.activityid);
    });
    // The earliest id in the caller's order wins (In-Reply-To before References).
    return wanted.map((id) => byId.get(id.toLowerCase())).find(Boolean);
  }

  /** The outgoing email that carried this tracking token (SendEmail stores it in `trackingtoken`). */
  async findEmailByTrackingToken(token: string): Promise<string | undefined> {
    const filter = `trackingtoken eq ${odataString(token)} and directioncode eq ${DIRECTION_OUTGOING}`;
    const path = `emails?$select=activityid&$filter=${encodeURIComponent(filter)}&$orderby=${encodeURIComponent('createdon desc')}&$top=1`;
    const [r] = await this.gets([{ method: 'GET', path }]);
    return rowsOf<{ activityid: string }>(this.client, r, path)[0]?.activityid;
  }

  async lookupAddress(address: string): Promise<AddressLookup> {
    const owner = await this.parties.resolve(address);
    return { isCrmRecord: !!owner.crmRecord, isEmailEnabledRecord: !!(owner.crmRecord ?? owner.internal) };
  }

  async listPendingSend(mailboxAddress: string, limit: number): Promise<PendingEmail[]> {
    return (await this.outgoing.pendingFor([mailboxAddress], Math.max(1, Math.floor(limit)))).get(mailboxAddress.toLowerCase()) ?? [];
  }

  listPendingSendFor(mailboxAddresses: string[], limitPerMailbox: number): Promise<Map<string, PendingEmail[]>> {
    return this.outgoing.pendingFor(mailboxAddresses, Math.max(1, Math.floor(limitPerMailbox)));
  }

  fetchAttachment(_crmEmailId: string, attachment: OutgoingAttachment): Promise<Buffer> {
    return this.outgoing.attachment(attachment);
  }

  async markSending(crmEmailId: string, messageId: string): Promise<void> {
    return this.changes.submit({ id: recordId(crmEmailId), state: 'Sending', messageId });
  }

  async releaseSending(crmEmailId: string): Promise<void> {
    return this.changes.submit({ id: recordId(crmEmailId), state: 'PendingSend' });
  }

  async markSent(crmEmailId: string, messageId: string, sentAt: string): Promise<void> {
    return this.changes.submit({ id: recordId(crmEmailId), state: 'Sent', messageId, sentAt });
  }

  async markFailed(crmEmailId: string, reason: string, _message: string): Promise<void> {
    const id = recordId(crmEmailId);
    // The email table has no column for a failure reason: it is reported on the Mailbox and in
    // Events by the pipeline. A sent email is never turned into a failed one.
    await this.current(id, `mark it failed (${reason})`, [
      EMAIL_STATUS.PendingSend,
      EMAIL_STATUS.Sending,
      EMAIL_STATUS.Failed,
      EMAIL_STATUS.Draft,
    ]);
    await this.client.update('emails', id, { statecode: STATE_OF_STATUS[EMAIL_STATUS.Failed], statuscode: EMAIL_STATUS.Failed });
  }

  /**
   * The organization's tracking-token settings (System Settings, Email tab), so tokens are read
   * in Dynamics' own format: prefix (and earlier prefixes), deployment base, user digits, and
   * counter digits from the maximum tracking number (999: 3 digits).
   */
  async trackingTokenFormat(): Promise<TrackingTokenFormat | undefined> {
    const cached = this.tokenFormat.get('org');
    if (cached !== undefined) return cached ?? undefined;
    const [org] = await this.client.list<{
      trackingprefix?: string | null;
      trackingtokenidbase?: number | null;
      trackingtokeniddigits?: number | null;
      maximumtrackingnumber?: number | null;
    }>('organizations?$select=trackingprefix,trackingtokenidbase,trackingtokeniddigits,maximumtrackingnumber', 1);
    const prefixes = (org?.trackingprefix ?? '').split(/[,;|\s]+/).filter((p) => /^[A-Za-z0-9]+$/.test(p));
    const format: TrackingTokenFormat | null = prefixes.length
      ? {
          prefix: prefixes[0],
          previousPrefixes: prefixes.slice(1),
          deploymentBase: org?.trackingtokenidbase ?? 0,
          userDigits: org?.trackingtokeniddigits ?? 3,
          counterDigits: String(Math.max(1, org?.maximumtrackingnumber ?? 999)).length,
        }
      : null;
    this.tokenFormat.set('org', format);
    return format ?? undefined;
  }

  /**
   * Dynamics' own verdict (CheckIncomingEmail): the users' and queues' incoming filtering, the
   * tracking token, the recipients. "Duplicate" is delivered anyway: delivery is idempotent, and
   * a redelivery after a crash must count as delivered.
   */
  async checkIncoming(email: IncomingEmail): Promise<IncomingCheck> {
    const join = (ps: { address: string }[]) => ps.map((p) => p.address).join(';');
    const params: [string, string][] = [
      ['MessageId', `<${bareMessageId(email.messageId)}>`],
      ['Subject', email.subject],
      ['From', email.from?.address ?? ''],
      ['To', join(email.to)],
      ['Cc', join(email.cc)],
      ['Bcc', ''],
    ];
    const path = `CheckIncomingEmail(${params.map(([k], i) => `${k}=@p${i + 1}`).join(',')})?${params.map(([, v], i) => `@p${i + 1}=${encodeURIComponent(odataString(v))}`).join('&')}`;
    const [r] = await this.gets([{ method: 'GET', path }]);
    if (r.kind !== 'one' || r.response.status !== 200)
      throw r.kind === 'one'
        ? this.client.itemError(r.response, 'CheckIncomingEmail')
        : new CrmError('CRMError', 'Dynamics 365 $batch: CheckIncomingEmail was not processed; it is retried with back-off');
    const answer = r.response.body as { ShouldDeliver?: unknown; ReasonCode?: unknown } | undefined;
    const code = typeof answer?.ReasonCode === 'number' ? answer.ReasonCode : -1;
    const reason = CHECK_REASONS[code] ?? `ReasonCode ${code}`;
    return { deliver: answer?.ShouldDeliver === true || code === 0, reason };
  }

  /** The status changes of a batch, each as its own item (a change set for Sent); one result each. */
  private async applyChanges(changes: StatusChange[]): Promise<Array<void | Error>> {
    const items = changes.map((c) => {
      if (c.state === 'Sending') return this.outgoing.claim(c.id, c.messageId);
      if (c.state === 'Sent') return { changeSet: this.outgoing.sent(c.id, c.messageId, c.sentAt) };
      return {
        method: 'PATCH' as const,
        path: `emails(${c.id})`,
        headers: { 'if-match': '*' },
        body: { statecode: STATE_OF_STATUS[EMAIL_STATUS.PendingSend], statuscode: EMAIL_STATUS.PendingSend },
      };
    });
    const answers = await this.client.batch(items);
    return Promise.all(
      changes.map(async (c, i): Promise<void | Error> => {
        const r = c.state === 'Sent' ? changeSetResult(answers[i]) : answers[i];
        if (r.kind === 'committed' || (r.kind === 'one' && r.response.status < 300)) return undefined;
        if (r.kind === 'missing')
          return new CrmError(
            'CRMError',
            `Dynamics 365 $batch: the change of email ${c.id} was not processed; it is retried with back-off`,
          );
        if (c.state === 'Sending' && r.response.status === 412) {
          return new CrmError(
            'CRMRejected',
            `Dynamics 365: email ${c.id} changed in Dynamics after it was listed (HTTP 412); it is not claimed and is looked at again next cycle`,
          );
        }
        // Recorded as sent by an earlier attempt whose answer was lost: that is success.
        if (c.state === 'Sent' && r.response.status < 500 && (await this.statusOf(c.id)) === EMAIL_STATUS.Sent) return undefined;
        return this.client.itemError(r.response, `emails(${c.id})`);
      }),
    );
  }

  private async statusOf(id: string): Promise<number | null | undefined> {
    return (await this.client.get<{ statuscode?: number | null }>(`emails(${id})?$select=activityid,statuscode`)).statuscode;
  }

  /** The email's status, which must be one of `allowed` for `what` to make sense. */
  private async current(id: string, what: string, allowed: number[]): Promise<void> {
    const status = await this.statusOf(id);
    if (status == null || !allowed.includes(status)) {
      throw new CrmError('CRMRejected', `Dynamics 365: email ${id} has status reason ${statusName(status)}; cannot ${what}`);
    }
  }
}

/** The Web API base and the organization origin (the token audience) for spec.crm.url. */
export function dataverseUrls(url: string): { apiUrl: string; origin: string } {
  const trimmed = url.replace(/\/+$/, '');
  const origin = new URL(trimmed).origin;
  return { apiUrl: /\/api\/data\/v\d+(\.\d+)?$/.test(trimmed) ? trimmed : `${trimmed}/api/data/v9.2`, origin };
}

function statusName(status: number | null | undefined): string {
  const name = Object.entries(EMAIL_STATUS).find(([, v]) => v === status)?.[0];
  return name ? `${name} (${status})` : String(status);
}
