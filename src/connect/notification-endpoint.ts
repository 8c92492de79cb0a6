// The operator's notification endpoint: where Microsoft Graph posts change notifications and
// lifecycle notifications (POST /graph/notifications). The chart puts it behind its own Service
// for the user's Ingress or Gateway, which terminates HTTPS with the public name Graph posts to
// (Graph posts only to https:// URLs); it can also serve HTTPS itself (--notification-tls-cert,
// --notification-tls-key) for a LoadBalancer or TLS passthrough.
//
//   - A validation request (?validationToken=...) is answered 200 with the token as text/plain,
//     at once: Graph gives it 10 seconds while a subscription is being created.
//   - Notifications are answered 202 before anything is done with them (Graph wants an answer
//     within 3 seconds), then handed to GraphNotifications, which checks each clientState and only
//     ever wakes a mailbox.
//   - With several workers the Service may deliver a notification to a worker that does not own
//     the subscription: it is passed on to the other workers (`forward`), each of which checks it.
//
// Nothing here trusts a notification's content: the worst a forged one can do is wake a mailbox.

import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent, fetch } from 'undici';
import type { Logger } from '../log/logger.js';
import type { GraphNotification } from '../mail/graph-notifications.js';

export const GRAPH_PATH = '/graph/notifications';
/** The membership-Lease annotation where a worker says where its endpoint listens (pod IP and port). */
export const PEER_ANNOTATION = 'mailsync.dev/notification-endpoint';
/** Set on notifications one worker passes to another, so they are not passed on again. */
export const FORWARDED_HEADER = 'x-mailsync-forwarded';
const MAX_BODY = 1024 * 1024;

export interface NotificationReceiver {
  /** Handles notifications; returns those whose subscription this process does not know. */
  receive(items: GraphNotification[]): GraphNotification[];
}

export interface NotificationEndpointOptions {
  /** Where to listen (parseListenAddress of --notification-addr); no host = every interface. */
  address: { host?: string; port: number };
  graph: NotificationReceiver;
  /** PEM certificate and key: serve HTTPS instead of HTTP. */
  tls?: { cert: string; key: string };
  /** Passes notifications of unknown subscriptions to the other workers. */
  forward?: (items: GraphNotification[]) => Promise<void>;
  logger?: Logger;
}

export interface NotificationEndpoint {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startNotificationEndpoint(opts: NotificationEndpointOptions): Promise<NotificationEndpoint> {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://endpoint');
    if (url.pathname !== GRAPH_PATH) return reply(res, 404, 'not found');
    if (req.method !== 'POST') return reply(res, 405, 'POST only', { allow: 'POST' });
    const token = url.searchParams.get('validationToken');
    if (token !== null) {
      // Graph checks that the endpoint echoes the token; it is opaque text, sent back as such.
      req.resume();
      return reply(res, 200, token);
    }
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reply(res, 413, 'too large');
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let items: GraphNotification[];
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { value?: unknown };
        if (!Array.isArray(body.value)) throw new Error('no value array');
        items = body.value.filter((v): v is GraphNotification => typeof v === 'object' && v !== null);
      } catch {
        return reply(res, 400, 'expected a JSON object with a value array');
      }
      reply(res, 202, '');
      const unknown = opts.graph.receive(items);
      if (unknown.length && opts.forward && req.headers[FORWARDED_HEADER] === undefined) {
        opts
          .forward(unknown)
          .catch((err: unknown) =>
            opts.logger?.debug({ error: (err as Error).message }, 'could not pass notifications on to the other workers'),
          );
      }
    });
  };
  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : http.createServer(handler);
  // Graph keeps connections open between notifications; a slow client must not hold a socket forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.address.port, opts.address.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.address.host && opts.address.host !== '0.0.0.0' && opts.address.host !== '::' ? opts.address.host : '127.0.0.1';
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}${GRAPH_PATH}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function reply(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

/** Peers serve the certificate of the public name, not of their pod IP: only the pod network carries this. */
let peerAgent: Agent | undefined;

/**
 * Passes notifications this worker does not know to the other workers' endpoints ("ip:port"); each
 * checks the clientState of the subscriptions it owns and ignores the rest.
 */
export async function forwardToPeers(peers: string[], items: GraphNotification[], tls: boolean): Promise<void> {
  const body = JSON.stringify({ value: items });
  await Promise.all(
    peers.map(async (address) => {
      if (tls) peerAgent ??= new Agent({ connect: { rejectUnauthorized: false } });
      const res = await fetch(`${tls ? 'https' : 'http'}://${address}${GRAPH_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [FORWARDED_HEADER]: '1' },
        body,
        signal: AbortSignal.timeout(3000),
        ...(tls ? { dispatcher: peerAgent } : {}),
      });
      await res.body?.cancel();
    }),
  );
}
