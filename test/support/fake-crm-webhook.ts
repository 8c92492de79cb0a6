// A CRM implementing the webhook contract (docs/crm-webhook.openapi.yaml) in memory: the CRM of
// the integration tests, the 5,000-message benchmark and the SIGKILL crash test. It checks the
// bearer token and the X-Mailsync-Signature of every request exactly as a real implementation
// should (verifyWebhookSignature over the raw body), keeps activities keyed by (mailbox,
// messageId), and can inject failures (503 + Retry-After) and latency.
//
// Run directly (`node dist/test/support/fake-crm-webhook.js`) it serves on $PORT (0: any free
// port) with $TOKEN and $SIGNING_KEY and prints `{"port":N,"url":"..."}` on stdout, so a crash
// test can keep it alive in its own process while workers die, and query it over HTTP through
// the unauthenticated test-only endpoints under /_test.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { pathToFileURL } from 'node:url';
import type { AddressLookup, IncomingEmail, PendingEmail } from '../../src/crm/types.js';
import { DEFAULT_SIGNATURE_TOLERANCE_SEC, SIGNATURE_HEADER, verifyWebhookSignature } from '../../src/crm/webhook-signature.js';

export interface FakeCrmWebhookOptions {
  token: string;
  signingKey: string;
  /** 0 (default): any free port. */
  port?: number;
  /** Path prefix of the contract, so clients must honour a base URL with a path. */
  basePath?: string;
  toleranceSec?: number;
  latencyMs?: number;
}

export interface FakeActivity {
  crmId: string;
  mailbox: string;
  messageId: string;
  email: IncomingEmail;
  createdAt: string;
}

export type OutgoingStatus = 'pending' | 'sending' | 'sent' | 'failed';

export interface FakeOutgoingEmail {
  mailboxAddress: string;
  email: PendingEmail;
  status: OutgoingStatus;
  attempts: number;
  sentMessageId?: string;
  sentAt?: string;
  failure?: { reason: string; message: string };
}

export interface FakeCrmStats {
  requests: number;
  created: number;
  duplicates: number;
  unauthorized: number;
  badSignatures: number;
  injectedFailures: number;
  sending: number;
  released: number;
  sent: number;
  failed: number;
}

type Transition = 'sending' | 'release' | 'sent' | 'failed';

interface Failure {
  remaining: number;
  status: number;
  retryAfterSec?: number;
}

export class FakeCrmWebhook {
  latencyMs: number;
  /** Clock used for signature tolerance (ms since the epoch); tests move it. */
  now: () => number = Date.now;
  private readonly byKey = new Map<string, FakeActivity>();
  private readonly outgoingById = new Map<string, FakeOutgoingEmail>();
  private readonly directory = new Map<string, AddressLookup>();
  private readonly counters: FakeCrmStats = { requests: 0, created: 0, duplicates: 0, unauthorized: 0, badSignatures: 0, injectedFailures: 0, sending: 0, released: 0, sent: 0, failed: 0 };
  private failure?: Failure;
  private readonly sockets = new Set<net.Socket>();
  private readonly basePath: string;

