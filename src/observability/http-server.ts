// One small HTTP server per process for Prometheus and the kubelet: /metrics, /healthz (liveness)
// and /readyz (readiness). node:http only: three fixed routes do not need a framework, and the
// image stays free of one.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';
import { runProbes, type Probe } from './probes.js';

export interface ListenAddress {
  /** Undefined = every interface. */
  host?: string;
  port: number;
}

/**
 * Parses a Go-style listen address as controller-runtime's --metrics-bind-address takes it:
 * ":8080", "0.0.0.0:8080", "127.0.0.1:0", "[::1]:8080". "0" switches the server off (undefined).
 */
export function parseListenAddress(value: string, flag = '--metrics-addr'): ListenAddress | undefined {
  const v = value.trim();
  if (v === '0') return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new Error(
      `${flag}="${value}" is not a listen address: use HOST:PORT or :PORT (for example ":8080" or "127.0.0.1:8080"), or "0" to switch the server off`,
    );
  }
  const host = m[1] ?? (m[2] || undefined);
  return { host, port };
}

export interface ObservabilityServerOptions {
  address: ListenAddress;
  /** Served on /metrics; without it /metrics answers 404. */
  metrics?: Metrics;
  /** Checks for /readyz (e.g. caches synced, controllers started). */
  readiness?: readonly Probe[];
  /** Checks for /healthz besides the server answering at all (e.g. the event-loop monitor). */
  liveness?: readonly Probe[];
  logger?: Logger;
  /** Per-probe timeout in milliseconds (default 2000); must stay below the kubelet's probe timeout. */
  probeTimeoutMs?: number;
}

export interface ObservabilityServer {
  /** Base URL, e.g. http://127.0.0.1:8080 (the bound port when port 0 was asked for). */
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections, lets requests in flight finish (up to `graceMs`), then closes. */
  close(graceMs?: number): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';

export async function startObservabilityServer(opts: ObservabilityServerOptions): Promise<ObservabilityServer> {
  const probeTimeoutMs = opts.probeTimeoutMs ?? 2000;
  const reply = (res: http.ServerResponse, code: number, body: string, type = TEXT) => {
    res.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-store' });
    res.end(body);
  };
  const probeEndpoint = async (res: http.ServerResponse, probes: readonly Probe[], verbose: boolean, failCode: number) => {
    const report = await runProbes(probes, probeTimeoutMs);
    if (report.ok) return reply(res, 200, verbose ? `${report.lines.join('\n')}\nok\n` : 'ok\n');
    // The failing checks are always listed: they are what `kubectl describe pod` shows.
    const shown = verbose ? report.lines : report.lines.filter((l) => l.startsWith('[-]'));
    reply(res, failCode, `${shown.join('\n')}\n`);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const verbose = url.searchParams.has('verbose');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return reply(res, 405, 'method not allowed\n');
    }
    const handle = async () => {
      switch (url.pathname) {
        case '/metrics':
          if (!opts.metrics) return reply(res, 404, 'metrics are not enabled\n');
          return reply(res, 200, await opts.metrics.registry.metrics(), opts.metrics.contentType);
        case '/healthz':
        case '/livez':
          // 500, not 503: the kubelet treats both as failures, and 500 says "this process is broken".
          return probeEndpoint(res, opts.liveness ?? [], verbose, 500);
        case '/readyz':
          return probeEndpoint(res, opts.readiness ?? [], verbose, 503);
        default:
          return reply(res, 404, 'not found: try /metrics, /healthz or /readyz\n');
      }
    };
    handle().catch((err: unknown) => {
      opts.logger?.error({ path: url.pathname }, `observability endpoint failed: ${(err as Error)?.message ?? String(err)}`);
      if (!res.headersSent) reply(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  // Probes and scrapes are short; a client that keeps a socket idle must not hold up a shutdown.
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.address.port, opts.address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = opts.address.host && opts.address.host !== '0.0.0.0' && opts.address.host !== '::' ? opts.address.host : '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
  opts.logger?.info({ address: `${opts.address.host ?? ''}:${bound.port}` }, 'serving /metrics, /healthz and /readyz');

  let closing: Promise<void> | undefined;
  return {
    url,
    port: bound.port,
    close(graceMs = 5000) {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
