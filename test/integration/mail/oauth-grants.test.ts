// Token providers without long-lived secrets, against the token endpoint fake, which checks what
// the Microsoft identity platform checks: a certificate's client assertion (signature with the
// registered certificate, audience, issuer and subject), a federated token (here a real
// Kubernetes ServiceAccount token from the test API server: its signature with the cluster's key,
// issuer, subject and audience), and refresh tokens that rotate. Also the Dataverse connector and
// Graph with both kinds of app credentials.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DynamicsConnector } from '../../../src/crm/dynamics.js';
import { serviceAccountToken } from '../../../src/kube/credential-writes.js';
import { GraphAdapter } from '../../../src/mail/graph.js';
import { closeHttpDispatchers } from '../../../src/net/http.js';
import {
  ClientCredentialsTokenProvider,
  clientCredentials,
  FEDERATION_AUDIENCE,
  GOOGLE_TOKEN_URL,
  RefreshTokenProvider,
  type ClientCredential,
} from '../../../src/mail/oauth.js';
import { FakeDynamics } from '../../support/fake-crm-dynamics.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeOAuth } from '../../support/fake-oauth.js';
import { clientsAs, controlPlaneInfo, newNamespace } from '../../support/kube.js';
import { expectMailError } from '../../support/mail-assertions.js';
import { createClientCertificate } from '../../support/test-pki.js';
import { startSmtpReceiver } from '../../support/smtp-receiver.js';
import { SmtpAdapter } from '../../../src/mail/smtp.js';

const info = controlPlaneInfo();
const admin = clientsAs('admin', info);
const TENANT = 'contoso-tenant';
const ISSUER = 'https://kubernetes.default.svc';
let dir: string;
let cert: { certPem: string; keyPem: string };
let otherCert: { certPem: string; keyPem: string };
let ns: string;
let oauth: FakeOAuth;

const clients = () => [
  { tenantId: TENANT, clientId: 'cert-app', certificatePem: cert.certPem },
  {
    tenantId: TENANT,
    clientId: 'wi-app',
    federated: {
      issuer: ISSUER,
      subject: `system:serviceaccount:${ns}:mailsync-wi`,
      audience: FEDERATION_AUDIENCE,
      issuerKeyPem: readFileSync(path.join(info.dir, 'sa.pub'), 'utf8'),
    },
  },
];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mailsync-grants-'));
  [cert, otherCert] = [await createClientCertificate(dir, 'app'), await createClientCertificate(dir, 'other')];
  ns = await newNamespace(admin, 'grants');
  for (const name of ['mailsync-wi', 'someone-else'])
    await admin.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
  oauth = await FakeOAuth.start({
    clients: clients(),
    consents: [{ clientId: 'mail-app', clientSecret: 'mail-App-Secret-1', username: 'ann@example.com', refreshToken: 'rt-initial-ann' }],
    rotation: 'strict',
  });
});
afterAll(async () => {
  await oauth?.close();
  await closeHttpDispatchers();
  await rm(dir, { recursive: true, force: true });
});

const app = (clientId: string, credential: ClientCredential, scope = 'https://graph.microsoft.com/.default') =>
  new ClientCredentialsTokenProvider({
    tenantId: TENANT,
    clientId,
    credential,
    scope,
    authorityUrl: oauth.authorityUrl,
    ca: oauth.caPem,
    timeoutMs: 5000,
  });
const certificate = (c: { certPem: string; keyPem: string }): ClientCredential => ({
  kind: 'certificate',
  certificatePem: c.certPem,
  privateKeyPem: c.keyPem,
});
const federated = (sa: string): ClientCredential => ({
  kind: 'federated',
  assertion: () => serviceAccountToken(admin, ns, sa, FEDERATION_AUDIENCE),
  source: `system:serviceaccount:${ns}:${sa}`,
});

describe('certificate credentials', () => {
  test('a client assertion signed with the registered certificate gets a token', async () => {
    expect(await app('cert-app', certificate(cert)).getToken()).toMatch(/^ey/);
    expect(oauth.grants.at(-1)).toBe('certificate');
  });

  test('a certificate the app registration does not know: AuthenticationFailed naming tls.crt, nothing of the key in the message', async () => {
    const err = await expectMailError(app('cert-app', certificate(otherCert)).getToken(), 'AuthenticationFailed', [
      otherCert.keyPem.split('\n')[1],
    ]);
    expect(err.message).toContain('AADSTS700027');
    expect(err.message).toContain('tls.crt');
  });
});

