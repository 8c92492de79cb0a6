import { KINDS } from '../../../src/api/schema.js';
import type { Schema } from '../../../src/api/schema-builders.js';
import { validateSpec } from '../../../src/api/validation.js';

/** Every field has a description, so `kubectl explain` is useful everywhere. */
function undocumented(s: Schema, at: string, out: string[]): string[] {
  if (!s.description) out.push(at);
  for (const [k, v] of Object.entries(s.properties ?? {})) undocumented(v, `${at}.${k}`, out);
  if (s.items) undocumented(s.items, `${at}[]`, out);
  return out;
}

test.each(KINDS.map((k) => [k.kind, k]))('every field of %s is described', (_kind, k) => {
  expect(undocumented(k.spec, 'spec', [])).toEqual([]);
  expect(undocumented(k.status, 'status', [])).toEqual([]);
});

test('ajv validators name the field and the allowed values', () => {
  expect(validateSpec('EmailServerProfile', { serverType: 'IMAP', incoming: { server: 'imap.example.com' } })).toEqual([]);
  expect(validateSpec('EmailServerProfile', { serverType: 'Lotus' })).toEqual([
    { field: 'spec.serverType', message: 'must be one of ExchangeServer, ExchangeOnline, IMAP, POP3' },
  ]);
  expect(validateSpec('Mailbox', { owner: { kind: 'User', name: 'a' }, deploymentRef: { name: 'd' } })).toEqual([
    { field: 'spec.emailAddress', message: "must have required property 'emailAddress'" },
  ]);
  expect(
    validateSpec('Mailbox', { emailAddress: 'a@b.c', owner: { kind: 'User', name: 'a' }, deploymentRef: { name: 'd' }, extra: 1 }),
  ).toEqual([{ field: 'spec', message: 'unknown field "extra"' }]);
});
