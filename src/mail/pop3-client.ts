// A small POP3 client (RFC 1939) with CAPA (RFC 2449), STLS (RFC 2595), SASL AUTH with initial
// response (RFC 5034) for PLAIN, XOAUTH2 and OAUTHBEARER, and USER/PASS as the fallback.
//
// Ours rather than an npm package because the maintained one parses per chunk (it hangs when a
// terminator is split across packets) and does not undo dot-stuffing; see pop3-parser.ts.
// Commands run one at a time (no PIPELINING), each with its own timeout. Errors are Pop3Error for
// server refusals and protocol faults; socket and TLS failures reject with Node's own error, whose
// code (ECONNREFUSED, SELF_SIGNED_CERT_IN_CHAIN, ...) classifyError understands.
import net from 'node:net';
import tls from 'node:tls';
import { Pop3ParseError, Pop3ResponseParser, type Pop3Reply } from './pop3-parser.js';
import { DEFAULT_TIMEOUT_MS, tlsOptionsFor } from '../net/tls.js';
import type { Endpoint } from './types.js';

export type Pop3ErrorCode =
  /** The server answered -ERR. */
  | 'ERESPONSE'
  | 'ETIMEDOUT'
  /** The server closed the connection. */
  | 'ECONNECTION'
  /** The server's reply made no sense. */
  | 'EPROTOCOL'
  /** STLS was required but not offered or refused, or data was injected before the handshake. */
  | 'ETLS'
  /** The server offers no mechanism for the given credentials. */
  | 'ENOAUTH';

export class Pop3Error extends Error {
  readonly code: Pop3ErrorCode;
  /** The command that failed (its name only, never its arguments). */
  readonly command?: string;
  /** RFC 2449/3206 extended response code, e.g. AUTH, IN-USE, SYS/TEMP, LOGIN-DELAY. */
  readonly responseCode?: string;
  /** The server's -ERR text. It may echo what was sent, so redact before showing it. */
  readonly response?: string;
  constructor(
    code: Pop3ErrorCode,
    message: string,
    opts: { command?: string; responseCode?: string; response?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'Pop3Error';
    this.code = code;
    this.command = opts.command;
    this.responseCode = opts.responseCode;
    this.response = opts.response;
  }
}

export interface Pop3ClientOptions extends Pick<Endpoint, 'host' | 'port' | 'tls' | 'ca'> {
  /** Timeout for connecting and for each command, in ms. */
  timeoutMs?: number;
  /** Aborting destroys the connection and fails the pending command. */
  signal?: AbortSignal;
}

export type Pop3Login = { username: string; password: string } | { username: string; accessToken: string };

export interface Pop3Stat {
  count: number;
  size: number;
}

/** RFC 2449 §4: command lines, AUTH with its initial response included, are at most 255 octets. */
const MAX_COMMAND_LINE = 255;

export class Pop3Client {
  /** CAPA result: capability name (upper case) → its arguments. Empty when the server lacks CAPA. */
  capabilities = new Map<string, string[]>();
  greeting = '';
  private socket: net.Socket;
  private parser = new Pop3ResponseParser();
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** What ended the connection (timeout, abort, socket error), reported to every later command. */
  private failure?: Error;
  private readonly timeoutMs: number;

  private constructor(
    socket: net.Socket,
    private readonly options: Pop3ClientOptions,
  ) {
    this.socket = socket;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.attach(socket);
  }

