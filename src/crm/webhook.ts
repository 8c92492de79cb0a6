// The Webhook connector: the CrmConnector contract as plain HTTP+JSON, for any CRM that implements
// docs/crm-webhook.openapi.yaml. Every request carries `Authorization: Bearer <token>` and an
// `X-Mailsync-Signature` over its body (webhook-signature.ts), so the CRM can reject forgeries and
// replays. Idempotency lives on the CRM side: POST /incoming-emails is keyed on (mailbox,
// messageId) and answers 201 the first time, 200 with the same crmId afterwards.
//
// This connector is on the hot path of every incoming message: requests go over a shared
// keep-alive pool, the body is serialised once and signed as sent, and nothing is retried here
// (the pipelines retry with back-off, honouring CrmError.retryAfterMs).
//
// Batching: one HTTP request per message was the measured bottleneck, so deliverIncoming and the
// four state changes go through Coalescers (coalescer.ts) that gather the calls the pipelines
// already make concurrently into POST /incoming-emails/batch and POST /emails/status-changes.
// Callers see no difference: each call still settles with its own item's result, and a refused
// item fails with the same CrmError the single endpoint would give. A CRM without the batch
// endpoints (404/405) gets the single-item requests from then on.
import { Coalescer } from './coalescer.js';
import { redact, registerSecret } from '../util/redact.js';
import { errorForStatus, type CrmCallContext } from './errors.js';
import { errorBody, errorFields, parseJson, sendCrmRequest, withoutQuery, type CrmHttpAnswer } from './request.js';
import {
  CrmError,
  type AddressLookup,
  type CrmConnector,
  type DeliveryResult,
  type IncomingEmail,
  type OutgoingAttachment,
  type PendingEmail,
} from './types.js';
import { SIGNATURE_HEADER, signWebhookBody } from './webhook-signature.js';

export interface WebhookConnectorOptions {
  /** Base URL of the contract (spec.crm.url); endpoint paths are appended to it. */
  url: string;
  /** Bearer token (Secret key `token`). */
  token: string;
  /** HMAC key for X-Mailsync-Signature (Secret key `signingKey`). */
  signingKey: string;
  /** Per-request deadline (spec.crm.timeout). */
  timeoutMs?: number;
  /** Extra trusted CA (PEM) for an https URL; verification stays on. */
  ca?: string;
  /** How to name the credentials' Secret in messages, e.g. `Secret "crm-credentials"`. */
  secretName?: string;
  /** Clock for signatures (milliseconds since the epoch); tests move it. */
  now?: () => number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * 100 items is the contract's limit per batch. 4 batches in flight keep the CRM busy while the
 * next batch fills, without taking the whole connection pool (the callers' own concurrency, 16-32
 * per pipeline, is what fills the batches).
 */
const BATCH_LIMITS = { maxBatch: 100, maxInFlight: 4 };

/** Mailboxes per POST /pending-emails/query (the contract's limit). */
const MAILBOXES_PER_QUERY = 1000;
/** Per-mailbox listings at once when the CRM has no query endpoint. */
const LISTINGS_AT_ONCE = 8;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One item of POST /emails/status-changes: what the single endpoints /sending, /release, /sent, /failed mean. */
type StatusChange =
  | { crmEmailId: string; state: 'Sending'; messageId: string }
  | { crmEmailId: string; state: 'PendingSend' }
  | { crmEmailId: string; state: 'Sent'; messageId: string; sentAt: string }
  | { crmEmailId: string; state: 'Failed'; reason: string; message: string };

const SINGLE_CHANGE_PATH: Record<StatusChange['state'], string> = {
  Sending: 'sending',
  PendingSend: 'release',
  Sent: 'sent',
  Failed: 'failed',
};

/** A batch endpoint and how to read its per-item results. */
interface BatchEndpoint<I, R> {
  path: string;
  /** The request body's array: `{"<key>": [...items]}`. */
  key: string;
  /** Cleared for the connector's lifetime when the CRM answers 404/405: it has no such endpoint. */
  supported: boolean;
  /** Item statuses that mean success, as the single endpoint's. */
  ok: number[];
  /** A successful item's result, or the malformed-answer error when it is not what the contract says. */
  read: (result: Record<string, unknown>, status: number, index: number) => R | CrmError;
  /** The same item through the single-item endpoint. */
  one: (item: I) => Promise<R>;
}

export class WebhookConnector implements CrmConnector {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly authHint: string;
  private readonly authorization: string;
  private readonly incoming: BatchEndpoint<IncomingEmail, DeliveryResult> = {
    path: '/incoming-emails/batch',
    key: 'emails',
    supported: true,
    ok: [200, 201],
    read: (r, status, i) =>
      typeof r.crmId === 'string' && r.crmId
        ? { crmId: r.crmId, created: status === 201 }
        : this.malformed('/incoming-emails/batch', `an object with "results" whose item ${i} has a non-empty string "crmId"`),
    one: (email) => this.deliverOne(email),
  };
  private readonly changes: BatchEndpoint<StatusChange, void> = {
    path: '/emails/status-changes',
    key: 'changes',
    supported: true,
    ok: [200, 204],
    read: () => undefined,
    one: (change) => this.changeOne(change),
  };
  /** Optional endpoints, cleared for the connector's lifetime when the CRM answers 404/405. */
  private readonly optional = { pendingQuery: true, trackingTokenLookup: true };
  private readonly incomingBatches = new Coalescer<IncomingEmail, DeliveryResult>({
    ...BATCH_LIMITS,
    run: (emails) => this.sendBatch(this.incoming, emails),
  });
  private readonly changeBatches = new Coalescer<StatusChange, void>({
    ...BATCH_LIMITS,
    run: (changes) => this.sendBatch(this.changes, changes),
  });

