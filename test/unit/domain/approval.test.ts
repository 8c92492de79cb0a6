import type { Deployment, Mailbox } from '../../../src/api/types.js';
import { approvalOf, grantToRecord } from '../../../src/domain/approval.js';

const mbx = (address: string, extra: Partial<Mailbox> = {}): Mailbox =>
  ({
    apiVersion: 'mailsync.dev/v1alpha1',
    kind: 'Mailbox',
    metadata: { name: 'm', namespace: 'ns' },
    spec: { emailAddress: address, owner: { kind: 'User', name: 'u' }, deploymentRef: { name: 'd' } },
    ...extra,
  }) as Mailbox;
const dep = (spec: Partial<Deployment['spec']> = {}): Deployment =>
  ({ metadata: { name: 'd', namespace: 'ns' }, spec: { crm: { type: 'Webhook', url: 'https://crm' }, ...spec } }) as Deployment;

test('auto-approval follows the Deployment, within the cluster-wide cap', () => {
  const d = dep({ autoApproveDomains: ['contoso.example', 'fabrikam.example'] });
  expect(grantToRecord(mbx('a@contoso.example'), d)?.reason).toBe('AutoApproved');
  expect(grantToRecord(mbx('a@contoso.example'), d, ['contoso.example'])?.reason).toBe('AutoApproved');
  // A mailbox admin added fabrikam to the Deployment, but the cluster cap does not allow it.
  expect(grantToRecord(mbx('a@fabrikam.example'), d, ['contoso.example'])).toBeUndefined();
  expect(grantToRecord(mbx('a@other.example'), d)).toBeUndefined();
});

test('an approval binds to the exact address', () => {
  const approved = mbx('new@contoso.example', {
    status: {
      emailAddress: 'old@contoso.example',
      conditions: [{ type: 'Approved', status: 'True', reason: 'Approved', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    },
  });
  const a = approvalOf(approved, dep());
  expect(a.state).toBe('Pending');
  expect(a.withdrawn).toMatch(/approval was for old@contoso.example and spec.emailAddress is now new@contoso.example/);
  expect(approvalOf(mbx('x@contoso.example'), dep({ requireApprovedUsers: false })).state).toBe('NotRequired');
});
