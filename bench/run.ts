// `make bench`: each figure beside a baseline measured in the same run, on the same servers.
//   1. Incoming: Dovecot -> pipeline -> webhook CRM (separate process, loopback), messages/s,
//      against raw imapflow full-source fetch of the same mailbox.
//   2. Latency from IMAP APPEND to CRM activity with IDLE: p50, p99.
//   3. Outgoing: CRM -> pipeline -> smtp-server, messages/s, against raw pooled nodemailer.
//   Also, as the ceiling of (1) on this machine: MIME parsing alone (mailparser, no I/O) on the
//   same messages, on the event loop and in a pool of parser threads.
// Sizes can be changed with BENCH_MESSAGES, BENCH_LATENCY_SAMPLES, BENCH_OUTGOING.

import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { benchMailbox, measureIngest, rate } from './ingest.js';
import nodemailer from 'nodemailer';
import { REPO_ROOT } from '../dev/control-plane.js';
import { createConnector } from '../src/crm/factory.js';
import { ImapSession } from '../src/mail/imap.js';
import { SmtpAdapter } from '../src/mail/smtp.js';
import type { Credentials, Endpoint } from '../src/mail/types.js';
import { MailboxSyncer } from '../src/sync/mailbox-syncer.js';
import { defaultParserThreads, inlineParser, ParserPool } from '../src/sync/parser-pool.js';
import { OutgoingSync } from '../src/sync/outgoing.js';
import { ImapSource } from '../src/sync/sources/imap-source.js';
import { DEFAULT_TOKEN } from '../src/sync/tracking-token.js';
import { goodMessage } from '../test/support/corpus.js';
import { startDovecot } from '../test/support/dovecot.js';
import { startSmtpReceiver } from '../test/support/smtp-receiver.js';
import { percentile } from './percentile.js';

const N = Number(process.env.BENCH_MESSAGES ?? 5000);
const SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 100);
const OUT = Number(process.env.BENCH_OUTGOING ?? 2000);
const CRM = { token: 'bench-token-0123456789', signingKey: 'bench-signing-key-0123456789' };

const row = (name: string, value: string, baseline: string, ratio: string) =>
  console.log(`| ${name} | ${value} | ${baseline} | ${ratio} |`);

async function startCrm(): Promise<{
  url: string;
  stop: () => void;
  activities: (messageId?: string) => Promise<{ messageId: string; createdAt: string }[]>;
}> {
  const proc = spawn(process.execPath, [path.join(REPO_ROOT, 'dist/test/support/fake-crm-webhook.js')], {
    env: { ...process.env, PORT: '0', TOKEN: CRM.token, SIGNING_KEY: CRM.signingKey },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve) =>
    proc.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { url: string }).url)),
  );
  const activities = async (messageId?: string) =>
    (
      (await (await fetch(`${url}/_test/activities${messageId ? `?messageId=${encodeURIComponent(messageId)}` : ''}`)).json()) as {
        activities: { messageId: string; createdAt: string }[];
      }
    ).activities;
  return { url, stop: () => proc.kill('SIGKILL'), activities };
}

