// The CRDs' schemas and CEL rules, enforced by the real API server: each bad resource is
// refused with a message that names the field.

import { validateSpec } from '../../../src/api/validation.js';
import { clientsAs, create, newNamespace, rejection, type Plural } from '../../support/kube.js';

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
    [
      'POP3 incoming with Exchange outgoing',
      {
        serverType: 'POP3',
        incoming: { server: 'pop.example.com' },
        outgoing: { protocol: 'EWS', url: 'https://ex.example.com/EWS/Exchange.asmx' },
      },
      /spec.outgoing.protocol.*SMTP/,
    ],
    [
      'Exchange incoming with SMTP outgoing',
      {
        serverType: 'ExchangeServer',
        incoming: { url: 'https://ex.example.com/EWS/Exchange.asmx' },
        outgoing: { protocol: 'SMTP', server: 'smtp.example.com' },
      },
      /spec.outgoing.protocol.*SMTP outgoing with Exchange incoming is not supported/,
    ],
    [
      'Basic over tls: None without the opt-in',
      { ...imap, incoming: { server: 'imap.example.com', tls: 'None' } },
      /spec.incoming.tls: None would send credentials in cleartext.*allowInsecureAuthentication: true/,
    ],
    [
      'outgoing Basic over tls: None without the opt-in',
      { ...imap, outgoing: { server: 'smtp.example.com', tls: 'None' } },
      /spec.outgoing.tls: None would send credentials in cleartext/,
    ],
    [
      'EWS over http:// without the opt-in',
      { serverType: 'ExchangeServer', incoming: { url: 'http://ex.example.com/EWS/Exchange.asmx' } },
      /spec.incoming.url uses http:\/\//,
    ],
    [
      'ACT sync on an IMAP profile',
      { ...imap, appointmentsContactsTasks: { enabled: true } },
      /spec.appointmentsContactsTasks.enabled.*needs Exchange/,
    ],
    ['IMAP without a server', { serverType: 'IMAP', incoming: { tls: 'Implicit' } }, /spec.incoming.server is required/],
    [
      'ExchangeServer without url or autodiscover',
      { serverType: 'ExchangeServer', incoming: {} },
      /spec.incoming.url.*or spec.incoming.autodiscover: true is required/,
    ],
    [
      'ExchangeOnline without OAuth',
      { serverType: 'ExchangeOnline', incoming: { url: 'https://graph.microsoft.com/v1.0' } },
      /spec.incoming.authentication: .*ExchangeOnline profiles reach Microsoft Graph, which takes OAuth2 client credentials only/,
    ],
    ['NTLM on IMAP', { ...imap, incoming: { server: 'imap.example.com', authentication: 'NTLM' } }, /NTLM/],
    [
      'autodiscover on IMAP',
      { ...imap, incoming: { server: 'imap.example.com', autodiscover: true } },
      /autodiscover is only available for Exchange/,
    ],
    [
      'Profile credentials without a Secret',
      { ...imap, incoming: { server: 'imap.example.com', credentials: { source: 'Profile' } } },
      /credentials.secretRef is required when credentials.source is Profile/,
    ],
    [
      'a Secret in another namespace',
      {
        ...imap,
        incoming: { server: 'imap.example.com', credentials: { source: 'Profile', secretRef: { name: 's', namespace: 'other' } } },
      },
      /spec.incoming.credentials.secretRef.namespace: Forbidden: remove namespace/,
    ],
    [
      'outgoing credentials while using the same settings',
      { ...imap, outgoing: { server: 'smtp.example.com', authentication: 'XOAUTH2' } },
      /useSameSettingsForOutgoing is true/,
    ],
    ['unknown server type', { ...imap, serverType: 'Lotus' }, /spec.serverType: Unsupported value: "Lotus"/],
    ['port out of range', { ...imap, incoming: { server: 'imap.example.com', port: 70000 } }, /spec.incoming.port: Invalid value: 70000/],
    [
      'exchangeVersion on an IMAP profile',
      { ...imap, exchangeVersion: 'Exchange2016' },
      /spec.exchangeVersion is only for ExchangeServer profiles/,
    ],
    [
      'an unknown exchangeVersion',
      { serverType: 'ExchangeServer', incoming: { url: 'https://ex.example.com/EWS/Exchange.asmx' }, exchangeVersion: 'Exchange2007' },
      /spec.exchangeVersion: Unsupported value: "Exchange2007"/,
    ],
    [
      'authentication None on incoming',
      { ...imap, incoming: { server: 'imap.example.com', authentication: 'None' } },
      /spec.incoming.authentication: None is for an anonymous SMTP relay/,
    ],
    [
      'an anonymous relay for Exchange',
      {
        serverType: 'ExchangeServer',
        incoming: { url: 'https://ex.example.com/EWS/Exchange.asmx' },
        useSameSettingsForOutgoing: false,
        outgoing: { authentication: 'None' },
      },
      /spec.outgoing.authentication: None \(an anonymous SMTP relay\) is for IMAP and POP3 profiles/,
    ],
    [
      'a refresh token sent to an http:// token URL',
      {
        ...imap,
        incoming: {
          server: 'imap.example.com',
          authentication: 'XOAUTH2',
          oauth: { clientId: 'c', tokenURL: 'http://tokens.example.com/token' },
        },
      },
      /spec.incoming.oauth.tokenURL uses http:\/\//,
    ],
    ['maxConcurrentConnections above 300', { ...imap, maxConcurrentConnections: 301 }, /spec.maxConcurrentConnections/],
  ])('rejects %s', async (_name, spec, message) => {
    expect(await rejection(admin, 'emailserverprofiles', ns, `bad-${Math.random().toString(36).slice(2, 8)}`, spec)).toMatch(message);
  });

  test('plaintext authentication is accepted with the explicit opt-in', async () => {
    await create(admin, 'emailserverprofiles', ns, 'insecure-ok', {
      ...imap,
      incoming: { server: 'imap.example.com', tls: 'None' },
      allowInsecureAuthentication: true,
    });
  });
});

