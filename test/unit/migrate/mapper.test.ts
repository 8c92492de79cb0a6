// The pure part of `mailsync import dynamics`: Dataverse rows -> manifests, findings, waves and
// files (src/migrate/). Rows are written as the Web API returns them.
import yaml from 'js-yaml';
import { APPROVED_ADDRESS, DENIED_ADDRESS } from '../../../src/api/types.js';
import { beforeHandOver } from '../../../src/migrate/cutover.js';
import type { DataverseSnapshot, MailboxRow, ProfileRow } from '../../../src/migrate/dataverse.js';
import { DYNAMICS_MAILBOX_ID } from '../../../src/migrate/map-mailbox.js';
import { mapOrganization, type MapOptions } from '../../../src/migrate/mapper.js';
import { subdomainName, uniqueNames } from '../../../src/migrate/names.js';
import { summaryText } from '../../../src/migrate/report.js';
import { planWaves } from '../../../src/migrate/waves.js';
import { renderOutput } from '../../../src/migrate/writer.js';

const guid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const OPTIONS: MapOptions = {
  namespace: 'sales',
  crm: { url: 'https://contoso.crm.dynamics.com', tenantId: 'contoso-tenant', clientId: 'app-1' },
};

const profile = (n: number, values: Partial<ProfileRow>): ProfileRow => ({
  emailserverprofileid: guid(n),
  name: `Profile ${n}`,
  statecode: 0,
  ...values,
});
const user = (n: number, profileId: string, values: Partial<MailboxRow> = {}): MailboxRow => ({
  mailboxid: guid(100 + n),
  emailaddress: `user${n}@contoso.example`,
  _emailserverprofile_value: profileId,
  _regardingobjectid_value: guid(500 + n),
  '_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'systemuser',
  '_regardingobjectid_value@OData.Community.Display.V1.FormattedValue': `User ${n}`,
  incomingemaildeliverymethod: 2,
  outgoingemaildeliverymethod: 2,
  actdeliverymethod: 2,
  emailrouteraccessapproval: 1,
  ...values,
});
const queue = (n: number, profileId: string, values: Partial<MailboxRow> = {}): MailboxRow =>
  user(n, profileId, {
    mailboxid: guid(150 + n),
    _regardingobjectid_value: guid(550 + n),
    emailaddress: `queue${n}@contoso.example`,
    '_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'queue',
    '_regardingobjectid_value@OData.Community.Display.V1.FormattedValue': `Queue ${n}`,
    ...values,
  });

function snapshot(): DataverseSnapshot {
  const online = profile(1, { name: 'Microsoft Exchange Online', servertype: 0, useautodiscover: true, incomingcredentialretrieval: 2 });
  const onPrem = profile(2, {
    name: 'Exchange 2019',
    servertype: 0,
    exchangeversion: 5,
    incomingserverlocation: 'https://mail.contoso.example/EWS/Exchange.asmx',
    incomingcredentialretrieval: 1,
    incominguseimpersonation: true,
    incomingauthenticationprotocol: 1,
    incomingusername: 'CONTOSO\\svc',
  });
  const imap = profile(3, {
    name: 'IMAP',
    servertype: 4,
    incomingserverlocation: 'imap.contoso.example',
    incomingportnumber: 993,
    incomingusessl: true,
    outgoingserverlocation: 'smtp.contoso.example',
    outgoingportnumber: 587,
    incomingcredentialretrieval: 0,
    minpollingintervalinminutes: 2,
  });
  return {
    organizationUrl: 'https://contoso.crm.dynamics.com/api/data/v9.2',
    organization: {
      organizationid: guid(900),
      name: 'Contoso Ltd',
      _defaultemailserverprofileid_value: online.emailserverprofileid,
      defaultemailsettings:
        '&lt;EmailSettings&gt;&lt;IncomingEmailDeliveryMethod&gt;2&lt;/IncomingEmailDeliveryMethod&gt;&lt;OutgoingEmailDeliveryMethod&gt;1&lt;/OutgoingEmailDeliveryMethod&gt;&lt;ACTDeliveryMethod&gt;1&lt;/ACTDeliveryMethod&gt;&lt;/EmailSettings&gt;',
      requireapprovalforuseremail: true,
      requireapprovalforqueueemail: false,
      trackingprefix: 'CRM',
      maximumtrackingnumber: 9999,
      trackingtokeniddigits: 4,
      maxuploadfilesize: 10_485_760,
    },
    profiles: [imap, onPrem, online],
    mailboxes: [
      user(3, online.emailserverprofileid, { actdeliverymethod: 1, emailrouteraccessapproval: 3 }),
      user(1, onPrem.emailserverprofileid, { incomingemaildeliverymethod: 3, emailrouteraccessapproval: 2 }),
      user(2, imap.emailserverprofileid, { outgoingemaildeliverymethod: 1, allowemailconnectortousecredentials: true, username: 'user2' }),
      queue(1, online.emailserverprofileid, { actdeliverymethod: 1, processanddeleteemails: true }),
      {
        mailboxid: guid(200),
        emailaddress: 'forward@contoso.example',
        isforwardmailbox: true,
        _ownerid_value: guid(600),
        '_ownerid_value@OData.Community.Display.V1.FormattedValue': 'CRM Admin',
        _emailserverprofile_value: onPrem.emailserverprofileid,
        incomingemaildeliverymethod: 2,
        outgoingemaildeliverymethod: 0,
        processanddeleteemails: true,
        emailrouteraccessapproval: 1,
      },
      {
        mailboxid: guid(300),
        name: 'No address',
        emailaddress: null,
        _regardingobjectid_value: guid(700),
        '_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'systemuser',
      },
    ],
    userFiltering: [
      { id: guid(501), incomingemailfilteringmethod: 2 },
      { id: guid(502), incomingemailfilteringmethod: 2 },
      { id: guid(503), incomingemailfilteringmethod: 0 },
    ],
    queueFiltering: [],
  };
}

