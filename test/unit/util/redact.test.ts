// The one redactor: registered secrets in every form a server may echo them in, credential-shaped
// text we were never told of, and ordinary words, host names and GUIDs left alone.
import { FormMatcher, protocolCode, redact, REDACTED, registerSecret, safeServerText } from '../../../src/util/redact.js';
import { AWKWARD_PASSWORDS, leakedForms, secretEncodings } from '../../support/secret-encodings.js';

const USER = 'ann@contoso.example';
for (const password of AWKWARD_PASSWORDS) registerSecret(password, { username: USER });

describe.each(AWKWARD_PASSWORDS)('a registered password %j', (password) => {
  test.each(Object.entries(secretEncodings(password, USER)))('is cut in its %s form', (_name, form) => {
    const out = redact(`NO [AUTHENTICATIONFAILED] LOGIN failed: ${form} (try again)`);
    expect(out).toBe(`NO [AUTHENTICATIONFAILED] LOGIN failed: ${REDACTED} (try again)`);
  });

  test('and inside a base64 blob, whatever comes before it and whoever the username', () => {
    for (let before = 0; before < 6; before++) {
      const blob = Buffer.from(`${'x'.repeat(before)}\u0000someone-else\u0000${password}\u0000tail`).toString('base64');
      const out = redact(`AUTH PLAIN ${blob}`);
      expect(out).toContain(REDACTED);
      expect(bytesOf(password).some((window) => decodedRuns(out).some((run) => run.includes(window)))).toBe(false);
    }
  });

  test('also when it is passed for one call instead of registered', () => {
    const other = `${password}-unregistered`;
    for (const [name, form] of Object.entries(secretEncodings(other))) {
      expect([name, redact(`server said ${form}.`, [other])]).toEqual([name, `server said ${REDACTED}.`]);
    }
  });
});

test('a secret that contains another registered secret is cut whole', () => {
  registerSecret('inner-secret-77');
  registerSecret('the-inner-secret-77-outer');
  expect(redact('x the-inner-secret-77-outer y inner-secret-77 z')).toBe(`x ${REDACTED} y ${REDACTED} z`);
});

test('secrets shorter than four characters are not registered (they would shred ordinary words)', () => {
  registerSecret('the');
  expect(redact('the server said the thing')).toBe('the server said the thing');
});

describe('credential-shaped text we were never told of', () => {
  test.each([
    ['password=letmein and more', `password=${REDACTED} and more`],
    ['grant_type=client_credentials&client_secret=abc%2Bdef&scope=x', `grant_type=client_credentials&client_secret=${REDACTED}&scope=x`],
    ['{"access_token":"xyz123","token_type":"Bearer"}', `{"access_token":"${REDACTED}","token_type":"Bearer"}`],
    ['{"password": "two words \\" quoted"}', `{"password": "${REDACTED}"}`],
    ["token='abc def'", `token='${REDACTED}'`],
    ['the token: ya29.a0AfH6SMBx3yZ is expired', `the token: ${REDACTED} is expired`],
    ['Authorization: Bearer abc.def.ghi', `Authorization: Bearer ${REDACTED}`],
    ['Authorization: Basic YWxpY2U6c2VjcmV0', `Authorization: Basic ${REDACTED}`],
    ['sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig to the server', `sent Bearer ${REDACTED} to the server`],
    ['user=alice\x01auth=Bearer tok123\x01\x01', `user=alice\x01auth=Bearer ${REDACTED}\x01\x01`],
    ['C: PASS opensesame', `C: PASS ${REDACTED}`],
    ['C: AUTH PLAIN AGFsaWNlAHNlY3JldA==', `C: AUTH PLAIN ${REDACTED}`],
  ])('%j', (input, expected) => {
    expect(redact(input)).toBe(expected);
  });
});