describe('admission of Mailbox', () => {
  test('a valid mailbox is accepted', async () => {
    await create(admin, 'mailboxes', ns, 'ok', mailbox);
  });

  test('a forward mailbox has no owner; forward and queue mailboxes may delete after processing', async () => {
    await create(admin, 'mailboxes', ns, 'fwd', {
      emailAddress: 'fwd@example.com',
      deploymentRef: mailbox.deploymentRef,
      forwardMailbox: true,
      deleteAfterProcessing: true,
    });
    await create(admin, 'mailboxes', ns, 'queue', {
      ...mailbox,
      emailAddress: 'support@example.com',
      owner: { kind: 'Queue', name: 'support' },
      deleteAfterProcessing: true,
    });
  });

  test.each([
    ['a mailbox without an address', { owner: mailbox.owner, deploymentRef: mailbox.deploymentRef }, /spec.emailAddress: Required value/],
    ['a malformed address', { ...mailbox, emailAddress: 'not-an-address' }, /spec.emailAddress/],
    ['a mailbox without an owner', { emailAddress: 'a@example.com', deploymentRef: mailbox.deploymentRef }, /spec.owner: Required value/],
    [
      'deleteAfterProcessing on a user mailbox',
      { ...mailbox, deleteAfterProcessing: true },
      /deleteAfterProcessing is only allowed for forward mailboxes .* and queue mailboxes/,
    ],
    [
      'a forward mailbox with an owner',
      { ...mailbox, forwardMailbox: true },
      /spec.owner: Invalid value: .*a forward mailbox has no owner/,
    ],
    [
      'a forward mailbox that sends',
      { emailAddress: 'fwd@example.com', deploymentRef: mailbox.deploymentRef, forwardMailbox: true, outgoing: 'ServerSideSync' },
      /a forward mailbox only receives/,
    ],
    [
      'ACT on a queue',
      { ...mailbox, owner: { kind: 'Queue', name: 'support' }, appointmentsContactsTasks: 'ServerSideSync' },
      /queues do not synchronize appointments/,
    ],
    [
      'a credentials Secret in another namespace',
      { ...mailbox, credentialsSecretRef: { name: 'creds', namespace: 'kube-system' } },
      /spec.credentialsSecretRef.namespace: Forbidden: remove namespace: references always resolve in this resource's own namespace/,
    ],
    ['an unknown delivery method', { ...mailbox, incoming: 'EmailRouter' }, /spec.incoming: Unsupported value/],
  ])('rejects %s', async (_name, spec, message) => {
    expect(await rejection(admin, 'mailboxes', ns, `bad-${Math.random().toString(36).slice(2, 8)}`, spec)).toMatch(message);
  });
});