const plan = () => mapOrganization(snapshot(), OPTIONS);
const mailbox = (name: string) => plan().mailboxes.find((m) => m.manifest.metadata.name === name)!.manifest;
const profileSpec = (name: string) => plan().profiles.find((p) => p.metadata.name === name)!.spec;

test('the same rows in any order give the same plan and byte-identical files', () => {
  const a = mapOrganization(snapshot(), OPTIONS);
  const reversed = snapshot();
  reversed.mailboxes.reverse();
  reversed.profiles.reverse();
  const b = mapOrganization(reversed, OPTIONS);
  expect(b).toEqual(a);
  const files = (p: typeof a) =>
    renderOutput(
      p,
      planWaves(
        p.mailboxes.map((m) => ({ name: m.manifest.metadata.name, shared: m.shared })),
        2,
      ),
      [],
    );
  expect([...files(b)]).toEqual([...files(a)]);
  expect([...files(a).values()].join('')).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/); // no timestamps
});

test('the Deployment carries the organization email settings', () => {
  const d = plan().deployment;
  expect(d.metadata).toEqual({ name: 'contoso-ltd', namespace: 'sales' });
  expect(d.spec).toEqual({
    crm: {
      type: 'Dynamics365',
      url: 'https://contoso.crm.dynamics.com',
      credentialsSecretRef: { name: 'contoso-ltd-dynamics' },
      oauth: { tenantId: 'contoso-tenant', clientId: 'app-1' },
    },
    defaults: {
      serverProfileRef: { name: 'microsoft-exchange-online' },
      incoming: 'ServerSideSync',
      outgoing: 'None',
      appointmentsContactsTasks: 'ServerSideSync',
    },
    requireApprovedUsers: true,
    requireApprovedQueues: false,
    trackingToken: { enabled: true, prefix: 'CRM', userDigits: 4, counterDigits: 4 },
    maxAttachmentSize: '10485760',
    firstSync: { since: '24h' },
    // Two of the three users filter FromCRMRecords: the Deployment takes the majority and reports the third.
    incomingFiltering: { users: 'FromCRMRecords', queues: 'All' },
  });
  expect(plan().findings).toContainEqual(
    expect.objectContaining({
      object: 'Mailbox user3.contoso.example',
      setting: 'usersettings.incomingemailfilteringmethod',
      value: 'All (0)',
    }),
  );
});

test('Exchange Online with Server-to-Server authentication becomes Graph with the import app, and says what to grant', () => {
  expect(profileSpec('microsoft-exchange-online')).toEqual({
    serverType: 'ExchangeOnline',
    incoming: {
      authentication: 'OAuth2',
      oauth: { tenantId: 'contoso-tenant', clientId: 'app-1' },
      credentials: { source: 'Profile', secretRef: { name: 'microsoft-exchange-online-graph' } },
    },
    // user3 synchronizes appointments through it.
    appointmentsContactsTasks: { enabled: true },
  });
  const f = plan().findings.find(
    (x) => x.setting === 'emailserverprofile.incomingcredentialretrieval' && x.object === 'EmailServerProfile microsoft-exchange-online',
  )!;
  expect(f).toMatchObject({ kind: 'Changed', value: 'ServerToServer (2)' });
  expect(f.why).toMatch(/Mail\.ReadWrite and Mail\.Send/);
});

