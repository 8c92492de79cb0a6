// The local default of `make run`: a namespace `mailsync-demo` whose mailbox is connected to a
// real Dovecot, an SMTP server and a webhook CRM, all on loopback, so mail actually flows. A
// message is delivered every 20 seconds; the CRM prints each activity it receives, and an email
// it holds "pending send" goes out through SMTP once the mailbox is enabled.

import type { KubeConfig } from '@kubernetes/client-node';
import { Applier } from '../src/kube/apply.js';
import { startDovecot, type DovecotFixture } from '../test/support/dovecot.js';
import { FakeCrmWebhook } from '../test/support/fake-crm-webhook.js';
import { startSmtpReceiver, type SmtpReceiver } from '../test/support/smtp-receiver.js';
import { goodMessage } from '../test/support/corpus.js';

const NS = 'mailsync-demo';
const say = (msg: string) => process.stderr.write(`[demo] ${msg}\n`);

export interface Demo {
  afterStart(): void;
  stop(): Promise<void>;
}

export async function startDemo(kc: KubeConfig): Promise<Demo> {
  let dovecot: DovecotFixture;
  try {
    dovecot = await startDovecot({ users: [{ username: 'ann', password: 'demo-Password-1234' }] });
  } catch (err) {
    say(`no local Dovecot (${(err as Error).message}); the demo namespace is skipped`);
    return { afterStart: () => undefined, stop: async () => undefined };
  }
  const smtp: SmtpReceiver = await startSmtpReceiver({ users: [{ username: 'ann', password: 'demo-Password-1234' }] });
  const crmCreds = { token: 'demo-crm-token-0123456789', signingKey: 'demo-signing-key-0123456789' };
  const crm = await FakeCrmWebhook.start(crmCreds);
  const obj = (kind: string, name: string, spec: unknown, apiVersion = 'mailsync.dev/v1alpha1') => ({
    apiVersion,
    kind,
    metadata: { name, namespace: NS },
    spec,
  });
  const secret = (name: string, stringData: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: NS },
    stringData,
  });
  await new Applier(kc).applyAll([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    secret('local-ca', { 'ca.crt': `${dovecot.caPem}\n${smtp.caPem}` }),
    secret('ann-mail', { username: 'ann', password: 'demo-Password-1234' }),
    secret('crm', crmCreds),
    obj('Deployment', 'demo', {
      crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } },
      incomingFiltering: { users: 'All' },
      autoApproveDomains: ['demo.example'],
    }),
    obj('EmailServerProfile', 'local-dovecot', {
      serverType: 'IMAP',
      incoming: { server: '127.0.0.1', port: dovecot.ports.imaps, tls: 'Implicit', caBundle: { secretRef: { name: 'local-ca' } } },
      outgoing: { server: '127.0.0.1', port: smtp.port, tls: 'STARTTLS', caBundle: { secretRef: { name: 'local-ca' } } },
    }),
    obj('Mailbox', 'ann', {
      emailAddress: 'ann@demo.example',
      owner: { kind: 'User', name: 'ann' },
      deploymentRef: { name: 'demo' },
      serverProfileRef: { name: 'local-dovecot' },
      credentialsSecretRef: { name: 'ann-mail' },
    }),
  ] as never);
  crm.addPendingEmail('ann@demo.example', {
    from: { address: 'ann@demo.example', name: 'Ann' },
    to: [{ address: 'customer@customer.example' }],
    cc: [],
    bcc: [],
    subject: 'Hello from the CRM',
    textBody: 'Sent by mailsync-operator.',
  });
  say(`namespace ${NS}: IMAP/SMTP on 127.0.0.1:${dovecot.ports.imaps}/${smtp.port}, webhook CRM at ${crm.url}`);
  say(
    `mailbox ann is approved automatically (demo.example is in the Deployment's autoApproveDomains); watch it with \`kubectl get mailboxes -n ${NS}\``,
  );
  let seen = 0;
  let sent = 0;
  let n = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    afterStart() {
      timer = setInterval(() => {
        void dovecot.deliver(
          'ann',
          goodMessage(++n, { to: 'ann@demo.example', subject: `Demo message ${n}`, messageId: `demo-${Date.now()}@customer.example` }),
        );
        const acts = crm.activities();
        for (const a of acts.slice(seen)) say(`CRM received activity ${a.crmId}: "${a.email.subject}" from ${a.email.from.address}`);
        seen = acts.length;
        for (const m of smtp.messages.slice(sent)) say(`SMTP server received "${m.parsed.subject}" for ${m.rcptTo.join(', ')}`);
        sent = smtp.messages.length;
      }, 20_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await crm.close();
      await smtp.close();
      await dovecot.cleanup();
    },
  };
}