async function main(): Promise<void> {
  const users = ['ingest', 'latency', 'out'].map((u) => ({ username: u, password: `${u}-Bench-Pass` }));
  const dovecot = await startDovecot({ users });
  const smtp = await startSmtpReceiver({ users });
  const crm = await startCrm();
  const connector = createConnector({ type: 'Webhook', url: crm.url }, CRM, {});
  const endpoint: Endpoint = { host: '127.0.0.1', port: dovecot.ports.imaps, tls: 'Implicit', ca: dovecot.caPem };
  const creds = (u: string): Credentials => ({ kind: 'password', username: u, password: `${u}-Bench-Pass` });
  const cores = os.availableParallelism();
  console.log(
    `mailsync-operator benchmarks (${new Date().toISOString()}, Node ${process.version}, ${cores} cores, loopback, Dovecot, smtp-server)\n`,
  );
  console.log('| measure | mailsync | baseline (same run) | ratio |');
  console.log('|---|---|---|---|');
  try {
    // 1. Incoming throughput, beside raw fetch and mailparser alone (bench/ingest.ts).
    // The parser the operator would use on this machine (--parser-threads default).
    const threads = defaultParserThreads(cores);
    const parser = threads > 0 ? new ParserPool({ threads }) : inlineParser;
    const r = await measureIngest({
      dovecot,
      user: 'ingest',
      password: 'ingest-Bench-Pass',
      connector,
      messages: N,
      parser,
      threads: cores,
    });
    await parser.close();
    row(
      `incoming, ${N} msgs of ~4 KB (msg/s; ${threads} parser threads)`,
      `${r.pipeline.rate} (${r.pipeline.cpu} µs CPU/msg)`,
      `${r.raw.rate} (raw imapflow fetch, ${r.raw.mbPerSecond} MB/s, ${r.raw.cpu} µs CPU/msg)`,
      (r.pipeline.rate / r.raw.rate).toFixed(2),
    );
    row(
      '  ceiling: mailparser alone on the event loop, no I/O (msg/s)',
      `${r.ceiling.rate} (${r.ceiling.cpu} µs CPU/msg)`,
      `${r.raw.rate} (raw fetch above)`,
      (r.ceiling.rate / r.raw.rate).toFixed(2),
    );
    row(
      `  ceiling: mailparser alone in ${cores} parser threads, no I/O (msg/s)`,
      `${r.ceilingThreads!.rate} (${r.ceilingThreads!.cpu} µs CPU/msg)`,
      `${r.raw.rate} (raw fetch above)`,
      (r.ceilingThreads!.rate / r.raw.rate).toFixed(2),
    );
    row(
      '  incoming against the mailparser-alone ceiling',
      `${r.pipeline.rate}`,
      `${r.ceiling.rate} (ceiling above)`,
      `${(r.pipeline.rate / r.ceiling.rate).toFixed(2)} (target ≥ 0.6)`,
    );
    row(
      '  ceiling: raw imapflow fetch, each message parsed as the pipeline parses it, nothing else (msg/s)',
      `${r.fetchAndParse.rate} (${r.fetchAndParse.cpu} µs CPU/msg)`,
      `${r.ceiling.rate} (mailparser alone above)`,
      `${(r.fetchAndParse.rate / r.ceiling.rate).toFixed(2)}; the pipeline reaches ${(r.pipeline.rate / r.fetchAndParse.rate).toFixed(2)} × this`,
    );

    // 2. Latency APPEND -> CRM activity, with IDLE.
    const parts = {
      mailbox: benchMailbox('bench/latency', 'latency@example.com'),
      outgoingMailbox: { key: 'bench/latency', address: 'latency@example.com', sendMode: 'SendAs' as const, token: DEFAULT_TOKEN },
      crm: connector,
      pollIntervalMs: 10 * 60_000,
      outgoingIntervalMs: 10 * 60_000,
    };
    let wake: () => void = () => undefined;
    const idleSession = new ImapSession(endpoint, creds('latency'), {
      onExists: () => wake(),
      onConnected: () => wake(),
      idleDelayMs: 100,
    });
    const syncer = new MailboxSyncer(
      { ...parts, incoming: { source: new ImapSource(idleSession), watch: (w) => (wake = w.wake), close: () => idleSession.close() } },
      { initialCheckpoint: () => undefined },
    );
    syncer.start();
    const appender = new ImapFlow({
      host: '127.0.0.1',
      port: dovecot.ports.imaps,
      secure: true,
      tls: { ca: [dovecot.caPem] },
      auth: { user: 'latency', pass: 'latency-Bench-Pass' },
      logger: false,
    });
    await appender.connect();
    await new Promise((r) => setTimeout(r, 1500)); // let the worker reach IDLE
    const latencies: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const id = `lat-${i}@customer.example`;
      const sent = Date.now();
      await appender.append('INBOX', goodMessage(i, { to: 'latency@example.com', messageId: id }));
      for (;;) {
        const hit = (await crm.activities(id)).find((a) => a.messageId === id);
        if (hit) {
          latencies.push(Date.parse(hit.createdAt) - sent);
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    await appender.logout();
    await syncer.stop();
    row(`latency APPEND -> CRM with IDLE, p50 (ms), ${SAMPLES} samples`, String(percentile(latencies, 50)), '-', '-');
    row('latency APPEND -> CRM with IDLE, p99 (ms)', String(percentile(latencies, 99)), '-', '-');

    // 3. Outgoing throughput.
    const smtpEndpoint: Endpoint = { host: '127.0.0.1', port: smtp.port, tls: 'STARTTLS', ca: smtp.caPem };
    const rawTransport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: smtp.port,
      requireTLS: true,
      tls: { ca: [smtp.caPem] },
      auth: { user: 'out', pass: 'out-Bench-Pass' },
      pool: true,
      maxConnections: 2,
      maxMessages: Infinity,
      logger: false,
    } as never);
    const msg = (i: number) => ({
      from: 'out@example.com',
      to: 'customer@customer.example',
      subject: `Quote ${i}`,
      text: 'x'.repeat(3000),
    });
    await rawTransport.sendMail(msg(-1));
    let t = Date.now();
    await Promise.all(Array.from({ length: OUT }, (_, i) => rawTransport.sendMail(msg(i))));
    const rawOutMs = Date.now() - t;
    rawTransport.close();
    // The CRM runs in its own process, as for incoming (a real CRM is elsewhere); emails pending
    // send are seeded through its test API before the clock starts.
    for (let i = 0; i < OUT; i++) {
      await fetch(`${crm.url}/_test/pending-emails`, {
        method: 'POST',
        body: JSON.stringify({
          mailboxAddress: 'out@example.com',
          email: {
            from: { address: 'out@example.com' },
            to: [{ address: 'customer@customer.example' }],
            cc: [],
            bcc: [],
            subject: `Quote ${i}`,
            textBody: 'x'.repeat(3000),
          },
        }),
      });
    }
    const outConnector = connector;
    const sender = new SmtpAdapter(smtpEndpoint, creds('out'), { maxConnections: 2 });
    const outgoing = new OutgoingSync(
      { key: 'bench/out', address: 'out@example.com', sendMode: 'SendAs', token: DEFAULT_TOKEN },
      sender,
      outConnector,
    );
    t = Date.now();
    let sentCount = 0;
    while (sentCount < OUT) sentCount += (await outgoing.runOnce(500)).sent;
    const pipeOutMs = Date.now() - t;
    sender.close();
    row(
      `outgoing, ${OUT} msgs of ~3 KB (msg/s)`,
      String(rate(OUT, pipeOutMs)),
      `${rate(OUT, rawOutMs)} (raw pooled nodemailer)`,
      (rate(OUT, pipeOutMs) / rate(OUT, rawOutMs)).toFixed(2),
    );
  } finally {
    crm.stop();
    await smtp.close();
    await dovecot.cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
