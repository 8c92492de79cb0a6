// A fake Microsoft identity platform token endpoint (`/{tenant}/oauth2/v2.0/token`) for the
// client-credentials grant, answering as login.microsoftonline.com does: a JSON token response
// with a JWT-shaped access token, or an OAuth error (`invalid_client` with HTTP 401, ...).
// The Graph and EWS fakes ask it whether a bearer token is one it issued and still valid.
import { randomBytes } from 'node:crypto';
import { sendJson, startHttpsServer, type HttpsServer } from './https-server.js';
import { echoText } from './secret-encodings.js';

export interface FakeClient {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

export interface IssuedToken {
  clientId: string;
  tenantId: string;
  scope: string;
  expiresAt: number;
}

export interface FakeOAuthOptions {
  clients: FakeClient[];
  /** Token lifetime in seconds (`expires_in`). */
  expiresInSeconds?: number;
  /** Delay before answering, to let concurrent callers pile up. */
  delayMs?: number;
  /**
   * Echo the submitted client secret in error descriptions, in every encoding a server may use
   * (URL- and form-encoded, JSON \u escapes, ...): a badly behaved server, to prove that what a
   * server says never reaches a message and is redacted in debug logs.
   */
  echoSecretInErrors?: boolean;
}

export class FakeOAuth {
  /** Token requests received, successful or not. */
  requests = 0;
  expiresInSeconds: number;
  private readonly issued = new Map<string, IssuedToken>();

  private constructor(
    private readonly server: HttpsServer,
    private readonly options: FakeOAuthOptions,
  ) {
    this.expiresInSeconds = options.expiresInSeconds ?? 3599;
  }

  static async start(options: FakeOAuthOptions): Promise<FakeOAuth> {
    let fake: FakeOAuth | undefined;
    const server = await startHttpsServer((req, res, body) => fake!.handle(req.method ?? '', req.url ?? '', body, res));
    fake = new FakeOAuth(server, options);
    return fake;
  }

  /** The authority URL to configure (`https://127.0.0.1:<port>`). */
  get authorityUrl(): string {
    return this.server.origin;
  }

  get caPem(): string {
    return this.server.caPem;
  }

  /** What a bearer token was issued for, if this fake issued it and it has not expired. */
  validate(token: string): IssuedToken | undefined {
    const issued = this.issued.get(token);
    return issued && issued.expiresAt > Date.now() ? issued : undefined;
  }

  /** Makes every token issued so far invalid, as if revoked. */
  revokeAll(): void {
    this.issued.clear();
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async handle(method: string, url: string, body: string, res: Parameters<typeof sendJson>[0]): Promise<void> {
    this.requests++;
    if (this.options.delayMs) await new Promise((r) => setTimeout(r, this.options.delayMs));
    const match = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url);
    if (method !== 'POST' || !match) return sendJson(res, 404, { error: 'not_found' });
    const tenantId = decodeURIComponent(match[1]);
    const form = new URLSearchParams(body);
    if (!this.options.clients.some((c) => c.tenantId === tenantId)) {
      return sendJson(res, 400, { error: 'invalid_request', error_description: `AADSTS90002: Tenant '${tenantId}' not found.`, error_codes: [90002] });
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'AADSTS70003: The app requested an unsupported grant type.', error_codes: [70003] });
    }
    const clientId = form.get('client_id') ?? '';
    const secret = form.get('client_secret') ?? '';
    const client = this.options.clients.find((c) => c.tenantId === tenantId && c.clientId === clientId);
    if (!client || client.clientSecret !== secret) {
      const echo = this.options.echoSecretInErrors ? ` Secret received: ${echoText(secret)}.` : '';
      return sendJson(res, 401, {
        error: 'invalid_client',
        error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.${echo}\r\nTrace ID: ${randomBytes(8).toString('hex')}`,
        error_codes: [7000215],
      });
    }
    const scope = form.get('scope') ?? '';
    const token = jwtShaped({ aud: scope.replace(/\/\.default$/, ''), appid: clientId, tid: tenantId, jti: randomBytes(8).toString('hex') });
    this.issued.set(token, { clientId, tenantId, scope, expiresAt: Date.now() + this.expiresInSeconds * 1000 });
    sendJson(res, 200, { token_type: 'Bearer', expires_in: this.expiresInSeconds, ext_expires_in: this.expiresInSeconds, access_token: token });
  }
}

/** header.payload.signature, base64url: the shape of an Entra ID access token (not signed for real). */
function jwtShaped(payload: Record<string, unknown>): string {
  const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ typ: 'JWT', alg: 'RS256' })}.${part({ ...payload, iat: Math.floor(Date.now() / 1000) })}.${randomBytes(32).toString('base64url')}`;
}
