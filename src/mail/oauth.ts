// OAuth 2.0 access tokens from a token endpoint: the client-credentials grant (RFC 6749 §4.4), the
// app-only token Graph and Exchange use when one app registration serves every mailbox, with a
// client secret, a certificate or a federated token; and the refresh-token grant (§6), the
// delegated token of one user's mailbox (Gmail, Microsoft 365) over IMAP, POP3 and SMTP.
//
// Tokens are cached until shortly before they expire and refreshed by one request however many
// callers ask at once (a profile with a thousand mailboxes must not send a thousand token requests
// when the token runs out). Errors are MailErrors whose messages name the client id and the fix,
// and never contain the client secret or a token.
import { fetch } from 'undici';
import { FEDERATION_AUDIENCE, type ClientCredential, type ClientCredentialsRequest } from '../net/oauth-client.js';
import { protocolCode, redact, registerSecret, safeServerText } from '../util/redact.js';
import { certificateAssertion, JWT_BEARER } from './client-assertion.js';
import { classifyError } from './errors.js';
import { classifyHttpError } from './http-errors.js';
import { deadlineSignal, httpDispatcher, HttpResponseError } from '../net/http.js';
import { MailError, type FailureReason, type TokenProvider } from './types.js';

export const DEFAULT_AUTHORITY_URL = 'https://login.microsoftonline.com';
/** Google's token endpoint (refresh tokens of Gmail and Google Workspace accounts). */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
// The credential kinds are part of the client-credentials port (net/oauth-client.ts), which the
// Dynamics 365 connector takes too; re-exported for the mail side's callers.
export { FEDERATION_AUDIENCE, type ClientCredential } from '../net/oauth-client.js';

export interface ClientCredentialsOptions extends ClientCredentialsRequest {
  /** Fetch a new token this long before the current one expires (capped at half its lifetime). */
  refreshMarginMs?: number;
}

export interface RefreshTokenOptions {
  /** The token endpoint: Microsoft's `{authority}/{tenant}/oauth2/v2.0/token` or Google's. */
  tokenUrl: string;
  clientId: string;
  /** Confidential clients (Google web apps, Entra web apps); public clients send none. */
  clientSecret?: string;
  /** The refresh token a user's consent produced (kept in the Secret, key refreshToken). */
  refreshToken: string;
  /** Microsoft: the scopes asked for, e.g. `https://outlook.office.com/IMAP.AccessAsUser.All offline_access`. */
  scope?: string;
  /**
   * The provider answered with a new refresh token (Microsoft rotates them on every refresh): store
   * it, or the stored one ages until it expires. The new one is used from now on either way.
   */
  onRotated?: (refreshToken: string) => Promise<void>;
  ca?: string;
  timeoutMs?: number;
  refreshMarginMs?: number;
}

/** ClientCredentialsTokenProvider as a factory, the shape the CRM connectors take it in. */
export const clientCredentials = (options: ClientCredentialsOptions): ClientCredentialsTokenProvider =>
  new ClientCredentialsTokenProvider(options);

const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;

/** What the token endpoint answers (RFC 6749 §5.1 and §5.2). */
interface TokenResponse {
  access_token?: unknown;
  expires_in?: unknown;
  token_type?: unknown;
  refresh_token?: unknown;
  error?: unknown;
  error_description?: unknown;
  /** Microsoft identity platform: the AADSTS numbers of error_description. */
  error_codes?: unknown;
}

/**
 * An access token from an OAuth 2.0 token endpoint, cached until shortly before it expires and
 * fetched again by one request however many callers ask at once. Subclasses say which grant.
 */
abstract class TokenEndpointProvider implements TokenProvider {
  private token?: { value: string; refreshAt: number };
  private inFlight?: Promise<string>;

