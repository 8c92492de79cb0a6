// A fake OAuth 2.0 token endpoint answering as login.microsoftonline.com (`/{tenant}/oauth2/v2.0/token`)
// and Google (`/token`) do: a JSON token response with a JWT-shaped access token, or an OAuth error
// (`invalid_client` with HTTP 401, `invalid_grant`, ...). It checks what the real ones check:
//   - client_credentials with a client secret;
//   - client_credentials with a client assertion (RFC 7523): a certificate's signed JWT (the
//     signature with the registered certificate, the audience = this token URL, issuer and subject
//     = the client id, the lifetime), or a federated token (workload identity: the signature with
//     the issuer's key, the issuer, the subject and the audience of the app's federated credential);
//   - refresh_token, issuing a new refresh token each time (as Microsoft does) and, with
//     `rotation: 'strict'`, refusing the old one afterwards, so only a stored rotation keeps working.
// The Graph and EWS fakes ask it whether a bearer token is one it issued and still valid; Dovecot
// asks its introspection endpoint (RFC 7662), served over plain HTTP on loopback.
import { createPublicKey, randomBytes, verify, X509Certificate, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson, startHttpsServer, type HttpsServer } from './https-server.js';
import { echoText } from './secret-encodings.js';

export interface FakeClient {
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  /** A certificate uploaded to the app registration (PEM): client assertions signed with its key pass. */
  certificatePem?: string;
  /** A federated credential: tokens of this issuer, subject and audience, signed with `issuerKeyPem`, pass. */
  federated?: { issuer: string; subject: string; audience: string; issuerKeyPem: string };
}

/** A user's consent: the refresh token a client holds for a mailbox. */
export interface FakeConsent {
  clientId: string;
  /** Confidential clients must also send their secret. */
  clientSecret?: string;
  username: string;
  refreshToken: string;
}

export interface IssuedToken {
  clientId: string;
  tenantId: string;
  scope: string;
  expiresAt: number;
  /** Delegated tokens: the user whose mailbox the token opens. */
  username?: string;
  /** How the client proved itself: secret, certificate, federated, or refresh. */
  via: 'secret' | 'certificate' | 'federated' | 'refresh';
}

export interface FakeOAuthOptions {
  clients: FakeClient[];
  /** Refresh tokens users' consent produced. */
  consents?: FakeConsent[];
  /** strict: a refresh token is refused once it was exchanged (its successor must be used). */
  rotation?: 'strict' | 'lenient';
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
  /** Successful grants by kind, in order. */
  readonly grants: IssuedToken['via'][] = [];
  expiresInSeconds: number;
  private readonly issued = new Map<string, IssuedToken>();
  /** Live refresh tokens, each to its consent. */
  private readonly refreshTokens = new Map<string, FakeConsent>();
  private introspection?: http.Server;

