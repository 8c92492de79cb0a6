import { forbidden } from '../../../src/kube/errors.js';
import { ApiError } from '../../../src/kube/raw.js';

// Status bodies as kube-apiserver 1.36 sends them (captured from the test control plane).
const rbac = new ApiError(403, 'forbidden', {
  kind: 'Status',
  status: 'Failure',
  message:
    'mailboxes.mailsync.dev "ann" is forbidden: User "bob-mailbox-admin" cannot patch resource "mailboxes/status" in API group "mailsync.dev" in the namespace "sales"',
  reason: 'Forbidden',
  details: { name: 'ann', group: 'mailsync.dev', kind: 'mailboxes' },
  code: 403,
});
const policy = new ApiError(403, 'forbidden', {
  kind: 'Status',
  message:
    'mailboxes.mailsync.dev "ann" is forbidden: ValidatingAdmissionPolicy \'mailboxes-approval.mailsync.dev\' with binding \'mailboxes-approval.mailsync.dev\' denied request: user "eve" may not approve or deny mailbox "ann": needs the approve verb',
  reason: 'Forbidden',
  details: { name: 'ann', group: 'mailsync.dev', kind: 'mailboxes' },
  code: 403,
});

test('an RBAC refusal names the user, the verb, the resource and the namespace', () => {
  expect(forbidden(rbac, { verb: 'patch', resource: 'mailboxes', subresource: 'status', namespace: 'sales' })).toEqual({
    message: 'forbidden: user "bob-mailbox-admin" may not patch mailboxes/status (API group mailsync.dev) in namespace "sales"',
    byPolicy: false,
  });
});

test("an admission policy's refusal is its own message", () => {
  expect(forbidden(policy, { verb: 'patch', resource: 'mailboxes', namespace: 'sales' })).toEqual({
    message: 'user "eve" may not approve or deny mailbox "ann": needs the approve verb',
    byPolicy: true,
  });
});

test('without details the attempt fills in; without a user name, "you"', () => {
  const bare = new ApiError(403, 'forbidden', { message: 'forbidden' });
  expect(forbidden(bare, { verb: 'list', resource: 'leases', group: 'coordination.k8s.io' })?.message).toBe(
    'forbidden: you may not list leases (API group coordination.k8s.io) cluster-wide',
  );
});

test('anything but a 403 is not a refusal', () => {
  expect(forbidden(new ApiError(404, 'not found', { message: 'not found' }), { verb: 'get', resource: 'mailboxes' })).toBeUndefined();
});