  constructor(private readonly options: WebhookConnectorOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.authorization = `Bearer ${options.token}`;
    registerSecret(options.token);
    registerSecret(options.signingKey);
    const secret = options.secretName ?? 'the Secret named by spec.crm.credentialsSecretRef';
    this.authHint = `check keys "token" and "signingKey" in ${secret}: the CRM must accept this bearer token and verify X-Mailsync-Signature with this signing key (and its clock must be within 5 minutes of ours)`;
  }

  async test(signal?: AbortSignal): Promise<void> {
    const res = await this.send('GET', '/health', undefined, signal);
    if (res.status === 404) {
      throw new CrmError(
        'CRMError',
        `CRM webhook ${this.baseUrl}/health: HTTP 404 (no webhook contract endpoint here); check spec.crm.url: it is the base URL under which /health, /incoming-emails and the other endpoints of docs/crm-webhook.openapi.yaml live`,
        { permanent: true },
      );
    }
    this.expect(res, '/health', [200, 204]);
  }

  deliverIncoming(email: IncomingEmail): Promise<DeliveryResult> {
    return this.incoming.supported ? this.incomingBatches.submit(email) : this.deliverOne(email);
  }

  private async deliverOne(email: IncomingEmail): Promise<DeliveryResult> {
    const path = '/incoming-emails';
    const res = await this.send('POST', path, JSON.stringify(email));
    this.expect(res, path, [200, 201]);
    const crmId = (parseJson(res.text) as { crmId?: unknown } | undefined)?.crmId;
    if (typeof crmId !== 'string' || !crmId) throw this.malformed(path, 'an object with a non-empty string "crmId"');
    return { crmId, created: res.status === 201 };
  }

  async findEmailByMessageId(messageIds: string[]): Promise<string | undefined> {
    if (messageIds.length === 0) return undefined;
    const path = '/emails/lookup-by-message-id';
    const res = await this.send('POST', path, JSON.stringify({ messageIds }));
    this.expect(res, path, [200]);
    const id = (parseJson(res.text) as { crmEmailId?: unknown } | undefined)?.crmEmailId;
    if (id === null || id === undefined) return undefined;
    if (typeof id !== 'string') throw this.malformed(path, 'an object with "crmEmailId" a string or null');
    return id || undefined;
  }

