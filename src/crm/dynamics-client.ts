// A small Dataverse Web API (OData v4) client: bearer tokens from the client-credentials provider,
// the OData headers every request carries, paging through @odata.nextLink, and Dataverse's
// answers turned into CrmErrors (429 from the service protection limits becomes CRMThrottled with
// the Retry-After it sent). It knows nothing of emails; dynamics.ts does.
import { sameOrigin } from '../net/http.js';
import type { TokenSource } from '../net/oauth-client.js';
import { redact } from '../util/redact.js';
import { errorForStatus, type CrmCallContext } from './errors.js';
import { errorBody, errorFields, parseJson, sendCrmRequest, withoutQuery, type CrmHttpAnswer } from './request.js';
import { buildBatch, parseBatchResponse, type BatchItem, type BatchResponse, type BatchResult } from './dynamics-batch.js';
import { CrmError } from './types.js';

/** A failure the token source already classified (the client-credentials provider's MailError). */
interface ClassifiedFailure extends Error {
  reason: string;
  retryAfterMs?: number;
  serverText?: string;
}

const isClassified = (err: unknown): err is ClassifiedFailure =>
  err instanceof Error && typeof (err as { reason?: unknown }).reason === 'string';

export interface DataverseClientOptions {
  /** `https://org.crm.dynamics.com/api/data/v9.2` */
  apiUrl: string;
  tokens: TokenSource;
  timeoutMs: number;
  ca?: string;
  secrets: readonly string[];
  /** What to check when Dataverse refuses the token (401/403). */
  authHint: string;
  /** Records per page (Prefer: odata.maxpagesize); Dataverse allows up to 5,000. */
  pageSize: number;
  counter?: RequestCounter;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** A collection answer. */
interface Page<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

/** Asks Dataverse to add display names of lookups (`<lookup>@OData.Community.Display.V1.FormattedValue`). */
export const FORMATTED_VALUES = 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"';
/** Asks Dataverse to name the table a lookup points to (`<lookup>@Microsoft.Dynamics.CRM.lookuplogicalname`). */
export const LOOKUP_NAMES = 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"';

/** Operations per $batch request: Dataverse allows 1,000. */
export const MAX_BATCH_OPERATIONS = 1000;

/** Counts the HTTP requests a client sends (the benchmark's requests per email). */
export interface RequestCounter {
  count(method: string, path: string): void;
}

export class DataverseClient {
  constructor(private readonly options: DataverseClientOptions) {}

  get apiUrl(): string {
    return this.options.apiUrl;
  }

  /** GET one resource (`WhoAmI`, `emails(<id>)?$select=...`). */
  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    const url = `${this.options.apiUrl}/${path}`;
    return this.json<T>(await this.send('GET', url, undefined, {}, signal), [200], url);
  }

  /** GET a collection, following @odata.nextLink until `max` records or the end. */
  async list<T>(path: string, max: number, prefer: string[] = []): Promise<T[]> {
    const out: T[] = [];
    let url: string | undefined = `${this.options.apiUrl}/${path}`;
    const headers = { prefer: [`odata.maxpagesize=${Math.max(1, Math.min(this.options.pageSize, max))}`, ...prefer].join(',') };
    while (url && out.length < max) {
      const page: Page<T> = this.json<Page<T>>(await this.send('GET', url, undefined, headers), [200], url);
      out.push(...(page.value ?? []));
      url = page['@odata.nextLink'];
      // The token goes only where it was meant to go.
      if (url && !sameOrigin(url, this.options.apiUrl)) {
        throw new CrmError(
          'CRMError',
          `Dynamics 365 ${withoutQuery(this.options.apiUrl)}: a next-page link points to another server; refusing to follow it`,
        );
      }
    }
    return out.slice(0, max);
  }

  /** POST a new record; returns it as Dataverse stored it (Prefer: return=representation). */
  async create<T>(entitySet: string, body: Record<string, unknown>, select: string[]): Promise<T> {
    const url = `${this.options.apiUrl}/${entitySet}?$select=${select.join(',')}`;
    const res = await this.send('POST', url, JSON.stringify(body), { prefer: 'return=representation' });
    return this.json<T>(res, [200, 201], url);
  }

  /** POST to an action (`emails(<id>)/Microsoft.Dynamics.CRM.SendEmail`, `DownloadBlock`); its JSON answer, or undefined for 204. */
  async action<T>(path: string, body: Record<string, unknown>): Promise<T | undefined> {
    const url = `${this.options.apiUrl}/${path}`;
    const res = await this.send('POST', url, JSON.stringify(body));
    if (res.status === 204) return undefined;
    return this.json<T>(res, [200], url);
  }

