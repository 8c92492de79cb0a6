// Servers that echo the credentials they receive, in every encoding a server may use (IMAP-quoted,
// JSON \u escapes, URL- and form-encoded, base64 and SASL blobs, HTML and XML escaped), with
// passwords that have spaces, quotes, backslashes, `&<>+%/` and letters beyond ASCII. Test and
// Enable runs through the controllers on the real API server against an echoing IMAP, POP3 and
// SMTP server, token endpoint, Graph and EWS; then everything a viewer or an operator sees is
// scanned: status, Events, the printer columns of `kubectl get -o wide`, and the operator's log
// at debug, where what the servers said is shown, redacted.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { resolveAssets } from '../../../dev/control-plane.js';
import type { Manager } from '../../../src/controllers/manager.js';
import { startEchoImap, startEchoPop3, type EchoServer } from '../../support/echo-servers.js';
import { FakeEws } from '../../support/fake-ews.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeOAuth } from '../../support/fake-oauth.js';
import { clientsAs, condition, controlPlaneInfo, create, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret, visibleText } from '../../support/mail-env.js';
import { operatorLog, startManager } from '../../support/operator.js';
import { AWKWARD_PASSWORDS, leakedForms, logLineTexts } from '../../support/secret-encodings.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtp-receiver.js';

const admin = clientsAs('admin');
const [P0, P1, P2] = AWKWARD_PASSWORDS;
const ANN = { username: 'ann@contoso.example', password: P0 };
const BOB = { username: 'bob@contoso.example', password: P1 };
const APP = { tenantId: 'contoso-tenant', clientId: 'mailsync-app', clientSecret: P2 };
const WRONG_APP_SECRET = `${P1} wrong`;
const EWS_SVC = { username: 'CONTOSO\\svc-crm', password: `${P0} ews` };
/** Every credential the servers receive, with the username SASL would carry it with. */
const FIXTURE_SECRETS = [
  { secret: ANN.password, username: ANN.username },
  { secret: BOB.password, username: BOB.username },
  { secret: APP.clientSecret },
  { secret: WRONG_APP_SECRET },
  { secret: EWS_SVC.password, username: EWS_SVC.username },
];

let imap: EchoServer;
let pop3: EchoServer;
let smtp: SmtpReceiver;
let oauth: FakeOAuth;
let graph: FakeGraph;
let ews: FakeEws;
let ns: string;
let manager: Manager;

const mailbox = (address: string, profile: string, secret?: string) => ({
  emailAddress: address,
  owner: { kind: 'User', name: address },
  deploymentRef: { name: 'crm' },
  serverProfileRef: { name: profile },
  ...(secret ? { credentialsSecretRef: { name: secret } } : {}),
});
const ca = { secretRef: { name: 'ca' } };
const onlineProfile = (secret: string) => ({
  serverType: 'ExchangeOnline',
  incoming: {
    url: graph.baseUrl,
    authentication: 'OAuth2',
    oauth: { tenantId: APP.tenantId, clientId: APP.clientId, authorityURL: oauth.authorityUrl },
    credentials: { source: 'Profile', secretRef: { name: secret } },
    caBundle: ca,
  },
});

beforeAll(async () => {
  [imap, pop3, smtp, oauth] = await Promise.all([
    startEchoImap(),
    startEchoPop3(),
    startSmtpReceiver({ users: [], secure: true, echoCredentials: true }),
    FakeOAuth.start({ clients: [APP], echoSecretInErrors: true }),
  ]);
  graph = await FakeGraph.start(oauth, []);
  graph.echoInErrors = [APP.clientSecret];
  ews = await FakeEws.start({
    accounts: [{ username: EWS_SVC.username, password: 'the-real-password-1' }],
    mailboxes: ['eve@contoso.example'],
  });
  ews.echoCredentials = true;

  ns = await newNamespace(admin, 'echo');
  await createSecret(admin, ns, 'ca', { 'ca.crt': [imap.caPem, smtp.caPem, oauth.caPem].join('\n') });
  await createSecret(admin, ns, 'ann-mail', ANN);
  await createSecret(admin, ns, 'bob-mail', BOB);
  await createSecret(admin, ns, 'app-wrong', { clientSecret: WRONG_APP_SECRET });
  await createSecret(admin, ns, 'app', { clientSecret: APP.clientSecret });
  await createSecret(admin, ns, 'ews-svc', EWS_SVC);
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: 'https://crm.example.com/hook' },
    requireApprovedUsers: false,
  });
  const smtpOut = { server: '127.0.0.1', port: smtp.port, tls: 'Implicit', caBundle: ca };
  await create(admin, 'emailserverprofiles', ns, 'imap', {
    serverType: 'IMAP',
    incoming: { server: '127.0.0.1', port: imap.port, tls: 'Implicit', caBundle: ca },
    outgoing: smtpOut,
  });
  await create(admin, 'emailserverprofiles', ns, 'pop3', {
    serverType: 'POP3',
    incoming: { server: '127.0.0.1', port: pop3.port, tls: 'Implicit', caBundle: ca },
    outgoing: smtpOut,
  });
  await create(admin, 'emailserverprofiles', ns, 'oauth-echo', onlineProfile('app-wrong'));
  await create(admin, 'emailserverprofiles', ns, 'graph-echo', onlineProfile('app'));
  await create(admin, 'emailserverprofiles', ns, 'ews-echo', {
    serverType: 'ExchangeServer',
    incoming: { url: ews.ewsUrl, credentials: { source: 'Profile', secretRef: { name: 'ews-svc' } }, caBundle: ca },
  });
  manager = await startManager(admin, ns);

  await create(admin, 'mailboxes', ns, 'ann', mailbox(ANN.username, 'imap', 'ann-mail'));
  await create(admin, 'mailboxes', ns, 'bob', mailbox(BOB.username, 'pop3', 'bob-mail'));
  await create(admin, 'mailboxes', ns, 'cat', mailbox('cat@contoso.example', 'oauth-echo'));
  await create(admin, 'mailboxes', ns, 'dan', mailbox('dan@contoso.example', 'graph-echo'));
  await create(admin, 'mailboxes', ns, 'eve', mailbox('eve@contoso.example', 'ews-echo'));
});
afterAll(async () => {
  await manager?.stop();
  await Promise.all([imap?.close(), pop3?.close(), smtp?.close(), graph?.close(), ews?.close(), oauth?.close()]);
});

