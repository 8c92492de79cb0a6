// APPEND → noticed, for IMAP mailboxes idle in Dovecot's hibernation: the operator's latency (until
// the CRM has the activity) beside raw imapflow clients in IDLE against the same Dovecot (until their
// fetch has the message), measured side by side in the same minutes. Two patterns:
//
//   - single: one message to a mailbox that has been idle for a while (what a user's mailbox gets);
//   - burst: a second message 2 to 12 s after the first. The gaps sweep the moment Dovecot 2.3
//     hands a client that went back to IDLE after its last command over to imap-hibernate
//     (imap_hibernate_timeout after it), in which mail is announced to nobody (docs/sync.md); the
//     raw clients show what the server itself does there, with nothing of ours in between.
//
// Appends are scheduled at fixed times, not one after another, so a slow sample does not move the
// next one; latencies are read afterwards (the CRM records when each activity was created).

import { setTimeout as sleep } from 'node:timers/promises';
import { ImapFlow } from 'imapflow';
import { goodMessage } from '../test/support/corpus.js';
import { pool } from './pool.js';

export interface Account {
  user: string;
  pass: string;
}

export interface Imaps {
  port: number;
  ca: string;
}

/** What one side saw for one pattern: latencies in ms (a message not seen within LATE_MS counts as LATE_MS). */
export interface Seen {
  latencies: number[];
  /** Ids of the messages not seen within LATE_MS (not announced; the operator's safety resync is later). */
  missed: string[];
  /** Burst pattern: the second messages seen late (> 2 s) or never: gap after the first message, latency (ms). */
  late: { gap: number; ms: number }[];
}

export interface NotifyLatency {
  single: { operator: Seen; raw: Seen };
  burst: { operator: Seen; raw: Seen };
  gapsMs: [number, number];
}

/** A sample counts as missed when it is not seen within this long. */
export const LATE_MS = 30_000;
const SINGLE_EVERY_MS = 150;
const BURST_EVERY_MS = 300;
const GAPS_MS: [number, number] = [2_000, 12_000];

function imapClient(s: Imaps, a: Account, idle: boolean): ImapFlow {
  const c = new ImapFlow({
    host: '127.0.0.1',
    port: s.port,
    secure: true,
    tls: { ca: [s.ca] },
    auth: { user: a.user, pass: a.pass },
    logger: false,
    // As the operator's sessions: back in IDLE a second after the last command.
    ...(idle ? { autoIdleDelay: 1000 } : { disableAutoIdle: true }),
  });
  c.on('error', () => undefined);
  return c;
}

/**
 * A minimal sync client: IDLE on INBOX; on EXISTS it fetches what is new (a command, then IDLE
 * again, as the operator's cycle does) and notes when each Message-ID was first fetched.
 */
class RawWatcher {
  readonly seen = new Map<string, number>();
  private nextUid = 1;
  private work: Promise<void> = Promise.resolve();

  private constructor(private readonly c: ImapFlow) {}

  static async start(s: Imaps, a: Account): Promise<RawWatcher> {
    const c = imapClient(s, a, true);
    const w = new RawWatcher(c);
    await c.connect();
    w.nextUid = (await c.mailboxOpen('INBOX')).uidNext;
    c.on('exists', () => {
      w.work = w.work.then(() => w.fetchNew()).catch(() => undefined);
    });
    void c.idle().catch(() => undefined);
    return w;
  }

  private async fetchNew(): Promise<void> {
    for await (const m of this.c.fetch(`${this.nextUid}:*`, { envelope: true, uid: true }, { uid: true })) {
      const id = m.envelope?.messageId?.replace(/^<|>$/g, '');
      if (id && !this.seen.has(id)) this.seen.set(id, Date.now());
      this.nextUid = Math.max(this.nextUid, m.uid + 1);
    }
  }

  close(): Promise<void> {
    return this.c.logout().catch(() => this.c.close());
  }
}

interface Append {
  id: string;
  account: Account;
  at: number;
  /** Burst pattern, second message: ms after the first. */
  gap?: number;
}