test('Negotiate authentication to EWS cannot be honoured: mapped to NTLM and reported by its column', () => {
  expect(profileSpec('exchange-2019').incoming).toEqual({
    url: 'https://mail.contoso.example/EWS/Exchange.asmx',
    authentication: 'NTLM',
    credentials: { source: 'Profile', secretRef: { name: 'exchange-2019-credentials' }, impersonation: true },
  });
  expect(plan().findings).toContainEqual(
    expect.objectContaining({
      kind: 'NotMigrated',
      object: 'EmailServerProfile exchange-2019',
      setting: 'emailserverprofile.incomingauthenticationprotocol',
      value: 'Negotiate (1)',
    }),
  );
  expect(plan().secrets.find((s) => s.name === 'exchange-2019-credentials')).toEqual({
    name: 'exchange-2019-credentials',
    keys: ['username', 'password'],
    usedBy: 'EmailServerProfile exchange-2019 (spec.incoming.credentials.secretRef)',
    hint: 'user name in Dynamics: CONTOSO\\svc',
  });
});

test("IMAP with users' own credentials: the server, port, TLS and a Secret stub per mailbox", () => {
  expect(profileSpec('imap')).toEqual({
    serverType: 'IMAP',
    incoming: { server: 'imap.contoso.example', port: 993, tls: 'Implicit', credentials: { source: 'Mailbox' } },
    outgoing: { server: 'smtp.contoso.example', port: 587, tls: 'STARTTLS' },
    minPollingInterval: '2m',
  });
  expect(mailbox('user2.contoso.example').spec).toMatchObject({
    serverProfileRef: { name: 'imap' },
    credentialsSecretRef: { name: 'user2.contoso.example-mail' },
    outgoing: 'None',
  });
  expect(plan().secrets.find((s) => s.name === 'user2.contoso.example-mail')).toMatchObject({
    keys: ['username', 'password'],
    hint: 'user name in Dynamics: user2',
  });
});

test('delivery methods, approval, forward mailboxes and queues', () => {
  const fed = mailbox('user1.contoso.example');
  expect(fed.spec).toMatchObject({ incoming: 'ForwardMailbox', outgoing: 'ServerSideSync', appointmentsContactsTasks: 'None' });
  expect(fed.metadata.annotations).toEqual({ [DYNAMICS_MAILBOX_ID]: guid(101) }); // pending: no approval carried
  expect(mailbox('user3.contoso.example').metadata.annotations).toEqual({
    [DENIED_ADDRESS]: 'user3@contoso.example',
    [DYNAMICS_MAILBOX_ID]: guid(103),
  });
  expect(mailbox('user3.contoso.example').spec.appointmentsContactsTasks).toBe('ServerSideSync');
  const q = mailbox('queue1.contoso.example');
  expect(q.spec).toMatchObject({ owner: { kind: 'Queue', name: 'Queue 1' }, appointmentsContactsTasks: 'None' });
  expect(q.spec.deleteAfterProcessing).toBe(true); // Dynamics allows it for forward and queue mailboxes
  expect(q.metadata.annotations?.[APPROVED_ADDRESS]).toBe('queue1@contoso.example');
  const fwd = mailbox('forward.contoso.example');
  expect(fwd.spec).toMatchObject({ forwardMailbox: true, deleteAfterProcessing: true, incoming: 'ServerSideSync', outgoing: 'None' });
  expect(fwd.spec.owner).toBeUndefined();
  const findings = plan().findings;
  expect(findings).toContainEqual(
    expect.objectContaining({ object: 'Mailbox queue1.contoso.example', setting: 'mailbox.actdeliverymethod', kind: 'NotMigrated' }),
  );
  expect(findings).not.toContainEqual(
    expect.objectContaining({ object: 'Mailbox queue1.contoso.example', setting: 'mailbox.processanddeleteemails' }),
  );
  expect(findings).toContainEqual(
    expect.objectContaining({
      object: 'Mailbox user2.contoso.example',
      setting: 'mailbox.outgoingemaildeliverymethod',
      value: 'Outlook (1)',
      kind: 'Changed',
    }),
  );
  // A row without an address is left out, by its Dataverse id.
  expect(findings).toContainEqual(
    expect.objectContaining({ object: `Dynamics mailbox No address (${guid(300)})`, setting: 'mailbox.emailaddress', kind: 'NotMigrated' }),
  );
  expect(plan().mailboxes).toHaveLength(5);
});

