// The CRDs' schemas and CEL rules, enforced by the real API server: each bad resource is
// refused with a message that names the field.

import { clientsAs, create, newNamespace, rejection } from '../../support/kube.js';

const admin = clientsAs('admin');
let ns: string;

beforeAll(async () => {
  ns = await newNamespace(admin, 'admission');
});

const imap = {
  serverType: 'IMAP',
  incoming: { server: 'imap.example.com', tls: 'Implicit' },
  outgoing: { server: 'smtp.example.com', tls: 'STARTTLS' },
};

const mailbox = { emailAddress: 'ann@example.com', owner: { kind: 'User', name: 'ann' }, deploymentRef: { name: 'crm' } };

describe('admission of EmailServerProfile', () => {
  test('a valid IMAP profile is accepted and defaulted', async () => {
    const o = (await create(admin, 'emailserverprofiles', ns, 'ok-imap', imap)) as { spec: any };
    expect(o.spec.useSameSettingsForOutgoing).toBe(true);
    expect(o.spec.incoming.authentication).toBe('Basic');
    expect(o.spec.maxConcurrentConnections).toBe(10);
  });

  test.each([
    ['POP3 incoming with Exchange outgoing', { serverType: 'POP3', incoming: { server: 'pop.example.com' }, outgoing: { protocol: 'EWS', url: 'https://ex.example.com/EWS/Exchange.asmx' } }, /spec.outgoing.protocol.*SMTP/],
    ['Exchange incoming with SMTP outgoing', { serverType: 'ExchangeServer', incoming: { url: 'https://ex.example.com/EWS/Exchange.asmx' }, outgoing: { protocol: 'SMTP', server: 'smtp.example.com' } }, /spec.outgoing.protocol.*SMTP outgoing with Exchange incoming is not supported/],
    ['Basic over tls: None without the opt-in', { ...imap, incoming: { server: 'imap.example.com', tls: 'None' } }, /spec.incoming: authentication over tls: None.*allowInsecureAuthentication/],
    ['outgoing Basic over tls: None without the opt-in', { ...imap, outgoing: { server: 'smtp.example.com', tls: 'None' } }, /spec.outgoing: authentication over tls: None/],
    ['EWS over http:// without the opt-in', { serverType: 'ExchangeServer', incoming: { url: 'http://ex.example.com/EWS/Exchange.asmx' } }, /spec.incoming.url uses http:\/\//],
    ['ACT sync on an IMAP profile', { ...imap, appointmentsContactsTasks: { enabled: true } }, /spec.appointmentsContactsTasks.enabled.*needs Exchange/],
    ['IMAP without a server', { serverType: 'IMAP', incoming: { tls: 'Implicit' } }, /spec.incoming.server is required/],
    ['ExchangeServer without url or autodiscover', { serverType: 'ExchangeServer', incoming: {} }, /spec.incoming.url.*or spec.incoming.autodiscover: true is required/],
    ['ExchangeOnline without OAuth', { serverType: 'ExchangeOnline', incoming: { url: 'https://graph.microsoft.com/v1.0' } }, /ExchangeOnline profiles use Microsoft Graph with OAuth2/],
    ['NTLM on IMAP', { ...imap, incoming: { server: 'imap.example.com', authentication: 'NTLM' } }, /NTLM/],
    ['autodiscover on IMAP', { ...imap, incoming: { server: 'imap.example.com', autodiscover: true } }, /autodiscover is only available for Exchange/],
    ['Profile credentials without a Secret', { ...imap, incoming: { server: 'imap.example.com', credentials: { source: 'Profile' } } }, /credentials.secretRef is required when credentials.source is Profile/],
    ['a Secret in another namespace', { ...imap, incoming: { server: 'imap.example.com', credentials: { source: 'Profile', secretRef: { name: 's', namespace: 'other' } } } }, /cross-namespace references are not allowed/],
    ['outgoing credentials while using the same settings', { ...imap, outgoing: { server: 'smtp.example.com', authentication: 'XOAUTH2' } }, /useSameSettingsForOutgoing is true/],
    ['unknown server type', { ...imap, serverType: 'Lotus' }, /spec.serverType: Unsupported value: "Lotus"/],
    ['port out of range', { ...imap, incoming: { server: 'imap.example.com', port: 70000 } }, /spec.incoming.port: Invalid value: 70000/],
    ['maxConcurrentConnections above 300', { ...imap, maxConcurrentConnections: 301 }, /spec.maxConcurrentConnections/],
  ])('rejects %s', async (_name, spec, message) => {
    expect(await rejection(admin, 'emailserverprofiles', ns, `bad-${Math.random().toString(36).slice(2, 8)}`, spec)).toMatch(message);
  });

  test('plaintext authentication is accepted with the explicit opt-in', async () => {
    await create(admin, 'emailserverprofiles', ns, 'insecure-ok', { ...imap, incoming: { server: 'imap.example.com', tls: 'None' }, allowInsecureAuthentication: true });
  });
});

describe('admission of Mailbox', () => {
  test('a valid mailbox is accepted', async () => {
    await create(admin, 'mailboxes', ns, 'ok', mailbox);
  });

  test.each([
    ['a mailbox without an address', { owner: mailbox.owner, deploymentRef: mailbox.deploymentRef }, /spec.emailAddress: Required value/],
    ['a malformed address', { ...mailbox, emailAddress: 'not-an-address' }, /spec.emailAddress/],
    ['a mailbox without an owner', { emailAddress: 'a@example.com', deploymentRef: mailbox.deploymentRef }, /spec.owner: Required value/],
    ['deleteAfterProcessing on a normal mailbox', { ...mailbox, deleteAfterProcessing: true }, /deleteAfterProcessing is only allowed for forward mailboxes/],
    ['ACT on a queue', { ...mailbox, owner: { kind: 'Queue', name: 'support' }, appointmentsContactsTasks: 'ServerSideSync' }, /queues do not synchronize appointments/],
    ['a credentials Secret in another namespace', { ...mailbox, credentialsSecretRef: { name: 'creds', namespace: 'kube-system' } }, /spec.credentialsSecretRef.namespace.*cross-namespace references are not allowed/],
    ['an unknown delivery method', { ...mailbox, incoming: 'EmailRouter' }, /spec.incoming: Unsupported value/],
  ])('rejects %s', async (_name, spec, message) => {
    expect(await rejection(admin, 'mailboxes', ns, `bad-${Math.random().toString(36).slice(2, 8)}`, spec)).toMatch(message);
  });
});

describe('admission of Deployment', () => {
  test.each([
    ['Dynamics365 without OAuth', { crm: { type: 'Dynamics365', url: 'https://org.crm.dynamics.com', credentialsSecretRef: { name: 'd' } } }, /spec.crm.oauth.*is required for Dynamics365/],
    ['a tracking prefix with spaces', { crm: { type: 'Webhook', url: 'https://crm.example.com/hook' }, trackingToken: { prefix: 'C R M' } }, /spec.trackingToken.prefix/],
    ['no connector', {}, /spec.crm: Required value/],
  ])('rejects %s', async (_name, spec, message) => {
    expect(await rejection(admin, 'deployments', ns, `bad-${Math.random().toString(36).slice(2, 8)}`, spec)).toMatch(message);
  });

  test('defaults are applied', async () => {
    const o = (await create(admin, 'deployments', ns, 'crm', { crm: { type: 'Webhook', url: 'https://crm.example.com/hook' } })) as { spec: any };
    expect(o.spec.requireApprovedUsers).toBe(true);
    expect(o.spec.requireApprovedQueues).toBe(true);
    expect(o.spec.trackingToken).toBeUndefined();
  });
});
