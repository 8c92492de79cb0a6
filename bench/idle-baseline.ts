// The memory floor of an idle IMAP mailbox in Node: N raw imapflow sessions in IDLE over TLS against
// the same Dovecot, in a process of their own, nothing of ours around them. bench/scale.ts prints it
// beside the operator's memory per idle mailbox, so the ≤ 100 KiB target is read against what one
// TLS IDLE connection costs at all.
//
// Run by bench/scale.ts: node --expose-gc dist/bench/idle-baseline.js, with IDLE_BASELINE_PORT,
// IDLE_BASELINE_CA (PEM), IDLE_BASELINE_USERS (count; users raw<i> / raw-<i>-Pass). Prints one JSON
// line: sessions, and RSS and heap before and after.

import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { ImapFlow } from 'imapflow';
import { pool } from './pool.js';

const port = Number(process.env.IDLE_BASELINE_PORT);
const ca = process.env.IDLE_BASELINE_CA ?? '';
const users = Number(process.env.IDLE_BASELINE_USERS ?? 1000);

async function settled(): Promise<{ rss: number; heap: number }> {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await sleep(500);
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

// One secure context for every session, as the operator builds one per CA (src/net/tls.ts): a
// context per connection would count a trust store per session, which the operator does not pay.
const secureContext = tls.createSecureContext({ minVersion: 'TLSv1.2', ca: [...tls.rootCertificates, ca] });
const before = await settled();
const clients: ImapFlow[] = [];
// 32 at once, as the operator's sign-in pacer allows.
await pool(
  Array.from({ length: users }, (_, i) => i),
  32,
  async (i) => {
    const c = new ImapFlow({
      host: '127.0.0.1',
      port,
      secure: true,
      tls: { secureContext },
      auth: { user: `raw${i}`, pass: `raw-${i}-Pass` },
      logger: false,
    });
    c.on('error', () => undefined);
    await c.connect();
    await c.mailboxOpen('INBOX');
    void c.idle().catch(() => undefined);
    clients.push(c);
  },
);
await sleep(10_000);
const after = await settled();
console.log(JSON.stringify({ sessions: clients.length, before, after }));
await Promise.all(clients.map((c) => c.logout().catch(() => undefined)));
process.exit(0);
