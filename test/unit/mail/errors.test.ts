// The classification table, case by case, with errors shaped exactly as imapflow, nodemailer, Node,
// our POP3 client and HTTP clients throw them.
import { classifyError } from '../../../src/mail/errors.js';
import { parseRetryAfter } from '../../../src/net/error-facts.js';
import { REDACTED } from '../../../src/util/redact.js';
import { isPermanentReason } from '../../../src/api/reasons.js';
import { MailError, type FailureReason } from '../../../src/mail/types.js';

const err = (props: Record<string, unknown>, message = 'library message'): Error => Object.assign(new Error(message), props);
const nodeErr = (code: string, message = `${code} from node`): Error => err({ code, errno: -1, syscall: 'connect' }, message);
const pop3 = (props: Record<string, unknown>): Error => Object.assign(err({ code: 'ERESPONSE', ...props }), { name: 'Pop3Error' });

const cases: Array<[string, unknown, FailureReason]> = [
  // imapflow
  [
    'imapflow auth failure',
    err(
      {
        authenticationFailed: true,
        serverResponseCode: 'AUTHENTICATIONFAILED',
        response: 'NO [AUTHENTICATIONFAILED] Authentication failed.',
      },
      'Command failed',
    ),
    'AuthenticationFailed',
  ],
  ['imapflow auth failure without code', err({ authenticationFailed: true }, 'Authentication failed'), 'AuthenticationFailed'],
  ['IMAP AUTHORIZATIONFAILED', err({ serverResponseCode: 'AUTHORIZATIONFAILED' }), 'AuthenticationFailed'],
  ['IMAP LOGINDISABLED', err({ authenticationFailed: true }, 'Login is disabled'), 'UnsupportedConfiguration'],
  ['IMAP no usable mechanism', err({ authenticationFailed: true }, 'No matching authentication method'), 'UnsupportedConfiguration'],
  ['IMAP UNAVAILABLE during login', err({ authenticationFailed: true, serverResponseCode: 'UNAVAILABLE' }), 'ServerError'],
  ['imapflow mailbox missing', err({ mailboxMissing: true, responseStatus: 'NO' }, 'Command failed'), 'MailboxNotFound'],
  ['IMAP NONEXISTENT', err({ serverResponseCode: 'NONEXISTENT', responseText: "Mailbox doesn't exist: Nope" }), 'MailboxNotFound'],
  ['imapflow STATUS of a missing folder', err({ code: 'NotFound', path: 'Archive' }), 'MailboxNotFound'],
  ['IMAP TRYCREATE on move', err({ serverResponseCode: 'TRYCREATE' }), 'MailboxNotFound'],
  ['imapflow ETHROTTLE', err({ code: 'ETHROTTLE', throttleReset: 92415 }), 'Throttled'],
  ['imapflow NoConnection', err({ code: 'NoConnection' }), 'ServerUnreachable'],
  ['imapflow CONNECT_TIMEOUT', err({ code: 'CONNECT_TIMEOUT' }), 'Timeout'],
  ['imapflow GREETING_TIMEOUT', err({ code: 'GREETING_TIMEOUT' }), 'Timeout'],
  ['imapflow STARTTLS missing', err({ tlsFailed: true }, 'Server does not support STARTTLS'), 'TLSError'],
  ['imapflow parser error', err({ code: 'ParserError11' }), 'ProtocolError'],
  // Node sockets
  ['ECONNREFUSED', nodeErr('ECONNREFUSED'), 'ServerUnreachable'],
  ['EHOSTUNREACH', nodeErr('EHOSTUNREACH'), 'ServerUnreachable'],
  ['ENOTFOUND', nodeErr('ENOTFOUND'), 'ServerUnreachable'],
  ['ECONNRESET', nodeErr('ECONNRESET'), 'ServerUnreachable'],
  ['ETIMEDOUT', nodeErr('ETIMEDOUT'), 'Timeout'],
  ['AbortSignal.timeout', new DOMException('The operation timed out', 'TimeoutError'), 'Timeout'],
  ['wrapped in cause', new Error('outer', { cause: nodeErr('ECONNREFUSED') }), 'ServerUnreachable'],
  // TLS
  ['SELF_SIGNED_CERT_IN_CHAIN', nodeErr('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'), 'TLSError'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', nodeErr('DEPTH_ZERO_SELF_SIGNED_CERT'), 'TLSError'],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', nodeErr('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'TLSError'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', nodeErr('UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), 'TLSError'],
  ['CERT_HAS_EXPIRED', nodeErr('CERT_HAS_EXPIRED'), 'TLSError'],
  [
    'ERR_TLS_CERT_ALTNAME_INVALID',
    nodeErr('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"),
    'TLSError',
  ],
  ['wrong version number', nodeErr('ERR_SSL_WRONG_VERSION_NUMBER', 'ssl3_get_record:wrong version number'), 'TLSError'],
  ['EPROTO wrong version number', nodeErr('EPROTO', 'routines:ssl3_get_record:wrong version number'), 'TLSError'],
  ['handshake failure', nodeErr('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'sslv3 alert handshake failure'), 'TLSError'],
  // nodemailer
  [
    'nodemailer EAUTH 535',
    err({ code: 'EAUTH', responseCode: 535, response: '535 5.7.8 Error: authentication failed', command: 'AUTH PLAIN' }),
    'AuthenticationFailed',
  ],
  [
    'SMTP 538 encryption required',
    err({ code: 'EAUTH', responseCode: 538, response: '538 5.7.11 Encryption required for requested authentication mechanism' }),
    'UnsupportedConfiguration',
  ],
  ['nodemailer ENOAUTH', err({ code: 'ENOAUTH' }), 'AuthenticationFailed'],
  [
    'nodemailer EAUTH 454',
    err({ code: 'EAUTH', responseCode: 454, response: '454 4.7.0 Temporary authentication failure' }),
    'ServerError',
  ],
  ['nodemailer ESOCKET refused', err({ code: 'ESOCKET', originalCode: 'ECONNREFUSED' }), 'ServerUnreachable'],
  ['nodemailer ESOCKET bad cert', err({ code: 'ESOCKET', originalCode: 'SELF_SIGNED_CERT_IN_CHAIN' }), 'TLSError'],
  ['nodemailer ECONNECTION', err({ code: 'ECONNECTION', command: 'CONN' }, 'Connection closed unexpectedly'), 'ServerUnreachable'],
  [
    'nodemailer ETLS',
    err({ code: 'ETLS', command: 'STARTTLS', response: '454 4.7.0 TLS not available' }, 'Error upgrading connection with STARTTLS'),
    'TLSError',
  ],
  ['nodemailer ETLS, connection closed', err({ code: 'ETLS', command: 'CONN' }, 'Connection closed unexpectedly'), 'ServerUnreachable'],
  [
    'nodemailer ETLS wrapping a reset',
    err({ code: 'ETLS', originalCode: 'ECONNRESET' }, 'Error initiating TLS - read ECONNRESET'),
    'ServerUnreachable',
  ],
  ['imapflow STARTTLS upgrade reset', err({ code: 'ECONNRESET', tlsFailed: true }, 'read ECONNRESET'), 'ServerUnreachable'],
  ['imapflow closed after TLS connect', err({ code: 'ClosedAfterConnectTLS' }), 'ServerUnreachable'],
  ['TLS handshake timeout', nodeErr('ERR_TLS_HANDSHAKE_TIMEOUT'), 'Timeout'],
  ['nodemailer ETIMEDOUT', err({ code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT' }), 'Timeout'],
  ['SMTP 421', err({ code: 'EENVELOPE', responseCode: 421, response: '421 4.7.0 Try again later' }), 'Throttled'],
  ['SMTP 450', err({ code: 'EENVELOPE', responseCode: 450, response: '450 4.2.1 Mailbox busy' }), 'ServerError'],
  ['SMTP 451', err({ code: 'EMESSAGE', responseCode: 451, response: '451 4.3.0 Local error' }), 'ServerError'],
  ['SMTP 452', err({ code: 'EENVELOPE', responseCode: 452, response: '452 4.3.1 Insufficient system storage' }), 'ServerError'],
  ['SMTP 550 recipient', err({ code: 'EENVELOPE', responseCode: 550, response: '550 5.1.1 No such user' }), 'MessageRejected'],
  ['SMTP 554 data', err({ code: 'EMESSAGE', responseCode: 554, response: '554 5.7.1 Spam' }), 'MessageRejected'],
  ['nodemailer EPROTOCOL', err({ code: 'EPROTOCOL' }), 'ProtocolError'],
  // POP3 (RFC 2449 / RFC 3206)
  ['POP3 [AUTH]', pop3({ command: 'PASS', responseCode: 'AUTH', response: '[AUTH] Authentication failed.' }), 'AuthenticationFailed'],
  ['POP3 -ERR on PASS without code', pop3({ command: 'PASS', response: 'Invalid login' }), 'AuthenticationFailed'],
  ['POP3 -ERR on AUTH without code', pop3({ command: 'AUTH' }), 'AuthenticationFailed'],
  ['POP3 [IN-USE]', pop3({ command: 'PASS', responseCode: 'IN-USE' }), 'ServerError'],
  ['POP3 [LOGIN-DELAY]', pop3({ command: 'PASS', responseCode: 'LOGIN-DELAY' }), 'Throttled'],
  ['POP3 [SYS/TEMP]', pop3({ command: 'PASS', responseCode: 'SYS/TEMP' }), 'ServerError'],
  ['POP3 [SYS/PERM]', pop3({ command: 'STAT', responseCode: 'SYS/PERM' }), 'ServerError'],
  ['POP3 timeout during PASS', pop3({ code: 'ETIMEDOUT', command: 'PASS' }), 'Timeout'],
  ['POP3 closed during PASS', pop3({ code: 'ECONNECTION', command: 'PASS' }), 'ServerUnreachable'],
  ['POP3 STLS missing', pop3({ code: 'ETLS', command: 'STLS' }), 'TLSError'],
  ['POP3 no XOAUTH2', pop3({ code: 'ENOAUTH', command: 'AUTH' }), 'UnsupportedConfiguration'],
  ['POP3 -ERR on RETR', pop3({ command: 'RETR', response: 'no such message' }), 'ServerError'],
  // HTTP
  ['HTTP 401', err({ status: 401 }), 'AuthenticationFailed'],
  ['HTTP 403', err({ statusCode: 403 }), 'AuthenticationFailed'],
  ['HTTP 404', err({ response: { status: 404 } }), 'MailboxNotFound'],
  ['HTTP 429', err({ status: 429, headers: { 'Retry-After': '7' } }), 'Throttled'],
  ['HTTP 503 with Retry-After', err({ status: 503, headers: new Headers({ 'retry-after': '3' }) }), 'Throttled'],
  ['HTTP 503 without Retry-After', err({ status: 503 }), 'ServerError'],
  ['HTTP 500', err({ status: 500 }), 'ServerError'],
  ['HTTP 504', err({ status: 504 }), 'Timeout'],
  ['HTTP 400', err({ status: 400 }), 'ProtocolError'],
  ['EWS ErrorServerBusy', err({ errorCode: 'ErrorServerBusy', BackOffMilliseconds: 2000 }), 'Throttled'],
  // Anything else
  ['unknown error', new Error('something odd'), 'ServerError'],
  ['a thrown string', 'boom', 'ServerError'],
  ['null', null, 'ServerError'],
];

describe('classifyError', () => {
  test.each(cases)('%s', (_name, input, reason) => {
    const classified = classifyError(input, { protocol: 'TEST', server: 'mail.example.test:993' });
    expect(classified).toBeInstanceOf(MailError);
    expect(classified.reason).toBe(reason);
    expect(classified.message).toMatch(/^TEST mail\.example\.test:993: /);
    expect(classified.cause).toBe(input);
  });

  test('permanent for credentials, missing mailboxes and configuration; transient otherwise', () => {
    expect(classifyError(err({ authenticationFailed: true })).permanent).toBe(true);
    expect(classifyError(err({ mailboxMissing: true })).permanent).toBe(true);
    expect(classifyError(err({ authenticationFailed: true }, 'Login is disabled')).permanent).toBe(true);
    for (const transient of [
      nodeErr('ECONNREFUSED'),
      nodeErr('ECONNRESET'),
      nodeErr('ETIMEDOUT'),
      err({ status: 429 }),
      err({ status: 500 }),
      err({ code: 'ETLS' }, 'Connection closed unexpectedly'),
    ]) {
      expect(classifyError(transient).permanent).toBe(false);
    }
    // Whether certificate problems stop the direction is decided once, in the reason registry.
    expect(classifyError(nodeErr('SELF_SIGNED_CERT_IN_CHAIN')).permanent).toBe(isPermanentReason('TLSError'));
    // A rejected message is not a reason to stop the mailbox.
    expect(classifyError(err({ code: 'EENVELOPE', responseCode: 550 })).permanent).toBe(false);
  });

  test('carries the back-off the server asked for', () => {
    expect(classifyError(err({ status: 429, headers: { 'retry-after': '7' } })).retryAfterMs).toBe(7000);
    expect(classifyError(err({ status: 503, headers: new Headers({ 'Retry-After': '3' }) })).retryAfterMs).toBe(3000);
    expect(classifyError(err({ code: 'ETHROTTLE', throttleReset: 1500 })).retryAfterMs).toBe(1500);
    expect(classifyError(err({ errorCode: 'ErrorServerBusy', BackOffMilliseconds: 2000 })).retryAfterMs).toBe(2000);
  });

  test('names the specific socket code rather than the wrapper', () => {
    const m = classifyError(err({ code: 'ESOCKET', originalCode: 'ECONNREFUSED' }), {
      protocol: 'SMTP',
      server: 'smtp.example.test:587',
    }).message;
    expect(m).toContain('connection refused (ECONNREFUSED)');
    expect(m).toContain('SMTP smtp.example.test:587');
  });

  test('describes certificate problems even when a wrapper dropped the code', () => {
    const m = classifyError(
      err({ code: 'ETLS', command: 'STARTTLS' }, 'Error initiating TLS - unable to get local issuer certificate'),
    ).message;
    expect(m).toContain('issued by a CA that is not trusted (UNABLE_TO_GET_ISSUER_CERT_LOCALLY)');
  });

  test('describes untrusted certificates and plain-text ports in words', () => {
    expect(classifyError(nodeErr('SELF_SIGNED_CERT_IN_CHAIN')).message).toContain('untrusted self-signed CA');
    expect(classifyError(nodeErr('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number')).message).toContain('did not answer with TLS');
  });

  test('passes MailError through, scrubbing secrets from it', () => {
    const original = new MailError('MailboxNotFound', 'no such folder');
    expect(classifyError(original)).toBe(original);
    const leaky = new MailError('AuthenticationFailed', 'login as bob with s3cr3t-pass failed');
    const scrubbed = classifyError(leaky, { secrets: ['s3cr3t-pass'] });
    expect(scrubbed.reason).toBe('AuthenticationFailed');
    expect(scrubbed.message).not.toContain('s3cr3t-pass');
  });

  describe("never puts a server's words in the message, and keeps them safe for debug logs", () => {
    const password = 'hunter22-correct-horse';
    const token = 'ya29.a0AfH6SMBx3yZ_token-value-here';

    test('server text that echoes the password: the message has the codes, serverText is redacted', () => {
      const e = err(
        { code: 'EAUTH', responseCode: 535, response: `535 5.7.8 password ${password} is wrong for alice` },
        `Invalid login: 535 ${password}`,
      );
      const classified = classifyError(e, { secrets: [password] });
      expect(classified.reason).toBe('AuthenticationFailed');
      expect(classified.message).toContain('(SMTP 535 5.7.8)');
      expect(classified.message).not.toContain('is wrong for alice');
      expect(classified.message).not.toContain(password);
      expect(classified.serverText).toBe(`535 5.7.8 password ${REDACTED} is wrong for alice`);
    });

    test('server text that echoes the SASL PLAIN blob', () => {
      const blob = Buffer.from(`\0alice\0${password}`).toString('base64');
      const classified = classifyError(pop3({ command: 'AUTH', responseCode: 'AUTH', response: `[AUTH] bad credentials ${blob}` }), {
        secrets: [password],
      });
      expect(classified.message).toContain('(POP3 [AUTH])');
      for (const text of [classified.message, classified.serverText]) {
        expect(text).not.toContain(blob);
        expect(text).not.toContain(password);
      }
      expect(classified.serverText).toContain('bad credentials');
    });

    test('a token echoed without being registered', () => {
      const classified = classifyError(
        err({ authenticationFailed: true, serverResponseCode: 'AUTHENTICATIONFAILED', responseText: `token ${token} expired` }),
      );
      expect(classified.message).not.toContain(token);
      expect(classified.serverText).not.toContain(token);
      expect(classified.serverText).toContain('expired');
    });

    test('what a server names a folder or says about it stays out', () => {
      const classified = classifyError(err({ serverResponseCode: 'NONEXISTENT', responseText: "Mailbox doesn't exist: Nope" }));
      expect(classified.message).toContain('(IMAP NONEXISTENT)');
      expect(classified.message).not.toContain('Nope');
    });

    test('a "response code" that is free text is not shown as a code', () => {
      const classified = classifyError(err({ serverResponseCode: `${password} "x y"`, responseText: 'no' }), { protocol: 'IMAP' });
      expect(classified.message).not.toContain(password);
      expect(classified.message).not.toContain('x y');
      const graph = classifyError(err({ status: 500, code: 'Bad code with spaces' }));
      expect(graph.message).not.toContain('Bad code');
    });

    test('library messages are never copied', () => {
      const m = classifyError(nodeErr('ECONNRESET', `reset while sending PASS ${password}`)).message;
      expect(m).not.toContain(password);
    });

    test('server text is dropped when a secret is too short to redact safely', () => {
      const classified = classifyError(err({ code: 'EAUTH', responseCode: 535, response: '535 bad pw abc' }), { secrets: ['abc'] });
      expect(classified.message).not.toContain('abc');
      expect(classified.message).toContain('535');
      expect(classified.serverText).toBeUndefined();
    });
  });
});

describe('parseRetryAfter', () => {
  test('delta seconds and HTTP dates', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    const now = Date.parse('2026-11-24T10:00:00Z');
    expect(parseRetryAfter('Tue, 24 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
