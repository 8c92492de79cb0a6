// The sync loops' back-off: exponential, and never sooner than a throttling server or CRM asked.
import { CrmError, type CrmConnector, type IncomingEmail, type PendingEmail } from '../../../src/crm/types.js';
import { MailError } from '../../../src/mail/types.js';
import { MailboxSyncer, type SyncReporter } from '../../../src/sync/mailbox-syncer.js';
import { parseMessage } from '../../../src/sync/parse.js';
import type { MessageParser } from '../../../src/sync/parser-pool.js';
import { goodMessage } from '../../support/corpus.js';
import { DEFAULT_TOKEN } from '../../../src/sync/tracking-token.js';

type Outcome = { direction: string; ok: boolean; reason?: string; delayMs: number };

async function firstFailure(crm: Partial<CrmConnector>, sender?: { send(): Promise<unknown> }): Promise<Outcome> {
  let resolve!: (o: Outcome) => void;
  const seen = new Promise<Outcome>((r) => (resolve = r));
  const reporter: SyncReporter = {
    initialCheckpoint: () => undefined,
    attemptFailed: (direction, failure, _state, nextAt) =>
      resolve({ direction, ok: false, reason: failure.reason, delayMs: (nextAt?.getTime() ?? Infinity) - Date.now() }),
  };
  const syncer = new MailboxSyncer(
    {
      mailbox: {
        key: 'ns/ann',
        address: 'ann@example.com',
        ownerKind: 'User',
        ownerName: 'ann',
        forwardMailbox: false,
        deleteAfterProcessing: false,
        filtering: 'All',
        correlation: false,
        token: DEFAULT_TOKEN,
        maxAttachmentBytes: 1e6,
        moveFailedToUndeliverable: false,
      },
      outgoingMailbox: { key: 'ns/ann', address: 'ann@example.com', sendMode: 'SendAs', token: DEFAULT_TOKEN },
      crm: crm as CrmConnector,
      outgoing: { sender: sender ?? { send: async () => undefined }, close: async () => undefined },
      pollIntervalMs: 60_000,
      outgoingIntervalMs: 60_000,
    },
    reporter,
  );
  syncer.start();
  try {
    return await seen;
  } finally {
    await syncer.stop();
  }
}

const pending: PendingEmail = {
  crmEmailId: 'e1',
  from: { address: 'ann@example.com' },
  to: [{ address: 'c@customer.example' }],
  cc: [],
  bcc: [],
  subject: 'Quote',
};

test('a throttled CRM is asked again no sooner than its Retry-After', async () => {
  const o = await firstFailure({
    listPendingSend: async () => Promise.reject(new CrmError('CRMThrottled', 'CRM webhook: HTTP 429', { retryAfterMs: 45_000 })),
  });
  expect(o).toMatchObject({ direction: 'outgoing', ok: false, reason: 'CRMThrottled' });
  expect(o.delayMs).toBeGreaterThan(44_000);
});

test('a throttling mail server is retried no sooner than its Retry-After', async () => {
  const o = await firstFailure(
    { listPendingSend: async () => [pending], markSending: async () => undefined, releaseSending: async () => undefined },
    {
      send: async () =>
        Promise.reject(
          new MailError('Throttled', 'Graph: HTTP 429', { retryAfterMs: 30_000, cause: Object.assign(new Error('429'), { status: 429 }) }),
        ),
    },
  );
  expect(o).toMatchObject({ direction: 'outgoing', ok: false, reason: 'Throttled' });
  expect(o.delayMs).toBeGreaterThan(29_000);
});

test('without Retry-After the first retry comes after about a second', async () => {
  const o = await firstFailure({
    listPendingSend: async () => Promise.reject(new CrmError('CRMUnreachable', 'CRM webhook: connection refused')),
  });
  expect(o.reason).toBe('CRMUnreachable');
  expect(o.delayMs).toBeLessThan(1500);
});

test("incoming messages are parsed by the parser the parts name (the operator's thread pool)", async () => {
  const parsedBy: string[] = [];
  const parser: MessageParser = {
    parse: async (raw, opts) => {
      parsedBy.push('pool');
      return parseMessage(raw, opts);
    },
    close: async () => undefined,
  };
  let delivered!: () => void;
  const done = new Promise<void>((r) => (delivered = r));
  const syncer = new MailboxSyncer(
    {
      mailbox: {
        key: 'ns/ann',
        address: 'ann@example.com',
        ownerKind: 'User',
        ownerName: 'ann',
        forwardMailbox: false,
        deleteAfterProcessing: false,
        filtering: 'All',
        correlation: false,
        token: DEFAULT_TOKEN,
        maxAttachmentBytes: 1e6,
        moveFailedToUndeliverable: false,
      },
      outgoingMailbox: { key: 'ns/ann', address: 'ann@example.com', sendMode: 'SendAs', token: DEFAULT_TOKEN },
      crm: {
        deliverIncoming: async (e: IncomingEmail) => ({ crmId: e.messageId, created: true }),
      } as Partial<CrmConnector> as CrmConnector,
      incoming: {
        source: {
          async *fetchNew() {
            yield { raw: { id: '1:1', source: Buffer.from(goodMessage(1)) }, position: () => ({ uidValidity: '1', lastUid: 1 }) };
          },
        },
        close: async () => undefined,
      },
      parser,
      pollIntervalMs: 60_000,
      outgoingIntervalMs: 60_000,
    },
    { initialCheckpoint: () => undefined, delivered: () => delivered() },
  );
  syncer.start();
  await done;
  await syncer.stop();
  expect(parsedBy).toEqual(['pool']);
});

test('where notifications wake a mailbox, a cycle that found mail is followed by one more look (a notification lost meanwhile)', async () => {
  // The second message arrives after the first cycle and nothing announces it; the safety resync is an hour away.
  let served = 0;
  let arrived = 1;
  const delivered: string[] = [];
  let done!: () => void;
  const second = new Promise<void>((r) => (done = r));
  const syncer = new MailboxSyncer(
    {
      mailbox: {
        key: 'ns/ann',
        address: 'ann@example.com',
        ownerKind: 'User',
        ownerName: 'ann',
        forwardMailbox: false,
        deleteAfterProcessing: false,
        filtering: 'All',
        correlation: false,
        token: DEFAULT_TOKEN,
        maxAttachmentBytes: 1e6,
        moveFailedToUndeliverable: false,
      },
      outgoingMailbox: { key: 'ns/ann', address: 'ann@example.com', sendMode: 'SendAs', token: DEFAULT_TOKEN },
      crm: {
        deliverIncoming: async (e: IncomingEmail) => {
          delivered.push(e.messageId);
          if (delivered.length === 1) arrived = 2;
          else done();
          return { crmId: e.messageId, created: true };
        },
      } as Partial<CrmConnector> as CrmConnector,
      incoming: {
        source: {
          async *fetchNew() {
            while (served < arrived) {
              served++;
              yield {
                raw: { id: `1:${served}`, source: Buffer.from(goodMessage(served)) },
                position: () => ({ uidValidity: '1', lastUid: served }),
              };
            }
          },
        },
        watch: () => undefined,
        close: async () => undefined,
      },
      pollIntervalMs: 3_600_000,
      outgoingIntervalMs: 3_600_000,
      followUpMs: 100,
    },
    { initialCheckpoint: () => undefined },
  );
  syncer.start();
  try {
    await second;
    expect(delivered).toHaveLength(2);
  } finally {
    await syncer.stop();
  }
});
