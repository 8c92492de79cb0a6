// IMAP incoming adapter on imapflow.
//
// ImapAdapter.test() is the "Test" of Test and Enable: connect with the configured TLS mode, log
// in, open the folder read-only, log out. ImapSession is the long-lived connection incoming sync
// uses: an ImapFlow instance is one connection and cannot reconnect (imapflow#256), so the session
// runs its own reconnect loop and hands out the current instance.
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { resolveLogin, secretsOf, type ResolvedLogin } from './credentials.js';
import { backoffDelay, retryDelay } from '../util/backoff.js';
import type { Pacer } from '../util/pacer.js';
import { sleep, withTimeout } from './deadline.js';
import { classifyError, type ErrorContext } from './errors.js';
import { DEFAULT_TIMEOUT_MS, describeEndpoint, tlsOptionsFor } from '../net/tls.js';
import { connectionSlots, type SlotClaim } from './connection-slots.js';
import { MailError, type ConnectionTester, type Credentials, type Endpoint, type RawMessage } from './types.js';

export interface ImapOptions {
  /** Folder to test and watch; INBOX unless set. */
  mailbox?: string;
  /** Each connection holds one of these slots while open (the profile's maxConcurrentConnections). */
  slots?: SlotClaim;
}

/** imapflow options for an endpoint: TLS mode, verification, timeouts and no logging. */
export function imapFlowOptions(endpoint: Endpoint, login: ResolvedLogin, extra: Partial<ImapFlowOptions> = {}): ImapFlowOptions {
  const timeout = endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.tls === 'Implicit',
    // true makes STARTTLS mandatory: without it a man in the middle can strip the capability
    // and imapflow would go on in cleartext. Not allowed together with secure.
    ...(endpoint.tls === 'Implicit' ? {} : { doSTARTTLS: endpoint.tls === 'STARTTLS' }),
    tls: tlsOptionsFor(endpoint),
    auth:
      'accessToken' in login ? { user: login.username, accessToken: login.accessToken } : { user: login.username, pass: login.password },
    logger: false,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    ...extra,
  };
}

