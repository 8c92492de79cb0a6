// Nobody can make the operator use a credential they cannot read (crds/mailsync.dev_credentials-
// admission.yaml). The chart's roles are bound as the chart binds them; the controllers run as the
// operator's own identity and test every mailbox and CRM connector they are given, at once and
// before any approval, against real Dovecot and HTTPS servers. The mailbox admin (who cannot read
// Secrets) tries every way to send a colleague's credentials to servers the test runs as the
// attacker's: those servers see no connection at all. The credentials admin (who may read them)
// does the same and the servers see the credentials: the recorders would have caught a leak, and
// the allowed path works.

import { waitFor } from '../../../dev/processes.js';
import type { Manager } from '../../../src/controllers/manager.js';
import { Applier } from '../../../src/kube/apply.js';
import { loadKubeConfig } from '../../../src/kube/client.js';
import { apiMessage } from '../../../src/kube/errors.js';
import { RBAC_KINDS, renderChart } from '../../../dev/chart.js';
import { startHttpsRecorder, startImapRecorder, type HttpsRecorder, type ImapRecorder } from '../../support/credential-recorder.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import {
  clientsAs,
  controlPlaneInfo,
  create,
  get,
  mergePatchSpec,
  newNamespace,
  rejection,
  waitForCondition,
  type Plural,
} from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { startManager } from '../../support/operator.js';

const info = controlPlaneInfo();
const admin = clientsAs('admin', info);
const mailboxAdmin = clientsAs('mailboxAdmin', info);
const credentialsAdmin = clientsAs('credentialsAdmin', info);

// The victims' credentials. Mail passwords are Dovecot's; the CRM token is the legitimate CRM's.
const CARL = { username: 'carl', password: 'Carl-Victim-Mail-Secret-1' };
const DAN = { username: 'dan', password: 'Dan-Victim-Mail-Secret-2' };
const SVC = { username: 'svc', password: 'Svc-Shared-Mail-Secret-3' };
const CRM = { token: 'Crm-Victim-Bearer-Token-4', signingKey: 'Crm-Victim-Signing-Key-5' };
const VICTIM_SECRETS = [CARL.password, DAN.password, SVC.password, CRM.token];

let dovecot: DovecotFixture;
let evilImap: ImapRecorder;
let crm: HttpsRecorder;
let evilCrm: HttpsRecorder;
let ns: string;
let manager: Manager;

const dovecotIncoming = () => ({
  server: '127.0.0.1',
  port: dovecot.ports.imaps,
  tls: 'Implicit',
  caBundle: { secretRef: { name: 'dovecot-ca' } },
});
const evilIncoming = () => ({ server: evilImap.host, port: evilImap.port, tls: 'None' });
const evilProfile = (incoming: object = {}) => ({
  serverType: 'IMAP',
  incoming: { ...evilIncoming(), ...incoming },
  allowInsecureAuthentication: true,
});
/** Incoming only: the outgoing direction adds nothing to what these tests show. */
const mailbox = (user: string, extra: object = {}) => ({
  emailAddress: `${user}@example.com`,
  owner: { kind: 'User', name: user },
  deploymentRef: { name: 'crm' },
  outgoing: 'None',
  ...extra,
});
const refusal = (plural: Plural, name: string, patch: object) =>
  mergePatchSpec(mailboxAdmin, plural, ns, name, patch).then(
    () => 'accepted',
    (err) => apiMessage(err),
  );

