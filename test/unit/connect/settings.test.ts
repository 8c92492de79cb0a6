// resolveDirection: what each direction of a mailbox connects to and with which trust and
// credentials, as the profile's fields describe it.
import type { EmailServerProfileSpec, MailboxSpec } from '../../../src/api/types.js';
import { resolveDirection, type Lookups, type SecretData, type SettingsResult } from '../../../src/connect/settings.js';

const mailbox: MailboxSpec = {
  emailAddress: 'ann@contoso.example',
  owner: { kind: 'User', name: 'ann' },
  deploymentRef: { name: 'crm' },
  credentialsSecretRef: { name: 'ann-mail' },
};
const secrets: Record<string, SecretData> = {
  'ann-mail': { data: { username: 'ann', password: 'ann-password-123', clientSecret: 'ann-client-secret-123' }, resourceVersion: '1' },
  'imap-ca': { data: { 'ca.crt': 'IMAP CA PEM' }, resourceVersion: '2' },
  'smtp-ca': { data: { 'ca.crt': 'SMTP CA PEM' }, resourceVersion: '3' },
};
const lookups: Lookups = { secret: (name) => secrets[name], configMap: () => undefined };
const imap = (extra: Partial<EmailServerProfileSpec> = {}): EmailServerProfileSpec => ({
  serverType: 'IMAP',
  incoming: { server: 'imap.contoso.example', tls: 'Implicit', authentication: 'Basic', caBundle: { secretRef: { name: 'imap-ca' } } },
  outgoing: { server: 'smtp.contoso.example', tls: 'STARTTLS' },
  useSameSettingsForOutgoing: true,
  ...extra,
});
const resolve = (spec: EmailServerProfileSpec, direction: 'incoming' | 'outgoing'): SettingsResult =>
  resolveDirection({ name: 'p', spec }, mailbox, direction, lookups);
const ok = (r: SettingsResult) => {
  if (!r.ok) throw new Error(`expected settings, got ${r.reason}: ${r.message}`);
  return r.value;
};

describe('useSameSettingsForOutgoing', () => {
  test('outgoing trusts the incoming CA bundle and signs in with the incoming credentials', () => {
    const out = ok(resolve(imap(), 'outgoing'));
    expect(out.endpoint).toMatchObject({ host: 'smtp.contoso.example', port: 587, tls: 'STARTTLS', ca: 'IMAP CA PEM' });
    expect(out.credentials).toMatchObject({ kind: 'password', username: 'ann' });
    expect(out.versions).toContain('Secret/imap-ca@2');
  });

  test("outgoing's own CA bundle takes precedence", () => {
    const spec = imap({ outgoing: { server: 'smtp.contoso.example', tls: 'STARTTLS', caBundle: { secretRef: { name: 'smtp-ca' } } } });
    expect(ok(resolve(spec, 'outgoing')).endpoint.ca).toBe('SMTP CA PEM');
  });

  test('with separate settings, outgoing shares nothing of incoming', () => {
    const out = ok(resolve(imap({ useSameSettingsForOutgoing: false }), 'outgoing'));
    expect(out.endpoint.ca).toBeUndefined();
    expect(out.versions).not.toContain('Secret/imap-ca@2');
  });

  test('a missing shared CA bundle is reported at spec.incoming.caBundle', () => {
    const spec = imap({ incoming: { server: 'imap.contoso.example', caBundle: { secretRef: { name: 'gone' } } } });
    expect(resolve(spec, 'outgoing')).toMatchObject({
      ok: false,
      reason: 'CABundleNotFound',
      message: expect.stringContaining('(spec.incoming.caBundle)'),
    });
  });
});

describe('cleartext needs the opt-in at run time too (for profiles admitted before the rules)', () => {
  test.each([
    [
      'outgoing tls: None, NTLM or not',
      imap({ outgoing: { server: 'smtp.contoso.example', tls: 'None' } }),
      'outgoing',
      'spec.outgoing.tls is None',
    ],
    [
      'an http:// EWS URL',
      {
        serverType: 'ExchangeServer',
        incoming: { url: 'http://ex.contoso.example/EWS/Exchange.asmx', authentication: 'NTLM' },
      } as EmailServerProfileSpec,
      'incoming',
      'spec.incoming.url uses http://',
    ],
    [
      'an http:// token authority',
      {
        serverType: 'ExchangeServer',
        incoming: {
          url: 'https://ex.contoso.example/EWS/Exchange.asmx',
          authentication: 'OAuth2',
          oauth: { clientId: 'app', authorityURL: 'http://login.contoso.example' },
        },
      } as EmailServerProfileSpec,
      'incoming',
      'spec.incoming.oauth.authorityURL uses http://',
    ],
  ] as const)('%s is refused, naming the field and the opt-in', (_case, spec, direction, field) => {
    const r = resolve(spec, direction);
    expect(r).toMatchObject({ ok: false, reason: 'UnsupportedConfiguration' });
    expect(!r.ok && r.message).toContain(field);
    expect(!r.ok && r.message).toContain('spec.allowInsecureAuthentication: true');
    expect(ok(resolve({ ...spec, allowInsecureAuthentication: true }, direction))).toBeDefined();
  });
});

test('an IPv6 server written in brackets is connected to without them', () => {
  expect(ok(resolve(imap({ incoming: { server: '[2001:db8::1]' } }), 'incoming')).endpoint.host).toBe('2001:db8::1');
  expect(ok(resolve(imap({ incoming: { server: '::1' } }), 'incoming')).endpoint.host).toBe('::1');
});
