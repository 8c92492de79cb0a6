// createConnector: the connector a Deployment asks for, or a message naming what to add.
import type { DeploymentSpec } from '../../../src/api/types.js';
import { DynamicsConnector } from '../../../src/crm/dynamics.js';
import { isActConnector } from '../../../src/crm/act-types.js';
import { createConnector } from '../../../src/crm/factory.js';
import { CrmError } from '../../../src/crm/types.js';
import { WebhookConnector } from '../../../src/crm/webhook.js';
import { clientCredentials } from '../../../src/mail/oauth.js';

type CrmSpec = DeploymentSpec['crm'];
const TOKEN = 'tok-0123456789abcdef0123';
const KEY = 'key-0123456789abcdef0123';
const CLIENT_SECRET = 'cs~0123456789abcdef0123456789';

const webhook: CrmSpec = { type: 'Webhook', url: 'https://crm.example.com/mailsync', credentialsSecretRef: { name: 'crm-credentials' } };
const dynamics: CrmSpec = {
  type: 'Dynamics365',
  url: 'https://contoso.crm.dynamics.com',
  credentialsSecretRef: { name: 'dynamics' },
  oauth: { tenantId: 'contoso.onmicrosoft.com', clientId: 'app-id' },
};

function failure(fn: () => unknown): CrmError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CrmError) return err;
    throw err;
  }
  throw new Error('expected a CrmError');
}

test('Webhook with token and signingKey builds a WebhookConnector', () => {
  const c = createConnector(webhook, { token: TOKEN, signingKey: KEY }, { timeoutMs: 1000 });
  expect(c).toBeInstanceOf(WebhookConnector);
  expect((c as WebhookConnector).baseUrl).toBe('https://crm.example.com/mailsync');
});

test('Dynamics365 with clientSecret builds a DynamicsConnector on the v9.2 Web API', () => {
  const c = createConnector(dynamics, { clientSecret: CLIENT_SECRET }, { tokenSource: clientCredentials });
  expect(c).toBeInstanceOf(DynamicsConnector);
  expect(isActConnector(c)).toBe(true); // appointments, contacts and tasks too (DynamicsActConnector)
  expect((c as DynamicsConnector).apiUrl).toBe('https://contoso.crm.dynamics.com/api/data/v9.2');
  const pinned = createConnector(
    { ...dynamics, url: 'https://contoso.crm.dynamics.com/api/data/v9.1/' },
    { clientSecret: CLIENT_SECRET },
    { tokenSource: clientCredentials },
  );
  expect((pinned as DynamicsConnector).apiUrl).toBe('https://contoso.crm.dynamics.com/api/data/v9.1');
});

test('a missing Secret key: CRMAuthenticationFailed naming the Secret and the key to add', () => {
  const noKey = failure(() => createConnector(webhook, { token: TOKEN }));
  expect(noKey.reason).toBe('CRMAuthenticationFailed');
  expect(noKey.permanent).toBe(true);
  expect(noKey.message).toContain('Secret "crm-credentials"');
  expect(noKey.message).toContain('key "signingKey"');
  expect(failure(() => createConnector(webhook, { signingKey: KEY })).message).toContain('key "token"');
  expect(failure(() => createConnector(dynamics, {}, { tokenSource: clientCredentials })).message).toContain('key "clientSecret"');
  expect(failure(() => createConnector({ ...webhook, credentialsSecretRef: undefined }, {})).message).toContain(
    'spec.crm.credentialsSecretRef is required for Webhook',
  );
  // Credentials handed over directly need no Secret reference.
  expect(createConnector({ ...webhook, credentialsSecretRef: undefined }, { token: TOKEN, signingKey: KEY })).toBeInstanceOf(
    WebhookConnector,
  );
});

test('short secrets are refused without being echoed', () => {
  const err = failure(() => createConnector(webhook, { token: 'short-tok', signingKey: KEY }));
  expect(err.message).toContain('shorter than 16 characters');
  expect(err.message).not.toContain('short-tok');
});

test('Dynamics365 without oauth.tenantId or clientId names the field', () => {
  expect(
    failure(() =>
      createConnector({ ...dynamics, oauth: { clientId: 'app-id' } }, { clientSecret: CLIENT_SECRET }, { tokenSource: clientCredentials }),
    ).message,
  ).toContain('spec.crm.oauth.tenantId');
  expect(
    failure(() =>
      createConnector(
        { ...dynamics, oauth: { tenantId: 't', clientId: '' } },
        { clientSecret: CLIENT_SECRET },
        { tokenSource: clientCredentials },
      ),
    ).message,
  ).toContain('spec.crm.oauth.clientId');
});

describe('cleartext to the CRM needs spec.crm.allowInsecureAuthentication, except on loopback', () => {
  test.each([
    ['spec.crm.url', { ...webhook, url: 'http://crm.example.com/mailsync' }],
    ['spec.crm.oauth.authorityURL', { ...dynamics, oauth: { ...dynamics.oauth!, authorityURL: 'http://login.example.com' } }],
  ])('an http:// %s on a remote host is refused', (field, spec) => {
    const err = failure(() =>
      createConnector(spec, { token: TOKEN, signingKey: KEY, clientSecret: CLIENT_SECRET }, { tokenSource: clientCredentials }),
    );
    expect(err.message).toContain(`${field} uses http:// on`);
    expect(err.message).toContain('spec.crm.allowInsecureAuthentication: true');
    expect(
      createConnector(
        { ...spec, allowInsecureAuthentication: true },
        { token: TOKEN, signingKey: KEY, clientSecret: CLIENT_SECRET },
        { tokenSource: clientCredentials },
      ),
    ).toBeDefined();
  });

  test.each(['http://127.0.0.1:8080/crm', 'http://localhost/crm', 'http://[::1]:8080/crm'])('%s is accepted without the opt-in', (url) => {
    expect(createConnector({ ...webhook, url }, { token: TOKEN, signingKey: KEY })).toBeInstanceOf(WebhookConnector);
  });

  test('a URL of another scheme is refused even with the opt-in', () => {
    expect(
      failure(() =>
        createConnector(
          { ...webhook, url: 'ftp://crm.example.com/', allowInsecureAuthentication: true },
          { token: TOKEN, signingKey: KEY },
        ),
      ).message,
    ).toContain('spec.crm.url uses ftp://');
  });
});