beforeAll(async () => {
  dovecot = await startDovecot({ users: [CARL, DAN, SVC] });
  [evilImap, crm, evilCrm] = await Promise.all([startImapRecorder(), startHttpsRecorder(), startHttpsRecorder()]);

  await admin.core.createNamespace({ body: { metadata: { name: 'mailsync-system' } } }).catch(() => undefined);
  const rbac = renderChart('credentials-test', 'mailsync-system', {
    fullnameOverride: 'credentials-test',
    'serviceAccount.name': 'mailsync-operator',
    'rbac.userRoles.namePrefix': 'credentialstest',
    'rbac.approverGroups[0]': 'mailsync-approvers',
    'rbac.mailboxAdminGroups[0]': 'mailsync-mailbox-admins',
    'rbac.credentialsAdminGroups[0]': 'mailsync-credentials-admins',
    'rbac.viewerGroups[0]': 'mailsync-viewers',
    'crds.enabled': 'false',
  }).filter((o) => RBAC_KINDS.has(o.kind!));
  await new Applier(loadKubeConfig(info.kubeconfigs.admin), 'credentials-test').applyAll(rbac, 'mailsync-system');

  // Whoever administers the namespace creates the Secrets (and the CA bundles, which are public).
  ns = await newNamespace(admin, 'credentials');
  await createSecret(admin, ns, 'dovecot-ca', { 'ca.crt': dovecot.caPem });
  await admin.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'test-ca' }, data: { 'ca.crt': crm.caPem } } });
  for (const [name, data] of [
    ['carl-mail', CARL],
    ['dan-mail', DAN],
    ['svc-mail', SVC],
    ['crm-token', CRM],
  ] as const)
    await createSecret(admin, ns, name, data);

  // The credentials admin sets everything up: profiles that carry credentials, the CRM
  // organization with its Secret and default profile, and the mailboxes naming their Secrets.
  await create(credentialsAdmin, 'emailserverprofiles', ns, 'shared', { serverType: 'IMAP', incoming: dovecotIncoming() });
  await create(credentialsAdmin, 'emailserverprofiles', ns, 'legacy', { serverType: 'IMAP', incoming: dovecotIncoming() });
  await create(credentialsAdmin, 'emailserverprofiles', ns, 'svc', {
    serverType: 'IMAP',
    incoming: { ...dovecotIncoming(), credentials: { source: 'Profile', secretRef: { name: 'svc-mail' } } },
  });
  // A lab server that happens to be the attacker's: the policy, not the absence of such a profile, must stop them.
  await create(credentialsAdmin, 'emailserverprofiles', ns, 'lab', evilProfile());
  await create(credentialsAdmin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: crm.origin, credentialsSecretRef: { name: 'crm-token' }, caBundle: { configMapRef: { name: 'test-ca' } } },
    defaults: { serverProfileRef: { name: 'shared' } },
  });
  await create(
    credentialsAdmin,
    'mailboxes',
    ns,
    'carl',
    mailbox('carl', { serverProfileRef: { name: 'shared' }, credentialsSecretRef: { name: 'carl-mail' } }),
  );
  await create(credentialsAdmin, 'mailboxes', ns, 'dan', mailbox('dan', { credentialsSecretRef: { name: 'dan-mail' } })); // on the Deployment's default profile
  await create(
    credentialsAdmin,
    'mailboxes',
    ns,
    'frank',
    mailbox('carl', {
      serverProfileRef: { name: 'legacy' },
      credentialsSecretRef: { name: 'carl-mail' },
      emailAddress: 'frank@example.com',
    }),
  );
  await create(credentialsAdmin, 'mailboxes', ns, 'svc-user', mailbox('svc', { serverProfileRef: { name: 'svc' } }));

  manager = await startManager(clientsAs('operator', info), ns, { crm: true });
}, 60_000);

afterAll(async () => {
  await manager?.stop();
  await Promise.all([dovecot?.cleanup(), evilImap?.close(), crm?.close(), evilCrm?.close()]);
});

