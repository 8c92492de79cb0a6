// TLS client settings shared by the IMAP, POP3 and SMTP adapters. Verification is always on: the
// only knob is the endpoint's `ca`, which adds trust (a private CA) rather than removing checks.
import net from 'node:net';
import tls from 'node:tls';

/** What TLS settings and messages need to know of a server (mail's Endpoint is one). */
export interface TlsEndpoint {
  host: string;
  port: number;
  /** Extra trusted CA certificates (PEM); this only widens trust. */
  ca?: string;
  /** Full URL for HTTP-based protocols. */
  url?: string;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export interface ClientTlsOptions {
  rejectUnauthorized: true;
  servername?: string;
  /** Trust (Node's roots, plus the endpoint's ca) and TLS 1.2 as the minimum, built once per CA. */
  secureContext: tls.SecureContext;
}

// A secure context per distinct CA. Building one parses every root certificate (about 6 ms of
// CPU, measured): per connection that was a visible share of outgoing SMTP, whose pool reconnects
// every 100 messages. Few distinct CAs exist in a process (one per profile that sets one).
const contexts = new Map<string, tls.SecureContext>();

function secureContextFor(ca: string | undefined): tls.SecureContext {
  const key = ca ?? '';
  let ctx = contexts.get(key);
  if (!ctx) {
    // Setting `ca` replaces Node's bundled roots, so keep them: an extra CA widens trust only.
    ctx = tls.createSecureContext({ minVersion: 'TLSv1.2', ...(ca ? { ca: [...tls.rootCertificates, ca] } : {}) });
    contexts.set(key, ctx);
  }
  return ctx;
}

export function tlsOptionsFor(endpoint: TlsEndpoint): ClientTlsOptions {
  return {
    rejectUnauthorized: true,
    // SNI must not carry an IP address (RFC 6066); Node checks IPs against the certificate anyway.
    servername: net.isIP(endpoint.host) ? undefined : endpoint.host,
    secureContext: secureContextFor(endpoint.ca),
  };
}

/** `host:port`, for messages. */
export function describeEndpoint(endpoint: TlsEndpoint): string {
  return endpoint.url ?? `${net.isIPv6(endpoint.host) ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
}
