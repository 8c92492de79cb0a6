// ClientCredentialsTokenProvider against a fake Microsoft identity platform token endpoint over HTTPS.
import { closeHttpDispatchers } from '../../../src/net/http.js';
import { ClientCredentialsTokenProvider, type ClientCredentialsOptions } from '../../../src/mail/oauth.js';
import { FakeOAuth } from '../../support/fake-oauth.js';
import { freePorts } from '../../support/free-port.js';
import { expectMailError } from '../../support/mail-assertions.js';
import { AWKWARD_PASSWORDS } from '../../support/secret-encodings.js';

const CLIENT = {
  tenantId: 'contoso-tenant',
  clientId: '11111111-2222-3333-4444-555555555555',
  clientSecret: 'cl1ent~Secret.Value_0123456789',
};
const WRONG_SECRET = 'wr0ng~Secret.Value_9876543210';
const SCOPE = 'https://graph.microsoft.com/.default';

let oauth: FakeOAuth;

beforeAll(async () => {
  oauth = await FakeOAuth.start({ clients: [CLIENT] });
});

afterAll(async () => {
  await oauth?.close();
  await closeHttpDispatchers();
});

beforeEach(() => {
  oauth.expiresInSeconds = 3599;
});

function provider(overrides: Partial<ClientCredentialsOptions> = {}): ClientCredentialsTokenProvider {
  return new ClientCredentialsTokenProvider({
    ...CLIENT,
    scope: SCOPE,
    authorityUrl: oauth.authorityUrl,
    ca: oauth.caPem,
    timeoutMs: 5000,
    ...overrides,
  });
}

test('issues a JWT-shaped token, caches it, and one request serves concurrent callers', async () => {
  const p = provider();
  const before = oauth.requests;
  const tokens = await Promise.all([p.getToken(), p.getToken(), p.getToken(), p.getToken()]);
  expect(new Set(tokens).size).toBe(1);
  expect(tokens[0]).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  expect(oauth.validate(tokens[0])).toMatchObject({ clientId: CLIENT.clientId, scope: SCOPE });
  expect(await p.getToken()).toBe(tokens[0]);
  expect(oauth.requests).toBe(before + 1);
});

test('refreshes shortly before expiry and after invalidate()', async () => {
  oauth.expiresInSeconds = 1;
  // A 1 s token with the margin capped at half its lifetime is reused for about 500 ms.
  const p = provider();
  const first = await p.getToken();
  expect(await p.getToken()).toBe(first);
  await new Promise((r) => setTimeout(r, 600));
  const second = await p.getToken();
  expect(second).not.toBe(first);
  p.invalidate();
  expect(await p.getToken()).not.toBe(second);
});

test('wrong client secret: AuthenticationFailed, permanent, secret not in the message', async () => {
  const err = await expectMailError(provider({ clientSecret: WRONG_SECRET }).getToken(), 'AuthenticationFailed', [
    WRONG_SECRET,
    CLIENT.clientSecret,
  ]);
  expect(err.permanent).toBe(true);
  expect(err.message).toContain('invalid_client');
  expect(err.message).toContain('AADSTS7000215');
  expect(err.message).toContain(CLIENT.clientId);
});

test('a server that echoes the secret back, in every encoding: not in the message, redacted in the server text', async () => {
  const echoing = await FakeOAuth.start({ clients: [CLIENT], echoSecretInErrors: true });
  try {
    for (const secret of AWKWARD_PASSWORDS) {
      const p = new ClientCredentialsTokenProvider({
        ...CLIENT,
        clientSecret: secret,
        scope: SCOPE,
        authorityUrl: echoing.authorityUrl,
        ca: echoing.caPem,
      });
      const err = await expectMailError(p.getToken(), 'AuthenticationFailed', [secret]);
      expect(err.message).toContain('(invalid_client AADSTS7000215)');
      expect(err.message).not.toContain('Secret received');
      // The server did echo it (the debug log's text says so), and every form was cut.
      expect(err.serverText).toMatch(/Secret received: raw: \[REDACTED\] \| IMAP quoted: \[REDACTED\]/);
    }
  } finally {
    await echoing.close();
  }
});

test('a failed request is not cached: the next call asks again', async () => {
  const p = provider({ clientSecret: WRONG_SECRET });
  const before = oauth.requests;
  await expectMailError(p.getToken(), 'AuthenticationFailed', [WRONG_SECRET]);
  await expectMailError(p.getToken(), 'AuthenticationFailed', [WRONG_SECRET]);
  expect(oauth.requests).toBe(before + 2);
});

test('unknown tenant: UnsupportedConfiguration naming the tenant', async () => {
  const err = await expectMailError(provider({ tenantId: 'no-such-tenant' }).getToken(), 'UnsupportedConfiguration', [CLIENT.clientSecret]);
  expect(err.message).toContain('no-such-tenant');
});

test('token endpoint not listening: ServerUnreachable', async () => {
  const [port] = await freePorts(1);
  await expectMailError(provider({ authorityUrl: `https://127.0.0.1:${port}` }).getToken(), 'ServerUnreachable', [CLIENT.clientSecret]);
});

test('untrusted certificate (no extra CA): TLSError', async () => {
  const err = await expectMailError(provider({ ca: undefined }).getToken(), 'TLSError', [CLIENT.clientSecret]);
  expect(err.message).toMatch(/certificate/);
});