  /**
   * Connects, reads the greeting and the capabilities, and (in STARTTLS mode) upgrades with STLS,
   * which is then mandatory. Resolves with a client ready to authenticate.
   */
  static async connect(options: Pop3ClientOptions): Promise<Pop3Client> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const socket = await openSocket(options, timeoutMs);
    const client = new Pop3Client(socket, options);
    try {
      const onAbort = (): void => client.destroy(options.signal?.reason ?? new Error('aborted'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('close', () => options.signal?.removeEventListener('abort', onAbort));
      const greeting = await client.exclusive(() => client.awaitReply(false, 'CONNECT'));
      client.greeting = greeting.text;
      await client.readCapabilities();
      if (options.tls === 'STARTTLS') await client.startTls();
      return client;
    } catch (err) {
      client.destroy();
      throw err;
    }
  }

  get secure(): boolean {
    return this.socket instanceof tls.TLSSocket && this.socket.encrypted;
  }

  /** Logs in: SASL PLAIN/XOAUTH2/OAUTHBEARER when offered, USER/PASS for passwords otherwise. */
  async authenticate(login: Pop3Login): Promise<void> {
    const sasl = new Set((this.capabilities.get('SASL') ?? []).map((m) => m.toUpperCase()));
    if ('accessToken' in login) {
      if (sasl.has('XOAUTH2')) {
        return this.sasl('XOAUTH2', `user=${login.username}\x01auth=Bearer ${login.accessToken}\x01\x01`);
      }
      if (sasl.has('OAUTHBEARER')) {
        const gs2 = `n,a=${login.username.replace(/=/g, '=3D').replace(/,/g, '=2C')},`;
        return this.sasl(
          'OAUTHBEARER',
          `${gs2}\x01host=${this.options.host}\x01port=${this.options.port}\x01auth=Bearer ${login.accessToken}\x01\x01`,
        );
      }
      throw new Pop3Error('ENOAUTH', 'the server offers neither SASL XOAUTH2 nor OAUTHBEARER', { command: 'AUTH' });
    }
    if (sasl.has('PLAIN')) return this.sasl('PLAIN', `\0${login.username}\0${login.password}`);
    await this.exclusive(async () => {
      await this.ok(await this.roundTrip(`USER ${login.username}`, false, 'USER'), 'USER');
      await this.ok(await this.roundTrip(`PASS ${login.password}`, false, 'PASS'), 'PASS');
    });
  }

  async stat(): Promise<Pop3Stat> {
    const reply = await this.simple('STAT');
    const [count, size] = reply.text.split(/\s+/).map(Number);
    if (!Number.isInteger(count) || !Number.isInteger(size)) throw new Pop3Error('EPROTOCOL', 'malformed STAT reply', { command: 'STAT' });
    return { count, size };
  }

  /** Unique ids of all messages (not marked deleted), by message number. */
  async uidl(): Promise<Array<{ msg: number; uid: string }>> {
    return listing(await this.multi('UIDL'), 'UIDL').map(([msg, uid]) => ({ msg, uid }));
  }

  /** Sizes of all messages (not marked deleted), by message number. */
  async list(): Promise<Array<{ msg: number; size: number }>> {
    return listing(await this.multi('LIST'), 'LIST').map(([msg, size]) => ({ msg, size: Number(size) }));
  }

  /** The whole message, exactly as stored (dot-stuffing undone). */
  async retr(msg: number): Promise<Buffer> {
    return this.multi(`RETR ${int(msg)}`);
  }

  /** Headers plus the first `lines` body lines. */
  async top(msg: number, lines: number): Promise<Buffer> {
    return this.multi(`TOP ${int(msg)} ${int(lines)}`);
  }

  async dele(msg: number): Promise<void> {
    await this.simple(`DELE ${int(msg)}`);
  }

  async rset(): Promise<void> {
    await this.simple('RSET');
  }

  async noop(): Promise<void> {
    await this.simple('NOOP');
  }

  /** Ends the session; the server applies DELE marks only now (UPDATE state). */
  async quit(): Promise<void> {
    try {
      await this.simple('QUIT');
    } finally {
      this.closed = true;
      this.socket.end();
    }
  }

  /** Drops the connection without QUIT: pending DELE marks are discarded by the server. */
  close(): void {
    this.destroy();
  }

  private destroy(err?: Error): void {
    this.closed = true;
    if (err) this.failure ??= err;
    this.parser.fail(err ?? new Pop3Error('ECONNECTION', 'connection closed by the client'));
    this.socket.destroy();
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => this.parser.push(chunk));
    socket.on('error', (err) => {
      this.failure ??= err;
      this.parser.fail(err);
    });
    socket.on('close', () => this.parser.fail(new Pop3Error('ECONNECTION', 'the server closed the connection')));
  }