describe('ordinary text stays intact', () => {
  test.each([
    'OAuth token endpoint https://login.example.test/contoso/oauth2/v2.0/token: the identity platform rejected client id "app"',
    'token: the identity platform rejected the request',
    'password: see the Secret named by spec.credentialsSecretRef',
    'Basic authentication is disabled; NTLM authentication is required; Bearer tokens expire',
    'the server rejected the login (POP3 PASS); AUTH PLAIN failed',
    '554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Cannot submit message.',
    'email 3f2504e0-4f89-11d3-9a0c-0305e82c3301 has status reason Sent',
    'IMAP mail-eu-west-0001.contoso-example.internal:993: connection refused (ECONNREFUSED)',
    'secret "ann-mail" has no key "password" needed for Basic authentication',
    '',
  ])('%j', (text) => {
    expect(redact(text)).toBe(text);
  });
});

describe("safeServerText: a server's words, for debug logs", () => {
  test('control characters go, and the text is bounded', () => {
    expect(safeServerText('a\u0000b\u202ec\r\nd\te')).toBe('abc d e');
    expect(safeServerText('y'.repeat(1200))).toBe(`${'y'.repeat(997)}...`);
    expect(safeServerText('y'.repeat(50), [], 10)).toBe('yyyyyyy...');
    expect(safeServerText('   ')).toBeUndefined();
  });

  test('long base64 and JWT-shaped runs go (a token or a SASL blob we were not told of); names and GUIDs stay', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    expect(safeServerText(`expired ${jwt} here`)).toBe(`expired ${REDACTED} here`);
    expect(safeServerText('[AUTH] bad c2VjcmV0LXNlY3JldC1zZWNyZXQ= end')).toBe(`[AUTH] bad ${REDACTED} end`);
    const names = 'SubmissionQuotaExceededException for 3f2504e0-4f89-11d3-9a0c-0305e82c3301';
    expect(safeServerText(names)).toBe(names);
  });

  test('nothing at all when a secret is too short to cut out safely', () => {
    expect(safeServerText('535 bad pw abc', ['abc'])).toBeUndefined();
  });
});

test('protocolCode accepts identifiers, digits and hex codes only', () => {
  for (const code of [
    'AUTHENTICATIONFAILED',
    'SYS/TEMP',
    'invalid_client',
    'ErrorItemNotFound',
    'Request_ResourceNotFound',
    '0x80040217',
    '535',
  ]) {
    expect(protocolCode(code)).toBe(code);
  }
  for (const text of ['pa ss word', 'a"b', '%2F', 'x'.repeat(65), '', 'ü-code', 'a\\b', undefined, 42])
    expect(protocolCode(text)).toBeUndefined();
});

test('FormMatcher: leftmost, then longest, match; untouched text is returned as is', () => {
  const m = new FormMatcher();
  m.add(['abcd', 'abcdef', 'cdefgh']);
  expect(m.cut('xxabcdefgh')).toBe(`xx${REDACTED}gh`);
  const text = 'nothing to find here';
  expect(m.cut(text)).toBe(text);
  expect(m.size).toBe(3);
});

test('the test oracle itself finds what it should', () => {
  expect(leakedForms(`a ${secretEncodings(AWKWARD_PASSWORDS[1]).HTML} b`, AWKWARD_PASSWORDS)).toEqual([
    `HTML of ${JSON.stringify(AWKWARD_PASSWORDS[1])}`,
  ]);
});

/** Every 3-byte window of the secret's UTF-8 bytes. */
function bytesOf(secret: string): Buffer[] {
  const b = Buffer.from(secret);
  return Array.from({ length: b.length - 2 }, (_, i) => b.subarray(i, i + 3));
}

/** Each base64 run in `text`, decoded at each of the four character offsets. */
function decodedRuns(text: string): Buffer[] {
  return (text.match(/[A-Za-z0-9+/]{4,}/g) ?? []).flatMap((run) => [0, 1, 2, 3].map((k) => Buffer.from(run.slice(k), 'base64')));
}
