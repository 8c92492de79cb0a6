// Test and Enable of appointments, contacts and tasks: both CRM connectors (Webhook, Dynamics 365)
// implement ACT, so the test goes on to Exchange; the connector type is part of the test revision.
// (What a Dynamics Deployment checks in Dataverse is in test/integration/act/dynamics-graph.test.ts.)
import type { Deployment, EmailServerProfile, Mailbox } from '../../../src/api/types.js';
import { ConnectMailboxTesting } from '../../../src/connect/mailbox-tester.js';
import type { SecretSource } from '../../../src/domain/secret-source.js';

const meta = (name: string) => ({ name, namespace: 'ns', uid: `uid-${name}` });
// Nothing listens on port 1: a test that does reach the network fails fast with a connection error.
const NOWHERE = 'https://127.0.0.1:1';
const profile: EmailServerProfile = {
  apiVersion: 'mailsync.dev/v1alpha1',
  kind: 'EmailServerProfile',
  metadata: meta('online'),
  spec: {
    serverType: 'ExchangeOnline',
    incoming: {
      url: `${NOWHERE}/v1.0`,
      authentication: 'OAuth2',
      oauth: { tenantId: 't', clientId: 'c', authorityURL: NOWHERE },
      credentials: { source: 'Profile', secretRef: { name: 'graph-app' } },
    },
    appointmentsContactsTasks: { enabled: true },
  } as EmailServerProfile['spec'],
};
const mailbox: Mailbox = {
  apiVersion: 'mailsync.dev/v1alpha1',
  kind: 'Mailbox',
  metadata: meta('ann'),
  spec: {
    emailAddress: 'ann@contoso.example',
    owner: { kind: 'User', name: 'ann' },
    deploymentRef: { name: 'crm' },
    serverProfileRef: { name: 'online' },
    incoming: 'None',
    outgoing: 'None',
    appointmentsContactsTasks: 'ServerSideSync',
  },
};
const deployment = (type: 'Webhook' | 'Dynamics365'): Deployment =>
  ({
    apiVersion: 'mailsync.dev/v1alpha1',
    kind: 'Deployment',
    metadata: meta('crm'),
    spec: { crm: { type, url: 'https://crm.contoso.example' } },
  }) as Deployment;
const lookups: SecretSource = {
  secret: (name) => (name === 'graph-app' ? { data: { clientSecret: 'graph-client-secret-0123' }, resourceVersion: '1' } : undefined),
  configMap: () => undefined,
};

async function actTest(d: Deployment) {
  const plan = new ConnectMailboxTesting().plan(mailbox, profile, ['appointmentsContactsTasks'], lookups, d);
  expect(plan.steps.map((s) => s.problem)).toEqual([undefined]);
  return plan.steps[0].run();
}

test.each(['Webhook', 'Dynamics365'] as const)(
  'a %s Deployment: the test goes on to Exchange (here unreachable), so the refusal is Exchange’s',
  async (type) => {
    const out = await actTest(deployment(type));
    expect(out.ok).toBe(false);
    expect(out.reason).not.toBe('UnsupportedConfiguration');
    expect(out.message).not.toMatch(/does not synchronize appointments/);
  },
);

test('the connector type is part of the test revision: changing it tests again', () => {
  const revision = (d: Deployment) =>
    new ConnectMailboxTesting().plan(mailbox, profile, ['appointmentsContactsTasks'], lookups, d).revision;
  expect(revision(deployment('Webhook'))).not.toBe(revision(deployment('Dynamics365')));
});
