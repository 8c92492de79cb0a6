// Which mail is tracked and what it answers: internal mail, the correlation order (In-Reply-To,
// tracking token, References, Thread-Index), Thread-Index headers, subjects within 255 characters.
// IncomingSync runs with an in-memory source and a CRM that records what it gets (both are the
// pipeline's own interfaces, implemented here; parsing is the real one).
import type { CrmConnector, IncomingEmail } from '../../../src/crm/types.js';
import { IncomingSync, type IncomingSource, type MailboxSyncSettings } from '../../../src/sync/incoming.js';
import { conversationOf, messageIdOfConversation, threadIndexFor } from '../../../src/sync/thread-index.js';
import { DEFAULT_TOKEN, withToken } from '../../../src/sync/tracking-token.js';

const base: MailboxSyncSettings = {
  key: 'ns/ann',
  address: 'ann@contoso.example',
  ownerKind: 'User',
  ownerName: 'ann',
  forwardMailbox: false,
  deleteAfterProcessing: false,
  filtering: 'All',
  correlation: true,
  token: DEFAULT_TOKEN,
  maxAttachmentBytes: 1e6,
  moveFailedToUndeliverable: false,
};

const message = (headers: Record<string, string>) =>
  Buffer.from(
    Object.entries({ To: 'ann@contoso.example', Subject: 'Hello', ...headers })
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n') + '\r\n\r\nBody.\r\n',
  );

/** Runs one message through a cycle; returns what the CRM received (or undefined) and the CRM's lookups. */
async function run(
  raw: Buffer,
  mailbox: Partial<MailboxSyncSettings> = {},
  known: Record<string, string> = {},
  tokens: Record<string, string> = {},
) {
  const lookups: string[][] = [];
  const tokenLookups: string[] = [];
  const delivered: IncomingEmail[] = [];
  const crm = {
    findEmailByMessageId: async (ids: string[]) => {
      lookups.push(ids);
      return ids.map((id) => known[id]).find(Boolean);
    },
    findEmailByTrackingToken: async (token: string) => {
      tokenLookups.push(token);
      return tokens[token];
    },
    lookupAddress: async () => ({ isCrmRecord: false, isEmailEnabledRecord: false }),
    deliverIncoming: async (e: IncomingEmail) => {
      delivered.push(e);
      return { crmId: 'a1', created: true };
    },
  } as Partial<CrmConnector> as CrmConnector;
  const source: IncomingSource = {
    async *fetchNew() {
      yield { raw: { id: '1:1', source: raw }, position: () => ({ uidValidity: '1', lastUid: 1 }) };
    },
  };
  const result = await new IncomingSync({ ...base, ...mailbox }, source, crm).runOnce(undefined);
  return { email: delivered[0], lookups, tokenLookups, result };
}

describe('internal email', () => {
  const internal = { ignore: true, trackToQueues: true, isInternal: (a: string) => a.endsWith('@contoso.example') };

  test('mail from a colleague is not tracked; from outside it is; with ignore off everything is', async () => {
    expect(
      (await run(message({ From: 'bob@contoso.example', 'Message-ID': '<i1@contoso.example>' }), { internalEmail: internal })).result
        .filtered,
    ).toBe(1);
    expect(
      (await run(message({ From: 'c@customer.example', 'Message-ID': '<e1@customer.example>' }), { internalEmail: internal })).email,
    ).toBeDefined();
    expect(
      (
        await run(message({ From: 'bob@contoso.example', 'Message-ID': '<i2@contoso.example>' }), {
          internalEmail: { ...internal, ignore: false },
        })
      ).email,
    ).toBeDefined();
  });

  test("a queue's mailbox keeps internal mail, unless trackToQueues is off", async () => {
    const queue = { ownerKind: 'Queue' as const, ownerName: 'support' };
    expect(
      (await run(message({ From: 'bob@contoso.example', 'Message-ID': '<q1@contoso.example>' }), { ...queue, internalEmail: internal }))
        .email?.ownerKind,
    ).toBe('Queue');
    expect(
      (
        await run(message({ From: 'bob@contoso.example', 'Message-ID': '<q2@contoso.example>' }), {
          ...queue,
          internalEmail: { ...internal, trackToQueues: false },
        })
      ).result.filtered,
    ).toBe(1);
  });
});

