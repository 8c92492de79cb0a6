// A profile tested on its own, as Dynamics' "Test Connection": a test request on a profile without
// mailboxes checks that each server is reachable, TLS as configured and, with the profile's own
// credentials, the sign-in, and writes the result on the profile. Real Dovecot and smtp-server,
// the EWS, Graph and token endpoint fakes.

import { waitFor } from '../../../dev/processes.js';
import type { Manager } from '../../../src/controllers/manager.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { FakeEws } from '../../support/fake-ews.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeOAuth } from '../../support/fake-oauth.js';
import { freePorts } from '../../support/free-port.js';
import { clientsAs, controlPlaneInfo, create, get, mergePatchSpec, newNamespace } from '../../support/kube.js';
import { createSecret, visibleText } from '../../support/mail-env.js';
import { startManager } from '../../support/operator.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtp-receiver.js';
import { createClientCertificate } from '../../support/test-pki.js';
import { FEDERATION_AUDIENCE } from '../../../src/mail/oauth.js';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const admin = clientsAs('admin');
const SVC = { username: 'svc', password: 'svc-Profile-Secret-1' };
const EWS_SVC = { username: 'CONTOSO\\svc-crm', password: 'svc-Ews-Profile-2' };
const APP = { tenantId: 'contoso-tenant', clientId: 'profile-test-app', clientSecret: 'graph-Profile-Secret-3' };
const WRONG = 'not-the-Profile-Password';
let dovecot: DovecotFixture;
let smtp: SmtpReceiver;
let ews: FakeEws;
let oauth: FakeOAuth;
let graph: FakeGraph;
let ns: string;
let manager: Manager;
let cert: { certPem: string; keyPem: string };

beforeAll(async () => {
  dovecot = await startDovecot({ users: [SVC] });
  smtp = await startSmtpReceiver({ users: [SVC] });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mailsync-proftest-'));
  cert = await createClientCertificate(dir);
  ns = await newNamespace(admin, 'proftest');
  oauth = await FakeOAuth.start({
    clients: [
      APP,
      { tenantId: APP.tenantId, clientId: 'cert-app', certificatePem: cert.certPem },
      {
        tenantId: APP.tenantId,
        clientId: 'wi-app',
        federated: {
          issuer: 'https://kubernetes.default.svc',
          subject: `system:serviceaccount:${ns}:mailsync-graph`,
          audience: FEDERATION_AUDIENCE,
          issuerKeyPem: readFileSync(path.join(controlPlaneInfo().dir, 'sa.pub'), 'utf8'),
        },
      },
    ],
  });
  graph = await FakeGraph.start(oauth, []);
  ews = await FakeEws.start({ accounts: [{ ...EWS_SVC, canImpersonate: true }], mailboxes: [], release: 'Exchange2010_SP2' });
  await admin.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'mailsync-graph' } } });
  await createSecret(admin, ns, 'graph-cert', { 'tls.crt': cert.certPem, 'tls.key': cert.keyPem });
  await createSecret(admin, ns, 'ca', { 'ca.crt': [dovecot.caPem, smtp.caPem, ews.caPem, oauth.caPem, graph.caPem].join('\n') });
  await createSecret(admin, ns, 'svc', SVC);
  await createSecret(admin, ns, 'svc-wrong', { username: SVC.username, password: WRONG });
  await createSecret(admin, ns, 'ews-svc', EWS_SVC);
  await createSecret(admin, ns, 'graph-app', { clientSecret: APP.clientSecret });
  manager = await startManager(admin, ns);
});
afterAll(async () => {
  await manager?.stop();
  await dovecot?.cleanup();
  await Promise.all([smtp?.close(), ews?.close(), graph?.close(), oauth?.close()]);
});

const ca = { secretRef: { name: 'ca' } };

/** Creates the profile, asks for a test and returns status.connectionTest once it answered. */
async function testProfile(
  name: string,
  spec: object,
): Promise<{ result: string; directions: { direction: string; reason: string; message: string }[] }> {
  await create(admin, 'emailserverprofiles', ns, name, spec);
  const request = new Date().toISOString();
  await mergePatchSpec(admin, 'emailserverprofiles', ns, name, {
    metadata: { annotations: { 'mailsync.dev/test-requested-at': request } },
  });
  return waitFor(`${name} tested`, async () => {
    const p = await get(admin, 'emailserverprofiles', ns, name);
    return p.status?.connectionTest?.request === request ? p.status.connectionTest : undefined;
  });
}

