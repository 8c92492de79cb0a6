// The incoming-throughput measurement shared by `make bench` (bench/run.ts) and `make bench-scale`
// (bench/scale.ts): the pipeline (Dovecot -> ImapSession -> IncomingSync -> webhook CRM in its own
// process) beside two baselines from the same run on the same messages: raw imapflow full-source
// fetch, and mailparser alone with no I/O (the ceiling of any pipeline that parses every message
// with it). With a Dovecot that offers COMPRESS=DEFLATE both the raw fetch and the pipeline are
// measured with and without it.

import { ImapFlow } from 'imapflow';
import type { CrmConnector } from '../src/crm/types.js';
import { ImapSession } from '../src/mail/imap.js';
import type { Credentials, Endpoint } from '../src/mail/types.js';
import { IncomingSync, type MailboxSyncSettings } from '../src/sync/incoming.js';
import { inlineParser, ParserPool, type MessageParser } from '../src/sync/parser-pool.js';
import { ImapSource } from '../src/sync/sources/imap-source.js';
import { DEFAULT_TOKEN } from '../src/sync/tracking-token.js';
import { deliverMany } from '../test/support/bulk.js';
import { goodMessage } from '../test/support/corpus.js';
import type { DovecotFixture } from '../test/support/dovecot.js';

export const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);

/** CPU time of this process (all its threads) per message, in microseconds. */
export const cpuPerMessage = (since: NodeJS.CpuUsage, n: number) => {
  const u = process.cpuUsage(since);
  return Math.round((u.user + u.system) / n);
};

/** The bench mailbox's attachment limit; the parse baselines parse with the same. */
const PARSE_OPTIONS = { maxAttachmentBytes: 25 * 1024 * 1024 };

export const benchMailbox = (key: string, address: string): MailboxSyncSettings => ({
  key,
  address,
  ownerKind: 'User',
  ownerName: key,
  forwardMailbox: false,
  deleteAfterProcessing: false,
  filtering: 'All',
  correlation: true,
  token: DEFAULT_TOKEN,
  maxAttachmentBytes: PARSE_OPTIONS.maxAttachmentBytes,
  moveFailedToUndeliverable: false,
});

/** Messages per second and CPU per message of parsing `messages`, `concurrency` at a time. */
export async function parseRate(parser: MessageParser, messages: Buffer[], concurrency = 32): Promise<{ rate: number; cpu: number }> {
  let next = 0;
  const lane = async () => {
    while (next < messages.length) await parser.parse(messages[next++], PARSE_OPTIONS);
  };
  await Promise.all(Array.from({ length: concurrency }, lane)); // warm-up pass
  next = 0;
  const cpu = process.cpuUsage();
  const t = Date.now();
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { rate: rate(messages.length, Date.now() - t), cpu: cpuPerMessage(cpu, messages.length) };
}

export interface Measured {
  rate: number;
  /** µs of CPU per message in this process. */
  cpu: number;
}

export interface IngestResult {
  messages: number;
  raw: Measured & { mbPerSecond: number };
  rawCompressed?: Measured;
  ceiling: Measured;
  ceilingThreads?: Measured & { threads: number };
  /**
   * Raw imapflow fetch with each source parsed as the pipeline parses it, nothing else: the
   * ceiling of any pipeline that fetches over IMAP and parses every message in this process.
   */
  fetchAndParse: Measured;
  pipeline: Measured;
  pipelineCompressed?: Measured;
}

export interface IngestOptions {
  dovecot: DovecotFixture;
  /** A Dovecot user with this password, whose INBOX is filled here. */
  user: string;
  password: string;
  connector: CrmConnector;
  messages: number;
  /** The parser the pipeline uses (the operator's default for this machine). */
  parser: MessageParser;
  /** Also measure in N parser threads (no I/O). */
  threads?: number;
  /** Dovecot offers COMPRESS=DEFLATE: measure raw fetch and pipeline with it too. */
  compression?: boolean;
  /** The pipeline delivers every message again: a fresh key per run of the pipeline. */
  keyPrefix?: string;
}