  constructor(
    readonly tokenUrl: string,
    private readonly http: { ca?: string; timeoutMs?: number; refreshMarginMs?: number },
  ) {}

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
   * permissions changed). The next getToken() asks the token endpoint again.
   */
  invalidate(): void {
    this.token = undefined;
  }

  /** The form of the token request (grant and client authentication). */
  protected abstract form(): Promise<Record<string, string>>;
  /** Values never to show: secrets, keys, assertions, refresh tokens. */
  protected abstract secrets(): string[];
  /** What to check when the endpoint rejects the client or the grant. */
  protected abstract rejectedHint(code: string | undefined): string;
  /** Who asks, for messages, e.g. `client id "..."`. */
  protected abstract who(): string;
  /** A successful answer: the grant may learn from it (a rotated refresh token). */
  protected async answered(_body: TokenResponse): Promise<void> {}

  private async requestToken(): Promise<string> {
    let body: TokenResponse;
    let status: number;
    let headers: HttpResponseError['headers'];
    let form: Record<string, string> | undefined;
    try {
      form = await this.form();
      const response = await fetch(this.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams(form).toString(),
        dispatcher: httpDispatcher(this.http.ca),
        signal: deadlineSignal(this.http.timeoutMs),
      });
      status = response.status;
      headers = response.headers;
      body = (await response.json().catch(() => ({}))) as TokenResponse;
    } catch (err) {
      throw classifyError(err, { protocol: 'OAuth token endpoint', server: this.tokenUrl, secrets: this.allSecrets(form) });
    }
    if (status >= 200 && status < 300 && typeof body.access_token === 'string' && body.access_token) {
      const value = body.access_token;
      registerSecret(value);
      const lifetimeMs = Math.max(0, Number(body.expires_in) || 0) * 1000;
      const margin = Math.min(this.http.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS, lifetimeMs / 2);
      this.token = { value, refreshAt: Date.now() + lifetimeMs - margin };
      await this.answered(body);
      return value;
    }
    throw this.tokenError(status, headers, body, form);
  }

  private allSecrets(form: Record<string, string> | undefined): string[] {
    return [...this.secrets(), ...(form?.client_assertion ? [form.client_assertion] : [])];
  }

  /**
   * Turns a refusal into a MailError that says which setting to fix. The message carries the
   * OAuth `error` code and the AADSTS numbers, not error_description: that is the server's free
   * text (it may echo the request), kept as serverText for debug logs.
   */
  private tokenError(
    status: number,
    headers: HttpResponseError['headers'],
    body: TokenResponse,
    form: Record<string, string> | undefined,
  ): MailError {
    const secrets = this.allSecrets(form);
    const code = protocolCode(body.error);
    const aadsts = Array.isArray(body.error_codes)
      ? body.error_codes.filter((n): n is number => Number.isInteger(n) && n > 0 && n < 1e8).map((n) => `AADSTS${n}`)
      : [];
    const said = code ? ` (${[code, ...aadsts.slice(0, 3)].join(' ')})` : ` (HTTP ${status})`;
    const serverText = typeof body.error_description === 'string' ? safeServerText(firstLine(body.error_description), secrets) : undefined;
    const where = `OAuth token endpoint ${this.tokenUrl}`;
    const fail = (reason: FailureReason, message: string) => new MailError(reason, redact(message, secrets), { serverText });
    switch (code) {
      case 'invalid_client':
      case 'unauthorized_client':
      case 'invalid_grant':
        return fail('AuthenticationFailed', `${where}: the identity platform rejected ${this.who()}${said}; ${this.rejectedHint(code)}`);
      case 'invalid_scope':
        return fail(
          'UnsupportedConfiguration',
          `${where}: the scope is not valid for ${this.who()}${said}; use the resource's ".default" scope and grant the application permissions`,
        );
      case 'invalid_request':
      case 'unsupported_grant_type':
        return fail(
          'UnsupportedConfiguration',
          `${where}: the token request was refused${said}; check the tenant id and the authority or token URL`,
        );
    }
    if (status === 404) {
      return fail(
        'UnsupportedConfiguration',
        `${where}: no token endpoint at this URL (HTTP 404); check the tenant id and the authority or token URL`,
      );
    }
    if (status >= 200 && status < 300) {
      return fail(
        'ProtocolError',
        `${where}: the answer holds no access_token; the URL may point at something other than an OAuth 2.0 token endpoint`,
      );
    }
    return classifyHttpError(
      new HttpResponseError(status, headers, code, typeof body.error_description === 'string' ? body.error_description : undefined),
      { protocol: 'OAuth token endpoint', server: this.tokenUrl, secrets },
    );
  }
}

/**
 * The client-credentials grant (RFC 6749 §4.4): an app-only token, the client authenticated by a
 * secret, a certificate (a signed assertion) or a federated token (workload identity).
 */
