// Badly behaved IMAP and POP3 servers (implicit TLS, the test CA) that refuse every login and
// repeat the credentials they received in the refusal: IMAP-quoted, then in every other encoding
// (echoText). Real servers do echo what they were sent; these exist to prove that what a server
// says never reaches a status, an Event or an error message, and is redacted in debug logs. They
// speak just enough of each protocol for a client to reach the login.
import type net from 'node:net';
import tls from 'node:tls';
import { sharedTestPki } from './https-server.js';
import { echoText } from './secret-encodings.js';

export interface EchoServer {
  port: number;
  caPem: string;
  /** Logins received: the username and password as the client sent them. */
  logins: Array<{ username: string; password: string }>;
  close(): Promise<void>;
}

type Session = (socket: tls.TLSSocket, logins: EchoServer['logins']) => void;

async function startEchoServer(session: Session): Promise<EchoServer> {
  const { certPem, keyPem, caPem } = await sharedTestPki();
  const logins: EchoServer['logins'] = [];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ cert: certPem, key: keyPem }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    session(socket, logins);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    caPem,
    logins,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const imapQuote = (s: string): string => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/**
 * IMAP: LOGIN with atoms, quoted strings or literals (synchronizing or LITERAL+); the refusal is
 * `NO [AUTHENTICATIONFAILED] LOGIN "<user>" "<password>" rejected; <every encoding>`.
 */
export function startEchoImap(): Promise<EchoServer> {
  return startEchoServer((socket, logins) => {
    let buffer = Buffer.alloc(0);
    let literal = 0;
    let pieces: Array<{ text: string } | { literal: string }> = [];
    const send = (line: string) => socket.write(`${line}\r\n`);
    send('* OK [CAPABILITY IMAP4rev1 LITERAL+ ID] echo IMAP ready');
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (literal > 0) {
          if (buffer.length < literal) return;
          pieces.push({ literal: buffer.subarray(0, literal).toString('utf8') });
          buffer = buffer.subarray(literal);
          literal = 0;
          continue;
        }
        const end = buffer.indexOf('\r\n');
        if (end < 0) return;
        const line = buffer.subarray(0, end).toString('utf8');
        buffer = buffer.subarray(end + 2);
        const announced = /\{(\d+)(\+?)\}$/.exec(line);
        pieces.push({ text: announced ? line.slice(0, announced.index) : line });
        if (announced) {
          literal = Number(announced[1]);
          if (!announced[2]) send('+ go ahead');
          continue;
        }
        const tokens = pieces.flatMap((p) => ('literal' in p ? [p.literal] : imapTokens(p.text)));
        pieces = [];
        const [tag = '*', command = '', ...args] = tokens;
        switch (command.toUpperCase()) {
          case 'CAPABILITY':
            send('* CAPABILITY IMAP4rev1 LITERAL+ ID');
            send(`${tag} OK CAPABILITY completed`);
            break;
          case 'ID':
            send('* ID NIL');
            send(`${tag} OK ID completed`);
            break;
          case 'LOGIN': {
            const [username = '', password = ''] = args;
            logins.push({ username, password });
            send(
              `${tag} NO [AUTHENTICATIONFAILED] LOGIN ${imapQuote(username)} ${imapQuote(password)} rejected; ${echoText(password, username)}`,
            );
            break;
          }
          case 'LOGOUT':
            send('* BYE logging out');
            send(`${tag} OK LOGOUT completed`);
            socket.end();
            break;
          default:
            send(`${tag} BAD unknown command`);
        }
      }
    });
  });
}

/** Atoms and quoted strings (unescaped) of an IMAP command line. */
function imapTokens(text: string): string[] {
  return [...text.matchAll(/"((?:\\.|[^"\\])*)"|([^\s"]+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]));
}

/** POP3: CAPA offers USER and SASL PLAIN; PASS and AUTH PLAIN are refused with `-ERR [AUTH]` and the echo. */
export function startEchoPop3(): Promise<EchoServer> {
  return startEchoServer((socket, logins) => {
    let buffer = '';
    let username = '';
    let awaitingPlain = false;
    const send = (line: string) => socket.write(`${line}\r\n`);
    const refuse = (user: string, password: string) => {
      logins.push({ username: user, password });
      send(`-ERR [AUTH] login as ${user} with ${password} rejected; ${echoText(password, user)}`);
    };
    const plain = (b64: string) => {
      const [, user = '', password = ''] = Buffer.from(b64, 'base64').toString('utf8').split('\0');
      refuse(user, password);
    };
    send('+OK echo POP3 ready');
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (awaitingPlain) {
          awaitingPlain = false;
          plain(line);
          continue;
        }
        const [command = '', ...rest] = line.split(' ');
        const arg = rest.join(' ');
        switch (command.toUpperCase()) {
          case 'CAPA':
            send('+OK capabilities follow');
            send('USER');
            send('SASL PLAIN');
            send('.');
            break;
          case 'USER':
            username = arg;
            send('+OK send PASS');
            break;
          case 'PASS':
            refuse(username, arg);
            break;
          case 'AUTH':
            if (rest[0]?.toUpperCase() !== 'PLAIN') send('-ERR unsupported mechanism');
            else if (rest[1]) plain(rest[1]);
            else {
              awaitingPlain = true;
              send('+ ');
            }
            break;
          case 'QUIT':
            send('+OK bye');
            socket.end();
            break;
          default:
            send('-ERR unknown command');
        }
      }
    });
  });
}