describe('the mailbox admin cannot make the operator use a Secret it cannot read', () => {
  const POLICY_FIX =
    /Have someone who may read (it|them) make this change \(a namespace admin, or a holder of the mailsync-credentials-admin ClusterRole/;

  test('a new profile at their server: refused, since it would carry every Mailbox Secret of the namespace', async () => {
    const msg = await rejection(mailboxAdmin, 'emailserverprofiles', ns, 'evil', evilProfile());
    expect(msg).toMatch(
      /user "bob-mailbox-admin" may not create email server profile "evil": it takes credentials from mailboxes \(credentials.source: Mailbox, the default\)/,
    );
    expect(msg).toMatch(/get on Secrets in namespace "credentials-[0-9a-f]+"/);
    expect(msg).toMatch(POLICY_FIX);
  });

  test('workload identity: naming a ServiceAccount whose tokens they may not create is refused, for a profile and for the CRM', async () => {
    const online = {
      serverType: 'ExchangeOnline',
      incoming: {
        authentication: 'OAuth2',
        oauth: { tenantId: 'contoso', clientId: 'app', serviceAccountName: 'mailsync-wi' },
        credentials: { source: 'Profile' },
      },
    };
    expect(await rejection(mailboxAdmin, 'emailserverprofiles', ns, 'wi', online)).toMatch(
      /may not create email server profile "wi": the operator would sign in as ServiceAccount mailsync-wi \(oauth.serviceAccountName, workload identity\).*create on serviceaccounts\/token/,
    );
    const crmWi = {
      crm: {
        type: 'Dynamics365',
        url: 'https://org.crm.dynamics.com',
        oauth: { tenantId: 'contoso', clientId: 'app', serviceAccountName: 'mailsync-wi' },
      },
    };
    expect(await rejection(mailboxAdmin, 'deployments', ns, 'crm-wi', crmWi)).toMatch(
      /the operator would sign in to the CRM as ServiceAccount "mailsync-wi"/,
    );
  });

  test("a new mailbox naming a colleague's Secret, on a profile that exists: refused", async () => {
    const msg = await rejection(
      mailboxAdmin,
      'mailboxes',
      ns,
      'carl-copy',
      mailbox('carl', { serverProfileRef: { name: 'lab' }, credentialsSecretRef: { name: 'carl-mail' } }),
    );
    expect(msg).toMatch(
      /user "bob-mailbox-admin" may not create mailbox "carl-copy" with spec.credentialsSecretRef: the operator would sign in with the credentials in Secret "carl-mail"/,
    );
    expect(msg).toMatch(POLICY_FIX);
  });

  test("moving a colleague's mailbox to another profile, or its address to another domain: refused", async () => {
    expect(await refusal('mailboxes', 'carl', { spec: { serverProfileRef: { name: 'lab' } } })).toMatch(
      /may not change spec.serverProfileRef of mailbox "carl": the operator would sign in with the credentials in Secret "carl-mail"/,
    );
    expect(await refusal('mailboxes', 'carl', { spec: { emailAddress: 'carl@attacker.example' } })).toMatch(
      /may not change the domain of spec.emailAddress of mailbox "carl"/,
    );
  });

  test('editing the server of a profile that other mailboxes use: refused, field by field', async () => {
    expect(
      await refusal('emailserverprofiles', 'shared', { spec: { incoming: evilIncoming(), allowInsecureAuthentication: true } }),
    ).toMatch(
      /may not change spec.allowInsecureAuthentication, spec.incoming.port, spec.incoming.tls of email server profile "shared": it takes credentials from mailboxes/,
    );
    expect(await refusal('emailserverprofiles', 'shared', { spec: { incoming: { server: 'localhost' } } })).toMatch(
      /may not change spec.incoming.server of email server profile "shared"/,
    );
  });

  test('deleting a profile and creating it again under the same name (its mailboxes would follow): refused', async () => {
    await mailboxAdmin.custom.deleteNamespacedCustomObject({
      group: 'mailsync.dev',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'emailserverprofiles',
      name: 'legacy',
    });
    expect(await rejection(mailboxAdmin, 'emailserverprofiles', ns, 'legacy', evilProfile())).toMatch(
      /may not create email server profile "legacy": it takes credentials from mailboxes/,
    );
  });

  test("a profile's own credentials (credentials.source: Profile): refused, new or redirected", async () => {
    const shared = { credentials: { source: 'Profile', secretRef: { name: 'svc-mail' } } };
    expect(await rejection(mailboxAdmin, 'emailserverprofiles', ns, 'evil-svc', evilProfile(shared))).toMatch(
      /may not create email server profile "evil-svc": the operator would send the credentials in Secret "svc-mail" \(spec.incoming.credentials.secretRef\) to the servers this decides/,
    );
    expect(await refusal('emailserverprofiles', 'svc', { spec: { incoming: evilIncoming(), allowInsecureAuthentication: true } })).toMatch(
      /may not change .*spec.incoming.port.* of email server profile "svc": the operator would send the credentials in Secret "svc-mail"/,
    );
  });

  test("the Deployment's CRM credentials: refused, new or redirected", async () => {
    expect(await refusal('deployments', 'crm', { spec: { crm: { url: evilCrm.origin } } })).toMatch(
      /may not change spec.crm.url of deployments.mailsync.dev "crm": the operator would send the CRM credentials in Secret "crm-token"/,
    );
    const evil = {
      crm: {
        type: 'Webhook',
        url: evilCrm.origin,
        credentialsSecretRef: { name: 'crm-token' },
        caBundle: { configMapRef: { name: 'test-ca' } },
      },
    };
    expect(await rejection(mailboxAdmin, 'deployments', ns, 'evil-crm', evil)).toMatch(
      /may not create deployments.mailsync.dev "evil-crm" with spec.crm.credentialsSecretRef/,
    );
  });

  test("the Deployment's default profile (every mailbox without its own would move): refused", async () => {
    expect(await refusal('deployments', 'crm', { spec: { defaults: { serverProfileRef: { name: 'lab' } } } })).toMatch(
      /may not change spec.defaults.serverProfileRef of deployments.mailsync.dev "crm" \(to "lab"\): every Mailbox of this Deployment without its own spec.serverProfileRef would move/,
    );
  });

  test('what does not decide where a credential goes needs nothing extra', async () => {
    expect(await refusal('mailboxes', 'carl', { spec: { emailAddress: 'carl.b@example.com', suspended: false } })).toBe('accepted');
    expect(
      await refusal('emailserverprofiles', 'shared', {
        spec: { incoming: { timeout: '20s' }, rollout: { batchSize: 5 }, maxConcurrentConnections: 5 },
      }),
    ).toBe('accepted');
    expect(await refusal('deployments', 'crm', { spec: { crm: { timeout: '20s' }, maxAttachmentSize: '4Mi' } })).toBe('accepted');
    await create(mailboxAdmin, 'mailboxes', ns, 'no-secret', mailbox('nobody', { serverProfileRef: { name: 'lab' }, incoming: 'None' }));
  });

  test('meanwhile the operator tested every mailbox and the CRM on their real servers; the attacker saw no connection at all', async () => {
    for (const name of ['carl', 'dan', 'svc-user'])
      await waitForCondition(admin, 'mailboxes', ns, name, 'IncomingEmailReady', (c) => c.reason === 'Succeeded');
    await waitFor('the CRM connector test', async () => (crm.carries(CRM.token) ? true : undefined));
    expect(evilImap.count).toBe(0);
    expect(evilCrm.count).toBe(0);
    for (const s of VICTIM_SECRETS) expect([evilImap.carries(s), evilCrm.carries(s)]).toEqual([false, false]);
  });
});

describe('whoever may read the Secrets may do all of it, and the operator follows', () => {
  test("the credentials admin points a mailbox with carl's Secret at the lab server: the operator signs in there", async () => {
    await create(
      credentialsAdmin,
      'mailboxes',
      ns,
      'carl-lab',
      mailbox('carl', {
        serverProfileRef: { name: 'lab' },
        credentialsSecretRef: { name: 'carl-mail' },
        emailAddress: 'carl-lab@example.com',
      }),
    );
    await waitForCondition(admin, 'mailboxes', ns, 'carl-lab', 'IncomingEmailReady', (c) => c.reason === 'AuthenticationFailed');
    expect(evilImap.carries(CARL.password)).toBe(true);
  });

  test('and moves the CRM connector: the new server gets the bearer token', async () => {
    await mergePatchSpec(credentialsAdmin, 'deployments', ns, 'crm', { spec: { crm: { url: evilCrm.origin } } });
    await waitFor('the CRM test at the new URL', async () => (evilCrm.carries(CRM.token) ? true : undefined));
    expect((await get(admin, 'deployments', ns, 'crm')).spec.crm.url).toBe(evilCrm.origin);
  });

  test("and changes a shared profile's server and the Deployment's default profile", async () => {
    await mergePatchSpec(credentialsAdmin, 'emailserverprofiles', ns, 'shared', { spec: { incoming: { server: 'localhost' } } });
    await mergePatchSpec(credentialsAdmin, 'deployments', ns, 'crm', { spec: { defaults: { serverProfileRef: { name: 'svc' } } } });
    expect((await get(admin, 'deployments', ns, 'crm')).spec.defaults.serverProfileRef.name).toBe('svc');
  });
});
