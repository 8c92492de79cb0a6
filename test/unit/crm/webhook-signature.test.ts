// The webhook signature scheme: what a CRM implementing the contract checks on every request.
import { createHmac } from 'node:crypto';
import { computeSignature, signWebhookBody, verifyWebhookSignature } from '../../../src/crm/webhook-signature.js';

const KEY = 'whsec-test-signing-key-0123456789';
const BODY = '{"mailbox":"crm/jane","messageId":"abc@example.com"}';
const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

test('the header is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
  const header = signWebhookBody(BODY, KEY, NOW);
  const t = Math.floor(NOW / 1000);
  const expected = createHmac('sha256', KEY).update(`${t}.${BODY}`).digest('hex');
  expect(header).toBe(`t=${t},v1=${expected}`);
  expect(computeSignature(t, Buffer.from(BODY), KEY)).toBe(expected);
});

test('a fresh signature over the exact body verifies', () => {
  const header = signWebhookBody(BODY, KEY, NOW);
  expect(verifyWebhookSignature(header, BODY, KEY, 300, NOW + 2_000)).toEqual({ valid: true, timestamp: Math.floor(NOW / 1000) });
  expect(verifyWebhookSignature(header, Buffer.from(BODY), KEY, 300, NOW).valid).toBe(true);
  // An empty body (GET requests) is signed as "<t>." and verifies the same way.
  expect(verifyWebhookSignature(signWebhookBody('', KEY, NOW), '', KEY, 300, NOW).valid).toBe(true);
});

test('a replay outside the tolerance is refused, even with a valid MAC', () => {
  const header = signWebhookBody(BODY, KEY, NOW);
  expect(verifyWebhookSignature(header, BODY, KEY, 300, NOW + 301_000)).toMatchObject({ valid: false, failure: 'outsideTolerance' });
  expect(verifyWebhookSignature(header, BODY, KEY, 300, NOW - 301_000)).toMatchObject({ valid: false, failure: 'outsideTolerance' });
  expect(verifyWebhookSignature(header, BODY, KEY, 300, NOW + 299_000).valid).toBe(true);
});

test('a tampered body, a wrong key or a moved timestamp does not verify', () => {
  const header = signWebhookBody(BODY, KEY, NOW);
  expect(verifyWebhookSignature(header, BODY.replace('jane', 'john'), KEY, 300, NOW)).toMatchObject({ valid: false, failure: 'mismatch' });
  expect(verifyWebhookSignature(header, `${BODY} `, KEY, 300, NOW)).toMatchObject({ valid: false, failure: 'mismatch' });
  expect(verifyWebhookSignature(header, BODY, 'another-key-0123456789', 300, NOW)).toMatchObject({ valid: false, failure: 'mismatch' });
  // Refreshing the timestamp of a captured request breaks the MAC: t is part of the signed text.
  const moved = header.replace(/t=\d+/, `t=${Math.floor(NOW / 1000) + 60}`);
  expect(verifyWebhookSignature(moved, BODY, KEY, 300, NOW + 60_000)).toMatchObject({ valid: false, failure: 'mismatch' });
});

test('missing and malformed headers are reported as such', () => {
  expect(verifyWebhookSignature(undefined, BODY, KEY, 300, NOW)).toEqual({ valid: false, failure: 'missing' });
  expect(verifyWebhookSignature('', BODY, KEY, 300, NOW)).toEqual({ valid: false, failure: 'missing' });
  expect(verifyWebhookSignature('v1=abc', BODY, KEY, 300, NOW)).toMatchObject({ valid: false, failure: 'malformed' });
  expect(verifyWebhookSignature(`t=${Math.floor(NOW / 1000)}`, BODY, KEY, 300, NOW)).toMatchObject({ valid: false, failure: 'malformed' });
  expect(verifyWebhookSignature(`t=${Math.floor(NOW / 1000)},v1=not-hex`, BODY, KEY, 300, NOW)).toMatchObject({
    valid: false,
    failure: 'malformed',
  });
});

test('several v1 entries (key rotation): any one matching is enough', () => {
  const t = Math.floor(NOW / 1000);
  const header = `t=${t},v1=${computeSignature(t, BODY, 'old-key-0123456789')},v1=${computeSignature(t, BODY, KEY)}`;
  expect(verifyWebhookSignature(header, BODY, KEY, 300, NOW).valid).toBe(true);
  expect(verifyWebhookSignature(header, BODY, 'old-key-0123456789', 300, NOW).valid).toBe(true);
  expect(verifyWebhookSignature(header, BODY, 'third-key-0123456789', 300, NOW).valid).toBe(false);
});