  private detach(socket: net.Socket): void {
    socket.removeAllListeners('data');
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
  }

  private async readCapabilities(): Promise<void> {
    this.capabilities = new Map();
    const reply = await this.exclusive(() => this.roundTrip('CAPA', true, 'CAPA'));
    if (reply.kind !== 'ok' || !reply.data) return; // a server without CAPA: USER/PASS only
    for (const line of reply.data.toString('utf8').split(/\r?\n/)) {
      const [name, ...args] = line.trim().split(/\s+/);
      if (name) this.capabilities.set(name.toUpperCase(), args);
    }
  }

  private async startTls(): Promise<void> {
    if (!this.capabilities.has('STLS')) {
      throw new Pop3Error('ETLS', 'the server does not offer STLS, and STARTTLS mode requires it', { command: 'STLS' });
    }
    await this.exclusive(async () => {
      const reply = await this.roundTrip('STLS', false, 'STLS');
      if (reply.kind !== 'ok') throw new Pop3Error('ETLS', 'the server refused STLS', { command: 'STLS', response: reply.text });
      // Bytes after +OK and before the handshake would be read as if they came over TLS.
      if (this.parser.buffered > 0)
        throw new Pop3Error('ETLS', 'the server sent data after STLS before the TLS handshake', { command: 'STLS' });
      const plain = this.socket;
      this.detach(plain);
      const secure = await upgradeSocket(plain, this.options, this.timeoutMs);
      this.socket = secure;
      this.parser = new Pop3ResponseParser();
      this.attach(secure);
    });
    // RFC 2595 §4: capabilities learned before TLS must be discarded (they may have been forged).
    await this.readCapabilities();
  }

  private async sasl(mechanism: string, initialResponse: string): Promise<void> {
    const encoded = Buffer.from(initialResponse, 'utf8').toString('base64');
    await this.exclusive(async () => {
      const inline = `AUTH ${mechanism} ${encoded}`;
      let reply: Pop3Reply;
      if (inline.length <= MAX_COMMAND_LINE) {
        reply = await this.roundTrip(inline, false, 'AUTH');
      } else {
        // Too long for one line (OAuth tokens usually are): send the response after the "+" prompt.
        reply = await this.roundTrip(`AUTH ${mechanism}`, false, 'AUTH');
        if (reply.kind === 'continue') reply = await this.roundTrip(encoded, false, 'AUTH');
      }
      if (reply.kind === 'continue') {
        // XOAUTH2/OAUTHBEARER report failures as a challenge carrying JSON; an empty response
        // (RFC 7628 §3.2.3: a single ^A for OAUTHBEARER) ends the exchange with the final -ERR.
        reply = await this.roundTrip(mechanism === 'OAUTHBEARER' ? Buffer.from('\x01').toString('base64') : '', false, 'AUTH');
      }
      await this.ok(reply, 'AUTH');
    });
  }

  private async simple(line: string): Promise<Pop3Reply & { kind: 'ok' }> {
    const command = line.split(' ')[0];
    return this.exclusive(async () => this.ok(await this.roundTrip(line, false, command), command));
  }

  private async multi(line: string): Promise<Buffer> {
    const command = line.split(' ')[0];
    return this.exclusive(async () => {
      const reply = await this.ok(await this.roundTrip(line, true, command), command);
      return reply.data ?? Buffer.alloc(0);
    });
  }

