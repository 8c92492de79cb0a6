// Servers an attacker would run to collect credentials, for the confused-deputy tests: they record
// everything a client sends and answer just enough for a client to present its credentials.
//   - an IMAP server on plain TCP (the attacker opts in with allowInsecureAuthentication) that
//     refuses every LOGIN/AUTHENTICATE after reading it;
//   - an HTTPS server (the test CA) that answers 200 to everything, like a webhook CRM's /health.
import net from 'node:net';
import { startHttpsServer } from './https-server.js';

export interface Recorder {
  /** Connections (IMAP) or requests (HTTPS) received so far. */
  readonly count: number;
  /** True when anything received carries `secret`, as sent or inside a base64 word (AUTH PLAIN, Basic). */
  carries(secret: string): boolean;
  close(): Promise<void>;
}

function carriesIn(received: string[], secret: string): boolean {
  return received.some(
    (text) =>
      text.includes(secret) ||
      text.split(/[\s"]+/).some((w) => /^[A-Za-z0-9+/]{8,}={0,2}$/.test(w) && Buffer.from(w, 'base64').toString('utf8').includes(secret)),
  );
}

export interface ImapRecorder extends Recorder {
  host: '127.0.0.1';
  port: number;
}

export async function startImapRecorder(): Promise<ImapRecorder> {
  const sessions: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const at = sessions.push('') - 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.write('* OK IMAP4rev1 ready\r\n');
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      sessions[at] += chunk.toString('utf8');
      buffered += chunk.toString('utf8');
      let i;
      while ((i = buffered.indexOf('\r\n')) >= 0) {
        const [tag = '*', command = ''] = buffered.slice(0, i).split(' ');
        buffered = buffered.slice(i + 2);
        const c = command.toUpperCase();
        if (c === 'CAPABILITY') socket.write(`* CAPABILITY IMAP4rev1\r\n${tag} OK CAPABILITY completed\r\n`);
        else if (c === 'LOGIN' || c === 'AUTHENTICATE') socket.write(`${tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n`);
        else if (c === 'LOGOUT') socket.end(`* BYE\r\n${tag} OK LOGOUT completed\r\n`);
        else socket.write(`${tag} BAD unknown command\r\n`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    get count() {
      return sessions.length;
    },
    carries: (secret) => carriesIn(sessions, secret),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface HttpsRecorder extends Recorder {
  origin: string;
  caPem: string;
}

export async function startHttpsRecorder(): Promise<HttpsRecorder> {
  const requests: string[] = [];
  const server = await startHttpsServer((req, res, body) => {
    requests.push(
      `${req.method} ${req.url}\n${Object.entries(req.headers)
        .map(([k, v]) => `${k}: ${String(v)}`)
        .join('\n')}\n\n${body}`,
    );
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  return {
    origin: server.origin,
    caPem: server.caPem,
    get count() {
      return requests.length;
    },
    carries: (secret) => carriesIn(requests, secret),
    close: () => server.close(),
  };
}
