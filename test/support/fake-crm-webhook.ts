// A CRM implementing the webhook contract (docs/crm-webhook.openapi.yaml) in memory: the CRM of
// the integration tests, the 5,000-message benchmark and the SIGKILL crash test. It checks the
// bearer token and the X-Mailsync-Signature of every request exactly as a real implementation
// should (verifyWebhookSignature over the raw body), keeps activities keyed by (mailbox,
// messageId), and can inject failures (503 + Retry-After) and latency. The batch endpoints
// (POST /incoming-emails/batch, POST /emails/status-changes) run each item through the same
// handler as its single endpoint; `batchOff` (option, or $BATCH=off) makes them answer 404 like a
// CRM that does not implement them, as it does for the other optional endpoints
// (POST /pending-emails/query, POST /emails/lookup-by-tracking-token). Attachments of pending
// emails come inline up to 1 MiB and by reference above, as the contract says.
//
// Run directly (`node dist/test/support/fake-crm-webhook.js`) it serves on $PORT (0: any free
// port) with $TOKEN and $SIGNING_KEY and prints `{"port":N,"url":"..."}` on stdout, so a crash
// test can keep it alive in its own process while workers die, and query it over HTTP through
// the unauthenticated test-only endpoints under /_test.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { pathToFileURL } from 'node:url';
import type { AddressLookup, IncomingEmail, OutgoingAttachment, PendingEmail } from '../../src/crm/types.js';
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
  /** The batch endpoints answer this status, as in a CRM without them; undefined: they work. */
  batchOff?: 404 | 405;
}

/** One contract request and the fake's answer, for tests that check the wire format. */
export interface FakeExchange {
  method: string;
  /** Below the base path. */
  path: string;
  /** The raw request body. */
  request: string;
  status: number;
  answer: unknown;
}

export interface FakeActivity {
  crmId: string;
  mailbox: string;
  messageId: string;
  email: IncomingEmail;
  createdAt: string;
}

export type OutgoingStatus = 'pending' | 'sending' | 'sent' | 'failed';

/** A file attached to an email pending send. */
export interface FakeAttachmentFile {
  filename: string;
  contentType: string;
  content: Buffer;
  contentId?: string;
}

export interface FakeOutgoingEmail {
  mailboxAddress: string;
  email: PendingEmail;
  files: (FakeAttachmentFile & { attachmentId: string })[];
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
  /** Requests to the batch endpoints (also those answered 404 with batchOff); included in `requests`. */
  batchRequests: number;
  /** Requests to POST /pending-emails/query and GET /mailboxes/{address}/pending-emails; included in `requests`. */
  pendingQueries: number;
  attachmentFetches: number;
  sending: number;
  released: number;
  sent: number;
  failed: number;
}

type Transition = 'sending' | 'release' | 'sent' | 'failed';

/** The state a batch status change asks for, and the single endpoint that means the same. */
const TRANSITION_OF_STATE: Record<string, Transition> = { Sending: 'sending', PendingSend: 'release', Sent: 'sent', Failed: 'failed' };

const BATCH_PATHS = new Set(['/incoming-emails/batch', '/emails/status-changes']);
/** The optional endpoints that batchOff switches off, as a CRM that has none of them. */
const OPTIONAL_PATHS = new Set([...BATCH_PATHS, '/pending-emails/query', '/emails/lookup-by-tracking-token']);
const MAX_BATCH = 100;
/** Attachments above this size come by reference (the contract's inline limit). */
export const INLINE_ATTACHMENT_LIMIT = 1024 * 1024;

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** A non-JSON answer (an attachment's bytes). */
  bytes?: Buffer;
}

interface Failure {
  remaining: number;
  status: number;
  retryAfterSec?: number;
}

/** More contract operations on the same server (ACT: fake-crm-webhook-act.ts): an answer when it has the route. */
export type FakeCrmExtension = (method: string, path: string, query: URLSearchParams, body: Record<string, unknown>) => Answer | undefined;

