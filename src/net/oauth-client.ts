// The OAuth 2.0 client-credentials grant as a port: what a token source is built from and what it
// yields. mail/oauth.ts implements it against the Microsoft identity platform; the Dynamics 365
// connector (crm/) takes one from whoever wires it, so neither side imports the other.

/** What a client-credentials token source is built from (RFC 6749 §4.4). */
export interface ClientCredentialsRequest {
  /** Directory (tenant) id or verified domain, as in `https://login.microsoftonline.com/{tenant}`. */
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Resource scope, e.g. `https://graph.microsoft.com/.default` or `https://outlook.office365.com/.default`. */
  scope: string;
  /** Identity platform base URL: national clouds, ADFS-like deployments, tests. */
  authorityUrl?: string;
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
