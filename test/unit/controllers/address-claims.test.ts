// Who holds an address among the Mailboxes that claim it.
import type { Mailbox } from '../../../src/api/types.js';
import { addressHolder } from '../../../src/controllers/address-claims.js';

const mbx = (
  ns: string,
  name: string,
  created: string,
  extra: { takeOver?: boolean; approved?: boolean; deleting?: boolean } = {},
): Mailbox => ({
  metadata: {
    namespace: ns,
    name,
    creationTimestamp: created as unknown as Date,
    ...(extra.deleting ? { deletionTimestamp: '2026-01-09T00:00:00Z' as unknown as Date } : {}),
  },
  spec: {
    emailAddress: 'ann@example.com',
    owner: { kind: 'User', name: 'ann' },
    deploymentRef: { name: 'crm' },
    ...(extra.takeOver ? { takeOverAddress: true } : {}),
  },
  status: extra.approved
    ? {
        emailAddress: 'ann@example.com',
        conditions: [{ type: 'Approved', status: 'True', reason: 'Approved', message: '', lastTransitionTime: '' }],
      }
    : {},
});

const holder = (...claimants: Mailbox[]) => {
  const h = addressHolder(claimants);
  return h && `${h.holder.metadata.namespace}/${h.holder.metadata.name}${h.tookOver ? ' (took over)' : ''}`;
};

test('the oldest holds the address; a deleting one does not count', () => {
  expect(holder(mbx('b', 'x', '2026-01-02T00:00:00Z'), mbx('a', 'y', '2026-01-01T00:00:00Z'))).toBe('a/y');
  expect(holder(mbx('b', 'x', '2026-01-02T00:00:00Z'), mbx('a', 'y', '2026-01-01T00:00:00Z', { deleting: true }))).toBe('b/x');
  // Same second: by namespace/name, the same answer everywhere.
  expect(holder(mbx('b', 'x', '2026-01-01T00:00:00Z'), mbx('a', 'z', '2026-01-01T00:00:00Z'))).toBe('a/z');
});

test("a take-over counts in the holder's namespace, and across namespaces only once approved", () => {
  const old = mbx('a', 'old', '2026-01-01T00:00:00Z');
  expect(holder(old, mbx('a', 'new', '2026-01-03T00:00:00Z', { takeOver: true }))).toBe('a/new (took over)');
  expect(holder(old, mbx('b', 'other', '2026-01-02T00:00:00Z', { takeOver: true }))).toBe('a/old');
  expect(holder(old, mbx('b', 'other', '2026-01-02T00:00:00Z', { takeOver: true, approved: true }))).toBe('b/other (took over)');
  expect(holder()).toBeUndefined();
});
