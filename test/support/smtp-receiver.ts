// An SMTP server for outgoing-mail tests: nodemailer's smtp-server on a free loopback port with
// STARTTLS (or implicit TLS) under a throwaway CA, AUTH PLAIN/LOGIN/XOAUTH2 against configured
// users, and every received message kept with its envelope and parsed headers.
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerAuthentication } from 'smtp-server';
import { echoText } from './secret-encodings.js';
import { createTestPki } from './test-pki.js';

export interface SmtpTestUser {
  username: string;
  password?: string;
  /** Accepted as an XOAUTH2 bearer token for this user. */
  accessToken?: string;
}

export interface ReceivedMessage {
  /** The authenticated user that sent it. */
  user?: string;
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

export interface SmtpReceiver {
  host: '127.0.0.1';
  port: number;
  caPem: string;
  messages: ReceivedMessage[];
  /** AUTH attempts per username (successful or not). */
  authAttempts(username: string): number;
  /** The AUTH methods used, in order, e.g. ['PLAIN', 'XOAUTH2']. */
  authMethods: string[];
  /** The most connections open at once so far. */
  mostConnections(): number;
  close(): Promise<void>;
}

export interface SmtpReceiverOptions {
  users: SmtpTestUser[];
  /** Implicit TLS instead of STARTTLS. */
  secure?: boolean;
  /** Recipients refused with 550 5.1.1 at RCPT TO. */
  rejectRecipients?: string[];
  /** Users whose messages are refused at the end of DATA as over Exchange Online's sending quota. */
  overQuota?: string[];
  /**
   * A badly behaved server: a refused AUTH answers 535 5.7.8 repeating the password it received
   * in every encoding, to prove that what a server says never reaches a message.
   */
  echoCredentials?: boolean;
  /** XOAUTH2: accept a bearer token when this says it is valid for the user (a token issuer's check). */
  validateToken?: (token: string, username: string) => boolean;
  /** An anonymous relay: mail is accepted without AUTH (over TLS, as an IP-restricted relay does). */
  anonymous?: boolean;
}

export async function startSmtpReceiver(opts: SmtpReceiverOptions): Promise<SmtpReceiver> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mailsync-smtp-'));
  const pki = await createTestPki(dir);
  const messages: ReceivedMessage[] = [];
  const attempts = new Map<string, number>();
  const authMethods: string[] = [];
  let open = 0;
  let most = 0;

  const server = new SMTPServer({
    secure: opts.secure ?? false,
    key: pki.keyPem,
    cert: pki.certPem,
    authMethods: ['PLAIN', 'LOGIN', 'XOAUTH2'],
    // AUTH only after STARTTLS, like any real submission server.
    allowInsecureAuth: false,
    ...(opts.anonymous ? { authOptional: true } : {}),
    disableReverseLookup: true,
    onConnect(_session, callback) {
      most = Math.max(most, ++open);
      callback();
    },
    onClose() {
      open--;
    },
    logger: false,
    onAuth(auth: SMTPServerAuthentication, _session, callback) {
      const name = auth.username ?? '';
      attempts.set(name, (attempts.get(name) ?? 0) + 1);
      authMethods.push(auth.method);
      const user = opts.users.find((u) => u.username === name);
      if (auth.method === 'XOAUTH2') {
        if (user?.accessToken && auth.accessToken === user.accessToken) return callback(null, { user: name });
        if (auth.accessToken && opts.validateToken?.(auth.accessToken, name)) return callback(null, { user: name });
        // The XOAUTH2 failure form: a JSON challenge, then 535 after the client's empty reply.
        return callback(null, { data: { status: '401', schemes: 'bearer', scope: 'https://mail.example.test/' } });
      }
      if (user?.password !== undefined && auth.password === user.password) return callback(null, { user: name });
      if (opts.echoCredentials) {
        return callback(
          Object.assign(
            new Error(`5.7.8 Authentication failed for ${name} with ${auth.password}; ${echoText(auth.password ?? '', name)}`),
            { responseCode: 535 },
          ),
        );
      }
      return callback(new Error('Invalid username or password'));
    },
    onMailFrom(_address, session, callback) {
      // A relay that accepts mail without AUTH still wants it over TLS, as Exchange's relay connectors do.
      if (opts.anonymous && !session.secure)
        return callback(Object.assign(new Error('5.7.0 Must issue a STARTTLS command first'), { responseCode: 530 }));
      callback();
    },
    onRcptTo(address, _session, callback) {
      if (opts.rejectRecipients?.includes(address.address)) {
        return callback(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        if (typeof session.user === 'string' && opts.overQuota?.includes(session.user)) {
          // Exchange Online's reply when a mailbox is over its daily recipient quota.
          const reply =
            '5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message.';
          return callback(Object.assign(new Error(reply), { responseCode: 554 }));
        }
        simpleParser(raw).then(
          (parsed) => {
            messages.push({
              user: typeof session.user === 'string' ? session.user : undefined,
              mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              rcptTo: session.envelope.rcptTo.map((r) => r.address),
              raw,
              parsed,
            });
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  server.on('error', () => undefined); // client-caused errors (bad TLS, resets) are part of the tests

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    caPem: pki.caPem,
    messages,
    authMethods,
    authAttempts: (username) => attempts.get(username) ?? 0,
    mostConnections: () => most,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