export class FakeCrmWebhook {
  readonly extensions: FakeCrmExtension[] = [];
  latencyMs: number;
  /** See FakeCrmWebhookOptions.batchOff; tests may switch it at any time. */
  batchOff?: 404 | 405;
  /** Called with every contract request and its answer. */
  onExchange?: (exchange: FakeExchange) => void;
  /** Clock used for signature tolerance (ms since the epoch); tests move it. */
  now: () => number = Date.now;
  private readonly byKey = new Map<string, FakeActivity>();
  private readonly outgoingById = new Map<string, FakeOutgoingEmail>();
  private readonly directory = new Map<string, AddressLookup>();
  private readonly counters: FakeCrmStats = {
    requests: 0,
    created: 0,
    duplicates: 0,
    unauthorized: 0,
    badSignatures: 0,
    injectedFailures: 0,
    batchRequests: 0,
    pendingQueries: 0,
    attachmentFetches: 0,
    sending: 0,
    released: 0,
    sent: 0,
    failed: 0,
  };
  private failure?: Failure;
  /** Attachment fetches answered with a failure, by attachmentId. */
  private readonly attachmentFailures = new Map<string, { status: number; remaining: number }>();
  /** Message-IDs whose delivery the CRM refuses, with the 4xx it answers. */
  private readonly refused = new Map<string, number>();
  private readonly sockets = new Set<net.Socket>();
  /** Requests being answered (see settled()). */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly basePath: string;