  /**
   * POST /emails/lookup-by-tracking-token. Optional: a CRM without it resolves the `trackingToken`
   * of the incoming email itself, so 404/405 answers "not found" from then on.
   */
  async findEmailByTrackingToken(trackingToken: string): Promise<string | undefined> {
    if (!this.optional.trackingTokenLookup) return undefined;
    const path = '/emails/lookup-by-tracking-token';
    const res = await this.send('POST', path, JSON.stringify({ trackingToken }));
    if (res.status === 404 || res.status === 405) {
      this.optional.trackingTokenLookup = false;
      return undefined;
    }
    this.expect(res, path, [200]);
    const id = (parseJson(res.text) as { crmEmailId?: unknown } | undefined)?.crmEmailId;
    if (id === null || id === undefined) return undefined;
    if (typeof id !== 'string') throw this.malformed(path, 'an object with "crmEmailId" a string or null');
    return id || undefined;
  }

  async lookupAddress(address: string): Promise<AddressLookup> {
    const path = `/addresses/${encodeURIComponent(address)}`;
    const res = await this.send('GET', path);
    this.expect(res, path, [200]);
    const body = parseJson(res.text) as Partial<AddressLookup> | undefined;
    if (!body || typeof body.isCrmRecord !== 'boolean' || typeof body.isEmailEnabledRecord !== 'boolean') {
      throw this.malformed(path, 'an object with booleans "isCrmRecord" and "isEmailEnabledRecord"');
    }
    // A CRM record (contact, lead, account) is email-enabled by definition.
    return { isCrmRecord: body.isCrmRecord, isEmailEnabledRecord: body.isEmailEnabledRecord || body.isCrmRecord };
  }

  async listPendingSend(mailboxAddress: string, limit: number): Promise<PendingEmail[]> {
    const path = `/mailboxes/${encodeURIComponent(mailboxAddress)}/pending-emails`;
    const res = await this.send('GET', `${path}?limit=${Math.max(1, Math.floor(limit))}`);
    this.expect(res, path, [200]);
    const emails = (parseJson(res.text) as { emails?: unknown } | undefined)?.emails;
    if (!Array.isArray(emails) || !emails.every(isPendingEmail)) throw this.malformed(path, PENDING_EMAILS);
    return emails.slice(0, limit);
  }

  /**
   * POST /pending-emails/query for up to 1,000 mailboxes at a time. Optional: a CRM without it
   * (404/405) gets the per-mailbox listing, a few at a time, from then on.
   */
  async listPendingSendFor(mailboxAddresses: string[], limitPerMailbox: number): Promise<Map<string, PendingEmail[]>> {
    const out = new Map<string, PendingEmail[]>();
    const limit = Math.max(1, Math.floor(limitPerMailbox));
    const addresses = [...new Set(mailboxAddresses.map((a) => a.toLowerCase()))];
    const path = '/pending-emails/query';
    let i = 0;
    for (; i < addresses.length && this.optional.pendingQuery; i += MAILBOXES_PER_QUERY) {
      const chunk = addresses.slice(i, i + MAILBOXES_PER_QUERY);
      const res = await this.send('POST', path, JSON.stringify({ mailboxes: chunk, limit }));
      if (res.status === 404 || res.status === 405) {
        this.optional.pendingQuery = false;
        break;
      }
      this.expect(res, path, [200]);
      const found = (parseJson(res.text) as { mailboxes?: unknown } | undefined)?.mailboxes;
      const valid =
        Array.isArray(found) &&
        found.every(
          (m) =>
            !!m &&
            typeof m === 'object' &&
            typeof (m as { address?: unknown }).address === 'string' &&
            Array.isArray((m as { emails?: unknown }).emails) &&
            (m as { emails: unknown[] }).emails.every(isPendingEmail),
        );
      if (!valid)
        throw this.malformed(
          path,
          'an object with "mailboxes", an array of {"address", "emails"} where "emails" are pending emails as GET /mailboxes/{address}/pending-emails lists them',
        );
      for (const m of found as { address: string; emails: PendingEmail[] }[]) {
        const key = m.address.toLowerCase();
        if (chunk.includes(key) && m.emails.length) out.set(key, m.emails.slice(0, limit));
      }
    }
    // Without the query endpoint: one listing per mailbox, as before it existed.
    const rest = addresses.slice(i);
    for (let j = 0; j < rest.length; j += LISTINGS_AT_ONCE) {
      const lists = await Promise.all(rest.slice(j, j + LISTINGS_AT_ONCE).map((a) => this.listPendingSend(a, limit)));
      lists.forEach((emails, k) => emails.length && out.set(rest[j + k], emails));
    }
    return out;
  }