test.each([
  ['ann', 'IncomingEmailReady', 'AuthenticationFailed', '(IMAP AUTHENTICATIONFAILED)'],
  ['ann', 'OutgoingEmailReady', 'AuthenticationFailed', '(SMTP 535 5.7.8)'],
  ['bob', 'IncomingEmailReady', 'AuthenticationFailed', '(POP3 [AUTH])'],
  ['cat', 'IncomingEmailReady', 'AuthenticationFailed', '(invalid_client AADSTS7000215)'],
  ['dan', 'IncomingEmailReady', 'MailboxNotFound', '(HTTP 404 ErrorInvalidUser)'],
  ['eve', 'IncomingEmailReady', 'AuthenticationFailed', '(ErrorAccessDenied)'],
])("%s %s: %s, with the protocol code and without the server's words", async (name, type, reason, code) => {
  const o = await waitForCondition(admin, 'mailboxes', ns, name, type, (c) => c.reason === reason);
  expect(condition(o, type)?.message).toContain(code);
  expect(condition(o, type)?.message).not.toMatch(/rejected;|Received:|Secret received|IMAP quoted|form-encoded/);
});

test('the servers did receive the passwords (so they had something to echo)', () => {
  expect(imap.logins).toContainEqual(ANN);
  expect(pop3.logins).toContainEqual(BOB);
  expect(smtp.authAttempts(ANN.username) + smtp.authAttempts(BOB.username)).toBeGreaterThan(0);
});

test('no fixture password, in any encoding, in status, Events, printer columns or the operator log', async () => {
  for (const name of ['ann', 'bob', 'cat', 'dan', 'eve'])
    await waitForCondition(admin, 'mailboxes', ns, name, 'Stalled', (c) => c.status === 'True');
  const kubectl = path.join(resolveAssets(), 'kubectl');
  const columns = execFileSync(
    kubectl,
    [
      '--kubeconfig',
      controlPlaneInfo().kubeconfigs.admin,
      '-n',
      ns,
      'get',
      'mailboxes,emailserverprofiles,deployments.mailsync.dev',
      '-o',
      'wide',
    ],
    { encoding: 'utf8' },
  );
  expect(columns).toContain('AuthenticationFailed');
  const log = operatorLog(ns).flatMap(logLineTexts);
  const visible = [await visibleText(admin, ns), columns, ...log].join('\n');
  expect(leakedForms(visible, FIXTURE_SECRETS)).toEqual([]);
});

test('the debug log keeps what each server said, redacted', () => {
  const said = operatorLog(ns)
    .map((l) => JSON.parse(l) as { serverText?: string; mailbox?: string; direction?: string })
    .filter((l) => typeof l.serverText === 'string');
  for (const [mailbox, direction, words] of [
    ['ann', 'incoming', 'LOGIN'],
    ['ann', 'outgoing', 'Authentication failed'],
    ['bob', 'incoming', 'login as'],
    ['cat', 'incoming', 'Secret received'],
    ['dan', 'incoming', 'Received:'],
    ['eve', 'incoming', 'Access is denied'],
  ]) {
    const line = said.find((l) => l.mailbox === mailbox && l.direction === direction);
    expect([mailbox, direction, line?.serverText]).toEqual([mailbox, direction, expect.stringContaining(words)]);
    expect(line?.serverText).toContain('[REDACTED]');
  }
});
