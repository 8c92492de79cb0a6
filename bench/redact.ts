// `node dist/bench/redact.js`: what the one redactor costs per text with the secrets of 5,000
// mailboxes registered (a password each, with its username), every encoded form included, beside
// the check it replaces: every registered value looked for in every text, one by one (raw forms
// only). Texts are the operator's usual: a condition message, a log line, an Event.
// BENCH_REDACT_MAILBOXES changes the count.

import { performance } from 'node:perf_hooks';
import { redact, registerSecret, secretForms } from '../src/util/redact.js';

const N = Number(process.env.BENCH_REDACT_MAILBOXES ?? 5000);
const ROUNDS = 20_000;
const TEXTS = [
  'IMAP mail.contoso.example:993: the server rejected the credentials (IMAP AUTHENTICATIONFAILED); check the username and the password or token in the credentials Secret',
  '{"level":"info","name":"mailsync","namespace":"sales","mailbox":"ann","incoming":true,"outgoing":true,"msg":"sync started"}',
  'incoming sync failed: Graph https://graph.microsoft.com/v1.0: the server is throttling requests (HTTP 429 ApplicationThrottled); retry after 7 s; retrying at 2026-11-24T10:00:07Z',
  'logged in to IMAP server 127.0.0.1:993 as ann and opened the inbox',
];

const password = (i: number) => `Mailbox-${i}-pass ${(i * 7919).toString(36)}/ü`;

/** The check the redactor replaces: each registered value, one includes() per text. */
function oneByOne(values: Set<string>, text: string): string {
  let out = text;
  for (const s of values) if (out.includes(s)) out = out.split(s).join('[REDACTED]');
  return out;
}

function perText(fn: (text: string) => string): number {
  for (let i = 0; i < 1000; i++) fn(TEXTS[i % TEXTS.length]); // warm up
  const start = performance.now();
  for (let i = 0; i < ROUNDS; i++) fn(TEXTS[i % TEXTS.length]);
  return ((performance.now() - start) / ROUNDS) * 1000;
}

const heapBefore = process.memoryUsage().heapUsed;
const registerStart = performance.now();
for (let i = 0; i < N; i++) registerSecret(password(i), { username: `user${i}@contoso.example` });
const registerMs = performance.now() - registerStart;
const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
const forms = secretForms(password(1)).length;

const values = new Set(Array.from({ length: N }, (_, i) => password(i)));
const ours = perText((t) => redact(t));
const before = perText((t) => oneByOne(values, t));

console.log(`| measure (${N} mailboxes registered) | value |`);
console.log('| --- | --- |');
console.log(`| forms per password (plus 6 SASL blobs with the username) | ${forms} |`);
console.log(`| registering all of them | ${registerMs.toFixed(0)} ms, about ${heapMb.toFixed(0)} MB of heap |`);
console.log(`| redact(), per text, every form and the shape rules | ${ours.toFixed(1)} µs |`);
console.log(`| one includes() per registered value, raw forms only (before) | ${before.toFixed(1)} µs |`);