  /** GET /emails/{crmEmailId}/attachments/{attachmentId}: the bytes as they are. */
  async fetchAttachment(crmEmailId: string, attachment: OutgoingAttachment): Promise<Buffer> {
    if (!attachment.attachmentId)
      throw new CrmError(
        'CRMRejected',
        `CRM webhook: attachment "${attachment.filename}" of email ${crmEmailId} has neither "contentBase64" nor "attachmentId"`,
      );
    const path = `/emails/${encodeURIComponent(crmEmailId)}/attachments/${encodeURIComponent(attachment.attachmentId)}`;
    const res = await this.send('GET', path);
    this.expect(res, path, [200]);
    return res.bytes;
  }

  markSending(crmEmailId: string, messageId: string): Promise<void> {
    return this.change({ crmEmailId, state: 'Sending', messageId });
  }

  releaseSending(crmEmailId: string): Promise<void> {
    return this.change({ crmEmailId, state: 'PendingSend' });
  }

  markSent(crmEmailId: string, messageId: string, sentAt: string): Promise<void> {
    return this.change({ crmEmailId, state: 'Sent', messageId, sentAt });
  }

  markFailed(crmEmailId: string, reason: string, message: string): Promise<void> {
    return this.change({ crmEmailId, state: 'Failed', reason, message });
  }

  private change(change: StatusChange): Promise<void> {
    return this.changes.supported ? this.changeBatches.submit(change) : this.changeOne(change);
  }

  /**
   * A state change through its single endpoint: the body is the change without `state` (the path
   * says it), and the id travels in the signed body too, so a signature binds to one email.
   */
  private async changeOne(change: StatusChange): Promise<void> {
    const { state, ...body } = change;
    const path = `/emails/${encodeURIComponent(change.crmEmailId)}/${SINGLE_CHANGE_PATH[state]}`;
    const res = await this.send('POST', path, JSON.stringify(body));
    this.expect(res, path, [200, 204]);
  }

  /**
   * One batch of a Coalescer: one result or CrmError per item, in order.
   *
   * A batch of one item uses the single endpoint: a trickle keeps its latency and the old wire
   * format, and a CRM without batch endpoints sees nothing new until there is load.
   *
   * A failure of the whole request rejects every item with the error the single endpoint would
   * have given (401/403, 408, 429, 5xx, transport), except a refusal of the request as a whole
   * (another 4xx): that is not a verdict on each item (a CRM may refuse a whole batch because of
   * one bad item, or its size with 413), and failing them all as CRMRejected would make the
   * pipeline drop good messages for good. Those items are sent one by one instead, so each gets
   * its own answer; 404 and 405 also mean the CRM has no such endpoint, which is remembered.
   */
  private async sendBatch<I, R>(endpoint: BatchEndpoint<I, R>, items: I[]): Promise<Array<R | Error>> {
    if (items.length === 1 || !endpoint.supported) return this.oneByOne(endpoint, items);
    const { path } = endpoint;
    const res = await this.send('POST', path, JSON.stringify({ [endpoint.key]: items }));
    if (res.status !== 200) {
      const err = this.statusError(res.status, res.header('retry-after'), errorBody(res.text), path);
      if (err.reason !== 'CRMRejected') throw err;
      if (res.status === 404 || res.status === 405) endpoint.supported = false;
      return this.oneByOne(endpoint, items);
    }
    const results = (parseJson(res.text) as { results?: unknown } | undefined)?.results;
    if (!Array.isArray(results) || results.length !== items.length) {
      throw this.malformed(path, `an object with "results", an array of ${items.length} results in the order of the request`);
    }
    return results.map((r: unknown, i) => {
      const status = (r as { status?: unknown } | null)?.status;
      if (typeof r !== 'object' || r === null || typeof status !== 'number')
        return this.malformed(path, `an object with "results" whose item ${i} is an object with a numeric "status"`);
      if (endpoint.ok.includes(status)) return endpoint.read(r as Record<string, unknown>, status, i);
      return this.statusError(status, undefined, errorFields(r), path);
    });
  }