  private async ok(reply: Pop3Reply, command: string): Promise<Pop3Reply & { kind: 'ok' }> {
    if (reply.kind === 'ok') return reply;
    if (reply.kind === 'continue') throw new Pop3Error('EPROTOCOL', `unexpected continuation after ${command}`, { command });
    throw new Pop3Error('ERESPONSE', `the server refused ${command}${reply.responseCode ? ` [${reply.responseCode}]` : ''}`, {
      command,
      responseCode: reply.responseCode,
      response: reply.text,
    });
  }

  /** Runs `task` after every earlier one: POP3 without PIPELINING is strictly request/response. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task, task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Sends one line and waits for its reply. Only call inside exclusive(). */
  private roundTrip(line: string, multiline: boolean, command: string): Promise<Pop3Reply> {
    if (this.closed) return Promise.reject(this.failure ?? new Pop3Error('ECONNECTION', 'the connection is closed', { command }));
    const reply = this.awaitReply(multiline, command);
    this.socket.write(`${line}\r\n`);
    return reply;
  }

  private awaitReply(multiline: boolean, command: string): Promise<Pop3Reply> {
    return new Promise<Pop3Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = new Pop3Error('ETIMEDOUT', `no reply to ${command} within ${this.timeoutMs} ms`, { command });
        this.destroy(err);
        reject(err);
      }, this.timeoutMs);
      this.parser.expect(multiline).then(
        (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        (err: Error) => {
          clearTimeout(timer);
          reject(err instanceof Pop3ParseError ? new Pop3Error('EPROTOCOL', err.message, { command, cause: err }) : err);
        },
      );
    });
  }
}

function int(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`not a message number: ${n}`);
  return n;
}

function listing(data: Buffer, command: string): Array<[number, string]> {
  const rows: Array<[number, string]> = [];
  for (const line of data.toString('latin1').split(/\r?\n/)) {
    if (!line.trim()) continue;
    const [msg, value] = line.trim().split(/\s+/);
    if (!/^\d+$/.test(msg) || value === undefined) throw new Pop3Error('EPROTOCOL', `malformed ${command} line`, { command });
    rows.push([Number(msg), value]);
  }
  return rows;
}

/** Opens TCP (and, for Implicit TLS, the handshake), failing with Node's error or ETIMEDOUT. */
function openSocket(options: Pop3ClientOptions, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const implicit = options.tls === 'Implicit';
    const socket = implicit
      ? tls.connect({ host: options.host, port: options.port, ...tlsOptionsFor(options) })
      : net.connect({ host: options.host, port: options.port });
    settleSocket(socket, implicit ? 'secureConnect' : 'connect', timeoutMs, options.signal, resolve, reject);
  });
}

function upgradeSocket(plain: net.Socket, options: Pop3ClientOptions, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({ socket: plain, ...tlsOptionsFor(options) });
    settleSocket(secure, 'secureConnect', timeoutMs, options.signal, resolve, reject);
  });
}

function settleSocket<S extends net.Socket>(
  socket: S,
  readyEvent: 'connect' | 'secureConnect',
  timeoutMs: number,
  signal: AbortSignal | undefined,
  resolve: (s: S) => void,
  reject: (err: unknown) => void,
): void {
  const fail = (err: unknown): void => {
    cleanup();
    socket.destroy();
    reject(err);
  };
  const onError = (err: Error): void => fail(err);
  const onAbort = (): void => fail(signal?.reason ?? new Error('aborted'));
  const timer = setTimeout(
    () => fail(new Pop3Error('ETIMEDOUT', `connecting took longer than ${timeoutMs} ms`, { command: 'CONNECT' })),
    timeoutMs,
  );
  const cleanup = (): void => {
    clearTimeout(timer);
    socket.off('error', onError);
    signal?.removeEventListener('abort', onAbort);
  };
  if (signal?.aborted) return onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  socket.once('error', onError);
  socket.once(readyEvent, () => {
    cleanup();
    resolve(socket);
  });
}