  private constructor(
    private readonly server: HttpsServer,
    private readonly options: FakeOAuthOptions,
  ) {
    this.expiresInSeconds = options.expiresInSeconds ?? 3599;
    for (const c of options.consents ?? []) this.refreshTokens.set(c.refreshToken, c);
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

  /** The introspection endpoint (RFC 7662) on plain HTTP, for Dovecot's oauth2 passdb; started once. */
  async introspectionUrl(): Promise<string> {
    if (!this.introspection) {
      const server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const token = new URLSearchParams(body).get('token') ?? '';
          const issued = this.validate(token);
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify(
              issued?.username
                ? { active: 'true', username: issued.username, client_id: issued.clientId, exp: Math.floor(issued.expiresAt / 1000) }
                : { active: 'false' },
            ),
          );
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      this.introspection = server;
    }
    return `http://127.0.0.1:${(this.introspection.address() as AddressInfo).port}/introspect`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.introspection ? this.introspection.close(() => resolve()) : resolve()));
    return this.server.close();
  }

  private async handle(method: string, url: string, body: string, res: Parameters<typeof sendJson>[0]): Promise<void> {
    this.requests++;
    if (this.options.delayMs) await new Promise((r) => setTimeout(r, this.options.delayMs));
    const match = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url);
    const google = url === '/token';
    if (method !== 'POST' || (!match && !google)) return sendJson(res, 404, { error: 'not_found' });
    const form = new URLSearchParams(body);
    if (form.get('grant_type') === 'refresh_token') return this.refresh(form, res);
    if (google) return sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'Only refresh tokens here.' });
    const tenantId = decodeURIComponent(match![1]);
    if (!this.options.clients.some((c) => c.tenantId === tenantId)) {
      return sendJson(res, 400, {
        error: 'invalid_request',
        error_description: `AADSTS90002: Tenant '${tenantId}' not found.`,
        error_codes: [90002],
      });
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return sendJson(res, 400, {
        error: 'unsupported_grant_type',
        error_description: 'AADSTS70003: The app requested an unsupported grant type.',
        error_codes: [70003],
      });
    }
    const clientId = form.get('client_id') ?? '';
    const secret = form.get('client_secret') ?? '';
    const client = this.options.clients.find((c) => c.tenantId === tenantId && c.clientId === clientId);
    const assertion = form.get('client_assertion');
    if (client && assertion !== null) {
      const tokenUrl = `${this.server.origin}${url}`;
      const why =
        form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
          ? 'AADSTS50027: Invalid client_assertion_type.'
          : this.checkAssertion(client, assertion, tokenUrl);
      if (why)
        return sendJson(res, 401, {
          error: 'invalid_client',
          error_description: why,
          error_codes: [Number(/AADSTS(\d+)/.exec(why)?.[1] ?? 700027)],
        });
      return this.issue(res, {
        clientId,
        tenantId,
        scope: form.get('scope') ?? '',
        via: decodeJwt(assertion)?.header.x5t !== undefined ? 'certificate' : 'federated',
      });
    }
    if (!client || client.clientSecret === undefined || client.clientSecret !== secret) {
      const echo = this.options.echoSecretInErrors ? ` Secret received: ${echoText(secret)}.` : '';
      return sendJson(res, 401, {
        error: 'invalid_client',
        error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.${echo}\r\nTrace ID: ${randomBytes(8).toString('hex')}`,
        error_codes: [7000215],
      });
    }
    this.issue(res, { clientId, tenantId, scope: form.get('scope') ?? '', via: 'secret' });
  }

  private issue(res: Parameters<typeof sendJson>[0], grant: Omit<IssuedToken, 'expiresAt'>, extra: Record<string, unknown> = {}): void {
    const token = jwtShaped({
      aud: grant.scope.replace(/\/\.default$/, ''),
      appid: grant.clientId,
      tid: grant.tenantId,
      ...(grant.username ? { upn: grant.username } : {}),
      jti: randomBytes(8).toString('hex'),
    });
    this.issued.set(token, { ...grant, expiresAt: Date.now() + this.expiresInSeconds * 1000 });
    this.grants.push(grant.via);
    sendJson(res, 200, {
      token_type: 'Bearer',
      expires_in: this.expiresInSeconds,
      ext_expires_in: this.expiresInSeconds,
      access_token: token,
      ...extra,
    });
  }

  /** The refresh-token grant: a delegated token and, every time, a new refresh token. */
  private refresh(form: URLSearchParams, res: Parameters<typeof sendJson>[0]): void {
    const consent = this.refreshTokens.get(form.get('refresh_token') ?? '');
    if (
      !consent ||
      consent.clientId !== form.get('client_id') ||
      (consent.clientSecret !== undefined && consent.clientSecret !== form.get('client_secret'))
    ) {
      return sendJson(res, 400, {
        error: 'invalid_grant',
        error_description: 'AADSTS70008: The provided authorization code or refresh token has expired or been revoked.',
        error_codes: [70008],
      });
    }
    const next = `rt-${randomBytes(24).toString('base64url')}`;
    this.refreshTokens.set(next, { ...consent, refreshToken: next });
    if (this.options.rotation === 'strict') this.refreshTokens.delete(consent.refreshToken);
    this.issue(
      res,
      {
        clientId: consent.clientId,
        tenantId: 'consumers',
        scope: form.get('scope') ?? 'https://outlook.office.com/.default',
        username: consent.username,
        via: 'refresh',
      },
      { refresh_token: next },
    );
  }

  /** Why a client assertion is refused, as Entra says it (AADSTS codes), or undefined when it passes. */
  private checkAssertion(client: FakeClient, assertion: string, tokenUrl: string): string | undefined {
    const jwt = decodeJwt(assertion);
    if (!jwt) return 'AADSTS50027: JWT token is invalid or malformed.';
    const now = Math.floor(Date.now() / 1000);
    const exp = Number(jwt.payload.exp);
    if (!(exp > now)) return 'AADSTS700024: Client assertion is not within its valid time range.';
    const audiences = ([] as unknown[]).concat(jwt.payload.aud);
    if (jwt.header.x5t !== undefined) {
      // A certificate's assertion: signed with the registered certificate, for this endpoint, by the client itself.
      if (!client.certificatePem)
        return 'AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.';
      const cert = new X509Certificate(client.certificatePem);
      if (Buffer.from(String(jwt.header.x5t), 'base64url').toString('hex') !== cert.fingerprint.replace(/:/g, '').toLowerCase()) {
        return 'AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.';
      }
      if (!jwt.verify(cert.publicKey)) return 'AADSTS700027: Client assertion failed signature validation.';
      if (!audiences.includes(tokenUrl)) return `AADSTS700016: Invalid audience in the client assertion; expected ${tokenUrl}.`;
      if (jwt.payload.iss !== client.clientId || jwt.payload.sub !== client.clientId)
        return 'AADSTS700023: Client assertion issuer or subject is not the client id.';
      return undefined;
    }
    // A federated token: the trusted issuer signed it, for the subject and audience the app trusts.
    const f = client.federated;
    if (!f) return 'AADSTS700213: No matching federated identity record found for presented assertion.';
    if (!jwt.verify(createPublicKey(f.issuerKeyPem)))
      return 'AADSTS700211: No matching federated identity record found for presented assertion issuer (signature).';
    if (jwt.payload.iss !== f.issuer)
      return `AADSTS700211: No matching federated identity record found for presented assertion issuer '${String(jwt.payload.iss)}'.`;
    if (jwt.payload.sub !== f.subject)
      return `AADSTS700213: No matching federated identity record found for presented assertion subject '${String(jwt.payload.sub)}'.`;
    if (!audiences.includes(f.audience))
      return `AADSTS700212: No matching federated identity record found for presented assertion audience '${audiences.join(',')}'.`;
    return undefined;
  }
}

/** A JWT's parts, and a check of its RS256 signature. */
function decodeJwt(
  token: string,
): { header: Record<string, unknown>; payload: Record<string, unknown>; verify: (key: KeyObject) => boolean } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const [header, payload] = parts.slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>);
    return {
      header,
      payload,
      verify: (key) =>
        header.alg === 'RS256' && verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2], 'base64url')),
    };
  } catch {
    return undefined;
  }
}

/** header.payload.signature, base64url: the shape of an Entra ID access token (not signed for real). */
function jwtShaped(payload: Record<string, unknown>): string {
  const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ typ: 'JWT', alg: 'RS256' })}.${part({ ...payload, iat: Math.floor(Date.now() / 1000) })}.${randomBytes(32).toString('base64url')}`;
}
