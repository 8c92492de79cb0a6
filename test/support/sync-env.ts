// The setting most sync tests start from: Dovecot with some users, each with a Secret
// `<user>-mail`, the Dovecot CA in Secret `ca`, and a webhook CRM behind Deployment `crm` that
// approves everyone, in a new namespace.

import type { KubeClients } from '../../src/kube/client.js';
import { startDovecot, type DovecotFixture } from './dovecot.js';
import { FakeCrmWebhook } from './fake-crm-webhook.js';
import { create, newNamespace } from './kube.js';
import { createSecret } from './mail-env.js';

export interface SyncEnvironment {
  dovecot: DovecotFixture;
  crm: FakeCrmWebhook;
  ns: string;
  close(): Promise<void>;
}

export async function startSyncEnvironment(
  admin: KubeClients,
  opts: { prefix: string; users: Record<string, string>; crm: { token: string; signingKey: string }; deployment?: object },
): Promise<SyncEnvironment> {
  const dovecot = await startDovecot({ users: Object.entries(opts.users).map(([username, password]) => ({ username, password })) });
  const crm = await FakeCrmWebhook.start(opts.crm);
  const ns = await newNamespace(admin, opts.prefix);
  await createSecret(admin, ns, 'ca', { 'ca.crt': dovecot.caPem });
  for (const [user, password] of Object.entries(opts.users)) await createSecret(admin, ns, `${user}-mail`, { username: user, password });
  await createSecret(admin, ns, 'crm', opts.crm);
  await create(admin, 'deployments', ns, 'crm', {
    crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } },
    requireApprovedUsers: false,
    requireApprovedQueues: false,
    incomingFiltering: { users: 'All', queues: 'All' },
    ...opts.deployment,
  });
  await create(admin, 'emailserverprofiles', ns, 'imap', {
    serverType: 'IMAP',
    incoming: { server: '127.0.0.1', port: dovecot.ports.imaps, caBundle: { secretRef: { name: 'ca' } } },
  });
  return {
    dovecot,
    crm,
    ns,
    async close() {
      await dovecot.cleanup();
      await crm.close();
    },
  };
}