test('credentials from each mailbox: reachability and TLS (implicit and STARTTLS) only, written on the profile with an Event', async () => {
  const t = await testProfile('per-mailbox', {
    serverType: 'IMAP',
    incoming: { server: '127.0.0.1', port: dovecot.ports.imap, tls: 'STARTTLS', caBundle: ca },
    outgoing: { server: '127.0.0.1', port: smtp.port, tls: 'STARTTLS', caBundle: ca },
  });
  expect(t.result).toBe('Succeeded');
  expect(t.directions.map((d) => [d.direction, d.reason])).toEqual([
    ['incoming', 'Succeeded'],
    ['outgoing', 'Succeeded'],
  ]);
  expect(t.directions[0].message).toMatch(
    /^reached IMAP 127.0.0.1:\d+ \(TLSv1\.[23]\); sign-in not tested: each mailbox brings its own credentials/,
  );
  expect(t.directions[1].message).toMatch(/^reached SMTP 127.0.0.1:\d+ \(TLSv1\.[23]\)/);
  expect(await dovecot.loginAttempts(SVC.username)).toBe(0);
  await waitFor('event', async () =>
    (await admin.core.listNamespacedEvent({ namespace: ns })).items.some(
      (e) => e.involvedObject.name === 'per-mailbox' && e.reason === 'ConnectionTestSucceeded',
    )
      ? true
      : undefined,
  );
});

test("the profile's own credentials: signed in; wrong ones: AuthenticationFailed at the sign-in step", async () => {
  const spec = (secret: string) => ({
    serverType: 'IMAP',
    incoming: {
      server: '127.0.0.1',
      port: dovecot.ports.imaps,
      caBundle: ca,
      credentials: { source: 'Profile', secretRef: { name: secret } },
    },
    outgoing: { server: '127.0.0.1', port: smtp.port, tls: 'STARTTLS', caBundle: ca },
  });
  const good = await testProfile('own', spec('svc'));
  expect(good.result).toBe('Succeeded');
  expect(good.directions[0].message).toMatch(/; signed in as svc$/);
  expect(good.directions[1].message).toMatch(/; signed in as svc$/);
  const bad = await testProfile('own-wrong', spec('svc-wrong'));
  expect(bad.result).toBe('Failed');
  expect(bad.directions[0]).toMatchObject({ reason: 'AuthenticationFailed' });
  expect(bad.directions[0].message).toMatch(/^reached IMAP .*; sign-in failed: /);
  await waitFor('event', async () =>
    (await admin.core.listNamespacedEvent({ namespace: ns })).items.some(
      (e) => e.involvedObject.name === 'own-wrong' && e.reason === 'ConnectionTestFailed' && e.type === 'Warning',
    )
      ? true
      : undefined,
  );
  expect(await visibleText(admin, ns)).not.toContain(WRONG);
});

test('an untrusted certificate and a closed port fail at their step', async () => {
  const [closed] = await freePorts(1);
  const t = await testProfile('broken', {
    serverType: 'POP3',
    incoming: { server: '127.0.0.1', port: dovecot.ports.pop3s },
    outgoing: { server: '127.0.0.1', port: closed, tls: 'STARTTLS', caBundle: ca },
  });
  expect(t.result).toBe('Failed');
  expect(t.directions.map((d) => d.reason)).toEqual(['TLSError', 'ServerUnreachable']);
});

test('Exchange: EWS with a service account (version detected) and Graph with client credentials, no mailbox needed', async () => {
  const onprem = await testProfile('onprem', {
    serverType: 'ExchangeServer',
    incoming: { url: ews.ewsUrl, caBundle: ca, credentials: { source: 'Profile', secretRef: { name: 'ews-svc' } } },
  });
  expect(onprem.result).toBe('Succeeded');
  expect(onprem.directions).toHaveLength(1);
  expect(onprem.directions[0].message).toMatch(
    /^reached EWS https:.*; signed in as CONTOSO\\svc-crm \(Exchange 2010 SP2, detected; no mailbox opened/,
  );
  const online = await testProfile('online', {
    serverType: 'ExchangeOnline',
    incoming: {
      url: graph.baseUrl,
      authentication: 'OAuth2',
      oauth: { tenantId: APP.tenantId, clientId: APP.clientId, authorityURL: oauth.authorityUrl },
      credentials: { source: 'Profile', secretRef: { name: 'graph-app' } },
      caBundle: ca,
    },
  });
  expect(online.result).toBe('Succeeded');
  expect(online.directions[0].message).toMatch(/^reached Graph https:.*; signed in \(no mailbox opened/);
});

test('Graph with no client secret: a certificate from a kubernetes.io/tls Secret, and workload identity with no Secret at all', async () => {
  const graphProfile = (oauthExtra: object, credentials: object) => ({
    serverType: 'ExchangeOnline',
    incoming: {
      url: graph.baseUrl,
      authentication: 'OAuth2',
      oauth: { tenantId: APP.tenantId, authorityURL: oauth.authorityUrl, ...oauthExtra },
      credentials,
      caBundle: ca,
    },
  });
  const withCert = await testProfile(
    'graph-cert',
    graphProfile({ clientId: 'cert-app' }, { source: 'Profile', secretRef: { name: 'graph-cert' } }),
  );
  expect(withCert.result).toBe('Succeeded');
  const federated = await testProfile(
    'graph-wi',
    graphProfile({ clientId: 'wi-app', serviceAccountName: 'mailsync-graph' }, { source: 'Profile' }),
  );
  expect(federated.directions[0]).toMatchObject({ reason: 'Succeeded' });
  expect(oauth.grants.slice(-2).sort()).toEqual(['certificate', 'federated']);
});
