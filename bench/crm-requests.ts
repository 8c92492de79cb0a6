// `node dist/bench/crm-requests.js`: HTTP requests the operator sends a CRM, for both connectors,
// against the protocol fakes (Dataverse in fake-crm-dynamics.ts, the webhook contract in
// fake-crm-webhook.ts), each figure beside the unbatched path in the same run:
//
//   1. per incoming email at bulk: the incoming pipeline delivering BENCH_CRM_MESSAGES messages
//      (distinct senders, so every address is looked up), batched and one by one;
//   2. per outgoing email at bulk: BENCH_CRM_OUTGOING emails pending for BENCH_CRM_MAILBOXES
//      mailboxes, found, claimed and marked sent (the mail server is left out: only CRM requests
//      count), batched and one by one;
//   3. per second at rest, per Deployment, with N idle mailboxes: the outgoing loops of N mailboxes
//      with nothing to send, with the Deployment's pending-send feed and with one poll per mailbox,
//      at a 1 s poll interval (the default is 30 s: divide by 30).
// Targets (issues 14 and 16): at most 0.1 requests per email at bulk; at most 1 request per second
// per Deployment at rest.

import { clientCredentials } from '../src/mail/oauth.js';
import { DynamicsConnector } from '../src/crm/dynamics.js';
import type { CrmConnector, PendingEmail } from '../src/crm/types.js';
import { WebhookConnector } from '../src/crm/webhook.js';
import { closeHttpDispatchers } from '../src/net/http.js';
import { IncomingSync, type IncomingSource, type MailboxSyncSettings } from '../src/sync/incoming.js';
import { MailboxSyncer } from '../src/sync/mailbox-syncer.js';
import { OutgoingSync } from '../src/sync/outgoing.js';
import { PendingFeed } from '../src/sync/pending-feed.js';
import { DEFAULT_TOKEN } from '../src/sync/tracking-token.js';
import { goodMessage } from '../test/support/corpus.js';
import { benchMailbox } from './ingest.js';
import { FakeDynamics } from '../test/support/fake-crm-dynamics.js';
import { FakeCrmWebhook } from '../test/support/fake-crm-webhook.js';

const MESSAGES = Number(process.env.BENCH_CRM_MESSAGES ?? 2000);
const OUTGOING = Number(process.env.BENCH_CRM_OUTGOING ?? 2000);
const MAILBOXES = Number(process.env.BENCH_CRM_MAILBOXES ?? 20);
const IDLE = (process.env.BENCH_CRM_IDLE ?? '100,1000,10000').split(',').map(Number);
const REST_SECONDS = Number(process.env.BENCH_CRM_REST_SECONDS ?? 10);
const CLIENT = {
  tenantId: 'bench-tenant',
  clientId: '7b7b7b7b-1111-4a4a-9b9b-123456789abc',
  clientSecret: 'dyn~Bench.Client-Secret_0123456789',
};
const HOOK = { token: 'bench-crm-token-0123456789', signingKey: 'bench-crm-signing-key-0123456789' };

const row = (...cells: string[]) => console.log(`| ${cells.join(' | ')} |`);
const per = (requests: number, emails: number) => (requests / emails).toFixed(3);

interface Crm {
  name: string;
  connector(batched: boolean): CrmConnector;
  /** HTTP requests the CRM has received so far. */
  requests(): number;
  /** An email pending send from `address`. */
  addPending(address: string, i: number): void;
  /** A mailbox (user) the CRM knows. */
  addMailbox(address: string): void;
  close(): Promise<void>;
}

async function dynamics(): Promise<Crm> {
  const dv = await FakeDynamics.start({ clients: [CLIENT] });
  const users = new Map<string, string>();
  return {
    name: 'Dynamics 365',
    connector: (batched) =>
      new DynamicsConnector({
        url: dv.orgUrl,
        ...CLIENT,
        authorityUrl: dv.authorityUrl,
        ca: dv.caPem,
        batching: batched,
        tokenSource: clientCredentials,
      }),
    requests: () => dv.httpRequests,
    addMailbox: (address) => void users.set(address, dv.addUser(address, address)),
    addPending: (address, i) =>
      void dv.addOutgoingEmail({
        fromUserId: users.get(address)!,
        to: [`customer${i}@customer.example`],
        subject: `Quote ${i}`,
        description: `<p>${'x'.repeat(3000)}</p>`,
      }),
    close: () => dv.close(),
  };
}

async function webhook(): Promise<Crm> {
  const hook = await FakeCrmWebhook.start(HOOK);
  return {
    name: 'Webhook',
    connector: (batched) => {
      // The unbatched path: a CRM without the optional batch and query endpoints.
      hook.batchOff = batched ? undefined : 404;
      return new WebhookConnector({ url: hook.url, ...HOOK });
    },
    requests: () => hook.stats().requests,
    addMailbox: () => undefined,
    addPending: (address, i) =>
      void hook.addPendingEmail(address, {
        from: { address },
        to: [{ address: `customer${i}@customer.example` }],
        cc: [],
        bcc: [],
        subject: `Quote ${i}`,
        htmlBody: `<p>${'x'.repeat(3000)}</p>`,
      }),
    close: () => hook.close(),
  };
}

const profile = (n: number): MailboxSyncSettings => ({ ...benchMailbox(`bench/in${n}`, `in${n}@contoso.example`), ownerName: `in${n}` });

