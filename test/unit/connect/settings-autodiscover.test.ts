// resolveDirection refuses to send a profile's shared credentials to a domain taken from a mailbox address.
import type { EmailServerProfileSpec, MailboxSpec } from '../../../src/api/types.js';
import { resolveDirection, type Lookups } from '../../../src/connect/settings.js';

const lookups: Lookups = {
  secret: (name) => ({ data: { username: `${name}-user`, password: `${name}-pw` }, resourceVersion: '1' }),
  configMap: () => undefined,
};
const mailbox = (emailAddress: string): MailboxSpec => ({
  emailAddress,
  owner: { kind: 'User', name: 'ann' },
  deploymentRef: { name: 'crm' },
  credentialsSecretRef: { name: 'ann-mail' },
});
const exchange = (incoming: EmailServerProfileSpec['incoming']): { name: string; spec: EmailServerProfileSpec } => ({
  name: 'ex',
  spec: { serverType: 'ExchangeServer', incoming },
});
const shared = { source: 'Profile', secretRef: { name: 'svc' } } as const;

describe('autodiscover from the mailbox address', () => {
  test("with the profile's shared credentials it is refused before any connection: a Mailbox could send them to any domain", () => {
    const r = resolveDirection(exchange({ autodiscover: true, credentials: shared }), mailbox('x@attacker.example'), 'incoming', lookups);
    expect(r).toEqual({
      ok: false,
      reason: 'UnsupportedConfiguration',
      message: expect.stringMatching(
        /autodiscover from the domain of each mailbox's address with its own credentials \(spec.incoming.credentials.secretRef of profile "ex"\).*set spec.incoming.url/,
      ),
    });
  });

  test("with the mailbox's own credentials it goes to the address's domain (who may change that domain is checked at admission)", () => {
    const r = resolveDirection(exchange({ autodiscover: true }), mailbox('ann@contoso.example'), 'incoming', lookups);
    expect(r.ok && r.value.endpoint.host).toBe('contoso.example');
    expect(r.ok && r.value.credentials).toMatchObject({ username: 'ann-mail-user' });
  });

  test('with a URL or server on the profile, shared credentials go only there', () => {
    for (const place of [{ url: 'https://mail.contoso.example/autodiscover/autodiscover.svc' }, { server: 'mail.contoso.example' }]) {
      const r = resolveDirection(
        exchange({ autodiscover: true, credentials: shared, ...place }),
        mailbox('x@attacker.example'),
        'incoming',
        lookups,
      );
      expect(r.ok && r.value.endpoint.host).toBe('mail.contoso.example');
    }
  });
});
