// Test slots (the per-profile concurrency limit) and profile revisions.

import type { EmailServerProfile } from '../../../src/api/types.js';
import { profileRevision, specOfRevision } from '../../../src/controllers/rollout-revision.js';
import { TestSlots } from '../../../src/controllers/rollout-slots.js';

test('at most `limit` slots per group; a freed slot is reserved for the best-ranked waiter and woken', () => {
  const woken: string[] = [];
  const slots = new TestSlots((k) => woken.push(k));
  const a = slots.tryAcquire('p', 'a', 2, 'User/a')!;
  const b = slots.tryAcquire('p', 'b', 2, 'User/b')!;
  expect(slots.tryAcquire('p', 'u', 2, 'User/u')).toBeUndefined();
  expect(slots.tryAcquire('p', 'q', 2, 'Queue/q')).toBeUndefined();
  expect(slots.tryAcquire('other', 'x', 2, 'User/x')).toBeDefined(); // groups are independent
  expect(slots.running('p')).toBe(2);
  a();
  a(); // releasing twice is harmless
  expect(woken).toEqual(['q']); // queues before users
  expect(slots.tryAcquire('p', 'u', 2, 'User/u')).toBeUndefined(); // the slot is q's
  expect(slots.tryAcquire('p', 'q', 2, 'Queue/q')).toBeDefined();
  b();
  expect(woken).toEqual(['q', 'u']);
  slots.settle('u'); // u's reconcile ended without a test: its reservation is freed
  expect(slots.tryAcquire('p', 'v', 2, 'User/v')).toBeDefined();
  expect(slots.peak('p')).toBe(2);
});

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
  expect(profileRevision(profile({ incoming: { caBundle: { secretRef: { name: 'ca' } }, port: 993, server: 'imap.example.com' } }), versions('1'))).toBe(r); // key order
  expect(profileRevision(profile(spec), versions('2'))).not.toBe(r);
  expect(profileRevision(profile({ ...spec, minPollingInterval: '1m' }), versions('1'))).not.toBe(r);
  expect(profileRevision(profile(spec, 'imap-2'), versions('1'))).not.toBe(r);
});

test('the spec of a revision comes from status.revisions, or from the spec when it is current', () => {
  const p = profile({ incoming: { server: 'new.example.com' }, rollout: { batchSize: 7 } });
  const none = () => undefined;
  const current = profileRevision(p, none);
  p.status = { revisions: [{ revision: 'r-old', spec: { serverType: 'IMAP', incoming: { server: 'old.example.com' } } }] };
  expect(specOfRevision(p, 'r-old', none)).toEqual({ serverType: 'IMAP', incoming: { server: 'old.example.com' }, rollout: { batchSize: 7 } });
  expect(specOfRevision(p, current, none)).toBe(p.spec);
  expect(specOfRevision(p, 'r-lost', none)).toBeUndefined();
});
