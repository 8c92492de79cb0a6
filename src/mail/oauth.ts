// OAuth 2.0 client-credentials grant (RFC 6749 §4.4) against the Microsoft identity platform:
// the app-only token Graph and Exchange use when one app registration serves every mailbox.
//
// Tokens are cached until shortly before they expire and refreshed by one request however many
// callers ask at once (a profile with a thousand mailboxes must not send a thousand token requests
// when the token runs out). Errors are MailErrors whose messages name the client id and the fix,
// and never contain the client secret or a token.
import { fetch } from 'undici';
import type { ClientCredentialsRequest } from '../net/oauth-client.js';
import { protocolCode, redact, safeServerText } from '../util/redact.js';
import { classifyError } from './errors.js';
import { classifyHttpError } from './http-errors.js';
import { deadlineSignal, httpDispatcher, HttpResponseError } from '../net/http.js';
import { MailError, type FailureReason, type TokenProvider } from './types.js';

export const DEFAULT_AUTHORITY_URL = 'https://login.microsoftonline.com';

export interface ClientCredentialsOptions extends ClientCredentialsRequest {
  /** Fetch a new token this long before the current one expires (capped at half its lifetime). */
  refreshMarginMs?: number;
}

/** ClientCredentialsTokenProvider as a factory, the shape the CRM connectors take it in. */
export const clientCredentials = (options: ClientCredentialsOptions): ClientCredentialsTokenProvider => new ClientCredentialsTokenProvider(options);

const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;

/** What the token endpoint answers (RFC 6749 §5.1 and §5.2). */
interface TokenResponse {
  access_token?: unknown;
  expires_in?: unknown;
  token_type?: unknown;
  error?: unknown;
  error_description?: unknown;
  /** Microsoft identity platform: the AADSTS numbers of error_description. */
  error_codes?: unknown;
}

export class ClientCredentialsTokenProvider implements TokenProvider {
  readonly tokenUrl: string;
  private token?: { value: string; refreshAt: number };
  private inFlight?: Promise<string>;

  constructor(private readonly options: ClientCredentialsOptions) {
    const authority = (options.authorityUrl ?? DEFAULT_AUTHORITY_URL).replace(/\/+$/, '');
    this.tokenUrl = `${authority}/${encodeURIComponent(options.tenantId)}/oauth2/v2.0/token`;
  }

  /** A valid access token: the cached one, or a fresh one shared by everyone who asks meanwhile. */
  getToken(): Promise<string> {
    if (this.token && Date.now() < this.token.refreshAt) return Promise.resolve(this.token.value);
    this.inFlight ??= this.requestToken().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Forgets the cached token, for when a resource server rejected it before its expiry (revoked,
   * permissions changed). The next getToken() asks the identity platform again.
   */
  invalidate(): void {
    this.token = undefined;
  }

  private async requestToken(): Promise<string> {
    const { clientId, clientSecret, scope } = this.options;
    const secrets = [clientSecret];
    let body: TokenResponse;
    let status: number;
    let headers: HttpResponseError['headers'];
    try {
      const response = await fetch(this.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope }).toString(),
        dispatcher: httpDispatcher(this.options.ca),
        signal: deadlineSignal(this.options.timeoutMs),
      });
      status = response.status;
      headers = response.headers;
      body = (await response.json().catch(() => ({}))) as TokenResponse;
    } catch (err) {
      throw classifyError(err, { protocol: 'OAuth token endpoint', server: this.tokenUrl, secrets });
    }
    if (status >= 200 && status < 300 && typeof body.access_token === 'string' && body.access_token) {
      const value = body.access_token;
      const lifetimeMs = Math.max(0, Number(body.expires_in) || 0) * 1000;
      const margin = Math.min(this.options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS, lifetimeMs / 2);
      this.token = { value, refreshAt: Date.now() + lifetimeMs - margin };
      return value;
    }
    throw this.tokenError(status, headers, body);
  }

  /**
   * Turns a refusal into a MailError that says which setting to fix. The message carries the
   * OAuth `error` code and the AADSTS numbers, not error_description: that is the server's free
   * text (it may echo the request), kept as serverText for debug logs.
   */
  private tokenError(status: number, headers: HttpResponseError['headers'], body: TokenResponse): MailError {
    const secrets = [this.options.clientSecret];
    const code = protocolCode(body.error);
    const aadsts = Array.isArray(body.error_codes) ? body.error_codes.filter((n): n is number => Number.isInteger(n) && n > 0 && n < 1e8).map((n) => `AADSTS${n}`) : [];
    const said = code ? ` (${[code, ...aadsts.slice(0, 3)].join(' ')})` : ` (HTTP ${status})`;
    const serverText = typeof body.error_description === 'string' ? safeServerText(firstLine(body.error_description), secrets) : undefined;
    const where = `OAuth token endpoint ${this.tokenUrl}`;
    const client = `client id "${this.options.clientId}"`;
    const fail = (reason: FailureReason, message: string) => new MailError(reason, redact(message, secrets), { serverText });
    switch (code) {
      case 'invalid_client':
      case 'unauthorized_client':
      case 'invalid_grant':
        return fail('AuthenticationFailed', `${where}: the identity platform rejected ${client}${said}; check clientId and clientSecret in the credentials Secret and that the secret has not expired`);
      case 'invalid_scope':
        return fail('UnsupportedConfiguration', `${where}: scope "${this.options.scope}" is not valid for ${client}${said}; use the resource's ".default" scope and grant the application permissions`);
      case 'invalid_request':
      case 'unsupported_grant_type':
        return fail('UnsupportedConfiguration', `${where}: the token request was refused${said}; check the tenant id "${this.options.tenantId}" and the authority URL`);
    }
    if (status === 404) {
      return fail('UnsupportedConfiguration', `${where}: no token endpoint at this URL (HTTP 404); check the tenant id "${this.options.tenantId}" and the authority URL`);
    }
    if (status >= 200 && status < 300) {
      return fail('ProtocolError', `${where}: the answer holds no access_token; the authority URL may point at something other than an OAuth 2.0 token endpoint`);
    }
    return classifyHttpError(new HttpResponseError(status, headers, code, typeof body.error_description === 'string' ? body.error_description : undefined), { protocol: 'OAuth token endpoint', server: this.tokenUrl, secrets });
  }
}

function firstLine(text: string): string {
  return text.split(/\r?\n/)[0].trim();
}