describe('admission of Deployment', () => {
  test.each([
    [
      'Dynamics365 without OAuth',
      { crm: { type: 'Dynamics365', url: 'https://org.crm.dynamics.com', credentialsSecretRef: { name: 'd' } } },
      /spec.crm.oauth.*is required for Dynamics365/,
    ],
    [
      'a tracking prefix with spaces',
      { crm: { type: 'Webhook', url: 'https://crm.example.com/hook' }, trackingToken: { prefix: 'C R M' } },
      /spec.trackingToken.prefix/,
    ],
    ['no connector', {}, /spec.crm: Required value/],
  ])('rejects %s', async (_name, spec, message) => {
    expect(await rejection(admin, 'deployments', ns, `bad-${Math.random().toString(36).slice(2, 8)}`, spec)).toMatch(message);
  });

  test('defaults are applied', async () => {
    const o = (await create(admin, 'deployments', ns, 'crm', { crm: { type: 'Webhook', url: 'https://crm.example.com/hook' } })) as {
      spec: any;
    };
    expect(o.spec.requireApprovedUsers).toBe(true);
    expect(o.spec.requireApprovedQueues).toBe(true);
    expect(o.spec.trackingToken).toBeUndefined();
  });
});

const name = () => `p-${Math.random().toString(36).slice(2, 8)}`;
const KIND: Record<Plural, string> = { emailserverprofiles: 'EmailServerProfile', mailboxes: 'Mailbox', deployments: 'Deployment' };
const webhook = { type: 'Webhook', url: 'https://crm.example.com/hook' };
const separateOutgoing = (outgoing: object) => ({
  ...imap,
  useSameSettingsForOutgoing: false,
  outgoing: { server: 'smtp.example.com', tls: 'STARTTLS', ...outgoing },
});
const exchangeServer = { serverType: 'ExchangeServer', incoming: { url: 'https://ex.example.com/EWS/Exchange.asmx' } };
const oauth = { tenantId: 'contoso.example', clientId: 'app' };