  private constructor(
    private readonly server: http.Server,
    private readonly options: FakeCrmWebhookOptions,
    readonly port: number,
  ) {
    this.latencyMs = options.latencyMs ?? 0;
    this.batchOff = options.batchOff;
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
        fake!.track(
          fake!.handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
            if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
            res.end(`fake CRM bug: ${String(err)}`);
          }),
        );
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

  /** Refuses every delivery of this Message-ID with `status` (default 422), as a CRM validation rule would. */
  refuse(messageId: string, status = 422): void {
    this.refused.set(messageId, status);
  }

  /** What lookupAddress answers for this address (unknown addresses: neither). */
  addRecord(address: string, lookup: AddressLookup): void {
    this.directory.set(address.toLowerCase(), lookup);
  }

  /** An email written in the CRM, pending send from `mailboxAddress`, with `files` attached. Returns its crmEmailId. */
  addPendingEmail(
    mailboxAddress: string,
    email: Omit<PendingEmail, 'crmEmailId' | 'state' | 'attachments'> & { crmEmailId?: string },
    files: FakeAttachmentFile[] = [],
  ): string {
    const crmEmailId = email.crmEmailId ?? randomUUID();
    const attached = files.map((f) => ({ ...f, attachmentId: randomUUID() }));
    const attachments = attached.map((f): OutgoingAttachment => {
      const a: OutgoingAttachment = {
        filename: f.filename,
        contentType: f.contentType,
        size: f.content.length,
        ...(f.contentId ? { contentId: f.contentId } : {}),
      };
      return f.content.length <= INLINE_ATTACHMENT_LIMIT
        ? { ...a, contentBase64: f.content.toString('base64') }
        : { ...a, attachmentId: f.attachmentId };
    });
    const pending: PendingEmail = { ...email, crmEmailId, ...(attachments.length ? { attachments } : {}) };
    this.outgoingById.set(crmEmailId, {
      mailboxAddress: mailboxAddress.toLowerCase(),
      email: pending,
      files: attached,
      status: 'pending',
      attempts: 0,
    });
    return crmEmailId;
  }

  /** The next `times` fetches of this email's attachments (all of them, or one) answer `status`. */
  failAttachment(crmEmailId: string, opts: { attachmentId?: string; status?: number; times?: number } = {}): void {
    for (const f of this.outgoingById.get(crmEmailId)?.files ?? []) {
      if (!opts.attachmentId || f.attachmentId === opts.attachmentId)
        this.attachmentFailures.set(f.attachmentId, { status: opts.status ?? 500, remaining: opts.times ?? Infinity });
    }
  }

  outgoing(crmEmailId: string): FakeOutgoingEmail | undefined {
    return this.outgoingById.get(crmEmailId);
  }

  /**
   * Resolves when every request received so far has been answered. A request whose client gave up
   * (a timeout under latencyMs) is still being worked on here: a test that injects a failure next
   * must wait for it, or the abandoned request takes the failure meant for the next one.
   */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
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
    const answer = await this.answer(req, method, path, url.searchParams, raw);
    this.onExchange?.({ method, path, request: raw.toString('utf8'), status: answer.status, answer: answer.bytes ?? answer.body });
    if (answer.bytes) {
      res.writeHead(answer.status, { 'content-type': 'application/octet-stream', 'content-length': answer.bytes.length });
      res.end(answer.bytes);
      return;
    }
    send(res, answer.status, answer.body, answer.headers);
  }

  private async answer(req: http.IncomingMessage, method: string, path: string, query: URLSearchParams, raw: Buffer): Promise<Answer> {
    this.counters.requests++;
    if (BATCH_PATHS.has(path)) this.counters.batchRequests++;
    if (path === '/pending-emails/query' || /^\/mailboxes\/[^/]+\/pending-emails$/.test(path)) this.counters.pendingQueries++;
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));

    if (req.headers.authorization !== `Bearer ${this.options.token}`) {
      this.counters.unauthorized++;
      return {
        status: 401,
        body: { error: { code: 'invalid_token', message: 'bearer token not accepted' } },
        headers: { 'www-authenticate': 'Bearer' },
      };
    }
    const check = verifyWebhookSignature(
      header(req, SIGNATURE_HEADER),
      raw,
      this.options.signingKey,
      this.options.toleranceSec ?? DEFAULT_SIGNATURE_TOLERANCE_SEC,
      this.now(),
    );
    if (!check.valid) {
      this.counters.badSignatures++;
      return fail(401, 'invalid_signature', `signature ${check.failure}`);
    }
    // Injected failures go to authenticated callers only: a client of another suite that reaches
    // this port after its own fake closed (the OS hands ports out again) must not use them up.
    if (this.failure && this.failure.remaining > 0) {
      this.failure.remaining--;
      this.counters.injectedFailures++;
      const headers: Record<string, string> =
        this.failure.retryAfterSec !== undefined ? { 'retry-after': String(this.failure.retryAfterSec) } : {};
      return { status: this.failure.status, body: { error: { code: 'unavailable', message: 'injected failure' } }, headers };
    }
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = raw.length ? JSON.parse(raw.toString('utf8')) : {};
      if (isObject(parsed)) body = parsed;
    } catch {
      return fail(400, 'invalid_json', 'the body is not JSON');
    }
    return this.route(method, path, query, body);
  }

  private route(method: string, path: string, query: URLSearchParams, body: Record<string, unknown>): Answer {
    if (method === 'GET' && path === '/health') return ok({ status: 'ok' });
    if (method === 'POST' && path === '/incoming-emails') return this.deliver(body);
    if (method === 'POST' && path === '/emails/lookup-by-message-id') return this.lookupByMessageId(body.messageIds);
    if (OPTIONAL_PATHS.has(path) && this.batchOff)
      return fail(this.batchOff, this.batchOff === 404 ? 'not_found' : 'method_not_allowed', `no endpoint ${method} ${path}`);
    if (method === 'POST' && path === '/pending-emails/query') return this.pendingQuery(body);
    if (method === 'POST' && path === '/emails/lookup-by-tracking-token') return this.lookupByTrackingToken(body.trackingToken);
    if (method === 'POST' && path === '/incoming-emails/batch') return this.batch(body.emails, (email) => batchItem(this.deliver(email)));
    if (method === 'POST' && path === '/emails/status-changes') return this.batch(body.changes, (change) => this.changeStatus(change));
    let m = /^\/addresses\/([^/]+)$/.exec(path);
    if (method === 'GET' && m) {
      const found = this.directory.get(decodeURIComponent(m[1]).toLowerCase());
      return ok(found ?? { isCrmRecord: false, isEmailEnabledRecord: false });
    }
    m = /^\/mailboxes\/([^/]+)\/pending-emails$/.exec(path);
    if (method === 'GET' && m) return this.pending(decodeURIComponent(m[1]).toLowerCase(), Number(query.get('limit') ?? '50'));
    m = /^\/emails\/([^/]+)\/attachments\/([^/]+)$/.exec(path);
    if (method === 'GET' && m) return this.attachment(decodeURIComponent(m[1]), decodeURIComponent(m[2]));
    m = /^\/emails\/([^/]+)\/(sending|release|sent|failed)$/.exec(path);
    if (method === 'POST' && m) return this.transition(decodeURIComponent(m[1]), m[2] as Transition, body);
    for (const ext of this.extensions) {
      const answer = ext(method, path, query, body);
      if (answer) return answer;
    }
    return fail(404, 'not_found', `no endpoint ${method} ${path}`);
  }

  /** A batch endpoint: each item through `one`, in order, as if sent alone; refused items do not affect the others. */
  private batch(items: unknown, one: (item: Record<string, unknown>) => unknown): Answer {
    if (!Array.isArray(items) || items.length < 1 || items.length > MAX_BATCH) {
      return fail(422, 'invalid_request', `a batch has 1 to ${MAX_BATCH} items`);
    }
    return ok({ results: items.map((item: unknown) => one(isObject(item) ? item : {})) });
  }

  private changeStatus(change: Record<string, unknown>): unknown {
    const to = typeof change.state === 'string' ? TRANSITION_OF_STATE[change.state] : undefined;
    if (!to || typeof change.crmEmailId !== 'string') {
      return {
        status: 422,
        error: {
          code: 'invalid_request',
          message: 'a change has a string "crmEmailId" and a "state" of Sending, PendingSend, Sent or Failed',
        },
      };
    }
    const a = this.transition(change.crmEmailId, to, change);
    return a.status < 300 ? { status: 204 } : batchItem(a);
  }

  private deliver(body: Record<string, unknown>): Answer {
    const email = body as unknown as IncomingEmail;
    if (typeof email.mailbox !== 'string' || !email.mailbox || typeof email.messageId !== 'string' || !email.messageId) {
      return fail(422, 'invalid_email', 'mailbox and messageId are required');
    }
    const refusal = this.refused.get(email.messageId);
    if (refusal) return fail(refusal, 'validation_failed', 'the CRM refused this email: a required field is missing');
    const key = `${email.mailbox}\n${email.messageId}`;
    const existing = this.byKey.get(key);
    if (existing) {
      this.counters.duplicates++;
      return ok({ crmId: existing.crmId });
    }
    const activity: FakeActivity = {
      crmId: randomUUID(),
      mailbox: email.mailbox,
      messageId: email.messageId,
      email,
      createdAt: new Date().toISOString(),
    };
    this.byKey.set(key, activity);
    this.counters.created++;
    return ok({ crmId: activity.crmId }, 201);
  }

  private lookupByMessageId(ids: unknown): Answer {
    if (!Array.isArray(ids) || !ids.every((i) => typeof i === 'string')) {
      return fail(422, 'invalid_request', 'messageIds must be an array of strings');
    }
    for (const id of ids as string[]) {
      for (const o of this.outgoingById.values())
        if (o.sentMessageId === id || o.email.messageId === id) return ok({ crmEmailId: o.email.crmEmailId });
      for (const a of this.byKey.values()) if (a.messageId === id) return ok({ crmEmailId: a.crmId });
    }
    return ok({ crmEmailId: null });
  }

  private pendingQuery(body: Record<string, unknown>): Answer {
    const { mailboxes, limit } = body;
    if (
      !Array.isArray(mailboxes) ||
      mailboxes.length < 1 ||
      mailboxes.length > 1000 ||
      !mailboxes.every((m) => typeof m === 'string') ||
      !Number.isInteger(limit) ||
      (limit as number) < 1
    ) {
      return fail(422, 'invalid_request', 'mailboxes is an array of 1 to 1000 addresses, limit a whole number of at least 1');
    }
    const found = (mailboxes as string[])
      .map((address) => ({
        address,
        emails: (this.pending(address.toLowerCase(), limit as number).body as { emails: PendingEmail[] }).emails,
      }))
      .filter((m) => m.emails.length);
    return ok({ mailboxes: found });
  }

  private lookupByTrackingToken(token: unknown): Answer {
    if (typeof token !== 'string' || !token) return fail(422, 'invalid_request', 'trackingToken must be a non-empty string');
    for (const o of this.outgoingById.values()) if (o.email.trackingToken === token) return ok({ crmEmailId: o.email.crmEmailId });
    return ok({ crmEmailId: null });
  }

  private attachment(crmEmailId: string, attachmentId: string): Answer {
    this.counters.attachmentFetches++;
    const file = this.outgoingById.get(crmEmailId)?.files.find((f) => f.attachmentId === attachmentId);
    if (!file) return fail(404, 'not_found', `no attachment ${attachmentId} on email ${crmEmailId}`);
    const failure = this.attachmentFailures.get(attachmentId);
    if (failure && failure.remaining > 0) {
      failure.remaining--;
      return fail(failure.status, 'storage_unavailable', 'the attachment store failed (injected)');
    }
    return { status: 200, body: undefined, bytes: file.content };
  }

  private pending(mailboxAddress: string, limit: number): Answer {
    const emails: PendingEmail[] = [];
    for (const o of this.outgoingById.values()) {
      if (emails.length >= limit) break;
      if (o.mailboxAddress === mailboxAddress && (o.status === 'pending' || o.status === 'sending'))
        emails.push({ ...o.email, state: o.status === 'sending' ? 'Sending' : 'PendingSend' });
    }
    return ok({ emails });
  }

  private transition(id: string, to: Transition, body: Record<string, unknown>): Answer {
    const o = this.outgoingById.get(id);
    if (!o) return fail(404, 'not_found', `no email ${id}`);
    if (body.crmEmailId !== id) return fail(422, 'invalid_request', 'crmEmailId in the body must match the path');
    if (to === 'sending') {
      if (o.status === 'sent' || o.status === 'failed') return fail(409, 'not_pending', `email is ${o.status}`);
      o.status = 'sending';
      o.attempts++;
      o.sentMessageId = String(body.messageId ?? '');
      this.counters.sending++;
      return ok({ status: o.status, attempts: o.attempts });
    }
    if (to === 'release') {
      if (o.status === 'sent' || o.status === 'failed') return fail(409, 'not_sending', `email is ${o.status}`);
      o.status = 'pending';
      this.counters.released++;
      return ok({ status: o.status });
    }
    if (to === 'sent') {
      if (o.status !== 'sent') this.counters.sent++;
      o.status = 'sent';
      o.sentMessageId = String(body.messageId ?? '');
      o.sentAt = String(body.sentAt ?? '');
      return ok({ status: o.status });
    }
    if (o.status === 'sent') return fail(409, 'already_sent', 'email was sent');
    if (o.status !== 'failed') this.counters.failed++;
    o.status = 'failed';
    o.failure = { reason: String(body.reason ?? ''), message: String(body.message ?? '') };
    return ok({ status: o.status });
  }

  /** Test-only endpoints for a fake running in another process; no authentication (loopback only). */
  /** Test-only endpoints of extensions (`/_test/...`): an answer when they have the route. */
  readonly testExtensions: FakeCrmExtension[] = [];

  private handleTest(method: string, path: string, query: URLSearchParams, raw: Buffer, res: http.ServerResponse): void {
    for (const ext of this.testExtensions) {
      const answer = ext(method, path, query, raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {});
      if (answer) return send(res, answer.status, answer.body);
    }
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
      this.failNext(Number(body.count ?? 1), {
        status: body.status as number | undefined,
        retryAfterSec: body.retryAfterSec as number | undefined,
      });
      return send(res, 200, {});
    }
    if (method === 'POST' && path === '/_test/pending-emails') {
      const files = ((body.files as { filename: string; contentType: string; contentBase64: string }[] | undefined) ?? []).map((f) => ({
        filename: f.filename,
        contentType: f.contentType,
        content: Buffer.from(f.contentBase64, 'base64'),
      }));
      const id = this.addPendingEmail(String(body.mailboxAddress), body.email as PendingEmail, files);
      return send(res, 201, { crmEmailId: id });
    }
    if (method === 'GET' && path.startsWith('/_test/outgoing/')) {
      const o = this.outgoing(decodeURIComponent(path.slice('/_test/outgoing/'.length)));
      return o ? send(res, 200, { ...o, files: o.files.map(({ content: _content, ...f }) => f) }) : send(res, 404, {});
    }
    send(res, 404, { error: { code: 'not_found', message: 'no such test endpoint' } });
  }
}

function ok(body: unknown, status = 200): Answer {
  return { status, body };
}

function fail(status: number, code: string, message: string): Answer {
  return { status, body: { error: { code, message } } };
}

/** A single endpoint's answer as a batch result: `{status, crmId}`, `{status, error}`. */
function batchItem(a: Answer): unknown {
  return { status: a.status, ...(a.body as object) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
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

/** Standalone: `PORT=0 TOKEN=... SIGNING_KEY=... [BATCH=off] node dist/test/support/fake-crm-webhook.js`. */
async function main(): Promise<void> {
  const fake = await FakeCrmWebhook.start({
    port: Number(process.env.PORT ?? 0),
    token: process.env.TOKEN ?? 'fake-crm-token-0123456789',
    signingKey: process.env.SIGNING_KEY ?? 'fake-crm-signing-key-0123456789',
    basePath: process.env.BASE_PATH,
    latencyMs: Number(process.env.LATENCY_MS ?? 0),
    batchOff: process.env.BATCH === 'off' ? 404 : undefined,
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
