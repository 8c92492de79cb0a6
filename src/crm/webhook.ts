// The Webhook connector: the CrmConnector contract as plain HTTP+JSON, for any CRM that implements
// docs/crm-webhook.openapi.yaml. Every request carries `Authorization: Bearer <token>` and an
// `X-Mailsync-Signature` over its body (webhook-signature.ts), so the CRM can reject forgeries and
// replays. Idempotency lives on the CRM side: POST /incoming-emails is keyed on (mailbox,
// messageId) and answers 201 the first time, 200 with the same crmId afterwards.
//
// This connector is on the hot path of every incoming message: requests go over a shared
// keep-alive pool, the body is serialised once and signed as sent, and nothing is retried here
// (the pipelines retry with back-off, honouring CrmError.retryAfterMs).
import { registerSecret } from '../log/redact.js';
import { errorForStatus, type CrmCallContext } from './errors.js';
import { errorBody, parseJson, sendCrmRequest, withoutQuery, type CrmHttpAnswer } from './http.js';
import { CrmError, type AddressLookup, type CrmConnector, type DeliveryResult, type IncomingEmail, type PendingEmail } from './types.js';
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

type Method = 'GET' | 'POST';

export class WebhookConnector implements CrmConnector {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly authHint: string;
  private readonly authorization: string;

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

  async deliverIncoming(email: IncomingEmail): Promise<DeliveryResult> {
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
    if (!Array.isArray(emails) || !emails.every(isPendingEmail)) {
      throw this.malformed(path, 'an object with "emails", an array of pending emails each with "crmEmailId", "from", "to", "cc", "bcc" and "subject"');
    }
    return emails.slice(0, limit);
  }

  async markSending(crmEmailId: string, messageId: string): Promise<void> {
    await this.post(`/emails/${encodeURIComponent(crmEmailId)}/sending`, { crmEmailId, messageId });
  }

  async releaseSending(crmEmailId: string): Promise<void> {
    await this.post(`/emails/${encodeURIComponent(crmEmailId)}/release`, { crmEmailId });
  }

  async markSent(crmEmailId: string, messageId: string, sentAt: string): Promise<void> {
    await this.post(`/emails/${encodeURIComponent(crmEmailId)}/sent`, { crmEmailId, messageId, sentAt });
  }

  async markFailed(crmEmailId: string, reason: string, message: string): Promise<void> {
    await this.post(`/emails/${encodeURIComponent(crmEmailId)}/failed`, { crmEmailId, reason, message });
  }

  /** A state change: the id travels in the signed body too, so a signature binds to one email. */
  private async post(path: string, body: Record<string, string>): Promise<void> {
    const res = await this.send('POST', path, JSON.stringify(body));
    this.expect(res, path, [200, 204]);
  }

  private send(method: Method, pathAndQuery: string, body?: string, signal?: AbortSignal): Promise<CrmHttpAnswer> {
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

  private expect(res: CrmHttpAnswer, path: string, ok: number[]): void {
    if (ok.includes(res.status)) return;
    const { code, message } = errorBody(res.text);
    throw errorForStatus({ status: res.status, retryAfter: res.header('retry-after'), code, text: message }, this.context(`${this.baseUrl}${path}`));
  }

  private malformed(path: string, expected: string): CrmError {
    return new CrmError('CRMError', `CRM webhook ${this.baseUrl}${path}: the answer is not ${expected} (see docs/crm-webhook.openapi.yaml); it is retried with back-off`);
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

function isPendingEmail(v: unknown): v is PendingEmail {
  if (!v || typeof v !== 'object') return false;
  const e = v as Record<string, unknown>;
  const isParty = (p: unknown): boolean => !!p && typeof p === 'object' && typeof (p as { address?: unknown }).address === 'string';
  const parties = (p: unknown): boolean => Array.isArray(p) && p.every(isParty);
  const state = e.state === undefined || e.state === 'PendingSend' || e.state === 'Sending';
  return typeof e.crmEmailId === 'string' && isParty(e.from) && parties(e.to) && parties(e.cc) && parties(e.bcc) && typeof e.subject === 'string' && state;
}
