// Logs an operator can be run by: `mailsync operator` as its own process, its JSON lines read as a
// log collector would. At info: each mailbox's state changes, each test result, each sync failure
// and recovery, each rollout step. At debug: protocol-level detail, never a secret.

import { waitFor } from '../../../dev/processes.js';
import { startDovecot, type DovecotFixture } from '../../support/dovecot.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { clientsAs, controlPlaneInfo, create, mergePatchSpec, newNamespace, userMailbox, waitForCondition } from '../../support/kube.js';
import { createSecret } from '../../support/mail-env.js';
import { spawnOperator, type OperatorProcess } from '../../support/operator.js';

const info = controlPlaneInfo();
const admin = clientsAs('admin', info);
const CRM = { token: 'logs-Crm-Token-97531', signingKey: 'logs-Signing-Key-86420' };
const SECRETS = ['lou-Logs-Pass-1', 'lee-Wrong-Pass-2', CRM.token, CRM.signingKey];
let dovecot: DovecotFixture;
let crm: FakeCrmWebhook;
let operator: OperatorProcess | undefined;

beforeAll(async () => {
  dovecot = await startDovecot({
    users: [
      { username: 'lou', password: 'lou-Logs-Pass-1' },
      { username: 'lee', password: 'lee-Right-Pass-3' },
    ],
  });
  crm = await FakeCrmWebhook.start(CRM);
});
afterAll(async () => {
  await operator?.kill('SIGKILL');
  await dovecot?.cleanup();
  await crm?.close();
});

type Line = Record<string, unknown>;
const about = (mailbox: string, pred: (l: Line) => boolean) => (l: Line) => l.mailbox === mailbox && pred(l);
const says = (re: RegExp) => (l: Line) => typeof l.msg === 'string' && re.test(l.msg);

test('info: state changes, test results, sync failures and recoveries, rollout steps; debug: protocol detail without secrets', async () => {
  const ns = await newNamespace(admin, 'logs');
  await createSecret(admin, ns, 'ca', { 'ca.crt': dovecot.caPem });
  await createSecret(admin, ns, 'crm', CRM);
  await createSecret(admin, ns, 'lou-mail', { username: 'lou', password: 'lou-Logs-Pass-1' });
  await createSecret(admin, ns, 'lee-mail', { username: 'lee', password: 'lee-Wrong-Pass-2' });
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    defaults: { serverProfileRef: { name: 'imap' }, outgoing: 'None' },
  });
  await create(admin, 'emailserverprofiles', ns, 'imap', {
    serverType: 'IMAP',
    incoming: { server: '127.0.0.1', port: dovecot.ports.imaps, caBundle: { secretRef: { name: 'ca' } } },
    rollout: { interval: '1s' },
  });
  await create(admin, 'mailboxes', ns, 'lou', userMailbox('lou'));
  await create(admin, 'mailboxes', ns, 'lee', userMailbox('lee'));
  operator = spawnOperator(
    [
      '--kubeconfig',
      info.kubeconfigs.admin,
      '--namespace',
      ns,
      '--leader-elect=false',
      '--lease-namespace',
      ns,
      '--shards',
      '2',
      '--poll-interval',
      '60s',
    ],
    { LOG_LEVEL: 'debug' },
  );
  const op = operator;
  // Lines from `mark` on: what an action caused, not what came before it.
  let mark = 0;
  const after = (pred: (l: Line) => boolean) => (l: Line) => op.lines.indexOf(l) >= mark && pred(l);
  const info_ = (pred: (l: Line) => boolean) =>
    op.waitForLog(
      after((l) => l.level === 'info' && pred(l)),
      30_000,
    );
  const warn = (pred: (l: Line) => boolean) =>
    op.waitForLog(
      after((l) => l.level === 'warn' && pred(l)),
      30_000,
    );

  // Test results and state changes, per mailbox.
  await info_(about('lou', (l) => l.direction === 'incoming' && l.result === 'passed'));
  await info_(about('lee', (l) => l.direction === 'incoming' && l.result === 'failed' && l.reason === 'AuthenticationFailed'));
  await info_(about('lou', (l) => l.ready === 'True' && says(/^mailbox Ready .* -> True/)(l)));
  await info_(about('lee', (l) => l.ready === 'False' && l.reason === 'AuthenticationFailed'));
  await waitForCondition(admin, 'mailboxes', ns, 'lou', 'Synced', (c) => c.status === 'True', 30_000);

  // A sync failure and the recovery, as they happen.
  mark = op.lines.length;
  await dovecot.stop();
  await warn(about('lou', (l) => l.direction === 'incoming' && l.reason === 'ServerUnreachable' && says(/^incoming sync failing/)(l)));
  await info_(about('lou', (l) => l.ready === 'False' && l.reason === 'ServerUnreachable'));
  mark = op.lines.length;
  await dovecot.start();
  await info_(about('lou', says(/^incoming sync works again after ServerUnreachable/)));
  await info_(about('lou', (l) => l.ready === 'True' && says(/^mailbox Ready False -> True/)(l)));

  // Each rollout step of a profile change.
  mark = op.lines.length;
  await mergePatchSpec(admin, 'emailserverprofiles', ns, 'imap', { spec: { incoming: { timeout: '20s' } } });
  await info_((l) => l.profile === 'imap' && l.reason === 'RolloutBatchStarted');
  await info_((l) => l.profile === 'imap' && l.reason === 'RolloutCompleted');

  // Debug: what was said to the server, in our words.
  mark = 0;
  await op.waitForLog(
    about(
      'lou',
      (l) =>
        l.level === 'debug' && says(/^IMAP 127\.0\.0\.1:\d+: connected, logged in as lou, INBOX opened/)(l) && l.uidValidity !== undefined,
    ),
  );
  await waitFor('the lines so far', async () => (op.lines.length > 20 ? true : undefined));
  const text = op.lines.map((l) => JSON.stringify(l)).join('\n');
  for (const s of SECRETS) expect(text).not.toContain(s);
}, 180_000);
