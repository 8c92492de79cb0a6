// How CRM answers and transport failures become CrmErrors.
import { errorForStatus, transportError, type CrmCallContext } from '../../../src/crm/errors.js';
import { REDACTED } from '../../../src/util/redact.js';
import { parseRetryAfter } from '../../../src/net/error-facts.js';

const SECRET = 'sekrit-token-0123456789';
const ctx: CrmCallContext = {
  system: 'CRM webhook',
  url: 'https://crm.example.com/hook/health',
  timeoutMs: 1500,
  secrets: [SECRET],
  authHint: 'check the Secret',
};

test.each([
  [401, undefined, 'CRMAuthenticationFailed', true],
  [403, undefined, 'CRMAuthenticationFailed', true],
  [429, '3', 'CRMThrottled', false],
  [429, undefined, 'CRMThrottled', false],
  [503, '10', 'CRMThrottled', false],
  [503, undefined, 'CRMError', false],
  [500, undefined, 'CRMError', false],
  [502, undefined, 'CRMError', false],
  [408, undefined, 'CRMError', false],
  [400, undefined, 'CRMRejected', true],
  [404, undefined, 'CRMRejected', true],
  [409, undefined, 'CRMRejected', true],
  [422, undefined, 'CRMRejected', true],
])('HTTP %i (Retry-After %s) -> %s, permanent %s', (status, retryAfter, reason, permanent) => {
  const err = errorForStatus({ status, retryAfter }, ctx);
  expect(err.reason).toBe(reason);
  expect(err.permanent).toBe(permanent);
  expect(err.message).toContain(`HTTP ${status}`);
  if (retryAfter) expect(err.opts.retryAfterMs).toBe(Number(retryAfter) * 1000);
});

test("the CRM's error code is shown, its words are not: they are kept redacted and bounded for debug logs", () => {
  const err = errorForStatus(
    {
      status: 400,
      code: 'invalid_email',
      text: `bad request with token ${SECRET} and Authorization: Bearer abc.def.ghi\r\nforged log line ${'x'.repeat(1500)}`,
    },
    ctx,
  );
  expect(err.message).toContain('HTTP 400 invalid_email');
  expect(err.message).not.toContain('bad request');
  expect(err.serverText).toMatch(
    new RegExp(`^bad request with token \\[REDACTED\\] and Authorization: Bearer \\[REDACTED\\] forged log line x+\\.\\.\\.$`),
  );
  expect(err.serverText!.length).toBeLessThanOrEqual(1000);
  expect(errorForStatus({ status: 400, code: `${SECRET} two words`, text: 'x' }, ctx).message).not.toContain('two words');
  expect(errorForStatus({ status: 401, code: SECRET }, ctx).message).toContain(`HTTP 401 ${REDACTED}`);
});

test('Retry-After as seconds or as an HTTP date', () => {
  expect(parseRetryAfter('120')).toBe(120_000);
  const now = Date.parse('2025-01-15T12:00:00Z');
  expect(parseRetryAfter('Wed, 15 Jan 2025 12:00:30 GMT', now)).toBe(30_000);
  expect(parseRetryAfter('Wed, 15 Jan 2025 11:00:00 GMT', now)).toBe(0);
  expect(parseRetryAfter('soon')).toBeUndefined();
  expect(parseRetryAfter(undefined)).toBeUndefined();
});

const sysErr = (code: string): Error => Object.assign(new Error(`${code} from node`), { code });

test.each([
  [sysErr('ECONNREFUSED'), 'connection refused (ECONNREFUSED)', false],
  [sysErr('ENOTFOUND'), 'host name not found in DNS (ENOTFOUND)', false],
  [sysErr('ECONNRESET'), 'connection reset (ECONNRESET)', false],
  [Object.assign(new Error('fetch failed'), { cause: sysErr('EHOSTUNREACH') }), 'host unreachable', false],
  [sysErr('UND_ERR_HEADERS_TIMEOUT'), 'no answer within 1500 ms', false],
  [new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'no answer within 1500 ms', false],
  [sysErr('DEPTH_ZERO_SELF_SIGNED_CERT'), 'spec.crm.caBundle', true],
  [sysErr('ERR_TLS_CERT_ALTNAME_INVALID'), 'does not name this host', true],
])('transport failure %#: CRMUnreachable', (err, text, permanent) => {
  const crm = transportError(err, ctx);
  expect(crm.reason).toBe('CRMUnreachable');
  expect(crm.message).toContain(text);
  expect(crm.permanent).toBe(permanent);
});

test('a cancelled request says so rather than blaming a timeout', () => {
  const controller = new AbortController();
  controller.abort();
  expect(transportError(Object.assign(new Error('aborted'), { name: 'AbortError' }), ctx, controller.signal).message).toContain(
    'cancelled',
  );
});
