// What `kubectl get` shows for a profile whose mailboxes all fail outgoing while incoming works
// (docs/status.md): the mailboxes process incoming only (ENABLED PartiallyEnabled, READY False),
// and the profile, although its rollout is complete, is not Ready (MailboxesFailing) and counts
// them as FAILING. Real Dovecot and smtp-server; the SMTP server does not know the user.

import type { Manager } from '../../../src/controllers/manager.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { clientsAs, condition, create, newNamespace, userMailbox, waitForCondition } from '../../support/kube.js';
import { kubectlGet } from '../../support/kubectl-table.js';
import { createSecret } from '../../support/mail-env.js';
import { startManager } from '../../support/operator.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtp-receiver.js';

const admin = clientsAs('admin');
const USERS = ['ann', 'bob'];
const password = (u: string) => `${u}-Printer-Columns-1`;
let dovecot: DovecotFixture;
let smtp: SmtpReceiver;
let ns: string;
let manager: Manager;

beforeAll(async () => {
  dovecot = await startDovecot({ users: USERS.map((u) => ({ username: u, password: password(u) })) });
  smtp = await startSmtpReceiver({ users: [{ username: 'someone-else', password: 'someone-Else-Pass-1' }] });
  ns = await newNamespace(admin, 'columns');
  await createSecret(admin, ns, 'private-ca', { 'ca.crt': `${dovecot.caPem}\n${smtp.caPem}` });
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: 'https://crm.example.com/hook' },
    requireApprovedUsers: false,
  });
  await create(admin, 'emailserverprofiles', ns, 'imap', {
    serverType: 'IMAP',
    incoming: { server: '127.0.0.1', port: dovecot.ports.imaps, tls: 'Implicit', caBundle: { secretRef: { name: 'private-ca' } } },
    outgoing: { server: '127.0.0.1', port: smtp.port, tls: 'STARTTLS' },
  });
  for (const u of USERS) {
    await createSecret(admin, ns, `${u}-mail`, { username: u, password: password(u) });
    await create(admin, 'mailboxes', ns, u, userMailbox(u, { serverProfileRef: { name: 'imap' } }));
  }
  manager = await startManager(admin, ns);
});

afterAll(async () => {
  await manager?.stop();
  await dovecot?.cleanup();
  await smtp?.close();
});

test('every mailbox failing outgoing: the mailboxes say so, and the profile is not Ready', async () => {
  for (const u of USERS) {
    const m = await waitForCondition(admin, 'mailboxes', ns, u, 'OutgoingEmailReady', (c) => c.reason !== 'NotRun');
    expect(condition(m, 'OutgoingEmailReady')).toMatchObject({ status: 'False', reason: 'AuthenticationFailed' });
  }
  const p = await waitForCondition(admin, 'emailserverprofiles', ns, 'imap', 'Ready', (c) => c.reason === 'MailboxesFailing');
  expect(condition(p, 'Ready')).toMatchObject({ status: 'False', message: expect.stringContaining('2 of 2 mailboxes fail') });
  // Each mailbox reports and retries its own failure: the profile is neither Stalled nor Reconciling for it.
  expect(condition(p, 'Stalled')).toBeUndefined();
  expect(condition(p, 'Reconciling')).toBeUndefined();

  const mailboxes = await kubectlGet('mailboxes.mailsync.dev', ns);
  for (const u of USERS) {
    expect(mailboxes.get(u)).toMatchObject({
      ADDRESS: `${u}@example.com`,
      INCOMING: 'Succeeded',
      OUTGOING: 'AuthenticationFailed',
      ENABLED: 'PartiallyEnabled',
      READY: 'False',
    });
  }
  const profiles = await kubectlGet('emailserverprofiles.mailsync.dev', ns, ['-o', 'wide']);
  expect(profiles.get('imap')).toMatchObject({
    TYPE: 'IMAP',
    MAILBOXES: '2',
    UPDATED: '2',
    PENDING: '0',
    FAILED: '0',
    FAILING: '2',
    READY: 'False',
  });
  expect(profiles.get('imap')?.STATUS).toContain('2 of 2 mailboxes fail');
  const deployments = await kubectlGet('deployments.mailsync.dev', ns);
  expect(deployments.get('crm')).toMatchObject({ CRM: 'Webhook', MAILBOXES: '2' });
});
