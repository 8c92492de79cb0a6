// HTTPS plumbing shared by the HTTP-based mail adapters (Microsoft Graph, EWS), the OAuth token
// provider and the CRM connectors: one undici connection pool per set of trusted CAs, request
// deadlines, and an error type for non-2xx answers that error classification understands (status,
// headers with Retry-After, code). It knows nothing of mail or CRMs.
import tls from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { DEFAULT_TIMEOUT_MS } from './tls.js';

/**
 * Connection pools, keyed by the extra CA they trust ('' for the system roots only). They hold no
 * credentials, so every mailbox that reaches the same server through the same trust can share one
 * pool and its keep-alive connections: a thousand mailboxes on graph.microsoft.com need a handful
 * of TLS connections, not a thousand.
 */
const dispatchers = new Map<string, Agent>();

/** The pool to use for a server whose certificate chains to the system roots or to `ca` (PEM). */
export function httpDispatcher(ca?: string): Dispatcher {
  const key = ca ?? '';
  let agent = dispatchers.get(key);
  if (!agent) {
    agent = new Agent({
      connect: tlsConnectOptions(ca),
      // Idle connections close soon enough not to pile up, late enough to serve a sync cycle.
      keepAliveTimeout: 10_000,
    });
    dispatchers.set(key, agent);
  }
  return agent;
}

/** TLS options for undici connections: verification always on, the extra CA widening trust only. */
export function tlsConnectOptions(ca?: string): { rejectUnauthorized: true; minVersion: tls.SecureVersion; ca?: string[] } {
  return {
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    // Setting `ca` replaces Node's bundled roots, so keep them alongside the profile's CA.
    ...(ca ? { ca: [...tls.rootCertificates, ca] } : {}),
  };
}

/** Closes every pool (process shutdown, end of a test suite). Later requests open new ones. */
export async function closeHttpDispatchers(): Promise<void> {
  const agents = [...dispatchers.values()];
  dispatchers.clear();
  await Promise.all(agents.map((a) => a.close().catch(() => a.destroy())));
}

/** A signal that fires after the endpoint's timeout or when the caller's signal aborts. */
export function deadlineSignal(timeoutMs: number | undefined, signal?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs ?? DEFAULT_TIMEOUT_MS);
  return signal ? AbortSignal.any([timeout, signal]) : timeout;
}

/** The part of a fetch Headers object classifyError reads (Retry-After). */
export interface ResponseHeaders {
  get(name: string): string | null;
}

/**
 * A server answered with a status we do not accept. Shaped for classifyError: `status` gives the
 * HTTP rule, `headers.get('retry-after')` the back-off, `code` the service's own error code (Graph
 * `error.code`, OAuth `error`), and `responseText` the server's words, which classifyError keeps
 * for debug logs only.
 */
export class HttpResponseError extends Error {
  constructor(
    readonly status: number,
    readonly headers: ResponseHeaders,
    readonly code?: string,
    readonly responseText?: string,
  ) {
    super(`HTTP ${status}${code ? ` ${code}` : ''}`);
    this.name = 'HttpResponseError';
  }
}

/** True when `candidate` is on the same scheme, host and port as `base`, so our token may go there. */
export function sameOrigin(candidate: string, base: string): boolean {
  try {
    return new URL(candidate).origin === new URL(base).origin;
  } catch {
    return false;
  }
}
