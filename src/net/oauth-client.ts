// The OAuth 2.0 client-credentials grant as a port: what a token source is built from and what it
// yields. mail/oauth.ts implements it against the Microsoft identity platform; the Dynamics 365
// connector (crm/) takes one from whoever wires it, so neither side imports the other.

/** The audience Microsoft Entra expects on a federated (workload identity) assertion. */
export const FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';

/** A certificate registered on the app registration, to sign client assertions with (RFC 7523). */
export interface CertificateCredential {
  /** The certificate registered on the app registration, PEM (a Secret's tls.crt). */
  certificatePem: string;
  /** Its RSA private key, PEM (tls.key). */
  privateKeyPem: string;
}

/** How an app registration proves who it is at the token endpoint, without a password where it can. */
export type ClientCredential =
  | { kind: 'secret'; secret: string }
  | ({ kind: 'certificate' } & CertificateCredential)
  /**
   * Workload identity federation: a token from another issuer (a Kubernetes ServiceAccount token),
   * which the app registration trusts by issuer, subject and audience. `source` names it in messages.
   */
  | { kind: 'federated'; assertion: () => Promise<string>; source: string };

/** What a client-credentials token source is built from (RFC 6749 §4.4). */
export interface ClientCredentialsRequest {
  /** Directory (tenant) id or verified domain, as in `https://login.microsoftonline.com/{tenant}`. */
  tenantId: string;
  clientId: string;
  /** The client secret: shorthand for `credential: { kind: 'secret', secret }`. */
  clientSecret?: string;
  credential?: ClientCredential;
  /** Resource scope, e.g. `https://graph.microsoft.com/.default` or `https://outlook.office365.com/.default`. */
  scope: string;
  /** Identity platform base URL: national clouds, ADFS-like deployments, tests. */
  authorityUrl?: string;
  /** The token endpoint itself, instead of `{authority}/{tenant}/oauth2/v2.0/token`. */
  tokenUrl?: string;
  /** Extra trusted CA (PEM) for the token endpoint. Verification stays on. */
  ca?: string;
  timeoutMs?: number;
}

/** Access tokens, cached and refreshed as needed. */
export interface TokenSource {
  getToken(): Promise<string>;
  /** Forgets the cached token (a server rejected it before its expiry). */
  invalidate(): void;
}

/** Builds a token source for a request. */
export type TokenSourceFactory = (request: ClientCredentialsRequest) => TokenSource;
