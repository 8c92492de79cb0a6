// Reachability and TLS of a mail server without signing in: the first steps of a profile's own
// connection test (Dynamics' "Test Connection"), for profiles whose credentials come from each
// mailbox, and the step before sign-in for the others, so a failure names the step that failed.
//
// IMAP, POP3 and SMTP: connect, read the greeting, upgrade with STARTTLS (STLS) where the profile
// says so, and check the certificate, then say goodbye. EWS and Graph: one HTTPS request to the URL;
// any HTTP answer proves the server reachable over TLS with a trusted certificate.
import net from 'node:net';
import tls from 'node:tls';
import { fetch } from 'undici';
import { withTimeout } from './deadline.js';
import { classifyError } from './errors.js';
import { deadlineSignal, httpDispatcher } from '../net/http.js';
import { DEFAULT_GRAPH_URL } from './graph.js';
import { DEFAULT_TIMEOUT_MS, describeEndpoint, tlsOptionsFor } from '../net/tls.js';
import { MailError, type Endpoint } from './types.js';

export type ProbedProtocol = 'IMAP' | 'POP3' | 'SMTP' | 'EWS' | 'Graph';

/** Per protocol: what a good greeting and a good STARTTLS answer look like, and the commands. */
const DIALOGUE = {
  IMAP: { ok: /^\* (OK|PREAUTH)/, starttls: 'A1 STARTTLS', tlsOk: /^A1 OK/, quit: 'A2 LOGOUT' },
  POP3: { ok: /^\+OK/, starttls: 'STLS', tlsOk: /^\+OK/, quit: 'QUIT' },
  SMTP: { ok: /^220[ -]/, starttls: 'EHLO mailsync.invalid\r\nSTARTTLS', tlsOk: /^220[ -]/, quit: 'QUIT' },
} as const;

/**
 * Connects to the server and checks TLS as the profile asks. Resolves with what was found (e.g.
 * "TLSv1.3"), rejects with a classified MailError (ServerUnreachable, TLSError, Timeout, ...).
 */
export async function probeServer(endpoint: Endpoint, protocol: ProbedProtocol, signal?: AbortSignal): Promise<string> {
  const ctx = { protocol, server: describeEndpoint(endpoint), secrets: [] };
  try {
    if (protocol === 'Graph') return await probeHttps(endpoint.url ?? DEFAULT_GRAPH_URL, endpoint, signal);
    if (protocol === 'EWS')
      return await probeHttps(endpoint.url ?? `https://${endpoint.host}/autodiscover/autodiscover.svc`, endpoint, signal);
    const sockets: net.Socket[] = [];
    const onTimeout = () => sockets.forEach((s) => s.destroy());
    return await withTimeout(
      probeMail(endpoint, protocol, sockets),
      endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      `connecting to ${protocol}`,
      { signal, onTimeout },
    );
  } catch (err) {
    throw classifyError(err, ctx);
  }
}

async function probeHttps(url: string, endpoint: Endpoint, signal?: AbortSignal): Promise<string> {
  const response = await fetch(url, {
    method: 'GET',
    redirect: 'manual',
    dispatcher: httpDispatcher(endpoint.ca),
    signal: deadlineSignal(endpoint.timeoutMs, signal),
  });
  await response.body?.cancel().catch(() => undefined);
  return `HTTPS, answered HTTP ${response.status}`;
}

/** Lines from a socket, one at a time (multi-line SMTP replies: their last line). */
class LineReader {
  private buffer = '';
  private waiting?: { resolve: (line: string) => void; reject: (err: unknown) => void };
  private failure?: unknown;

  constructor(socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.deliver();
    });
    const fail = (err: unknown) => {
      this.failure ??= err;
      this.waiting?.reject(this.failure);
      this.waiting = undefined;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(Object.assign(new Error('the server closed the connection'), { code: 'ECONNRESET' })));
  }

  /** The next complete reply line; an SMTP continuation ("250-...") is skipped. */
  next(): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.waiting = { resolve, reject };
      this.deliver();
    });
  }

  private deliver(): void {
    while (this.waiting) {
      const end = this.buffer.indexOf('\n');
      if (end < 0) return;
      const line = this.buffer.slice(0, end).replace(/\r$/, '');
      this.buffer = this.buffer.slice(end + 1);
      if (/^\d{3}-/.test(line)) continue;
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve(line);
    }
  }
}

/** `sockets`: every socket opened, so that a timeout can close them. */
async function probeMail(endpoint: Endpoint, protocol: 'IMAP' | 'POP3' | 'SMTP', sockets: net.Socket[]): Promise<string> {
  const d = DIALOGUE[protocol];
  const plain = endpoint.tls !== 'Implicit';
  let socket: net.Socket = plain
    ? net.connect({ host: endpoint.host, port: endpoint.port })
    : tls.connect({ host: endpoint.host, port: endpoint.port, ...tlsOptionsFor(endpoint) });
  sockets.push(socket);
  try {
    const reader = new LineReader(socket);
    const greeting = await reader.next();
    if (!d.ok.test(greeting))
      throw new MailError(
        'ProtocolError',
        `${protocol} ${describeEndpoint(endpoint)}: the server did not greet as a ${protocol} server does`,
      );
    if (endpoint.tls === 'STARTTLS') {
      for (const command of d.starttls.split('\r\n')) {
        socket.write(`${command}\r\n`);
        const reply = await reader.next();
        if (command.startsWith('EHLO')) continue;
        if (!d.tlsOk.test(reply))
          throw new MailError(
            'TLSError',
            `${protocol} ${describeEndpoint(endpoint)}: the server refused STARTTLS; use tls: Implicit on the TLS port, or check the port`,
          );
      }
      const upgraded = tls.connect({ socket, ...tlsOptionsFor(endpoint) });
      sockets.push(upgraded);
      await new Promise<void>((resolve, reject) => {
        upgraded.once('secureConnect', resolve);
        upgraded.once('error', reject);
      });
      socket = upgraded;
    }
    const version = socket instanceof tls.TLSSocket ? (socket.getProtocol() ?? 'TLS') : 'no TLS (tls: None)';
    socket.write(`${d.quit}\r\n`);
    return version;
  } finally {
    socket.end();
    socket.destroy();
  }
}
