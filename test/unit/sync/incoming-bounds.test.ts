// IncomingSync's in-flight bounds, with an in-memory source and a CRM that records what it gets
// (both are the pipeline's own interfaces, implemented here; parsing is the real one).
import type { CrmConnector, IncomingEmail } from '../../../src/crm/types.js';
import { IncomingSync, type FetchedMessage, type IncomingSource, type MailboxSyncSettings } from '../../../src/sync/incoming.js';
import { DEFAULT_TOKEN } from '../../../src/sync/tracking-token.js';
import { goodMessage } from '../../support/corpus.js';

const mailbox: MailboxSyncSettings = {
  key: 'ns/ann',
  address: 'ann@example.com',
  ownerKind: 'User',
  ownerName: 'ann',
  forwardMailbox: false,
  deleteAfterProcessing: false,
  filtering: 'All',
  correlation: false,
  token: DEFAULT_TOKEN,
  maxAttachmentBytes: 25 * 1024 * 1024,
  moveFailedToUndeliverable: false,
};

function source(messages: Buffer[]): IncomingSource {
  return {
    async *fetchNew() {
      for (let i = 0; i < messages.length; i++) {
        const m: FetchedMessage = {
          raw: { id: `1:${i + 1}`, source: messages[i] },
          position: () => ({ uidValidity: '1', lastUid: i + 1 }),
        };
        yield m;
      }
    },
  };
}

/** A CRM that holds each delivery until released, and records the most held at once. */
function slowCrm() {
  let held = 0;
  const stats = { most: 0, delivered: [] as string[] };
  const crm = {
    deliverIncoming: async (e: IncomingEmail) => {
      held++;
      stats.most = Math.max(stats.most, held);
      await new Promise((r) => setTimeout(r, 20));
      held--;
      stats.delivered.push(e.messageId);
      return { crmId: e.messageId, created: true };
    },
  } as Partial<CrmConnector> as CrmConnector;
  return { crm, stats };
}

test('large messages are bounded by bytes in flight, small ones by count; all are delivered in checkpoint order', async () => {
  const big = Array.from({ length: 12 }, (_, i) => Buffer.from(goodMessage(i, { size: 1024 * 1024 })));
  const { crm, stats } = slowCrm();
  const res = await new IncomingSync(mailbox, source(big), crm, {}, { concurrency: 64, maxInFlightBytes: 3 * 1024 * 1024 }).runOnce(
    undefined,
  );
  expect(res.delivered).toBe(12);
  expect(stats.most).toBeLessThanOrEqual(3);
  expect(stats.most).toBeGreaterThan(1);
  expect(res.checkpoint).toEqual({ uidValidity: '1', lastUid: 12 });

  const small = Array.from({ length: 40 }, (_, i) => Buffer.from(goodMessage(i)));
  const second = slowCrm();
  const res2 = await new IncomingSync(mailbox, source(small), second.crm, {}, { concurrency: 8 }).runOnce(undefined);
  expect(res2.delivered).toBe(40);
  expect(second.stats.most).toBe(8);
});

test('one message over the byte bound still goes through, alone', async () => {
  const huge = [Buffer.from(goodMessage(1, { size: 2 * 1024 * 1024 })), Buffer.from(goodMessage(2, { size: 2 * 1024 * 1024 }))];
  const { crm, stats } = slowCrm();
  const res = await new IncomingSync(mailbox, source(huge), crm, {}, { maxInFlightBytes: 1024 * 1024 }).runOnce(undefined);
  expect(res.delivered).toBe(2);
  expect(stats.most).toBe(1);
});