  /**
   * Sends operations and change sets in one $batch request (dynamics-batch.ts), asking Dataverse to
   * go on after a failed item. A failure of the request as a whole (429 and its Retry-After, 401,
   * 5xx) throws as any request does; each item's own answer is the caller's to read (itemError).
   */
  async batch(items: BatchItem[]): Promise<BatchResult[]> {
    const url = `${this.options.apiUrl}/$batch`;
    const { contentType, body } = buildBatch(new URL(this.options.apiUrl).pathname, items);
    const res = await this.send('POST', url, body, { 'content-type': contentType, prefer: 'odata.continue-on-error' });
    this.check(res, [200], url);
    try {
      return parseBatchResponse(res.header('content-type'), res.text, items.length);
    } catch (err) {
      throw new CrmError(
        'CRMError',
        `Dynamics 365 ${withoutQuery(url)}: the $batch answer could not be read (${(err as Error).message}); it is retried with back-off`,
      );
    }
  }

  /** The CrmError an item of a batch answered, as the same request alone would have thrown. */
  itemError(r: BatchResponse, path: string): CrmError {
    const { code, message } = errorFields(r.body);
    return errorForStatus(
      { status: r.status, retryAfter: r.headers['retry-after'], code, text: message },
      this.context(`${this.options.apiUrl}/${path}`),
    );
  }

  /**
   * PATCH some columns of one record. Never creates: If-Match: * prevents an upsert; an ETag
   * instead updates only the version that was read (412 when it changed since).
   */
  async update(entitySet: string, id: string, body: Record<string, unknown>, ifMatch = '*'): Promise<void> {
    const url = `${this.options.apiUrl}/${entitySet}(${id})`;
    this.check(await this.send('PATCH', url, JSON.stringify(body), { 'if-match': ifMatch }), [204, 200], url);
  }

  /** Sends with a token; a 401 is retried once with a fresh token (it may have been revoked early). */
  async send(method: Method, url: string, body?: string, extra: Record<string, string> = {}, signal?: AbortSignal): Promise<CrmHttpAnswer> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.token();
      const headers: Record<string, string> = {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        'odata-maxversion': '4.0',
        'odata-version': '4.0',
        ...extra,
      };
      if (body !== undefined) headers['content-type'] ??= 'application/json; charset=utf-8';
      this.options.counter?.count(method, new URL(url).pathname);
      const res = await sendCrmRequest({ method, url, headers, body, ca: this.options.ca, signal }, this.context(url, token));
      if (res.status !== 401 || attempt > 0) return res;
      this.options.tokens.invalidate();
    }
  }

  /** Throws the CrmError for an answer whose status is not one of `ok`. */
  check(res: CrmHttpAnswer, ok: number[], url = this.options.apiUrl): void {
    if (ok.includes(res.status)) return;
    const { code, message } = errorBody(res.text);
    throw errorForStatus({ status: res.status, retryAfter: res.header('retry-after'), code, text: message }, this.context(url));
  }

  private json<T>(res: CrmHttpAnswer, ok: number[], url: string): T {
    this.check(res, ok, url);
    const body = parseJson(res.text);
    if (!body || typeof body !== 'object') {
      throw new CrmError(
        'CRMError',
        `Dynamics 365 ${withoutQuery(this.options.apiUrl)}: the answer is not JSON; spec.crm.url may not point at a Dataverse environment`,
      );
    }
    return body as T;
  }

  private async token(): Promise<string> {
    try {
      return await this.options.tokens.getToken();
    } catch (err) {
      throw tokenError(err, this.options.secrets);
    }
  }

  private context(url: string, token?: string): CrmCallContext {
    return {
      system: 'Dynamics 365',
      url: withoutQuery(url),
      timeoutMs: this.options.timeoutMs,
      secrets: token ? [...this.options.secrets, token] : this.options.secrets,
      authHint: this.options.authHint,
    };
  }
}

/** The token source's classified failure, in the CRM's vocabulary. */
export function tokenError(err: unknown, secrets: readonly string[]): CrmError {
  if (err instanceof CrmError) return err;
  if (!isClassified(err)) {
    // Not our error, so its message is free text: name its type only.
    const kind = err instanceof Error ? err.name : typeof err;
    return new CrmError('CRMError', `Dynamics 365 OAuth: unexpected error (${kind}); it is retried with back-off`, { cause: err });
  }
  // The provider's messages are already safe (codes and our words); only its hints are about
  // mail profiles, so a TLS failure gets the CRM's own fix.
  const said =
    err.reason === 'TLSError'
      ? `${err.message.replace(/; check the TLS mode.*$/, '')}; if the token endpoint uses a certificate from a private CA, add that CA to spec.crm.caBundle`
      : err.message;
  const message = redact(`Dynamics 365 ${said}`, secrets);
  const opts = { cause: err, serverText: err.serverText };
  switch (err.reason) {
    case 'AuthenticationFailed':
    case 'UnsupportedConfiguration':
      return new CrmError('CRMAuthenticationFailed', message, opts);
    case 'ServerUnreachable':
    case 'Timeout':
      return new CrmError('CRMUnreachable', message, opts);
    case 'TLSError':
      return new CrmError('CRMUnreachable', message, { ...opts, permanent: true });
    case 'Throttled':
      return new CrmError('CRMThrottled', message, { ...opts, retryAfterMs: err.retryAfterMs });
    default:
      return new CrmError('CRMError', message, opts);
  }
}