  private oneByOne<I, R>(endpoint: BatchEndpoint<I, R>, items: I[]): Promise<Array<R | Error>> {
    return Promise.all(
      items.map((item) => endpoint.one(item).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))))),
    );
  }

  protected send(method: Method, pathAndQuery: string, body?: string, signal?: AbortSignal): Promise<CrmHttpAnswer> {
    const raw = body ?? '';
    const headers: Record<string, string> = {
      authorization: this.authorization,
      accept: 'application/json',
      [SIGNATURE_HEADER]: signWebhookBody(raw, this.options.signingKey, this.options.now?.() ?? Date.now()),
    };
    if (body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    const url = `${this.baseUrl}${pathAndQuery}`;
    return sendCrmRequest({ method, url, headers, body, ca: this.options.ca, signal }, this.context(url));
  }

  protected expect(res: CrmHttpAnswer, path: string, ok: number[]): void {
    if (ok.includes(res.status)) return;
    throw this.statusError(res.status, res.header('retry-after'), errorBody(res.text), path);
  }

  /** What a status the connector does not accept means, for a whole answer or one batch item. */
  private statusError(
    status: number,
    retryAfter: string | undefined,
    { code, message }: { code?: string; message?: string },
    path: string,
  ): CrmError {
    return errorForStatus({ status, retryAfter, code, text: message }, this.context(`${this.baseUrl}${path}`));
  }

  protected malformed(path: string, expected: string): CrmError {
    const ctx = this.context(`${this.baseUrl}${path}`);
    return new CrmError(
      'CRMError',
      redact(
        `${ctx.system} ${ctx.url}: the answer is not ${expected} (see docs/crm-webhook.openapi.yaml); it is retried with back-off`,
        ctx.secrets,
      ),
    );
  }

  private context(url: string): CrmCallContext {
    return {
      system: 'CRM webhook',
      url: withoutQuery(url),
      timeoutMs: this.timeoutMs,
      secrets: [this.options.token, this.options.signingKey],
      authHint: this.authHint,
    };
  }
}

const PENDING_EMAILS =
  'an object with "emails", an array of pending emails each with "crmEmailId", "from", "to", "cc", "bcc", "subject" and, if any, "attachments" with "filename", "contentType", "size" and "contentBase64" or "attachmentId"';

function isAttachment(v: unknown): boolean {
  if (!v || typeof v !== 'object') return false;
  const a = v as Record<string, unknown>;
  const content = typeof a.contentBase64 === 'string' || (a.contentBase64 === undefined && typeof a.attachmentId === 'string');
  return (
    typeof a.filename === 'string' && typeof a.contentType === 'string' && Number.isInteger(a.size) && (a.size as number) >= 0 && content
  );
}

function isPendingEmail(v: unknown): v is PendingEmail {
  if (!v || typeof v !== 'object') return false;
  const e = v as Record<string, unknown>;
  const isParty = (p: unknown): boolean => !!p && typeof p === 'object' && typeof (p as { address?: unknown }).address === 'string';
  const parties = (p: unknown): boolean => Array.isArray(p) && p.every(isParty);
  const state = e.state === undefined || e.state === 'PendingSend' || e.state === 'Sending';
  const attachments = e.attachments === undefined || (Array.isArray(e.attachments) && e.attachments.every(isAttachment));
  return (
    typeof e.crmEmailId === 'string' &&
    isParty(e.from) &&
    parties(e.to) &&
    parties(e.cc) &&
    parties(e.bcc) &&
    typeof e.subject === 'string' &&
    state &&
    attachments
  );
}
