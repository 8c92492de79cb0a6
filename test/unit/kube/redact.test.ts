import { redact, registerSecret, REDACTED } from '../../../src/log/redact.js';

test('registered secrets and credential-shaped strings are scrubbed', () => {
  registerSecret('s3cr3t-Pa55');
  expect(redact('LOGIN failed for ann with s3cr3t-Pa55')).toBe(`LOGIN failed for ann with ${REDACTED}`);
  expect(redact('Authorization: Bearer eyJhbGciOi.abc.def')).toBe(`Authorization: Bearer ${REDACTED}`);
  expect(redact('{"password":"hunter22"}')).toBe(`{"password":"${REDACTED}"}`);
  expect(redact('nothing to hide')).toBe('nothing to hide');
});