describe('workload identity federation: a ServiceAccount token from the API server', () => {
  test("the app's federated credential trusts the ServiceAccount: a token", async () => {
    expect(await app('wi-app', federated('mailsync-wi')).getToken()).toMatch(/^ey/);
    expect(oauth.grants.at(-1)).toBe('federated');
  });

  test('another ServiceAccount of the namespace is not trusted: AuthenticationFailed naming the subject to federate', async () => {
    const err = await expectMailError(app('wi-app', federated('someone-else')).getToken(), 'AuthenticationFailed', []);
    expect(err.message).toContain('AADSTS700213');
    expect(err.message).toContain(`system:serviceaccount:${ns}:someone-else`);
  });
});

describe('refresh tokens', () => {
  test('each refresh rotates the refresh token; the new one is handed over to be stored and used from then on', async () => {
    oauth.expiresInSeconds = 1;
    const stored: string[] = [];
    const p = new RefreshTokenProvider({
      tokenUrl: `${oauth.authorityUrl}/token`,
      clientId: 'mail-app',
      clientSecret: 'mail-App-Secret-1',
      refreshToken: 'rt-initial-ann',
      onRotated: async (t) => void stored.push(t),
      ca: oauth.caPem,
      refreshMarginMs: 0,
    });
    const first = await p.getToken();
    await new Promise((r) => setTimeout(r, 1100));
    const second = await p.getToken();
    expect(second).not.toBe(first);
    expect(stored).toHaveLength(2);
    expect(oauth.validate(second)?.username).toBe('ann@example.com');
    // The provider forgot nothing: the first refresh token is spent (strict rotation, as a stolen one would be).
    const stale = new RefreshTokenProvider({
      tokenUrl: `${oauth.authorityUrl}/token`,
      clientId: 'mail-app',
      clientSecret: 'mail-App-Secret-1',
      refreshToken: 'rt-initial-ann',
      ca: oauth.caPem,
    });
    const err = await expectMailError(stale.getToken(), 'AuthenticationFailed', ['rt-initial-ann', 'mail-App-Secret-1']);
    expect(err.message).toContain('sign in again');
    oauth.expiresInSeconds = 3599;
  });

  test("Google's token endpoint is the default path /token", () => {
    expect(new URL(GOOGLE_TOKEN_URL).pathname).toBe('/token');
  });
});

test("Microsoft's client credentials for SMTP (Exchange Online app-only): XOAUTH2 as the mailbox with the app's token", async () => {
  const smtp = await startSmtpReceiver({
    users: [],
    validateToken: (token, user) =>
      oauth.validate(token)?.clientId === 'cert-app' &&
      oauth.validate(token)?.scope === 'https://outlook.office365.com/.default' &&
      user === 'ann@contoso.example',
  });
  try {
    const tokens = app('cert-app', certificate(cert), 'https://outlook.office365.com/.default');
    const a = new SmtpAdapter(
      { host: '127.0.0.1', port: smtp.port, tls: 'STARTTLS', ca: smtp.caPem, timeoutMs: 5000 },
      { kind: 'oauth2', username: 'ann@contoso.example', token: tokens },
    );
    await a.test();
    await a.send({
      from: 'ann@contoso.example',
      to: ['c@customer.example'],
      subject: 'app-only',
      text: 'Hi',
      messageId: '<app-only@contoso.example>',
    });
    a.close();
    expect(smtp.authMethods.every((m) => m === 'XOAUTH2')).toBe(true);
    expect(smtp.messages.map((m) => m.user)).toEqual(['ann@contoso.example']);
  } finally {
    await smtp.close();
  }
});

describe('Graph and the Dataverse connector with app credentials but no secret', () => {
  test('Graph: certificate and federated', async () => {
    const graph = await FakeGraph.start(oauth, ['ann@contoso.example']);
    try {
      for (const [clientId, credential] of [
        ['cert-app', certificate(cert)],
        ['wi-app', federated('mailsync-wi')],
      ] as const) {
        const a = new GraphAdapter(
          { host: '127.0.0.1', port: 443, tls: 'Implicit', url: graph.baseUrl, ca: graph.caPem, timeoutMs: 5000 },
          { kind: 'oauth2', username: clientId, token: app(clientId, credential) },
          { mailbox: 'ann@contoso.example' },
        );
        await a.test();
      }
    } finally {
      await graph.close();
    }
  });

  test('Dataverse: certificate and federated', async () => {
    const dv = await FakeDynamics.start({ clients: clients() });
    try {
      for (const [clientId, credential] of [
        ['cert-app', certificate(cert)],
        ['wi-app', federated('mailsync-wi')],
      ] as const) {
        await new DynamicsConnector({
          url: dv.orgUrl,
          tenantId: TENANT,
          clientId,
          credential,
          authorityUrl: dv.authorityUrl,
          ca: dv.caPem,
          timeoutMs: 5000,
          tokenSource: clientCredentials,
        }).test();
      }
    } finally {
      await dv.close();
    }
  });
});
