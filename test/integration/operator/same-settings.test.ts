// useSameSettingsForOutgoing against real servers: outgoing signs in with the incoming credentials
// and trusts the incoming CA bundle, so a private CA is given once (real Dovecot and smtp-server,
// each with a certificate from a private CA, and a bundle of those CAs on incoming only).

import type { Manager } from '../../../src/controllers/manager.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { clientsAs, condition, create, newNamespace, userMailbox, waitForCondition } from '../../support/kube.js';
import { createSecret, visibleText } from '../../support/mail-env.js';
import { startManager } from '../../support/operator.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtp-receiver.js';

const admin = clientsAs('admin');
const PASSWORD = 'ann-Same-Settings-1';
let dovecot: DovecotFixture;
let smtp: SmtpReceiver;
let ns: string;
let manager: Manager;

const profile = (extra: object = {}) => ({
  serverType: 'IMAP',
  incoming: { server: '127.0.0.1', port: dovecot.ports.imaps, tls: 'Implicit', caBundle: { secretRef: { name: 'private-ca' } } },
  outgoing: { server: '127.0.0.1', port: smtp.port, tls: 'STARTTLS' },
  ...extra,
});

beforeAll(async () => {
  dovecot = await startDovecot({ users: [{ username: 'ann', password: PASSWORD }] });
  smtp = await startSmtpReceiver({ users: [{ username: 'ann', password: PASSWORD }] });
  ns = await newNamespace(admin, 'same');
  await createSecret(admin, ns, 'private-ca', { 'ca.crt': `${dovecot.caPem}\n${smtp.caPem}` });
  await createSecret(admin, ns, 'ann-mail', { username: 'ann', password: PASSWORD });
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: 'https://crm.example.com/hook' },
    requireApprovedUsers: false,
  });
  manager = await startManager(admin, ns);
});
afterAll(async () => {
  await manager?.stop();
  await dovecot?.cleanup();
  await smtp?.close();
});

test('SMTP passes with the CA bundle and credentials given only on incoming', async () => {
  await create(admin, 'emailserverprofiles', ns, 'same', profile());
  await create(admin, 'mailboxes', ns, 'ann', userMailbox('ann', { serverProfileRef: { name: 'same' } }));
  const o = await waitForCondition(admin, 'mailboxes', ns, 'ann', 'OutgoingEmailReady', (c) => c.reason !== 'NotRun');
  expect(condition(o, 'OutgoingEmailReady')).toMatchObject({ status: 'True', reason: 'Succeeded' });
  expect(smtp.authAttempts('ann')).toBeGreaterThanOrEqual(1);
});

test('with separate outgoing settings nothing is shared: the same SMTP server is untrusted', async () => {
  await create(admin, 'emailserverprofiles', ns, 'separate', profile({ useSameSettingsForOutgoing: false }));
  await create(
    admin,
    'mailboxes',
    ns,
    'ann-separate',
    userMailbox('ann', { serverProfileRef: { name: 'separate' }, emailAddress: 'ann-separate@example.com' }),
  );
  const o = await waitForCondition(admin, 'mailboxes', ns, 'ann-separate', 'OutgoingEmailReady', (c) => c.reason !== 'NotRun');
  expect(condition(o, 'OutgoingEmailReady')).toMatchObject({ status: 'False', reason: 'TLSError' });
  expect(condition(o, 'IncomingEmailReady')).toMatchObject({ status: 'True', reason: 'Succeeded' });
});

test('no password appears in any Event or status', async () => {
  expect(await visibleText(admin, ns)).not.toContain(PASSWORD);
});
