// Profile revisions: what a revision covers, and the spec of a recorded revision.
import type { EmailServerProfile } from '../../../src/api/types.js';
import { profileRevision, specOfRevision } from '../../../src/domain/revision.js';

const profile = (spec: object, name = 'imap'): EmailServerProfile => ({
  apiVersion: 'mailsync.dev/v1alpha1',
  kind: 'EmailServerProfile',
  metadata: { name, namespace: 'ns' },
  spec: { serverType: 'IMAP', ...spec } as EmailServerProfile['spec'],
});

test('a revision covers the spec but spec.rollout, the referenced Secret versions and the profile name', () => {
  const spec = { incoming: { server: 'imap.example.com', port: 993, caBundle: { secretRef: { name: 'ca' } } } };
  const versions = (v: string) => (kind: string, name: string) => (kind === 'Secret' && name === 'ca' ? v : undefined);
  const r = profileRevision(profile(spec), versions('1'));
  expect(r).toMatch(/^[0-9a-f]{16}$/);
  expect(profileRevision(profile({ ...spec, rollout: { batchSize: 5, paused: true } }), versions('1'))).toBe(r);
  expect(
    profileRevision(
      profile({ incoming: { caBundle: { secretRef: { name: 'ca' } }, port: 993, server: 'imap.example.com' } }),
      versions('1'),
    ),
  ).toBe(r); // key order
  expect(profileRevision(profile(spec), versions('2'))).not.toBe(r);
  expect(profileRevision(profile({ ...spec, minPollingInterval: '1m' }), versions('1'))).not.toBe(r);
  expect(profileRevision(profile(spec, 'imap-2'), versions('1'))).not.toBe(r);
});

test('the spec of a revision comes from status.revisions, or from the spec when it is current', () => {
  const p = profile({ incoming: { server: 'new.example.com' }, rollout: { batchSize: 7 } });
  const none = () => undefined;
  const current = profileRevision(p, none);
  p.status = { revisions: [{ revision: 'r-old', spec: { serverType: 'IMAP', incoming: { server: 'old.example.com' } } }] };
  expect(specOfRevision(p, 'r-old', none)).toEqual({
    serverType: 'IMAP',
    incoming: { server: 'old.example.com' },
    rollout: { batchSize: 7 },
  });
  expect(specOfRevision(p, current, none)).toBe(p.spec);
  expect(specOfRevision(p, 'r-lost', none)).toBeUndefined();
});