export class ClientCredentialsTokenProvider extends TokenEndpointProvider {
  private readonly credential: ClientCredential;

  constructor(private readonly options: ClientCredentialsOptions) {
    const authority = (options.authorityUrl ?? DEFAULT_AUTHORITY_URL).replace(/\/+$/, '');
    super(options.tokenUrl ?? `${authority}/${encodeURIComponent(options.tenantId)}/oauth2/v2.0/token`, options);
    const credential =
      options.credential ?? (options.clientSecret !== undefined ? { kind: 'secret' as const, secret: options.clientSecret } : undefined);
    if (!credential)
      throw new MailError(
        'UnsupportedConfiguration',
        `OAuth client "${options.clientId}": no client secret, certificate or federated credential`,
      );
    this.credential = credential;
    if (credential.kind === 'secret') registerSecret(credential.secret);
    if (credential.kind === 'certificate') registerSecret(credential.privateKeyPem);
  }

  protected async form(): Promise<Record<string, string>> {
    const { clientId, scope } = this.options;
    const base = { grant_type: 'client_credentials', client_id: clientId, scope };
    const c = this.credential;
    if (c.kind === 'secret') return { ...base, client_secret: c.secret };
    const assertion = c.kind === 'certificate' ? certificateAssertion(c, clientId, this.tokenUrl) : await c.assertion();
    registerSecret(assertion);
    return { ...base, client_assertion_type: JWT_BEARER, client_assertion: assertion };
  }

  protected secrets(): string[] {
    const c = this.credential;
    return c.kind === 'secret' ? [c.secret] : c.kind === 'certificate' ? [c.privateKeyPem] : [];
  }

  protected who(): string {
    return `client id "${this.options.clientId}"`;
  }

  protected rejectedHint(): string {
    switch (this.credential.kind) {
      case 'secret':
        return 'check clientId and clientSecret in the credentials Secret and that the secret has not expired';
      case 'certificate':
        return 'check that the certificate in the Secret (tls.crt) is uploaded to the app registration and has not expired, and that tls.key is its key';
      case 'federated':
        return `check the app registration's federated credential: issuer of the cluster's service account tokens, subject ${this.credential.source}, audience ${FEDERATION_AUDIENCE}`;
    }
  }
}

/**
 * The refresh-token grant (RFC 6749 §6): a delegated token for a user who consented once (Gmail,
 * Microsoft 365 mailboxes of users), renewed without a password. A rotated refresh token replaces
 * the old one at once and is handed to onRotated to be stored.
 */
export class RefreshTokenProvider extends TokenEndpointProvider {
  private refreshToken: string;

  constructor(private readonly options: RefreshTokenOptions) {
    super(options.tokenUrl, options);
    this.refreshToken = options.refreshToken;
    registerSecret(options.refreshToken);
    registerSecret(options.clientSecret);
  }

  protected async form(): Promise<Record<string, string>> {
    const { clientId, clientSecret, scope } = this.options;
    return {
      grant_type: 'refresh_token',
      refresh_token: this.refreshToken,
      client_id: clientId,
      ...(clientSecret ? { client_secret: clientSecret } : {}),
      ...(scope ? { scope } : {}),
    };
  }

  protected secrets(): string[] {
    return [this.refreshToken, this.options.refreshToken, ...(this.options.clientSecret ? [this.options.clientSecret] : [])];
  }

  protected who(): string {
    return `the refresh token of client id "${this.options.clientId}"`;
  }

  protected rejectedHint(code: string | undefined): string {
    return code === 'invalid_grant'
      ? 'the refresh token was revoked or has expired (a password change, a revoked consent, 90 days unused): sign in again and store the new refresh token in the Secret (key refreshToken)'
      : 'check clientId, and clientSecret in the Secret for a confidential client';
  }

  protected override async answered(body: TokenResponse): Promise<void> {
    if (typeof body.refresh_token !== 'string' || !body.refresh_token || body.refresh_token === this.refreshToken) return;
    this.refreshToken = body.refresh_token;
    registerSecret(this.refreshToken);
    await this.options.onRotated?.(this.refreshToken);
  }
}

function firstLine(text: string): string {
  return text.split(/\r?\n/)[0].trim();
}