// Issue 11: a defaulted field counts as a written one, and every credential-bearing path without
// TLS needs the explicit opt-in. Each refusal names the field and the opt-in or fix.
describe('cleartext and wrong-family options are refused whether written or defaulted', () => {
  test.each<[string, Plural, object, RegExp[]]>([
    [
      'outgoing NTLM over tls: None on an IMAP profile, outgoing.protocol left at its default (SMTP)',
      'emailserverprofiles',
      separateOutgoing({ authentication: 'NTLM', tls: 'None' }),
      [
        /spec.outgoing.authentication: .*NTLM is only available with Exchange Web Services/,
        /spec.outgoing.tls: .*None would send credentials in cleartext.*NTLM.*set spec.allowInsecureAuthentication: true/,
      ],
    ],
    [
      'outgoing NTLM on a POP3 profile with TLS',
      'emailserverprofiles',
      { ...separateOutgoing({ authentication: 'NTLM' }), serverType: 'POP3' },
      [/spec.outgoing.authentication: .*NTLM is only available with Exchange Web Services/],
    ],
    [
      'NTLM over tls: None on incoming',
      'emailserverprofiles',
      { ...imap, incoming: { server: 'imap.example.com', tls: 'None', authentication: 'NTLM' } },
      [/spec.incoming.tls: .*allowInsecureAuthentication/],
    ],
    [
      'outgoing autodiscover on an IMAP profile',
      'emailserverprofiles',
      { ...imap, outgoing: { server: 'smtp.example.com', autodiscover: true } },
      [/spec.outgoing.autodiscover is only available for Exchange profiles/],
    ],
    [
      'outgoing impersonation on an IMAP profile',
      'emailserverprofiles',
      separateOutgoing({ credentials: { source: 'Profile', secretRef: { name: 's' }, impersonation: true } }),
      [/spec.outgoing.credentials.impersonation is only available for Exchange profiles/],
    ],
    [
      'outgoing OAuth2 on an IMAP profile',
      'emailserverprofiles',
      separateOutgoing({ authentication: 'OAuth2', oauth }),
      [/spec.outgoing.authentication: .*OAuth2 client credentials are for Exchange profiles/],
    ],
    [
      'outgoing XOAUTH2 on an Exchange profile',
      'emailserverprofiles',
      { ...exchangeServer, useSameSettingsForOutgoing: false, outgoing: { authentication: 'XOAUTH2' } },
      [/spec.outgoing.authentication: .*XOAUTH2 is for IMAP, POP3 and SMTP/],
    ],
    [
      'ExchangeOnline with separate outgoing settings that are not OAuth2',
      'emailserverprofiles',
      {
        serverType: 'ExchangeOnline',
        incoming: { authentication: 'OAuth2', oauth },
        useSameSettingsForOutgoing: false,
        outgoing: { authentication: 'Basic' },
      },
      [/spec.outgoing.authentication: .*Microsoft Graph, which takes OAuth2 client credentials only/],
    ],
    [
      'OAuth2 without oauth settings',
      'emailserverprofiles',
      { ...exchangeServer, incoming: { ...exchangeServer.incoming, authentication: 'OAuth2' } },
      [/spec.incoming.oauth: Required value: .*clientId/],
    ],
    [
      'outgoing oauth while using the same settings',
      'emailserverprofiles',
      { ...exchangeServer, outgoing: { oauth } },
      [/spec.outgoing: .*taken from spec.incoming while spec.useSameSettingsForOutgoing is true/],
    ],
    [
      'an http:// token authority on a profile',
      'emailserverprofiles',
      {
        ...exchangeServer,
        incoming: { ...exchangeServer.incoming, authentication: 'OAuth2', oauth: { ...oauth, authorityURL: 'http://login.example.com' } },
      },
      [
        /spec.incoming.oauth.authorityURL: .*uses http:\/\/, which would send the client secret in cleartext.*spec.allowInsecureAuthentication: true/,
      ],
    ],
    [
      'a webhook CRM at http:// on a remote host',
      'deployments',
      { crm: { ...webhook, url: 'http://crm.example.com/hook' } },
      [/spec.crm.url: .*uses http:\/\/ on a host other than localhost.*spec.crm.allowInsecureAuthentication: true/],
    ],
    [
      'a Dynamics token authority at http:// on a remote host',
      'deployments',
      {
        crm: {
          type: 'Dynamics365',
          url: 'https://org.crm.dynamics.com',
          credentialsSecretRef: { name: 'd' },
          oauth: { ...oauth, authorityURL: 'http://login.example.com' },
        },
      },
      [/spec.crm.oauth.authorityURL: .*would send the client secret in cleartext.*spec.crm.allowInsecureAuthentication: true/],
    ],
  ])('refuses %s', async (_case, plural, spec, messages) => {
    const msg = await rejection(admin, plural, ns, name(), spec);
    for (const m of messages) expect(msg).toMatch(m);
  });

  test.each<[string, Plural, object]>([
    [
      'outgoing NTLM with separate settings on an ExchangeServer profile',
      'emailserverprofiles',
      { ...exchangeServer, useSameSettingsForOutgoing: false, outgoing: { authentication: 'NTLM' } },
    ],
    [
      'outgoing tls: None with allowInsecureAuthentication',
      'emailserverprofiles',
      { ...imap, outgoing: { server: 'smtp.example.com', tls: 'None' }, allowInsecureAuthentication: true },
    ],
    ['a webhook CRM at http://127.0.0.1 (loopback: a sidecar)', 'deployments', { crm: { ...webhook, url: 'http://127.0.0.1:8080/hook' } }],
    ['a webhook CRM at http://localhost', 'deployments', { crm: { ...webhook, url: 'http://localhost/hook' } }],
    ['a webhook CRM at http://[::1]', 'deployments', { crm: { ...webhook, url: 'http://[::1]:8080/hook' } }],
    [
      'a webhook CRM at http:// on a remote host with the opt-in',
      'deployments',
      { crm: { ...webhook, url: 'http://crm.example.com/hook', allowInsecureAuthentication: true } },
    ],
  ])('accepts %s', async (_case, plural, spec) => {
    await create(admin, plural, ns, name(), spec);
  });
});

