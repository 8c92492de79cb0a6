// TLS client settings shared by the IMAP, POP3 and SMTP adapters. Verification is always on: the
// only knob is Endpoint.ca, which adds trust (a private CA) rather than removing checks.
import net from 'node:net';
import tls from 'node:tls';
import type { Endpoint } from './types.js';

export const DEFAULT_TIMEOUT_MS = 30_000;

export interface ClientTlsOptions {
  rejectUnauthorized: true;
  minVersion: tls.SecureVersion;
  servername?: string;
  ca?: string[];
}

export function tlsOptionsFor(endpoint: Endpoint): ClientTlsOptions {
  return {
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    // SNI must not carry an IP address (RFC 6066); Node checks IPs against the certificate anyway.
    servername: net.isIP(endpoint.host) ? undefined : endpoint.host,
    // Setting `ca` replaces Node's bundled roots, so keep them: an extra CA widens trust only.
    ca: endpoint.ca ? [...tls.rootCertificates, endpoint.ca] : undefined,
  };
}

/** `host:port`, for messages. */
export function describeEndpoint(endpoint: Endpoint): string {
  return endpoint.url ?? `${net.isIPv6(endpoint.host) ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
}