export class ImapAdapter implements ConnectionTester {
  private readonly mailbox: string;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly credentials: Credentials,
    private readonly options: ImapOptions = {},
  ) {
    this.mailbox = options.mailbox ?? 'INBOX';
  }

  test(signal?: AbortSignal): Promise<void> {
    return connectionSlots.run(this.options.slots, () => this.testNow(signal), {
      signal,
      waitMs: this.endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
  }

  private async testNow(signal?: AbortSignal): Promise<void> {
    const timeout = this.endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let login: ResolvedLogin | undefined;
    let client: ImapFlow | undefined;
    try {
      login = await resolveLogin(this.credentials, imapContext(this.endpoint, this.credentials));
      const c = new ImapFlow(imapFlowOptions(this.endpoint, login, { disableAutoIdle: true, socketTimeout: timeout }));
      client = c;
      // Failures also reject the pending call; without a listener an 'error' event would throw.
      c.on('error', () => undefined);
      const guard = { signal, onTimeout: () => c.close() };
      await withTimeout(c.connect(), timeout, 'connecting and logging in', guard);
      await withTimeout(c.mailboxOpen(this.mailbox, { readOnly: true }), timeout, `opening ${this.mailbox}`, guard);
    } catch (err) {
      client?.close();
      throw classifyError(err, imapContext(this.endpoint, this.credentials, login));
    }
    // The test has passed; a failing LOGOUT says nothing about the mailbox.
    await withTimeout(client.logout(), timeout, 'logging out').catch(() => client.close());
  }
}

function imapContext(endpoint: Endpoint, credentials: Credentials, login?: ResolvedLogin): ErrorContext {
  return { protocol: 'IMAP', server: describeEndpoint(endpoint), secrets: secretsOf(credentials, login) };
}

export interface MailboxStatus {
  uidValidity: bigint;
  uidNext: number;
  /** Absent when the server lacks CONDSTORE. */
  highestModseq?: bigint;
  messages: number;
}

export interface ImapSessionOptions extends ImapOptions {
  /** Watch the Sent folder (found as findSentFolder finds it) instead of `mailbox`. */
  sentFolder?: boolean;
  /** New mail arrived in the watched folder (IMAP EXISTS, usually during IDLE): time to sync. */
  onExists?: (count: number) => void;
  /** A connection attempt failed or the connection dropped; the session keeps retrying transient failures. */
  onError?: (err: MailError) => void;
  /**
   * A connection is up and the folder is open (first time, and after each reconnect). Mail that
   * arrived while disconnected raises no EXISTS event, so this is also a cue to sync.
   */
  onConnected?: () => void;
  /** Reconnect back-off: exponential with jitter between these bounds. */
  backoff?: { initialMs?: number; maxMs?: number };
  /**
   * Protocol-level detail for a debug log (connects, logins, folder state, EXISTS, fetch sizes,
   * drops). Never given credentials or message content.
   */
  debug?: (message: string, fields?: Record<string, unknown>) => void;
  /** IDLE starts after this much inactivity (ms). Default 1 s: new mail is noticed within about a second. */
  idleDelayMs?: number;
  /** Upper bound for one fetch round trip batch, in messages. */
  fetchBatchMessages?: number;
  /** Upper bound for one fetch batch, in bytes (as reported by RFC822.SIZE). */
  fetchBatchBytes?: number;
  /**
   * Paces this session's sign-ins with every other session's of the process (util/pacer.ts), so a
   * restart or a server that comes back does not make thousands of mailboxes sign in at once.
   */
  pacer?: Pick<Pacer, 'run'>;
  /** Negotiate COMPRESS=DEFLATE when the server offers it (default: off). */
  compress?: boolean;
}

type Waiter = {
  resolve: (c: ImapFlow) => void;
  reject: (e: MailError) => void;
  /** Starts the wait's timeout unless it is running. */ arm: () => void;
};

/**
 * A self-healing IMAP connection to one folder. Commands are serialized (imapflow deadlocks when a
 * command runs inside a fetch loop, and concurrent fetches pile up); each waits for a live
 * connection up to the endpoint timeout and rejects with MailError. close() stops everything.
 */
export class ImapSession {
  private mailbox: string;
  private readonly timeout: number;
  private readonly stopper = new AbortController();
  private client?: ImapFlow;
  private waiters: Waiter[] = [];
  private lastError?: MailError;
  /** Queued behind the process's sign-in pacer or the profile's connection slots (see acquire). */
  private waitingForTurn = false;
  /** Set when a permanent failure (e.g. rejected credentials) ended the reconnect loop. */
  private failure?: MailError;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly loop: Promise<void>;
  /** The Sent folder's path, once found. */
  private sentFolder?: string;
  /** The current connection is being closed on purpose by refresh(): reconnect at once, report nothing. */
  private refreshing = false;
  private idleCheck?: NodeJS.Timeout;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly credentials: Credentials,
    private readonly options: ImapSessionOptions = {},
  ) {
    this.mailbox = options.mailbox ?? 'INBOX';
    this.timeout = endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.loop = this.run();
  }

  /** True while a connection is up and the folder is open. */
  get connected(): boolean {
    return this.client?.usable === true;
  }

  /** Resolves once connected (or rejects with the permanent failure, or a Timeout). */
  async ready(): Promise<void> {
    await this.acquire();
  }

  async status(): Promise<MailboxStatus> {
    return this.command('reading folder status', async (c) => {
      const s = await c.status(this.mailbox, { uidValidity: true, uidNext: true, highestModseq: true, messages: true });
      if (!s || s.uidValidity === undefined || s.uidNext === undefined)
        throw new MailError('ProtocolError', `IMAP ${describeEndpoint(this.endpoint)}: STATUS did not report UIDVALIDITY and UIDNEXT`);
      return { uidValidity: s.uidValidity, uidNext: s.uidNext, highestModseq: s.highestModseq, messages: s.messages ?? 0 };
    });
  }

  /**
   * Messages with UID greater than `lastUid`, oldest first, id `${uidValidity}:${uid}`. UIDs and
   * sizes are listed first, then sources are fetched in bounded batches and only handed out after
   * each batch completes, so the consumer may run commands (moveTo, delete) between messages.
   */
  async *fetchSince(lastUid: number): AsyncGenerator<RawMessage> {
    const { uidValidity, items } = await this.command('listing new messages', async (c) => {
      const mailbox = c.mailbox;
      if (!mailbox) throw new MailError('ProtocolError', 'no folder is open');
      const found: Array<{ uid: number; size: number }> = [];
      // "N:*" always matches the newest message even when its UID is below N, hence the filter.
      for await (const m of c.fetch(`${lastUid + 1}:*`, { uid: true, size: true }, { uid: true })) {
        if (m.uid > lastUid) found.push({ uid: m.uid, size: m.size ?? 0 });
      }
      return { uidValidity: mailbox.uidValidity, items: found.sort((a, b) => a.uid - b.uid) };
    });
    if (items.length)
      this.debug(`${items.length} new message(s) after UID ${lastUid}`, {
        uids: `${items[0].uid}:${items[items.length - 1].uid}`,
        bytes: items.reduce((n, i) => n + i.size, 0),
      });
    const fetchBatch = (batch: number[]) =>
      this.command('fetching messages', async (c) => {
        // A reconnect between batches may land on a recreated folder: its UIDs mean other messages.
        if (!c.mailbox || c.mailbox.uidValidity !== uidValidity) {
          throw new MailError(
            'ProtocolError',
            `IMAP ${describeEndpoint(this.endpoint)}: UIDVALIDITY of ${this.mailbox} changed during the fetch; resync from status()`,
          );
        }
        const out: RawMessage[] = [];
        for await (const m of c.fetch(batch.join(','), { uid: true, source: true, internalDate: true }, { uid: true })) {
          const receivedAt = m.internalDate instanceof Date ? m.internalDate : m.internalDate ? new Date(m.internalDate) : undefined;
          if (m.source) out.push({ id: `${uidValidity}:${m.uid}`, source: m.source, ...(receivedAt ? { receivedAt } : {}) });
        }
        return out.sort((a, b) => uidOf(a) - uidOf(b));
      });
    // One batch ahead: the server streams the next batch while the consumer works on this one.
    // Commands stay serialized, so a moveTo/delete from the consumer simply queues behind it.
    const all = batches(items, this.options.fetchBatchMessages ?? 100, this.options.fetchBatchBytes ?? 16 * 1024 * 1024);
    let ahead = all.length ? fetchBatch(all[0]) : undefined;
    for (let i = 0; ahead; i++) {
      const current = ahead;
      ahead = i + 1 < all.length ? fetchBatch(all[i + 1]) : undefined;
      // A consumer that stops early never awaits the batch ahead; its failure is not news then.
      ahead?.catch(() => undefined);
      yield* await current;
    }
  }

  /** Moves a message to another folder (MOVE, or COPY+EXPUNGE where MOVE is missing). */
  async moveTo(uid: number, folder: string): Promise<void> {
    await this.command(`moving message ${uid} to ${folder}`, async (c) => {
      const moved = await c.messageMove(String(uid), folder, { uid: true });
      if (moved === false) {
        // imapflow reports a failed MOVE as `false` and keeps the reason to itself. The usual
        // cause is a missing target folder: STATUS on it fails with NONEXISTENT if so.
        await c.status(folder, { messages: true });
        throw new MailError(
          'ServerError',
          `IMAP ${describeEndpoint(this.endpoint)}: the server did not move message ${uid} to "${folder}"; it is retried with back-off`,
        );
      }
    });
  }

  /**
   * Saves a copy of a message this mailbox sent (through SMTP) in its Sent folder, flagged \Seen,
   * as a mail client does: SMTP servers, unlike Exchange and Gmail, keep no copy themselves.
   */
  async appendToSent(raw: Buffer): Promise<void> {
    await this.command('saving a sent message in the Sent folder', async (c) => {
      this.sentFolder ??= await findSentFolder(c);
      try {
        await c.append(this.sentFolder, raw, ['\\Seen']);
      } catch (err) {
        this.sentFolder = undefined; // renamed or deleted meanwhile: look again next time
        throw err;
      }
    });
  }

  /** Deletes a message for good (flag \Deleted and expunge it). */
  async delete(uid: number): Promise<void> {
    await this.command(`deleting message ${uid}`, async (c) => {
      await c.messageDelete(String(uid), { uid: true });
    });
  }

  /**
   * Logs out and signs in again on a new connection, after any command in flight. A session can
   * stay open for days on credentials that were revoked meanwhile; signing in afresh now and then
   * (the sync worker does it at every safety resync) finds that out. Rejects with the failure
   * (rejected credentials are permanent: the session then stops reconnecting).
   */
  async refresh(): Promise<void> {
    this.debug('signing in again on a new connection');
    await this.command('signing in again', async (c) => {
      this.refreshing = true;
      await c.logout();
    });
    await this.acquire();
  }

  /** Stops reconnecting, logs out and fails pending callers. */
  async close(): Promise<void> {
    if (this.stopper.signal.aborted) return this.loop;
    this.stopper.abort();
    if (this.idleCheck) clearTimeout(this.idleCheck);
    const closing = new MailError('ServerUnreachable', `IMAP ${describeEndpoint(this.endpoint)}: the session was closed`);
    for (const w of this.waiters.splice(0)) w.reject(closing);
    const client = this.client;
    if (client?.usable) await withTimeout(client.logout(), this.timeout, 'logging out').catch(() => client.close());
    else client?.close();
    await this.loop;
  }

  private debug(message: string, fields?: Record<string, unknown>): void {
    this.options.debug?.(`IMAP ${describeEndpoint(this.endpoint)}: ${message}`, fields);
  }

  private get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  private context(login?: ResolvedLogin): ErrorContext {
    return imapContext(this.endpoint, this.credentials, login);
  }

  private async command<T>(what: string, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
    const task = async (): Promise<T> => {
      const client = await this.acquire();
      try {
        return await withTimeout(fn(client), this.timeout, what, { onTimeout: () => client.close() });
      } catch (err) {
        throw classifyError(err, this.context());
      }
    };
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    void run.finally(() => this.checkIdleSoon()).catch(() => undefined);
    return run;
  }

  /**
   * A connection that is free after our commands must be back in IDLE, or new mail goes unnoticed
   * until the safety resync. imapflow re-enters IDLE by itself; this checks, a while after the
   * last command, that it did (IDLE can die silently: imapflow#14), and starts it if not.
   */
  private checkIdleSoon(): void {
    if (this.idleCheck) clearTimeout(this.idleCheck);
    this.idleCheck = setTimeout(
      () => {
        this.idleCheck = undefined;
        const c = this.client as (ImapFlow & { idling?: boolean }) | undefined;
        if (this.stopped || !c?.usable || c.idling) return;
        this.debug('not in IDLE after the last command; starting it');
        c.idle({ whenFree: true }).catch(() => undefined);
      },
      (this.options.idleDelayMs ?? 1000) + 5000,
    );
    this.idleCheck.unref();
  }

  /** The live client, waiting up to the timeout for the reconnect loop to produce one. */
  private acquire(): Promise<ImapFlow> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopped)
      return Promise.reject(new MailError('ServerUnreachable', `IMAP ${describeEndpoint(this.endpoint)}: the session was closed`));
    if (this.client?.usable) return Promise.resolve(this.client);
    return new Promise<ImapFlow>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const expire = () => {
        // Waiting for our own turn (sign-in pacing, the profile's connection slots) says nothing
        // about the server: after a restart at 10,000 mailboxes the last sign-ins wait minutes
        // for theirs. A wait that times out in the queue gets a fresh timeout when the turn comes
        // (connectOnce), so it measures the server; one running across failed attempts goes on.
        if (this.waitingForTurn) {
          timer = undefined;
          return;
        }
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          this.lastError ??
            new MailError(
              'Timeout',
              `IMAP ${describeEndpoint(this.endpoint)}: no connection within ${this.timeout} ms; it is retried with back-off`,
            ),
        );
      };
      const waiter: Waiter = {
        resolve: (c) => {
          clearTimeout(timer);
          resolve(c);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
        arm: () => {
          timer ??= setTimeout(expire, this.timeout);
        },
      };
      if (!this.waitingForTurn) waiter.arm();
      this.waiters.push(waiter);
    });
  }

  private async run(): Promise<void> {
    const initial = this.options.backoff?.initialMs ?? 1000;
    const max = this.options.backoff?.maxMs ?? 5 * 60_000;
    let attempt = 0;
    while (!this.stopped) {
      let client: ImapFlow;
      try {
        const pacer = this.options.pacer;
        this.waitingForTurn = true;
        client = await (pacer ? pacer.run(() => this.connectOnce(), this.stopper.signal) : this.connectOnce());
      } catch (err) {
        this.waitingForTurn = false;
        if (this.stopped) break;
        const error = err instanceof MailError ? err : classifyError(err, this.context());
        this.debug(`connection attempt failed (${error.reason}${error.permanent ? ', permanent: not retried' : ''})`);
        this.lastError = error;
        this.options.onError?.(error);
        if (error.permanent) {
          // Retrying rejected credentials only locks the account; wait for new configuration.
          this.failure = error;
          for (const w of this.waiters.splice(0)) w.reject(error);
          return;
        }
        await sleep(retryDelay(++attempt, { baseMs: initial, maxMs: max, jitter: 0.2 }, error.retryAfterMs), this.stopper.signal);
        continue;
      }
      const connectedAt = Date.now();
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      this.client = client;
      this.lastError = undefined;
      for (const w of this.waiters.splice(0)) w.resolve(client);
      this.options.onConnected?.();
      await closed;
      this.client = undefined;
      if (this.stopped) break;
      if (this.refreshing) {
        this.refreshing = false;
        attempt = 0;
        continue;
      }
      this.debug('the connection was closed; reconnecting');
      const dropped = new MailError(
        'ServerUnreachable',
        `IMAP ${describeEndpoint(this.endpoint)}: the connection was closed; reconnecting`,
      );
      this.lastError = dropped;
      this.options.onError?.(dropped);
      // A connection that dies right after it is made must not turn into a tight reconnect loop.
      attempt = Date.now() - connectedAt > max ? 0 : attempt + 1;
      await sleep(backoffDelay(attempt, { baseMs: initial, maxMs: max, jitter: 0.2 }), this.stopper.signal);
    }
  }

  private async connectOnce(): Promise<ImapFlow> {
    let login: ResolvedLogin | undefined;
    let client: ImapFlow | undefined;
    // The connection holds a slot from before it opens until it closes.
    let release: (() => void) | undefined;
    if (this.options.slots) {
      if (connectionSlots.inUse(this.options.slots.key) >= this.options.slots.limit)
        this.debug(`waiting for a connection slot: ${this.options.slots.limit} in use (maxConcurrentConnections)`);
      release = await connectionSlots.acquire(this.options.slots, { signal: this.stopper.signal });
    }
    this.waitingForTurn = false;
    for (const w of this.waiters) w.arm();
    try {
      login = await resolveLogin(this.credentials, this.context());
      const c = new ImapFlow(
        imapFlowOptions(this.endpoint, login, {
          autoIdleDelay: this.options.idleDelayMs ?? 1000,
          // Servers drop long IDLEs (Gmail, Exchange); re-issue well within their limits.
          maxIdleTime: 4 * 60_000,
          // Deflate costs CPU on both ends; it pays only over slow links (docs/sync.md).
          disableCompression: !this.options.compress,
        }),
      );
      client = c;
      if (release) c.once('close', release);
      c.on('error', () => undefined); // surfaced through 'close' and the failing command
      c.on('exists', (data: { count: number }) => {
        this.debug(`EXISTS ${data.count}`);
        this.options.onExists?.(data.count);
      });
      const guard = { signal: this.stopper.signal, onTimeout: () => c.close() };
      await withTimeout(c.connect(), this.timeout, 'connecting and logging in', guard);
      if (this.options.sentFolder)
        this.mailbox = this.sentFolder ??= await withTimeout(findSentFolder(c), this.timeout, 'finding the Sent folder', guard);
      const opened = await withTimeout(c.mailboxOpen(this.mailbox), this.timeout, `opening ${this.mailbox}`, guard);
      this.debug(`connected, logged in as ${login.username}, ${this.mailbox} opened`, {
        uidValidity: String(opened.uidValidity),
        uidNext: opened.uidNext,
        exists: opened.exists,
      });
      return c;
    } catch (err) {
      client?.close();
      release?.();
      throw classifyError(err, this.context(login));
    }
  }
}

/** Names mail clients give the Sent folder where the server marks none with the \Sent special use (RFC 6154). */
const SENT_NAMES = ['sent', 'sent items', 'sent messages', 'inbox/sent', 'inbox.sent'];

/** The folder marked \Sent, else one with a usual name, else a new folder "Sent". */
export async function findSentFolder(c: ImapFlow): Promise<string> {
  const folders = await c.list();
  const found = folders.find((f) => f.specialUse === '\\Sent') ?? folders.find((f) => SENT_NAMES.includes(f.path.toLowerCase()));
  if (found) return found.path;
  await c.mailboxCreate('Sent');
  return 'Sent';
}

function uidOf(m: RawMessage): number {
  return Number(m.id.slice(m.id.indexOf(':') + 1));
}

/** Splits UIDs into batches bounded by count and total size (a single huge message gets its own). */
function batches(items: Array<{ uid: number; size: number }>, maxCount: number, maxBytes: number): number[][] {
  const out: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  for (const { uid, size } of items) {
    if (current.length > 0 && (current.length >= maxCount || bytes + size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(uid);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
