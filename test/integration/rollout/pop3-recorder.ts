// A plaintext POP3 relay in front of Dovecot that records every session passing through it: who
// logged in, which commands were sent, when the connection was accepted and when QUIT went by.
// It measures how many connection tests run at once without touching the operator's code.
//
// The recorded interval [accept, QUIT seen] of a session lies inside the time the operator holds a
// test slot for it: the client connects after taking the slot, and releases it only after the
// server's answer to QUIT, which comes back through this relay after QUIT went through it. So the
// most sessions ever open together here is at most the most tests the operator ran at once.

import net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface Pop3Session {
  user?: string;
  /** Command verbs in order (AUTH, STAT, UIDL, QUIT, ...). */
  commands: string[];
  /** performance.now() when the connection was accepted. */
  start: number;
  /** performance.now() when QUIT passed, or when the connection closed without it. */
  end?: number;
}

export class Pop3Recorder {
  readonly sessions: Pop3Session[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(upstreamPort: number): Promise<Pop3Recorder> {
    let recorder: Pop3Recorder | undefined;
    const server = net.createServer((client) => recorder!.relay(client, upstreamPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    recorder = new Pop3Recorder(server, (server.address() as net.AddressInfo).port);
    return recorder;
  }

  /** Sessions that tested a mailbox (STAT) rather than synced it (UIDL), complete ones only. */
  tests(): Required<Pop3Session>[] {
    return this.sessions.filter(
      (s): s is Required<Pop3Session> => s.end !== undefined && s.commands.includes('STAT') && !s.commands.includes('UIDL') && !!s.user,
    );
  }

  /** The most sessions of `list` open at the same moment. */
  static maxOverlap(list: { start: number; end: number }[]): number {
    // Ends sort before starts at the same instant: a session that ended as another began never overlapped it.
    const points = list.flatMap((s) => [[s.start, 1] as const, [s.end, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let open = 0;
    let max = 0;
    for (const [, d] of points) max = Math.max(max, (open += d));
    return max;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: net.Socket, upstreamPort: number): void {
    const session: Pop3Session = { commands: [], start: performance.now() };
    this.sessions.push(session);
    const upstream = net.connect({ host: '127.0.0.1', port: upstreamPort });
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    let buffered = '';
    client.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      let i;
      while ((i = buffered.indexOf('\r\n')) >= 0) {
        this.command(session, buffered.slice(0, i));
        buffered = buffered.slice(i + 2);
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const done = () => {
      session.end ??= performance.now();
      client.destroy();
      upstream.destroy();
    };
    client.on('close', done);
    upstream.on('close', done);
  }

  private command(session: Pop3Session, line: string): void {
    const [verb = '', ...args] = line.split(' ');
    const v = verb.toUpperCase();
    session.commands.push(v);
    if (v === 'USER') session.user = args[0];
    if (v === 'AUTH' && args[0]?.toUpperCase() === 'PLAIN' && args[1])
      session.user = Buffer.from(args[1], 'base64').toString('utf8').split('\0')[1];
    if (v === 'QUIT') session.end ??= performance.now();
  }
}