  private constructor(
    private readonly server: http.Server,
    private readonly options: FakeCrmWebhookOptions,
    readonly port: number,
  ) {
    this.latencyMs = options.latencyMs ?? 0;
    this.basePath = (options.basePath ?? '').replace(/\/+$/, '');
    server.on('connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(options: FakeCrmWebhookOptions): Promise<FakeCrmWebhook> {
    let fake: FakeCrmWebhook | undefined;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        fake!.handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`fake CRM bug: ${String(err)}`);
        });
      });
    });
    // Longer than the client's keep-alive, so the client (not us) closes idle connections and a
    // reused connection is never closed under a request in flight.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    fake = new FakeCrmWebhook(server, options, (server.address() as net.AddressInfo).port);
    return fake;
  }

  /** The base URL to configure as spec.crm.url. */
  get url(): string {
    return `http://127.0.0.1:${this.port}${this.basePath}`;
  }

  activities(): FakeActivity[] {
    return [...this.byKey.values()];
  }

  stats(): FakeCrmStats {
    return { ...this.counters };
  }

  /** Answers the next `count` contract requests with `status` (default 503) and Retry-After. */
  failNext(count: number, opts: { status?: number; retryAfterSec?: number } = {}): void {
    this.failure = { remaining: count, status: opts.status ?? 503, retryAfterSec: opts.retryAfterSec };
  }

  /** What lookupAddress answers for this address (unknown addresses: neither). */
  addRecord(address: string, lookup: AddressLookup): void {
    this.directory.set(address.toLowerCase(), lookup);
  }

  /** An email written in the CRM, pending send from `mailboxAddress`. Returns its crmEmailId. */
  addPendingEmail(mailboxAddress: string, email: Omit<PendingEmail, 'crmEmailId' | 'state'> & { crmEmailId?: string }): string {
    const crmEmailId = email.crmEmailId ?? randomUUID();
    this.outgoingById.set(crmEmailId, { mailboxAddress: mailboxAddress.toLowerCase(), email: { ...email, crmEmailId }, status: 'pending', attempts: 0 });
    return crmEmailId;
  }

  outgoing(crmEmailId: string): FakeOutgoingEmail | undefined {
    return this.outgoingById.get(crmEmailId);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith('/_test/')) return this.handleTest(method, url.pathname, url.searchParams, raw, res);
    if (!url.pathname.startsWith(`${this.basePath}/`)) return send(res, 404, { error: { code: 'not_found', message: 'no such endpoint' } });
    const path = url.pathname.slice(this.basePath.length);
    this.counters.requests++;
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));

    if (this.failure && this.failure.remaining > 0) {
      this.failure.remaining--;
      this.counters.injectedFailures++;
      const headers: Record<string, string> = this.failure.retryAfterSec !== undefined ? { 'retry-after': String(this.failure.retryAfterSec) } : {};
      return send(res, this.failure.status, { error: { code: 'unavailable', message: 'injected failure' } }, headers);
    }
    if (req.headers.authorization !== `Bearer ${this.options.token}`) {
      this.counters.unauthorized++;
      return send(res, 401, { error: { code: 'invalid_token', message: 'bearer token not accepted' } }, { 'www-authenticate': 'Bearer' });
    }
    const check = verifyWebhookSignature(header(req, SIGNATURE_HEADER), raw, this.options.signingKey, this.options.toleranceSec ?? DEFAULT_SIGNATURE_TOLERANCE_SEC, this.now());
    if (!check.valid) {
      this.counters.badSignatures++;
      return send(res, 401, { error: { code: 'invalid_signature', message: `signature ${check.failure}` } });
    }
    let body: Record<string, unknown> = {};
    try {
      if (raw.length) body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return send(res, 400, { error: { code: 'invalid_json', message: 'the body is not JSON' } });
    }
    return this.route(method, path, url.searchParams, body, res);
  }

  private route(method: string, path: string, query: URLSearchParams, body: Record<string, unknown>, res: http.ServerResponse): void {
    if (method === 'GET' && path === '/health') return send(res, 200, { status: 'ok' });
    if (method === 'POST' && path === '/incoming-emails') return this.deliver(body as unknown as IncomingEmail, res);
    if (method === 'POST' && path === '/emails/lookup-by-message-id') return this.lookupByMessageId(body.messageIds, res);
    let m = /^\/addresses\/([^/]+)$/.exec(path);
    if (method === 'GET' && m) {
      const found = this.directory.get(decodeURIComponent(m[1]).toLowerCase());
      return send(res, 200, found ?? { isCrmRecord: false, isEmailEnabledRecord: false });
    }
    m = /^\/mailboxes\/([^/]+)\/pending-emails$/.exec(path);
    if (method === 'GET' && m) return this.pending(decodeURIComponent(m[1]).toLowerCase(), Number(query.get('limit') ?? '50'), res);
    m = /^\/emails\/([^/]+)\/(sending|release|sent|failed)$/.exec(path);
    if (method === 'POST' && m) return this.transition(decodeURIComponent(m[1]), m[2] as Transition, body, res);
    send(res, 404, { error: { code: 'not_found', message: `no endpoint ${method} ${path}` } });
  }

  private deliver(email: IncomingEmail, res: http.ServerResponse): void {
    if (typeof email.mailbox !== 'string' || !email.mailbox || typeof email.messageId !== 'string' || !email.messageId) {
      return send(res, 422, { error: { code: 'invalid_email', message: 'mailbox and messageId are required' } });
    }
    const key = `${email.mailbox}\n${email.messageId}`;
    const existing = this.byKey.get(key);
    if (existing) {
      this.counters.duplicates++;
      return send(res, 200, { crmId: existing.crmId });
    }
    const activity: FakeActivity = { crmId: randomUUID(), mailbox: email.mailbox, messageId: email.messageId, email, createdAt: new Date().toISOString() };
    this.byKey.set(key, activity);
    this.counters.created++;
    send(res, 201, { crmId: activity.crmId });
  }

  private lookupByMessageId(ids: unknown, res: http.ServerResponse): void {
    if (!Array.isArray(ids) || !ids.every((i) => typeof i === 'string')) {
      return send(res, 422, { error: { code: 'invalid_request', message: 'messageIds must be an array of strings' } });
    }
    for (const id of ids as string[]) {
      for (const o of this.outgoingById.values()) if (o.sentMessageId === id || o.email.messageId === id) return send(res, 200, { crmEmailId: o.email.crmEmailId });
      for (const a of this.byKey.values()) if (a.messageId === id) return send(res, 200, { crmEmailId: a.crmId });
    }
    send(res, 200, { crmEmailId: null });
  }

  private pending(mailboxAddress: string, limit: number, res: http.ServerResponse): void {
    const emails: PendingEmail[] = [];
    for (const o of this.outgoingById.values()) {
      if (emails.length >= limit) break;
      if (o.mailboxAddress === mailboxAddress && (o.status === 'pending' || o.status === 'sending')) emails.push({ ...o.email, state: o.status === 'sending' ? 'Sending' : 'PendingSend' });
    }
    send(res, 200, { emails });
  }

  private transition(id: string, to: Transition, body: Record<string, unknown>, res: http.ServerResponse): void {
    const o = this.outgoingById.get(id);
    if (!o) return send(res, 404, { error: { code: 'not_found', message: `no email ${id}` } });
    if (body.crmEmailId !== id) return send(res, 422, { error: { code: 'invalid_request', message: 'crmEmailId in the body must match the path' } });
    if (to === 'sending') {
      if (o.status === 'sent' || o.status === 'failed') return send(res, 409, { error: { code: 'not_pending', message: `email is ${o.status}` } });
      o.status = 'sending';
      o.attempts++;
      o.sentMessageId = String(body.messageId ?? '');
      this.counters.sending++;
      return send(res, 200, { status: o.status, attempts: o.attempts });
    }
    if (to === 'release') {
      if (o.status === 'sent' || o.status === 'failed') return send(res, 409, { error: { code: 'not_sending', message: `email is ${o.status}` } });
      o.status = 'pending';
      this.counters.released++;
      return send(res, 200, { status: o.status });
    }
    if (to === 'sent') {
      if (o.status !== 'sent') this.counters.sent++;
      o.status = 'sent';
      o.sentMessageId = String(body.messageId ?? '');
      o.sentAt = String(body.sentAt ?? '');
      return send(res, 200, { status: o.status });
    }
    if (o.status === 'sent') return send(res, 409, { error: { code: 'already_sent', message: 'email was sent' } });
    if (o.status !== 'failed') this.counters.failed++;
    o.status = 'failed';
    o.failure = { reason: String(body.reason ?? ''), message: String(body.message ?? '') };
    send(res, 200, { status: o.status });
  }

  /** Test-only endpoints for a fake running in another process; no authentication (loopback only). */
  private handleTest(method: string, path: string, query: URLSearchParams, raw: Buffer, res: http.ServerResponse): void {
    if (method === 'GET' && path === '/_test/activities') {
      // ?messageId=... narrows the answer, for callers that poll for one message.
      const messageId = query.get('messageId');
      const mailbox = query.get('mailbox');
      const activities = this.activities().filter((a) => (!messageId || a.messageId === messageId) && (!mailbox || a.mailbox === mailbox));
      return send(res, 200, { activities: activities.map(({ email: _email, ...a }) => a) });
    }
    if (method === 'GET' && path === '/_test/stats') return send(res, 200, this.stats());
    const body = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
    if (method === 'POST' && path === '/_test/fail') {
      this.failNext(Number(body.count ?? 1), { status: body.status as number | undefined, retryAfterSec: body.retryAfterSec as number | undefined });
      return send(res, 200, {});
    }
    if (method === 'POST' && path === '/_test/pending-emails') {
      const id = this.addPendingEmail(String(body.mailboxAddress), body.email as PendingEmail);
      return send(res, 201, { crmEmailId: id });
    }
    if (method === 'GET' && path.startsWith('/_test/outgoing/')) {
      const o = this.outgoing(decodeURIComponent(path.slice('/_test/outgoing/'.length)));
      return o ? send(res, 200, o) : send(res, 404, {});
    }
    send(res, 404, { error: { code: 'not_found', message: 'no such test endpoint' } });
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Standalone: `PORT=0 TOKEN=... SIGNING_KEY=... node dist/test/support/fake-crm-webhook.js`. */
async function main(): Promise<void> {
  const fake = await FakeCrmWebhook.start({
    port: Number(process.env.PORT ?? 0),
    token: process.env.TOKEN ?? 'fake-crm-token-0123456789',
    signingKey: process.env.SIGNING_KEY ?? 'fake-crm-signing-key-0123456789',
    basePath: process.env.BASE_PATH,
    latencyMs: Number(process.env.LATENCY_MS ?? 0),
  });
  process.stdout.write(`${JSON.stringify({ port: fake.port, url: fake.url })}\n`);
  const stop = (): void => void fake.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