/** A mailbox holding `count` messages, as a mail server would hand them out. */
function source(run: number, count: number): IncomingSource {
  return {
    async *fetchNew() {
      for (let i = 0; i < count; i++) {
        const raw = Buffer.from(
          goodMessage(i, { to: `in${run}@contoso.example`, size: 3800, messageId: `bench-${run}-${i}@customer.example` }),
        );
        yield { raw: { id: `1:${i + 1}`, source: raw }, position: () => ({ uidValidity: '1', lastUid: i + 1 }) };
      }
    },
  };
}

let run = 0;
async function incoming(crm: Crm, batched: boolean): Promise<number> {
  const n = ++run;
  crm.addMailbox(`in${n}@contoso.example`);
  const connector = crm.connector(batched);
  const before = crm.requests();
  const result = await new IncomingSync(profile(n), source(n, MESSAGES), connector).runOnce(undefined);
  if (result.delivered !== MESSAGES) throw new Error(`${crm.name}: delivered ${result.delivered} of ${MESSAGES}`);
  return crm.requests() - before;
}

async function outgoing(crm: Crm, batched: boolean): Promise<number> {
  const n = ++run;
  const addresses = Array.from({ length: MAILBOXES }, (_, m) => `out${n}-${m}@contoso.example`);
  for (const a of addresses) crm.addMailbox(a);
  for (let i = 0; i < OUTGOING; i++) crm.addPending(addresses[i % MAILBOXES], i);
  const connector = crm.connector(batched);
  const sender = { send: async () => undefined };
  const before = crm.requests();
  let sent = 0;
  while (sent < OUTGOING) {
    // What the Deployment's feed does: one query for every mailbox, then each mailbox sends what it got.
    const found = batched ? await connector.listPendingSendFor(addresses, 50) : new Map<string, PendingEmail[]>();
    const results = await Promise.all(
      addresses.map((a) =>
        new OutgoingSync({ key: a, address: a, sendMode: 'SendAs', token: DEFAULT_TOKEN }, sender, connector).runOnce(
          50,
          16,
          batched ? (found.get(a) ?? []) : undefined,
        ),
      ),
    );
    sent += results.reduce((s, r) => s + r.sent, 0);
  }
  return crm.requests() - before;
}

async function atRest(crm: Crm, mailboxes: number, fed: boolean): Promise<number> {
  const connector = crm.connector(true);
  const feed = fed ? new PendingFeed(connector, { intervalMs: 1000, settleMs: 0 }) : undefined;
  const syncers = Array.from({ length: mailboxes }, (_, m) => {
    const address = `idle${m}@contoso.example`;
    return new MailboxSyncer(
      {
        mailbox: { ...profile(m), address },
        outgoingMailbox: { key: address, address, sendMode: 'SendAs', token: DEFAULT_TOKEN },
        crm: connector,
        outgoing: { sender: { send: async () => undefined }, close: async () => undefined },
        ...(feed ? { pendingFeed: feed } : {}),
        pollIntervalMs: 3_600_000,
        outgoingIntervalMs: 1000,
      },
      { initialCheckpoint: () => undefined },
    );
  });
  syncers.forEach((s) => s.start());
  await new Promise((r) => setTimeout(r, 2000)); // every loop started, the first polls done
  const before = crm.requests();
  await new Promise((r) => setTimeout(r, REST_SECONDS * 1000));
  const rate = (crm.requests() - before) / REST_SECONDS;
  await Promise.all(syncers.map((s) => s.stop()));
  feed?.stop();
  return rate;
}

async function main(): Promise<void> {
  console.log(`CRM requests (${new Date().toISOString()}, Node ${process.version}; protocol fakes on loopback)\n`);
  row('measure', 'connector', 'batched (what runs)', 'one by one (same run)', 'target');
  row('---', '---', '---', '---', '---');
  for (const make of [dynamics, webhook]) {
    const crm = await make();
    try {
      const inBatched = await incoming(crm, true);
      const inSingle = await incoming(crm, false);
      row(
        `HTTP requests per incoming email, ${MESSAGES} messages`,
        crm.name,
        `${per(inBatched, MESSAGES)} (${inBatched} requests)`,
        `${per(inSingle, MESSAGES)} (${inSingle})`,
        '≤ 0.1',
      );
      const outBatched = await outgoing(crm, true);
      const outSingle = await outgoing(crm, false);
      row(
        `HTTP requests per outgoing email, ${OUTGOING} emails of ${MAILBOXES} mailboxes`,
        crm.name,
        `${per(outBatched, OUTGOING)} (${outBatched})`,
        `${per(outSingle, OUTGOING)} (${outSingle})`,
        '≤ 0.1',
      );
      for (const n of IDLE) {
        const fed = await atRest(crm, n, true);
        // One poll per mailbox is measured up to 1,000 mailboxes; above, it is n requests per interval by construction.
        const each = n <= 1000 ? (await atRest(crm, n, false)).toFixed(1) : `${n} (1 per mailbox per interval)`;
        row(
          `HTTP requests per second at rest, ${n} idle mailboxes, 1 s poll interval`,
          crm.name,
          fed.toFixed(2),
          each,
          '≤ 1 per Deployment',
        );
      }
    } finally {
      await crm.close();
    }
  }
  await closeHttpDispatchers();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
