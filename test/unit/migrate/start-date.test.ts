// The first-sync start date: which setting wins (src/api/incoming-start.ts), the received date of a
// POP3 message (src/mail/received-date.ts), and the change-feed source that leaves older Exchange
// items undownloaded yet moves the checkpoint past them.
import { incomingStart } from '../../../src/api/incoming-start.js';
import { receivedDate } from '../../../src/mail/received-date.js';
import { ChangeFeedSource } from '../../../src/sync/sources/change-feed.js';

describe('incomingStart', () => {
  const tested = '2026-12-03T12:00:00Z';
  test('nothing set: no start, the whole Inbox', () => {
    expect(incomingStart({ profile: {}, mailbox: {}, deployment: {}, firstSuccessfulTestTime: tested })).toBeUndefined();
  });
  test("the Deployment's firstSync.since counts back from the first successful test, and only once there is one", () => {
    expect(
      incomingStart({ profile: {}, mailbox: {}, deployment: { firstSync: { since: '24h' } }, firstSuccessfulTestTime: tested }),
    ).toEqual({ after: new Date('2026-12-02T12:00:00Z'), from: 'Deployment' });
    expect(incomingStart({ profile: {}, mailbox: {}, deployment: { firstSync: { since: '24h' } } })).toBeUndefined();
  });
  test("the mailbox's own date replaces the Deployment's default, even when earlier", () => {
    const own = '2026-12-01T00:00:00Z';
    expect(
      incomingStart({
        profile: {},
        mailbox: { processEmailReceivedAfter: own },
        deployment: { firstSync: { since: '24h' } },
        firstSuccessfulTestTime: tested,
      }),
    ).toEqual({ after: new Date(own), from: 'Mailbox' });
  });
  test("the later of the profile's and the mailbox's wins, as in Dynamics", () => {
    const early = '2026-11-01T00:00:00Z';
    const late = '2026-11-20T00:00:00Z';
    expect(incomingStart({ profile: { processEmailReceivedAfter: late }, mailbox: { processEmailReceivedAfter: early } })).toEqual({
      after: new Date(late),
      from: 'EmailServerProfile',
    });
    expect(incomingStart({ profile: { processEmailReceivedAfter: early }, mailbox: { processEmailReceivedAfter: late } })).toEqual({
      after: new Date(late),
      from: 'Mailbox',
    });
    expect(
      incomingStart({
        profile: { processEmailReceivedAfter: late },
        mailbox: {},
        deployment: { firstSync: { since: '24h' } },
        firstSuccessfulTestTime: tested,
      })?.from,
    ).toBe('Deployment');
  });
});

describe('receivedDate', () => {
  test('the newest Received: header (the first), folded or not, comments ignored', () => {
    const raw = [
      'Received: from mx.example by mail.example with LMTP id 1;',
      '\tThu, 03 Dec 2026 10:00:00 +0000 (UTC)',
      'Received: from a.example by mx.example; Wed, 02 Dec 2026 09:00:00 +0000',
      'Date: Mon, 30 Nov 2026 08:00:00 +0000',
      'Subject: x',
      '',
      'Received: not a header; Tue, 01 Dec 2026 00:00:00 +0000',
    ].join('\r\n');
    expect(receivedDate(Buffer.from(raw))?.toISOString()).toBe('2026-12-03T10:00:00.000Z');
  });
  test('no Received: header: the Date: header; neither: undefined', () => {
    expect(receivedDate('Date: Mon, 30 Nov 2026 08:00:00 +0000\r\nSubject: x\r\n\r\nbody')?.toISOString()).toBe('2026-11-30T08:00:00.000Z');
    expect(receivedDate('Subject: x\r\n\r\nbody')).toBeUndefined();
  });
});

describe('ChangeFeedSource with a start', () => {
  test('items received before it are not downloaded, and the last item carries the new state', async () => {
    const downloaded: string[] = [];
    const received = new Map([
      ['old', new Date('2026-11-01T00:00:00Z')],
      ['new', new Date('2026-12-03T00:00:00Z')],
      ['old2', new Date('2026-11-02T00:00:00Z')],
    ]);
    const source = new ChangeFeedSource(
      {
        changes: async () => ({ created: ['old', 'new', 'old2'], receivedAt: received, state: 'S2' }),
        mime: async (id) => {
          downloaded.push(id);
          return { id, source: Buffer.from('Subject: x\r\n\r\n') };
        },
      },
      { receivedAfter: new Date('2026-12-01T00:00:00Z') },
    );
    const got = [];
    for await (const m of source.fetchNew({ syncState: 'S1' }))
      got.push({ id: m.raw.id, bytes: m.raw.source.length, received: m.receivedAt?.toISOString(), at: m.position() });
    expect(downloaded).toEqual(['new']);
    expect(got).toEqual([
      { id: 'old', bytes: 0, received: '2026-11-01T00:00:00.000Z', at: { syncState: 'S1' } },
      { id: 'new', bytes: expect.any(Number), received: '2026-12-03T00:00:00.000Z', at: { syncState: 'S1' } },
      { id: 'old2', bytes: 0, received: '2026-11-02T00:00:00.000Z', at: { syncState: 'S2' } },
    ]);
  });
});
