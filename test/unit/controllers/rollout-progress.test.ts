// Rollout progress of a Deployment's mailboxes, each against its own profile's current revision.

import type { Deployment, EmailServerProfile, Mailbox } from '../../../src/api/types.js';
import type { Caches } from '../../../src/domain/caches.js';
import { rolloutProgress } from '../../../src/controllers/rollout-progress.js';
import { cacheVersions, profileRevision } from '../../../src/domain/revision.js';
import type { Condition } from '../../../src/kube/conditions.js';

const meta = (name: string) => ({ name, namespace: 'ns' });
const cache = <T extends { metadata: { name: string } }>(items: T[]) => ({
  get: (_ns: string, n: string) => items.find((i) => i.metadata.name === n),
  list: () => items,
});
const cond = (type: string, status: Condition['status'], reason: string): Condition => ({
  type,
  status,
  reason,
  message: reason,
  lastTransitionTime: '2026-01-01T00:00:00Z',
});

test('counts mailboxes on, moving to and failing their profile revision, and leaves out the unresolvable', () => {
  const profiles: EmailServerProfile[] = [
    { metadata: meta('a'), spec: { serverType: 'IMAP', incoming: { server: 'a.example.com' } } },
    { metadata: meta('b'), spec: { serverType: 'IMAP', incoming: { server: 'b.example.com' } } },
  ];
  const deployment: Deployment = {
    metadata: meta('crm'),
    spec: { crm: { type: 'Webhook', url: 'https://crm.example.com' }, defaults: { serverProfileRef: { name: 'b' }, outgoing: 'None' } },
  };
  const caches = {
    profiles: cache(profiles),
    deployments: cache([deployment]),
    mailboxes: cache([]),
    secrets: cache([]),
    configMaps: cache([]),
  } as unknown as Caches;
  const rev = (p: EmailServerProfile) => profileRevision(p, cacheVersions(caches, 'ns'));
  const running = (
    name: string,
    profile: EmailServerProfile,
    extra: Partial<NonNullable<Mailbox['status']>> = {},
    spec: Partial<Mailbox['spec']> = {},
  ): Mailbox => ({
    metadata: meta(name),
    spec: {
      emailAddress: `${name}@example.com`,
      owner: { kind: 'User', name },
      deploymentRef: { name: 'crm' },
      credentialsSecretRef: { name },
      ...spec,
    },
    status: {
      serverProfile: profile.metadata.name,
      revision: rev(profile),
      ...extra,
      conditions: [
        cond('IncomingEmailReady', 'True', 'Succeeded'),
        cond('OutgoingEmailReady', 'Unknown', 'NotRun'),
        cond('Enabled', 'True', 'Enabled'),
        ...(extra.conditions ?? []),
      ],
    },
  });
  const [a, b] = profiles;
  const mailboxes = [
    running('on-b', b),
    running('named-a', a, {}, { serverProfileRef: { name: 'a' } }),
    running('moving', a), // its default is b now
    running('failed', a, { targetRevision: rev(b), conditions: [cond('UpToDate', 'False', 'AuthenticationFailed')] }),
    running('no-credentials', a, {}, { credentialsSecretRef: undefined }),
  ];
  expect(rolloutProgress(caches, mailboxes)).toEqual({ updated: 2, pending: 1, failed: 1, failedNames: ['failed'] });
});