/** Runs the appends at their times, each account's on a connection of its own opened just before and closed after. */
async function appendAll(s: Imaps, appends: Append[], start: number): Promise<Map<string, number>> {
  const sentAt = new Map<string, number>();
  const byAccount = new Map<string, Append[]>();
  for (const a of appends) byAccount.set(a.account.user, [...(byAccount.get(a.account.user) ?? []), a]);
  await Promise.all(
    [...byAccount.values()].map(async (mine) => {
      mine.sort((x, y) => x.at - y.at);
      await sleep(Math.max(0, start + mine[0].at - 3_000 - Date.now()));
      const c = imapClient(s, mine[0].account, false);
      await c.connect();
      for (const a of mine) {
        await sleep(Math.max(0, start + a.at - Date.now()));
        sentAt.set(a.id, Date.now());
        await c.append('INBOX', goodMessage(0, { to: `${a.account.user}@example.com`, messageId: a.id }));
      }
      await c.logout().catch(() => c.close());
    }),
  );
  return sentAt;
}

function seenOf(appends: Append[], sentAt: Map<string, number>, seenAt: (id: string) => number | undefined): Seen {
  const out: Seen = { latencies: [], missed: [], late: [] };
  for (const a of appends) {
    const at = seenAt(a.id);
    const ms = at === undefined ? LATE_MS : Math.min(LATE_MS, at - sentAt.get(a.id)!);
    out.latencies.push(ms);
    if (ms >= LATE_MS) out.missed.push(a.id);
    if (a.gap !== undefined && ms > 2_000) out.late.push({ gap: a.gap, ms });
  }
  return out;
}

/**
 * Both patterns on both sides at once: `operator` accounts are mailboxes the operator has enabled
 * and holds in IDLE, `raw` accounts are not enabled anywhere else. Each list needs `singles + bursts`
 * accounts; each account gets the messages of one sample.
 */
export async function measureNotifyLatency(opts: {
  imaps: Imaps;
  operator: Account[];
  raw: Account[];
  singles: number;
  bursts: number;
  /** When the CRM created the activity for this Message-ID, if it has. */
  crmActivity: (messageId: string) => Promise<string | undefined>;
}): Promise<NotifyLatency> {
  const { imaps, singles, bursts } = opts;
  // The raw clients sign in and idle long enough for Dovecot to hibernate them, like the operator's.
  const watchers = new Map<string, RawWatcher>();
  await pool(opts.raw.slice(0, singles + bursts), 32, async (a) => void watchers.set(a.user, await RawWatcher.start(imaps, a)));
  await sleep(15_000);

  const run = Date.now().toString(36);
  const plan = { single: { operator: [] as Append[], raw: [] as Append[] }, burst: { operator: [] as Append[], raw: [] as Append[] } };
  for (const side of ['operator', 'raw'] as const) {
    const accounts = opts[side];
    const offset = side === 'raw' ? 0.5 : 0;
    for (let k = 0; k < singles; k++)
      plan.single[side].push({ id: `lat-${run}-${side}-s${k}@customer.example`, account: accounts[k], at: (k + offset) * SINGLE_EVERY_MS });
    const from = singles * SINGLE_EVERY_MS + 5_000;
    for (let k = 0; k < bursts; k++) {
      const account = accounts[singles + k];
      const at = from + (k + offset) * BURST_EVERY_MS;
      const gap = Math.round(GAPS_MS[0] + ((GAPS_MS[1] - GAPS_MS[0]) * k) / Math.max(1, bursts - 1));
      plan.burst[side].push({ id: `lat-${run}-${side}-b${k}a@customer.example`, account, at });
      plan.burst[side].push({ id: `lat-${run}-${side}-b${k}b@customer.example`, account, at: at + gap, gap });
    }
  }
  const all = [...plan.single.operator, ...plan.single.raw, ...plan.burst.operator, ...plan.burst.raw];
  const sentAt = await appendAll(imaps, all, Date.now() + 5_000);
  await sleep(LATE_MS + 1_000);

  const crm = new Map<string, number>();
  for (const a of [...plan.single.operator, ...plan.burst.operator]) {
    const at = await opts.crmActivity(a.id);
    if (at) crm.set(a.id, Date.parse(at));
  }
  const rawSeen = (id: string) => {
    for (const w of watchers.values()) {
      const at = w.seen.get(id);
      if (at !== undefined) return at;
    }
    return undefined;
  };
  await Promise.all([...watchers.values()].map((w) => w.close()));
  // The burst rows count the second messages: the first ones are singles again.
  const second = (xs: Append[]) => xs.filter((a) => a.gap !== undefined);
  return {
    single: { operator: seenOf(plan.single.operator, sentAt, (id) => crm.get(id)), raw: seenOf(plan.single.raw, sentAt, rawSeen) },
    burst: {
      operator: seenOf(second(plan.burst.operator), sentAt, (id) => crm.get(id)),
      raw: seenOf(second(plan.burst.raw), sentAt, rawSeen),
    },
    gapsMs: GAPS_MS,
  };
}