export async function measureIngest(o: IngestOptions): Promise<IngestResult> {
  const { dovecot, user, password, messages: n } = o;
  const message = (i: number) =>
    goodMessage(i, { to: `${user}@example.com`, size: 3800, messageId: `${o.keyPrefix ?? 'bench'}-${i}@customer.example` });
  await deliverMany(dovecot, user, n, message);
  const endpoint: Endpoint = { host: '127.0.0.1', port: dovecot.ports.imaps, tls: 'Implicit', ca: dovecot.caPem };
  const creds: Credentials = { kind: 'password', username: user, password };

  const rawClient = async (compress: boolean) => {
    const raw = new ImapFlow({
      host: '127.0.0.1',
      port: dovecot.ports.imaps,
      secure: true,
      tls: { ca: [dovecot.caPem] },
      auth: { user, pass: password },
      logger: false,
      disableCompression: !compress,
    });
    await raw.connect();
    await raw.mailboxOpen('INBOX');
    return raw;
  };

  const rawFetch = async (compress: boolean): Promise<Measured & { bytes: number; ms: number }> => {
    const raw = await rawClient(compress);
    // One warm-up pass so both sides read from Dovecot's cache, then the timed baseline.
    for await (const m of raw.fetch('1:*', { source: true })) void m;
    const t = Date.now();
    const cpu = process.cpuUsage();
    let bytes = 0;
    for await (const m of raw.fetch('1:*', { uid: true, source: true })) bytes += m.source?.length ?? 0;
    const ms = Date.now() - t;
    const result = { rate: rate(n, ms), cpu: cpuPerMessage(cpu, n), bytes, ms };
    await raw.logout();
    return result;
  };

  // As many parses in flight as the pipeline keeps messages in flight (IncomingSync's 64).
  const fetchAndParse = async (): Promise<Measured> => {
    const raw = await rawClient(false);
    const pass = async () => {
      const inFlight = new Set<Promise<unknown>>();
      for await (const m of raw.fetch('1:*', { uid: true, source: true })) {
        const p: Promise<unknown> = o.parser.parse(m.source!, PARSE_OPTIONS).finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= 64) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    };
    await pass(); // warm-up, as for the other baselines
    const t = Date.now();
    const cpu = process.cpuUsage();
    await pass();
    const result = { rate: rate(n, Date.now() - t), cpu: cpuPerMessage(cpu, n) };
    await raw.logout();
    return result;
  };

  const pipeline = async (compress: boolean, run: string): Promise<Measured> => {
    const session = new ImapSession(endpoint, creds, { compress });
    const sync = new IncomingSync(
      benchMailbox(`bench/${run}`, `${user}@example.com`),
      new ImapSource(session),
      o.connector,
      {},
      { parser: o.parser },
    );
    const t = Date.now();
    const cpu = process.cpuUsage();
    const res = await sync.runOnce(undefined);
    const result = { rate: rate(n, Date.now() - t), cpu: cpuPerMessage(cpu, n) };
    await session.close();
    if (res.delivered !== n) throw new Error(`pipeline delivered ${res.delivered} of ${n}`);
    return result;
  };

  const raw = await rawFetch(false);
  const rawCompressed = o.compression ? await rawFetch(true) : undefined;
  const sources = Array.from({ length: n }, (_, i) => Buffer.from(message(i)));
  const ceiling = await parseRate(inlineParser, sources);
  let ceilingThreads: IngestResult['ceilingThreads'];
  if (o.threads) {
    const pool = new ParserPool({ threads: o.threads });
    ceilingThreads = { ...(await parseRate(pool, sources, 128)), threads: o.threads };
    await pool.close();
  }
  const parsedFetch = await fetchAndParse();
  // Each pipeline run delivers as another mailbox, so the CRM creates every activity anew. The
  // first is a warm-up (the JIT, the CRM's and undici's connections), as each baseline has one.
  await pipeline(false, `${o.keyPrefix ?? 'bench'}-warm-up`);
  const piped = await pipeline(false, `${o.keyPrefix ?? 'bench'}-plain`);
  const pipedCompressed = o.compression ? await pipeline(true, `${o.keyPrefix ?? 'bench'}-deflate`) : undefined;
  return {
    messages: n,
    raw: { rate: raw.rate, cpu: raw.cpu, mbPerSecond: Math.round(raw.bytes / raw.ms / 1000) },
    ...(rawCompressed ? { rawCompressed: { rate: rawCompressed.rate, cpu: rawCompressed.cpu } } : {}),
    ceiling,
    ...(ceilingThreads ? { ceilingThreads } : {}),
    fetchAndParse: parsedFetch,
    pipeline: piped,
    ...(pipedCompressed ? { pipelineCompressed: pipedCompressed } : {}),
  };
}
