// The mailbox index: groups and counts follow every event, including the ones that move a mailbox
// between groups (a new default profile, another Deployment, a status change).

import type { Deployment, Mailbox } from '../../../src/api/types.js';
import { countsOf } from '../../../src/domain/mailbox-counts.js';
import { MailboxIndex } from '../../../src/domain/mailbox-index.js';
import type { Condition } from '../../../src/kube/conditions.js';
import type { CacheHandlers } from '../../../src/kube/watch-cache.js';

/** A cache fed by hand, calling handlers as the watch cache does. */
class HandCache<T extends { metadata: { name: string; namespace: string } }> {
  private readonly items = new Map<string, T>();
  private readonly handlers: CacheHandlers<T>[] = [];
  addHandlers(h: CacheHandlers<T>) {
    this.handlers.push(h);
  }
  get(ns: string, name: string) {
    return this.items.get(`${ns}/${name}`);
  }
  list() {
    return [...this.items.values()];
  }
  set(o: T) {
    const key = `${o.metadata.namespace}/${o.metadata.name}`;
    const old = this.items.get(key);
    this.items.set(key, o);
    for (const h of this.handlers) {
      if (old) h.onUpdate?.(o, old);
      else h.onAdd?.(o);
    }
  }
  delete(o: T) {
    this.items.delete(`${o.metadata.namespace}/${o.metadata.name}`);
    for (const h of this.handlers) h.onDelete?.(o);
  }
}

const cond = (type: string, status: Condition['status'], reason: string): Condition => ({
  type,
  status,
  reason,
  message: reason,
  lastTransitionTime: '2026-01-01T00:00:00Z',
});
const mailbox = (name: string, spec: Partial<Mailbox['spec']> = {}, conditions: Condition[] = [], serverProfile?: string): Mailbox => ({
  metadata: { name, namespace: 'ns' },
  spec: { emailAddress: `${name}@example.com`, owner: { kind: 'User', name }, deploymentRef: { name: 'crm' }, ...spec },
  status: { conditions, ...(serverProfile ? { serverProfile } : {}) },
});
const deployment = (defaultProfile: string): Deployment => ({
  metadata: { name: 'crm', namespace: 'ns' },
  spec: { crm: { type: 'Webhook', url: 'https://crm.example.com' }, defaults: { serverProfileRef: { name: defaultProfile } } },
});

function setup() {
  const mailboxes = new HandCache<Mailbox>();
  const deployments = new HandCache<Deployment>();
  deployments.set(deployment('imap'));
  mailboxes.set(mailbox('before-index'));
  const index = new MailboxIndex({ mailboxes, deployments } as never);
  return { mailboxes, deployments, index };
}

const names = (ms: Mailbox[]) => ms.map((m) => m.metadata.name).sort();

test('counts what was cached before the index and every later add, update and delete', () => {
  const { mailboxes, index } = setup();
  mailboxes.set(mailbox('ann', {}, [cond('Enabled', 'True', 'Enabled')], 'imap'));
  mailboxes.set(
    mailbox('bob', { credentialsSecretRef: { name: 'bob-mail' } }, [cond('IncomingEmailReady', 'False', 'AuthenticationFailed')]),
  );
  expect(names(index.ofDeployment('ns', 'crm'))).toEqual(['ann', 'before-index', 'bob']);
  expect(index.countsOfProfile('ns', 'imap')).toEqual({ total: 3, enabled: 1, failing: 1 });
  expect(index.usingSecret('ns', 'bob-mail')).toEqual(['ns/bob']);
  expect(names(index.runningOn('ns', 'imap'))).toEqual(['ann']);

  // A status write that changes counts moves them; one that does not leaves them.
  mailboxes.set(mailbox('bob', { credentialsSecretRef: { name: 'bob-mail' } }, [cond('Enabled', 'True', 'Enabled')]));
  expect(index.countsOfDeployment('ns', 'crm')).toEqual({ total: 3, enabled: 2, failing: 0 });
  mailboxes.delete(mailbox('ann'));
  expect(index.countsOfDeployment('ns', 'crm')).toEqual({ total: 2, enabled: 1, failing: 0 });
  expect(index.runningOn('ns', 'imap')).toEqual([]);
});

test("a mailbox follows its own profile reference and its Deployment's default", () => {
  const { mailboxes, deployments, index } = setup();
  mailboxes.set(mailbox('own', { serverProfileRef: { name: 'special' } }));
  expect(names(index.ofProfile('ns', 'imap'))).toEqual(['before-index']);
  expect(names(index.ofProfile('ns', 'special'))).toEqual(['own']);
  deployments.set(deployment('exchange'));
  expect(index.ofProfile('ns', 'imap')).toEqual([]);
  expect(names(index.ofProfile('ns', 'exchange'))).toEqual(['before-index']);
  expect(index.countsOfProfile('ns', 'exchange').total).toBe(1);
  expect(index.countsOfProfile('ns', 'imap')).toEqual({ total: 0, enabled: 0, failing: 0 });
});

test('the counts are the sum of what each mailbox contributes', () => {
  const { mailboxes, index } = setup();
  const all = [
    mailbox('a', {}, [cond('Enabled', 'True', 'Enabled'), cond('IncomingEmailReady', 'False', 'ServerUnreachable')]),
    mailbox('b', {}, [cond('Ready', 'False', 'AwaitingApproval')]),
    mailbox('c', {}, [cond('Enabled', 'False', 'TooManyTransientFailures'), cond('OutgoingEmailReady', 'False', 'AuthenticationFailed')]),
    // Only direction conditions count as failing (failingDirection), not a failure reason elsewhere.
    mailbox('d', {}, [cond('Synced', 'False', 'ServerUnreachable')]),
  ];
  all.forEach((m) => mailboxes.set(m));
  const sum = [mailbox('before-index'), ...all]
    .map(countsOf)
    .reduce((x, y) => ({ total: x.total + y.total, enabled: x.enabled + y.enabled, failing: x.failing + y.failing }));
  expect(index.countsOfProfile('ns', 'imap')).toEqual(sum);
  expect(sum).toEqual({ total: 5, enabled: 1, failing: 2 });
});

test('a group lists its mailboxes by name, whatever order their updates came in', () => {
  const { mailboxes, index } = setup();
  mailboxes.set(mailbox('d0'));
  mailboxes.set(mailbox('d1'));
  mailboxes.set(mailbox('d0', {}, [cond('Enabled', 'True', 'Enabled')]));
  expect(index.ofDeployment('ns', 'crm').map((m) => m.metadata.name)).toEqual(['before-index', 'd0', 'd1']);
});
