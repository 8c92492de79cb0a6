// The pending-send feed: one query for every subscribed mailbox; only mailboxes with mail are
// woken, with what was found; a poll that overlapped a mailbox's cycle is dropped for it; a failed
// poll reaches every mailbox until a poll works again.
import type { CrmConnector, PendingEmail } from '../../../src/crm/types.js';
import { PendingFeed } from '../../../src/sync/pending-feed.js';

const email = (id: string): PendingEmail => ({ crmEmailId: id, from: { address: 'a@x' }, to: [], cc: [], bcc: [], subject: id });

function crm(answer: () => Promise<Map<string, PendingEmail[]>>) {
  const calls: string[][] = [];
  const connector = {
    listPendingSendFor: async (addresses: string[]) => {
      calls.push(addresses);
      return answer();
    },
  } as Partial<CrmConnector> as CrmConnector;
  return { connector, calls };
}

test('one query for all mailboxes; only those with mail are woken, each with its own emails', async () => {
  const { connector, calls } = crm(async () => new Map([['ann@x', [email('e1')]]]));
  const feed = new PendingFeed(connector, { intervalMs: 60_000, settleMs: 60_000 });
  const woken: string[] = [];
  const ann = feed.subscribe('Ann@x', () => woken.push('ann'));
  const bob = feed.subscribe('bob@x', () => woken.push('bob'));
  await feed.pollNow();
  expect(calls).toEqual([['ann@x', 'bob@x']]);
  expect(woken).toEqual(['ann']);
  expect(ann.take()).toEqual({ emails: [email('e1')] });
  expect(ann.take()).toBeUndefined(); // handed over once
  expect(bob.take()).toBeUndefined();
  ann.close();
  bob.close();
});

test('a poll that ran while the mailbox was sending is dropped for it (it may list an email being claimed)', async () => {
  let release!: () => void;
  const { connector } = crm(() => new Promise((r) => (release = () => r(new Map([['ann@x', [email('e1')]]])))));
  const feed = new PendingFeed(connector, { intervalMs: 60_000, settleMs: 60_000 });
  const sub = feed.subscribe('ann@x', () => undefined);
  const polling = feed.pollNow();
  sub.cycleStarted(); // the mailbox starts a cycle while the query is out
  release();
  await polling;
  expect(sub.take()).toBeUndefined();
  sub.cycleEnded();
  sub.close();
});

test('a failed poll reaches every mailbox, and so does the first poll that works again', async () => {
  let fail = true;
  const { connector } = crm(async () => {
    if (fail) throw new Error('CRM down');
    return new Map();
  });
  const feed = new PendingFeed(connector, { intervalMs: 60_000, settleMs: 60_000 });
  const woken: string[] = [];
  const ann = feed.subscribe('ann@x', () => woken.push('ann'));
  const bob = feed.subscribe('bob@x', () => woken.push('bob'));
  await feed.pollNow();
  expect(woken).toEqual(['ann', 'bob']);
  expect(ann.take()).toMatchObject({ error: expect.objectContaining({ message: 'CRM down' }) });
  expect(ann.take()).toMatchObject({ error: expect.any(Error) }); // until a poll works
  fail = false;
  await feed.pollNow();
  expect(woken).toEqual(['ann', 'bob', 'ann', 'bob']);
  expect(ann.take()).toEqual({ emails: [] });
  expect(bob.take()).toEqual({ emails: [] });
  await feed.pollNow();
  expect(woken).toHaveLength(4); // nothing new: nobody woken
  ann.close();
  bob.close();
});