test('names: from the address, unique, stable', () => {
  expect(subdomainName('Ann.Lee+crm@Contoso.Example')).toBe('ann.lee-crm.contoso.example');
  const names = uniqueNames([
    { id: 'B', base: 'ann.contoso.example' },
    { id: 'A', base: 'ann.contoso.example' },
    { id: 'C', base: 'bob.contoso.example' },
  ]);
  expect(names.get('C')).toBe('bob.contoso.example');
  expect(names.get('A')).toMatch(/^ann\.contoso\.example-[0-9a-f]{6}$/);
  expect(names.get('A')).not.toBe(names.get('B'));
});

test('waves: queues and forward mailboxes first, never mixed with users, at most N each', () => {
  const waves = planWaves(
    [
      { name: 'u3', shared: false },
      { name: 'q1', shared: true },
      { name: 'u1', shared: false },
      { name: 'f1', shared: true },
      { name: 'u2', shared: false },
    ],
    2,
  );
  expect(waves).toEqual([
    { index: 1, id: '01-queues', kind: 'queues', mailboxes: ['f1', 'q1'] },
    { index: 2, id: '02-users', kind: 'users', mailboxes: ['u1', 'u2'] },
    { index: 3, id: '03-users', kind: 'users', mailboxes: ['u3'] },
  ]);
});

test('files: a kustomize base, one directory per wave with labelled Mailboxes, Secret stubs without values', () => {
  const p = plan();
  const files = renderOutput(
    p,
    planWaves(
      p.mailboxes.map((m) => ({ name: m.manifest.metadata.name, shared: m.shared })),
      2,
    ),
    [],
  );
  expect([...files.keys()].sort()).toEqual([
    'MIGRATION-REPORT.md',
    'base/deployment.yaml',
    'base/emailserverprofiles.yaml',
    'base/kustomization.yaml',
    'kustomization.yaml',
    'secret-stubs.yaml',
    'waves/01-queues/kustomization.yaml',
    'waves/01-queues/mailboxes.yaml',
    'waves/02-users/kustomization.yaml',
    'waves/02-users/mailboxes.yaml',
    'waves/03-users/kustomization.yaml',
    'waves/03-users/mailboxes.yaml',
  ]);
  expect(yaml.load(files.get('kustomization.yaml')!)).toEqual({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: ['base', 'waves/01-queues', 'waves/02-users', 'waves/03-users'],
  });
  const first = yaml.loadAll(files.get('waves/01-queues/mailboxes.yaml')!) as {
    metadata: { name: string; labels: Record<string, string> };
  }[];
  expect(first.map((m) => [m.metadata.name, m.metadata.labels['mailsync.dev/migration-wave']])).toEqual([
    ['forward.contoso.example', '1'],
    ['queue1.contoso.example', '1'],
  ]);
  const stubs = yaml.loadAll(files.get('secret-stubs.yaml')!) as { metadata: { name: string }; stringData: Record<string, string> }[];
  expect(stubs.map((s) => s.metadata.name)).toEqual(p.secrets.map((s) => s.name));
  expect(stubs.flatMap((s) => Object.values(s.stringData)).every((v) => v === '')).toBe(true);
  const report = files.get('MIGRATION-REPORT.md')!;
  expect(report).toContain('`emailserverprofile.incomingauthenticationprotocol` | Negotiate (1)');
  expect(report).toContain('| 1 | waves/01-queues | 2 queues and forward mailboxes | about 1 s | 5 h |');
});

test('the summary counts kinds, profiles and delivery methods, and lists what will not migrate', () => {
  const text = summaryText(plan(), undefined);
  expect(text).toMatch(/Mailbox\s+5\s+1 queues, 1 forward mailboxes, 3 users/);
  expect(text).toMatch(/incoming\s+4\s+1\s+0/);
  expect(text).toMatch(/emailserverprofile\.incomingauthenticationprotocol = Negotiate \(1\) \(EmailServerProfile exchange-2019\)/);
});

test('after a cut-over, a re-run maps handed-over rows as they were before it', () => {
  const handedOver = snapshot();
  const row = handedOver.mailboxes.find((m) => m.emailaddress === 'user3@contoso.example')!;
  row.incomingemaildeliverymethod = 0;
  row.outgoingemaildeliverymethod = 0;
  const records = [
    {
      mailbox: 'user3.contoso.example',
      mailboxId: row.mailboxid,
      directions: ['incoming', 'outgoing'],
      before: { incomingemaildeliverymethod: 2, outgoingemaildeliverymethod: 2 },
      after: { incomingemaildeliverymethod: 0, outgoingemaildeliverymethod: 0 },
    },
  ];
  expect(mapOrganization(beforeHandOver(handedOver, records), OPTIONS).mailboxes).toEqual(plan().mailboxes);
  expect(mapOrganization(handedOver, OPTIONS).mailboxes).not.toEqual(plan().mailboxes);
});
