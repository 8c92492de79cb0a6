// Modern sign-in end to end: a mailbox signs in to IMAP (Dovecot, validating bearer tokens with its
// oauth2 passdb against the token issuer's introspection endpoint) and SMTP with access tokens from
// a user's refresh token. Tokens live two seconds, so they expire during the test: the operator
// refreshes them, every refresh rotates the refresh token, the rotation is written back to the
// Secret (without re-testing the mailbox), and nothing fails. An anonymous SMTP relay sends with
// no credentials at all, over TLS.

import { waitFor } from '../../../dev/processes.js';
import { goodMessage } from '../../support/corpus.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { FakeOAuth } from '../../support/fake-oauth.js';
import { clientsAs, condition, create, get, mergePatchSpec, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtp-receiver.js';

const admin = clientsAs('admin');
const CLIENT = { clientId: 'mailsync-gmail-client', clientSecret: 'gmail-Client-Secret-1' };
const REFRESH = 'rt-ann-first-consent';
const CRM = { token: 'oauth-Crm-Token-0001', signingKey: 'oauth-Signing-Key-0002' };
let oauth: FakeOAuth;
let dovecot: DovecotFixture;
let smtp: SmtpReceiver;
let relay: SmtpReceiver;
let crm: FakeCrmWebhook;
let ns: string;
let op: InProcessOperator;

beforeAll(async () => {
  oauth = await FakeOAuth.start({
    clients: [],
    consents: [{ ...CLIENT, username: 'ann', refreshToken: REFRESH }],
    rotation: 'strict',
    expiresInSeconds: 2,
  });
  dovecot = await startDovecot({
    users: [{ username: 'ann', password: 'not-used-Ann-Password' }],
    oauth2IntrospectionUrl: await oauth.introspectionUrl(),
  });
  smtp = await startSmtpReceiver({ users: [], validateToken: (token, user) => oauth.validate(token)?.username === user });
  relay = await startSmtpReceiver({ users: [], anonymous: true });
  crm = await FakeCrmWebhook.start(CRM);
  ns = await newNamespace(admin, 'oauth');
  await createSecret(admin, ns, 'ca', { 'ca.crt': [dovecot.caPem, smtp.caPem, relay.caPem, oauth.caPem].join('\n') });
  await createSecret(admin, ns, 'ann-mail', { username: 'ann', refreshToken: REFRESH, clientSecret: CLIENT.clientSecret });
  await createSecret(admin, ns, 'crm', CRM);
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    incomingFiltering: { users: 'All' },
  });
  await create(admin, 'emailserverprofiles', ns, 'gmail-like', {
    serverType: 'IMAP',
    incoming: {
      server: '127.0.0.1',
      port: dovecot.ports.imaps,
      authentication: 'XOAUTH2',
      oauth: { clientId: CLIENT.clientId, tokenURL: `${oauth.authorityUrl}/token` },
      caBundle: { secretRef: { name: 'ca' } },
    },
    outgoing: { server: '127.0.0.1', port: smtp.port, tls: 'STARTTLS', saveToSentFolder: false },
  });
  // A safety resync every second signs in afresh each time: many logins, across several token lifetimes.
  op = await startOperator(admin, ns, { pollIntervalMs: 1000, outgoingPollMs: 500 });
  await create(admin, 'mailboxes', ns, 'ann', {
    emailAddress: 'ann@example.com',
    owner: { kind: 'User', name: 'ann' },
    deploymentRef: { name: 'crm' },
    serverProfileRef: { name: 'gmail-like' },
    credentialsSecretRef: { name: 'ann-mail' },
  });
  await waitForCondition(admin, 'mailboxes', ns, 'ann', 'Ready', (c) => c.status === 'True');
});
afterAll(async () => {
  await op?.stop();
  await dovecot?.cleanup();
  await Promise.all([smtp?.close(), relay?.close(), crm?.close(), oauth?.close()]);
});