describe('correlation order', () => {
  const sentId = '0b1e2f3a-4c5d-4e6f-8a9b-0c1d2e3f4a5b@contoso.example';

  test('In-Reply-To comes first, and nothing else is asked when it matches', async () => {
    const { email, lookups } = await run(
      message({
        From: 'c@customer.example',
        'Message-ID': '<r1@x>',
        'In-Reply-To': '<sent@contoso.example>',
        References: '<older@contoso.example>',
        Subject: 'RE: Quote CRM:0001001',
      }),
      {},
      { 'sent@contoso.example': 'crm-1', 'older@contoso.example': 'crm-0' },
    );
    expect(email.regarding).toEqual({ crmEmailId: 'crm-1', by: 'InReplyTo' });
    expect(lookups).toEqual([['sent@contoso.example']]);
  });

  test('a tracking token comes before References and the Thread-Index: the CRM resolves it', async () => {
    const raw = message({
      From: 'c@customer.example',
      'Message-ID': '<r2@x>',
      References: '<older@contoso.example>',
      Subject: 'RE: Quote CRM:0001001',
    });
    const found = await run(raw, {}, { 'older@contoso.example': 'crm-0' }, { 'CRM:0001001': 'crm-7' });
    expect(found.email.regarding).toEqual({ crmEmailId: 'crm-7', by: 'TrackingToken' });
    expect(found.lookups).toEqual([]);
    // A token the CRM does not find here is still handed to it; References are not guessed from.
    const unknown = await run(raw, {}, { 'older@contoso.example': 'crm-0' });
    expect(unknown.email.trackingToken).toBe('CRM:0001001');
    expect(unknown.email.regarding).toBeUndefined();
    expect(unknown.tokenLookups).toEqual(['CRM:0001001']);
    expect(unknown.lookups).toEqual([]);
  });

  test('then References, then the Thread-Index conversation of an email the operator sent', async () => {
    const byRefs = await run(
      message({ From: 'c@customer.example', 'Message-ID': '<r3@x>', References: '<a@x> <older@contoso.example>' }),
      {},
      { 'older@contoso.example': 'crm-0' },
    );
    expect(byRefs.email.regarding).toEqual({ crmEmailId: 'crm-0', by: 'References' });
    // Outlook's reply: our header block plus one reply block of 5 bytes.
    const replyIndex = Buffer.concat([Buffer.from(threadIndexFor(`<${sentId}>`)!, 'base64'), Buffer.from([0, 0, 0, 1, 2])]).toString(
      'base64',
    );
    const byIndex = await run(
      message({ From: 'c@customer.example', 'Message-ID': '<r4@x>', 'Thread-Index': replyIndex }),
      {},
      { [sentId]: 'crm-2' },
    );
    expect(byIndex.email.regarding).toEqual({ crmEmailId: 'crm-2', by: 'ThreadIndex' });
    expect(byIndex.lookups).toEqual([[sentId]]);
  });

  test('a message that starts a conversation (no reply block) costs no lookup', async () => {
    const { email, lookups } = await run(
      message({ From: 'c@customer.example', 'Message-ID': '<r5@x>', 'Thread-Index': threadIndexFor(`<${sentId}>`)! }),
    );
    expect(email.regarding).toBeUndefined();
    expect(lookups).toEqual([]);
  });
});

test('Thread-Index: 22 bytes for a UUID Message-ID, whose GUID it carries; none for other ids', () => {
  const index = threadIndexFor('<0b1e2f3a-4c5d-4e6f-8a9b-0c1d2e3f4a5b@contoso.example>', new Date('2026-11-24T08:00:00Z'))!;
  expect(Buffer.from(index, 'base64')).toHaveLength(22);
  expect(conversationOf(index)).toBe('0b1e2f3a-4c5d-4e6f-8a9b-0c1d2e3f4a5b');
  expect(messageIdOfConversation(index, 'Queue@Contoso.Example')).toBeUndefined(); // not a reply
  expect(threadIndexFor('<crm-0002@mailsync.test>')).toBeUndefined();
  expect(conversationOf('not base64!')).toBeUndefined();
});

test('a subject with a token appended stays within 255 characters, keeping the token', () => {
  const long = 'x'.repeat(300);
  const s = withToken(long, 'CRM:0001001');
  expect(s).toHaveLength(255);
  expect(s.endsWith(' CRM:0001001')).toBe(true);
  expect(withToken('Short', 'CRM:0001001')).toBe('Short CRM:0001001');
  expect(withToken('Has CRM:0001001 already', 'CRM:0001001')).toBe('Has CRM:0001001 already');
});