// Issue 19: each refusal of a value's shape says what form is expected, with an example, and never
// just quotes a regular expression. ajv (`mailsync validate`) reports the same message.
describe('a bad value is refused with the expected form and an example', () => {
  const profile = (extra: object) => ({ ...imap, ...extra });
  const withIncoming = (incoming: object) => ({ ...imap, incoming: { server: 'imap.example.com', ...incoming } });
  const box = (extra: object) => ({ ...mailbox, ...extra });
  const deployment = (extra: object) => ({ crm: webhook, ...extra });
  test.each<[string, Plural, object, string, RegExp]>([
    [
      'a duration in days',
      'emailserverprofiles',
      withIncoming({ timeout: '1d' }),
      'spec.incoming.timeout',
      /duration such as 30s, 5m or 1h30m.*24h/,
    ],
    [
      'a duration in words',
      'emailserverprofiles',
      profile({ minPollingInterval: '5 minutes' }),
      'spec.minPollingInterval',
      /duration such as 30s, 5m or 1h30m/,
    ],
    [
      'a rollout interval with a space',
      'emailserverprofiles',
      profile({ rollout: { interval: '1 h' } }),
      'spec.rollout.interval',
      /duration such as 30s/,
    ],
    [
      'a size in MB',
      'emailserverprofiles',
      profile({ maxAttachmentSize: '25MB' }),
      'spec.maxAttachmentSize',
      /size such as 25Mi, 10M or 1048576.*write 25MB as 25M/,
    ],
    ['a size with a space', 'deployments', deployment({ maxAttachmentSize: '5 Gi' }), 'spec.maxAttachmentSize', /size such as 25Mi/],
    [
      'a mailto: address',
      'mailboxes',
      box({ emailAddress: 'mailto:a@b.example' }),
      'spec.emailAddress',
      /without mailto: \(ann@contoso.example\)/,
    ],
    [
      'an address in angle brackets',
      'mailboxes',
      box({ emailAddress: '<a@b.example>' }),
      'spec.emailAddress',
      /bare address, such as ann@contoso.example, without a display name/,
    ],
    [
      'an address with a display name',
      'mailboxes',
      box({ emailAddress: 'Ann <a@b.example>' }),
      'spec.emailAddress',
      /bare address, such as ann@contoso.example/,
    ],
    [
      'an address with an empty domain label',
      'mailboxes',
      box({ emailAddress: 'a@b..example' }),
      'spec.emailAddress',
      /email address such as ann@contoso.example/,
    ],
    [
      'an address without @',
      'mailboxes',
      box({ emailAddress: 'not-an-address' }),
      'spec.emailAddress',
      /email address such as ann@contoso.example/,
    ],
    [
      'an ftp:// EWS URL',
      'emailserverprofiles',
      { serverType: 'ExchangeServer', incoming: { url: 'ftp://ex.example.com/EWS/Exchange.asmx' } },
      'spec.incoming.url',
      /https:\/\/ URL such as https:\/\/mail.example.com\/EWS\/Exchange.asmx/,
    ],
    [
      'a CRM URL without a scheme',
      'deployments',
      { crm: { ...webhook, url: 'crm.example.com/hook' } },
      'spec.crm.url',
      /https:\/\/ URL such as https:\/\/org.crm.dynamics.com/,
    ],
    [
      'a URL as server',
      'emailserverprofiles',
      withIncoming({ server: 'imaps://imap.example.com:993' }),
      'spec.incoming.server',
      /host name, not a URL: write imap.example.com alone/,
    ],
    [
      'a port in server',
      'emailserverprofiles',
      withIncoming({ server: 'imap.example.com:993' }),
      'spec.incoming.server',
      /write the port in spec.incoming.port \(server: imap.example.com, port: 993\)/,
    ],
    [
      'a port in the outgoing server',
      'emailserverprofiles',
      profile({ outgoing: { server: 'smtp.example.com:587' } }),
      'spec.outgoing.server',
      /write the port in spec.outgoing.port/,
    ],
    [
      'a server with a space',
      'emailserverprofiles',
      withIncoming({ server: 'imap example.com' }),
      'spec.incoming.server',
      /host name \(imap.example.com\), an IPv4 address \(192.0.2.10\) or an IPv6 address/,
    ],
    [
      'a wildcard auto-approve domain',
      'deployments',
      deployment({ autoApproveDomains: ['*'] }),
      'spec.autoApproveDomains[0]',
      /wildcards are not supported: list each domain, such as contoso.example/,
    ],
    [
      'an auto-approve domain with @',
      'deployments',
      deployment({ autoApproveDomains: ['contoso.example', '@contoso.example'] }),
      'spec.autoApproveDomains[1]',
      /without @: contoso.example, not @contoso.example/,
    ],
    [
      'an auto-approve domain without a dot',
      'deployments',
      deployment({ autoApproveDomains: ['contoso'] }),
      'spec.autoApproveDomains[0]',
      /domain such as contoso.example/,
    ],
    [
      'a tracking prefix with spaces',
      'deployments',
      deployment({ trackingToken: { prefix: 'C R M' } }),
      'spec.trackingToken.prefix',
      /letters and digits only, such as CRM/,
    ],
    [
      'a Secret name with capitals',
      'mailboxes',
      box({ credentialsSecretRef: { name: 'Ann_Mail' } }),
      'spec.credentialsSecretRef.name',
      /name of a Secret: lowercase letters, digits.*such as ann-mail/,
    ],
    [
      'a CA bundle key with a space',
      'emailserverprofiles',
      withIncoming({ caBundle: { configMapRef: { name: 'ca', key: 'ca crt' } } }),
      'spec.incoming.caBundle.configMapRef.key',
      /key of the ConfigMap: .*such as ca.crt/,
    ],
  ])('%s', async (_case, plural, spec, field, expected) => {
    const msg = await rejection(admin, plural, ns, name(), spec);
    expect(msg).toMatch(new RegExp(`${field.replace(/[.[\]]/g, '\\$&')}: Invalid value: "[^"]*": .*${expected.source}`));
    expect(msg).not.toMatch(/should match/);
    // The CLI's validator reports the same message for the same field.
    const problems = validateSpec(KIND[plural], spec);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.field).toBe(field);
    expect(msg).toContain(`${field}: Invalid value: "`);
    expect(msg).toContain(problems[0]!.message);
  });

  test('an ftp:// EWS URL is not reported as http://', async () => {
    expect(
      await rejection(admin, 'emailserverprofiles', ns, name(), {
        serverType: 'ExchangeServer',
        incoming: { url: 'ftp://ex.example.com/EWS' },
      }),
    ).not.toMatch(/uses http/);
  });

  test('ExchangeOnline with Basic authentication is reported at authentication, not at oauth', async () => {
    const msg = await rejection(admin, 'emailserverprofiles', ns, name(), {
      serverType: 'ExchangeOnline',
      incoming: { url: 'https://graph.microsoft.com/v1.0', authentication: 'Basic', oauth },
    });
    expect(msg).toMatch(/spec.incoming.authentication: .*takes OAuth2 client credentials only: set authentication: OAuth2/);
    expect(msg).not.toMatch(/spec.incoming.oauth:/);
  });

  test("a reference naming the object's own namespace is refused with a message saying so, not as cross-namespace", async () => {
    const msg = await rejection(admin, 'mailboxes', ns, name(), box({ credentialsSecretRef: { name: 'ann-mail', namespace: ns } }));
    expect(msg).toMatch(
      /spec.credentialsSecretRef.namespace: Forbidden: remove namespace: references always resolve in this resource's own namespace, so namespace is not accepted \(not even this resource's own\)/,
    );
    expect(msg).not.toMatch(/cross-namespace/);
  });

  test.each<[string, Plural, object]>([
    ['an IPv6 server (::1)', 'emailserverprofiles', withIncoming({ server: '::1' })],
    ['an IPv6 server in brackets ([2001:db8::1])', 'emailserverprofiles', withIncoming({ server: '[2001:db8::1]' })],
    ['an IPv6 server without brackets (2001:db8::1)', 'emailserverprofiles', withIncoming({ server: '2001:db8::1' })],
    ['an IPv4 server', 'emailserverprofiles', withIncoming({ server: '192.0.2.10' })],
    ['durations with several units', 'emailserverprofiles', { ...withIncoming({ timeout: '1m30s' }), minPollingInterval: '500ms' }],
    ['an internationalized address', 'mailboxes', box({ emailAddress: 'jörg@müller.example' })],
    ['an address with plus and dots', 'mailboxes', box({ emailAddress: 'ann.lee+crm@contoso.example' })],
    [
      'auto-approve domains',
      'deployments',
      deployment({ autoApproveDomains: ['contoso.example', 'mail.fabrikam.example'], maxAttachmentSize: '25Mi' }),
    ],
  ])('accepts %s', async (_case, plural, spec) => {
    await create(admin, plural, ns, name(), spec);
    expect(validateSpec(KIND[plural], spec)).toEqual([]);
  });
});