test('IMAP and SMTP with tokens that expire during the test: refreshed, rotated, written back, and nothing fails', async () => {
  const tested = (await get(admin, 'mailboxes', ns, 'ann')).status.testedConfigHash;
  await dovecot.deliver('ann', goodMessage(1, { messageId: 'oauth-1@customer.example' }));
  await waitFor('first', async () => (crm.activities().some((a) => a.messageId === 'oauth-1@customer.example') ? true : undefined), {
    timeoutMs: 15_000,
  });
  // Several token lifetimes pass while the session signs in again and again.
  await waitFor('refreshed several times', async () => (oauth.grants.filter((g) => g === 'refresh').length >= 4 ? true : undefined), {
    timeoutMs: 20_000,
  });
  await dovecot.deliver('ann', goodMessage(2, { messageId: 'oauth-2@customer.example' }));
  const id = crm.addPendingEmail('ann@example.com', {
    from: { address: 'ann@example.com' },
    to: [{ address: 'c@customer.example' }],
    cc: [],
    bcc: [],
    subject: 'Sent with a fresh token',
    textBody: 'Hi',
  });
  await waitFor(
    'second and sent',
    async () =>
      crm.activities().some((a) => a.messageId === 'oauth-2@customer.example') && crm.outgoing(id)?.status === 'sent' ? true : undefined,
    { timeoutMs: 15_000 },
  );

  // Dovecot checked every bearer token at the issuer and refused none.
  expect(await dovecot.loginAttempts('ann', 'FAIL')).toBe(0);
  expect(await dovecot.loginAttempts('ann', 'OK')).toBeGreaterThanOrEqual(4);
  expect(smtp.authMethods).toContain('XOAUTH2');
  const m = await get(admin, 'mailboxes', ns, 'ann');
  expect(condition(m, 'Ready')?.status).toBe('True');
  expect(m.status.sync?.incoming?.failure).toBeUndefined();
  // The rotated refresh token is in the Secret (the first one is spent), and writing it back made no new revision.
  const secret = await admin.core.readNamespacedSecret({ namespace: ns, name: 'ann-mail' });
  const stored = Buffer.from(secret.data!.refreshToken, 'base64').toString();
  expect(stored).not.toBe(REFRESH);
  expect(stored).toMatch(/^rt-/);
  expect(m.status.testedConfigHash).toBe(tested);
});

test('an anonymous SMTP relay: authentication None, no Secret, over TLS', async () => {
  await create(admin, 'emailserverprofiles', ns, 'relay', {
    serverType: 'IMAP',
    incoming: {
      server: '127.0.0.1',
      port: dovecot.ports.imaps,
      authentication: 'XOAUTH2',
      oauth: { clientId: CLIENT.clientId, tokenURL: `${oauth.authorityUrl}/token` },
      caBundle: { secretRef: { name: 'ca' } },
    },
    useSameSettingsForOutgoing: false,
    outgoing: { server: '127.0.0.1', port: relay.port, tls: 'STARTTLS', authentication: 'None', caBundle: { secretRef: { name: 'ca' } } },
  });
  await create(admin, 'mailboxes', ns, 'notices', {
    emailAddress: 'notices@example.com',
    owner: { kind: 'Queue', name: 'notices' },
    deploymentRef: { name: 'crm' },
    serverProfileRef: { name: 'relay' },
    incoming: 'None',
  });
  await mergePatchSpec(admin, 'deployments', ns, 'crm', { spec: { requireApprovedQueues: false } });
  const o = await waitForCondition(admin, 'mailboxes', ns, 'notices', 'OutgoingEmailReady', (c) => c.status === 'True');
  expect(condition(o, 'OutgoingEmailReady')?.message).toContain('without sign-in (authentication None');
  const id = crm.addPendingEmail('notices@example.com', {
    from: { address: 'notices@example.com' },
    to: [{ address: 'c@customer.example' }],
    cc: [],
    bcc: [],
    subject: 'Relayed',
    textBody: 'Hi',
  });
  await waitFor('relayed', async () => (crm.outgoing(id)?.status === 'sent' ? true : undefined), { timeoutMs: 15_000 });
  expect(relay.messages.map((m) => m.parsed.subject)).toEqual(['Relayed']);
  expect(relay.authMethods).toEqual([]);
});
